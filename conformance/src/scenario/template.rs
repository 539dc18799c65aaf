//! Time templates in scenario values, read on the virtual clock.
//!
//! A string that is exactly `{{now}}`, `{{now+60s}}` or `{{now-1h}}` (spaces
//! allowed inside the braces, durations as in [`crate::duration`]) becomes the
//! microseconds since the epoch of that instant, as a string: the int64 wire
//! form of a `Timestamp`. Any other string is left as it is.
//!
//! The mock target expands response JSON; the runner also expands call
//! `args`, request `body` subsets and `expect.ok` subsets, so a scenario can
//! say "the lease the server returned" and "the lease the client sends back"
//! with the same template.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::scenario::values::parse_duration;

/// Microseconds since the epoch of `time` (negative before 1970).
pub(crate) fn micros_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// The instant `text` names, if it is a template: `Ok(None)` for a plain
/// string, an error for a string in braces that is not a template.
pub(crate) fn expand_str(text: &str, now: SystemTime) -> Result<Option<i64>, String> {
    let trimmed = text.trim();
    let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
    else {
        return Ok(None);
    };
    let refuse = || {
        format!(
            "`{text}` is not a time template; write `{{{{now}}}}`, `{{{{now+60s}}}}` or `{{{{now-1h}}}}`"
        )
    };
    let inner = inner.trim();
    let rest = inner.strip_prefix("now").ok_or_else(refuse)?.trim_start();
    if rest.is_empty() {
        return Ok(Some(micros_since_epoch(now)));
    }
    let (sign, amount) = if let Some(amount) = rest.strip_prefix('+') {
        (1, amount)
    } else if let Some(amount) = rest.strip_prefix('-') {
        (-1, amount)
    } else {
        return Err(refuse());
    };
    let offset = parse_duration(amount.trim()).ok_or_else(refuse)?;
    let instant = if sign > 0 {
        now.checked_add(offset)
    } else {
        now.checked_sub(offset)
    };
    instant
        .map(|instant| Some(micros_since_epoch(instant)))
        .ok_or_else(refuse)
}

/// `value` with every template string replaced by its microseconds (as a
/// string), recursively.
pub(crate) fn expand(value: &Value, now: SystemTime) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => match expand_str(text, now)? {
            Some(micros) => Value::String(micros.to_string()),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| expand(item, now))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| Ok((key.clone(), expand(item, now)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    })
}

/// The instants a time template may be read at when an answer is judged:
/// from the call's start to the answer's arrival, widened by a tolerance
/// on a clock the harness does not share with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// The earliest instant.
    pub from: SystemTime,
    /// The latest instant.
    pub to: SystemTime,
}

impl Window {
    /// The one instant `at` (the mock target, where nothing happens between).
    pub(crate) fn at(at: SystemTime) -> Window {
        Window { from: at, to: at }
    }

    /// From `from` to `to` (which must not be earlier), widened by
    /// `tolerance` either way.
    pub(crate) fn between(from: SystemTime, to: SystemTime, tolerance: Duration) -> Window {
        Window {
            from: from.checked_sub(tolerance).unwrap_or(from),
            to: to.max(from) + tolerance,
        }
    }
}

