//! `--eta`: an RFC 3339 time or a delay from now, and the times the tables print.

use std::time::{Duration, SystemTime};

use taskqueue_model::Timestamp;

use crate::failure::Failure;

/// The ETA `text` names, `now` being the current time.
pub(crate) fn parse(text: &str, now: SystemTime) -> Result<Timestamp, Failure> {
    let text = text.trim();
    let time = if text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('-') {
        humantime::parse_rfc3339_weak(text).map_err(|error| {
            Failure::usage(format!(
                "--eta {text:?}: {error} (e.g. 2030-01-01T00:00:00Z)"
            ))
        })?
    } else {
        let delay = humantime::parse_duration(text.trim_start_matches('+')).map_err(|error| {
            Failure::usage(format!(
                "--eta {text:?}: {error} (an RFC 3339 time such as 2030-01-01T00:00:00Z, or a delay such as 90s or 5m)"
            ))
        })?;
        now + delay
    };
    Ok(Timestamp::from_system_time(time))
}

/// A timestamp as RFC 3339 in UTC with seconds (`2030-01-01T00:00:00Z`); `-` for zero (never leased).
pub(crate) fn format(timestamp: Timestamp) -> String {
    if timestamp.as_micros() <= 0 {
        return "-".to_owned();
    }
    let time = timestamp.to_system_time();
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(Duration::ZERO, |d| Duration::from_secs(d.as_secs()));
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + seconds).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etas_are_times_or_delays() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
        let cases = [
            ("2030-01-01T00:01:00Z", Ok(1_893_456_060)),
            ("90s", Ok(1_893_456_090)),
            ("+5m", Ok(1_893_456_300)),
            ("1h 30m", Ok(1_893_461_400)),
            ("tomorrow", Err("--eta \"tomorrow\"")),
            (
                "2030-13-01T00:00:00Z",
                Err("--eta \"2030-13-01T00:00:00Z\""),
            ),
            // A day the month does not have, and a leap day in a common year.
            (
                "2030-02-31T00:00:00Z",
                Err("--eta \"2030-02-31T00:00:00Z\": numeric component is out of range"),
            ),
            (
                "2030-02-29T00:00:00Z",
                Err("--eta \"2030-02-29T00:00:00Z\": numeric component is out of range"),
            ),
            ("2028-02-29T00:00:00Z", Ok(1_835_395_200)),
        ];
        for (text, expected) in cases {
            match (parse(text, now), expected) {
                (Ok(eta), Ok(secs)) => assert_eq!(eta.as_micros(), secs * 1_000_000, "{text}"),
                (Err(error), Err(expected)) => {
                    assert!(error.to_string().starts_with(expected), "{error}")
                }
                (got, expected) => panic!("{text}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn times_print_in_utc() {
        assert_eq!(
            format(Timestamp::from_micros(1_893_456_000_500_000)),
            "2030-01-01T00:00:00Z"
        );
        assert_eq!(format(Timestamp::from_micros(0)), "-");
    }
}
