//! Durations as scenarios write them: `90s`, `30m`, `2h`, `1h30m`, `500ms`.

use std::time::Duration;

/// Parses `text` as a sum of `<integer><unit>` parts, units `ms`, `s`, `m`,
/// `h`, `d`; `None` if it is not one.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.checked_mul(60)?),
            "h" => Duration::from_secs(value.checked_mul(3600)?),
            "d" => Duration::from_secs(value.checked_mul(86_400)?),
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_are_refused() {
        let cases: &[(&str, Option<u64>)] = &[
            ("90s", Some(90_000)),
            ("30m", Some(1_800_000)),
            ("2h", Some(7_200_000)),
            ("1h30m", Some(5_400_000)),
            ("500ms", Some(500)),
            ("1d", Some(86_400_000)),
            ("", None),
            ("10", None),
            ("s", None),
            ("5 minutes", None),
            ("-5s", None),
            ("99999999999999999999h", None),
        ];
        for (text, millis) in cases {
            let parsed = parse_duration(text).map(|d| u64::try_from(d.as_millis()).expect("fits"));
            assert_eq!(parsed, *millis, "{text:?}");
        }
    }
}

/// Parses an RFC 3339 UTC time of the form `2030-01-01T00:00:00Z`.
pub fn parse_utc(text: &str) -> Option<std::time::SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
        || bytes[19] != b'Z'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn utc_times_parse_to_the_right_instant() {
        let secs = |text| {
            parse_utc(text).map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .expect("after epoch")
                    .as_secs()
            })
        };
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(secs("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(secs("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        for bad in [
            "2030-01-01",
            "2030-13-01T00:00:00Z",
            "2030-01-01T00:00:00+01:00",
            "x",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