/// `want` ready for a subset comparison with `have`: every time template
/// whose value in `have` (a string of digits or a number) lies between the
/// template read at `window.from` and at `window.to` becomes that value;
/// any other template is read at `window.to`, so the comparison names the
/// difference. With `Window::at`, this is [`expand`].
pub(crate) fn expand_within(want: &Value, have: &Value, window: Window) -> Result<Value, String> {
    Ok(match want {
        Value::String(text) => match expand_str(text, window.from)? {
            Some(low) => {
                let high = expand_str(text, window.to)?.unwrap_or(low);
                let observed = match have {
                    Value::String(digits) => digits.trim().parse::<i64>().ok(),
                    Value::Number(number) => number.as_i64(),
                    _ => None,
                };
                match observed {
                    Some(observed) if (low..=high).contains(&observed) => have.clone(),
                    _ => Value::String(high.to_string()),
                }
            }
            None => want.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    expand_within(item, have.get(index).unwrap_or(&Value::Null), window)
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| {
                    let have = have.get(key).unwrap_or(&Value::Null);
                    Ok((key.clone(), expand_within(item, have, window)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => want.clone(),
    })
}

/// The instant `value` names, in microseconds since the epoch: a time
/// template read at `now`, or a whole number (as a JSON number or a string
/// of digits, the int64 wire form).
pub(crate) fn micros_of(value: &Value, now: SystemTime) -> Result<i64, String> {
    match value {
        Value::String(text) => match expand_str(text, now)? {
            Some(micros) => Ok(micros),
            None => text.trim().parse::<i64>().map_err(|_| {
                format!(
                    "`{text}` is neither a time template such as `{{{{now-1h}}}}` nor microseconds \
                     since the epoch"
                )
            }),
        },
        Value::Number(number) => number
            .as_i64()
            .ok_or_else(|| format!("`{number}` is not a whole number of microseconds")),
        other => Err(format!(
            "`{other}` is neither a time template such as `{{{{now-1h}}}}` nor microseconds since \
             the epoch"
        )),
    }
}

/// A virtual time offset as snapshots print it: `+1800s`, `+2.5s`,
/// `+0.843s` (milliseconds at most, trailing zeros cut).
pub(crate) fn offset(elapsed: Duration) -> String {
    format!("+{}", seconds(elapsed))
}

/// A duration in seconds, as snapshots print it: `1800s`, `0.843s`.
pub(crate) fn seconds(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        return format!("{}s", duration.as_secs());
    }
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_template_matches_any_instant_of_its_window_and_names_the_latest_otherwise() {
        let window = Window::between(at(100), at(102), Duration::from_secs(1));
        let want = json!({ "t": "{{now+10s}}", "items": [{ "t": "{{now}}" }], "id": "t1" });
        let cases = [
            // (observed, expected after expansion)
            (json!(109_000_000), json!(109_000_000)),
            (json!("113000000"), json!("113000000")),
            (json!("108999999"), json!("113000000")),
            (json!("113000001"), json!("113000000")),
            (json!("not a time"), json!("113000000")),
        ];
        for (observed, expanded) in cases {
            let have = json!({ "t": observed, "items": [{ "t": "101000000" }], "id": "t1" });
            assert_eq!(
                expand_within(&want, &have, window),
                Ok(json!({ "t": expanded, "items": [{ "t": "101000000" }], "id": "t1" })),
                "{have}"
            );
        }
        let exact = Window::at(at(100));
        assert_eq!(
            expand_within(&want, &json!({}), exact),
            expand(&want, at(100)),
            "one instant is plain expansion"
        );
    }

    #[test]
    fn templates_become_microseconds_and_other_strings_stay() {
        let now = at(1_893_456_000);
        let cases: &[(&str, Option<i64>)] = &[
            ("{{now}}", Some(1_893_456_000_000_000)),
            ("{{now+60s}}", Some(1_893_456_060_000_000)),
            ("{{ now + 60s }}", Some(1_893_456_060_000_000)),
            ("{{now-1h}}", Some(1_893_452_400_000_000)),
            ("{{now+1h30m}}", Some(1_893_461_400_000_000)),
            ("hello", None),
            ("{not a template}", None),
        ];
        for (text, expected) in cases {
            assert_eq!(expand_str(text, now), Ok(*expected), "{text}");
        }
        for bad in ["{{later}}", "{{now*2}}", "{{now+60}}", "{{now+}}"] {
            let error = expand_str(bad, now).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn expansion_walks_arrays_and_objects() {
        let value = json!({"items": [{"leaseTimestamp": "{{now+1s}}", "n": 1}], "t": "x"});
        let expanded = expand(&value, at(10)).expect("expands");
        assert_eq!(
            expanded,
            json!({"items": [{"leaseTimestamp": "11000000", "n": 1}], "t": "x"})
        );
    }

    #[test]
    fn instants_are_templates_or_whole_microseconds() {
        let now = at(1_893_456_000);
        let cases = [
            (json!("{{now-1h}}"), Ok(1_893_452_400_000_000)),
            (json!(1_498_510_174_000_000_i64), Ok(1_498_510_174_000_000)),
            (json!("1498510174000000"), Ok(1_498_510_174_000_000)),
        ];
        for (value, expected) in cases {
            assert_eq!(micros_of(&value, now), expected, "{value}");
        }
        for bad in [json!("soon"), json!(1.5), json!(true), json!("{{later}}")] {
            assert!(micros_of(&bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_print_whole_or_fractional_seconds() {
        assert_eq!(offset(Duration::from_secs(1800)), "+1800s");
        assert_eq!(offset(Duration::ZERO), "+0s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5s");
        assert_eq!(seconds(Duration::from_micros(843_211)), "0.843s");
    }
}
