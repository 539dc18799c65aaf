//! `Timestamp`: reading from strings and numbers, writing strings, arithmetic and `SystemTime` conversion.

use std::time::{Duration, UNIX_EPOCH};

use taskqueue_model::Timestamp;

use crate::TestResult;

#[test]
fn timestamp_reads_integers_from_strings_and_numbers() {
    // (JSON text, the microseconds it holds, or a fragment of the error message)
    let cases: &[(&str, Result<i64, &str>)] = &[
        (r#""1498952638063392""#, Ok(1_498_952_638_063_392)),
        ("1498952638063392", Ok(1_498_952_638_063_392)),
        (r#""0""#, Ok(0)),
        ("0", Ok(0)),
        (r#""-5""#, Ok(-5)),
        ("-5", Ok(-5)),
        (r#""9223372036854775807""#, Ok(i64::MAX)),
        ("-9223372036854775808", Ok(i64::MIN)),
        (
            r#""9223372036854775808""#,
            Err(r#"invalid value: string "9223372036854775808""#),
        ),
        (
            "9223372036854775808",
            Err("invalid value: integer `9223372036854775808`"),
        ),
        ("1.5", Err("invalid value: floating point `1.5`")),
        ("1.0", Err("invalid value: floating point `1.0`")),
        ("1e6", Err("invalid value: floating point `1000000.0`")),
        (r#""1.5""#, Err(r#"invalid value: string "1.5""#)),
        (r#""""#, Err(r#"invalid value: string """#)),
        (r#""abc""#, Err(r#"invalid value: string "abc""#)),
        (r#"" 1""#, Err(r#"invalid value: string " 1""#)),
        (r#""+1""#, Err(r#"invalid value: string "+1""#)),
        (r#""-""#, Err(r#"invalid value: string "-""#)),
        (r#""0x10""#, Err(r#"invalid value: string "0x10""#)),
        ("true", Err("invalid type: boolean `true`")),
        ("null", Err("invalid type: null")),
        ("[1]", Err("invalid type: sequence")),
    ];
    for &(json, expected) in cases {
        let parsed = serde_json::from_str::<Timestamp>(json);
        match (parsed, expected) {
            (Ok(timestamp), Ok(micros)) => assert_eq!(timestamp.as_micros(), micros, "{json}"),
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{json}: {message}");
                assert!(
                    message.contains("expected a timestamp in microseconds since the Unix epoch"),
                    "{json}: {message}"
                );
            }
            (parsed, expected) => panic!("{json}: got {parsed:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn timestamp_is_written_as_a_string_and_displayed_as_an_integer() -> TestResult {
    let cases = [
        (Timestamp::ZERO, "0"),
        (
            Timestamp::from_micros(1_498_952_638_063_392),
            "1498952638063392",
        ),
        (Timestamp::from_micros(-1), "-1"),
        (Timestamp::from_micros(i64::MIN), "-9223372036854775808"),
    ];
    for (timestamp, digits) in cases {
        assert_eq!(serde_json::to_string(&timestamp)?, format!("\"{digits}\""));
        assert_eq!(timestamp.to_string(), digits);
    }
    Ok(())
}

#[test]
fn timestamp_arithmetic_checks_and_saturates() {
    let t = Timestamp::from_micros;
    let secs = Duration::from_secs;
    let max = Timestamp::from_micros(i64::MAX);
    let min = Timestamp::from_micros(i64::MIN);
    // (start, duration, checked_add, saturating_add, checked_sub)
    let cases = [
        (
            t(0),
            secs(1),
            Some(t(1_000_000)),
            t(1_000_000),
            Some(t(-1_000_000)),
        ),
        (
            t(5),
            Duration::from_nanos(1_999),
            Some(t(6)),
            t(6),
            Some(t(4)),
        ),
        (t(5), Duration::ZERO, Some(t(5)), t(5), Some(t(5))),
        (
            max,
            Duration::from_micros(1),
            None,
            max,
            Some(t(i64::MAX - 1)),
        ),
        (
            min,
            Duration::from_micros(1),
            Some(t(i64::MIN + 1)),
            t(i64::MIN + 1),
            None,
        ),
        (t(0), Duration::MAX, None, max, None),
    ];
    for (start, duration, added, saturated, subtracted) in cases {
        assert_eq!(start.checked_add(duration), added, "{start} + {duration:?}");
        assert_eq!(
            start.saturating_add(duration),
            saturated,
            "{start} +| {duration:?}"
        );
        assert_eq!(
            start.checked_sub(duration),
            subtracted,
            "{start} - {duration:?}"
        );
    }
}

#[test]
fn duration_since_is_none_for_a_later_instant() {
    let t = Timestamp::from_micros;
    let cases = [
        (t(10), t(4), Some(Duration::from_micros(6))),
        (t(4), t(4), Some(Duration::ZERO)),
        (t(4), t(10), None),
        (
            t(i64::MAX),
            t(i64::MIN),
            Some(Duration::from_micros(u64::MAX)),
        ),
        (t(i64::MIN), t(i64::MAX), None),
    ];
    for (later, earlier, expected) in cases {
        assert_eq!(
            later.duration_since(earlier),
            expected,
            "{later} since {earlier}"
        );
    }
}

#[test]
fn system_time_conversion_rounds_down_to_microseconds() {
    let nanos = Duration::from_nanos;
    let cases = [
        (UNIX_EPOCH, 0),
        (UNIX_EPOCH + nanos(1_500), 1),
        (UNIX_EPOCH + nanos(999), 0),
        (UNIX_EPOCH - nanos(1_000), -1),
        (UNIX_EPOCH - nanos(1_500), -2),
        (UNIX_EPOCH - nanos(1), -1),
        (
            UNIX_EPOCH + Duration::from_secs(1_498_952_638) + nanos(63_392_000),
            1_498_952_638_063_392,
        ),
    ];
    for (time, micros) in cases {
        assert_eq!(
            Timestamp::from_system_time(time).as_micros(),
            micros,
            "{time:?}"
        );
    }
}

#[test]
fn to_system_time_handles_both_sides_of_the_epoch() {
    let cases = [
        (0, UNIX_EPOCH),
        (1_500_000, UNIX_EPOCH + Duration::from_micros(1_500_000)),
        (-1_500_000, UNIX_EPOCH - Duration::from_micros(1_500_000)),
    ];
    for (micros, time) in cases {
        assert_eq!(
            Timestamp::from_micros(micros).to_system_time(),
            time,
            "{micros}"
        );
    }
}

#[test]
fn timestamps_order_by_instant() {
    let mut timestamps = [3, -7, 0, i64::MAX, i64::MIN].map(Timestamp::from_micros);
    timestamps.sort();
    assert_eq!(
        timestamps.map(Timestamp::as_micros),
        [i64::MIN, -7, 0, 3, i64::MAX]
    );
}
