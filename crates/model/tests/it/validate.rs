//! The validators, at their boundaries, and the errors they return.

use std::time::Duration;

use taskqueue_model::limits::{MAX_ETA_AHEAD, MAX_PAYLOAD_BYTES};
use taskqueue_model::{Payload, Task, Timestamp, ValidationError, validate};

/// The field named by the error of `result`, or `None` when it passed.
fn failed_field(result: Result<(), ValidationError>) -> Option<&'static str> {
    result.err().map(|e| e.field())
}

#[test]
fn num_tasks_is_1_to_1000() {
    let cases = [
        (i64::MIN, false),
        (-1, false),
        (0, false),
        (1, true),
        (1000, true),
        (1001, false),
        (i64::MAX, false),
    ];
    for (value, valid) in cases {
        let expected = (!valid).then_some(ValidationError::NumTasksOutOfRange { value });
        assert_eq!(validate::num_tasks(value).err(), expected, "{value}");
    }
}

#[test]
fn lease_seconds_is_0_to_604800_and_names_its_parameter() {
    let cases = [
        (-1, false),
        (0, true),
        (1, true),
        (604_800, true),
        (604_801, false),
        (i64::MIN, false),
    ];
    for parameter in ["leaseSecs", "newLeaseSeconds"] {
        for (value, valid) in cases {
            let expected =
                (!valid).then_some(ValidationError::LeaseSecondsOutOfRange { parameter, value });
            let result = validate::lease_seconds(parameter, value);
            assert_eq!(result.clone().err(), expected, "{parameter}={value}");
            assert_eq!(failed_field(result), (!valid).then_some(parameter));
        }
    }
}

#[test]
fn tags_are_at_most_500_bytes() {
    let cases = [
        (String::new(), None),
        ("BossTransferTask".to_owned(), None),
        ("t".repeat(500), None),
        ("t".repeat(501), Some(501)),
        // 250 two-byte characters are 500 bytes; one more ASCII byte is over.
        ("é".repeat(250), None),
        (format!("{}t", "é".repeat(250)), Some(501)),
        // 167 three-byte characters are 501 bytes although only 167 characters.
        ("€".repeat(167), Some(501)),
    ];
    for (tag, too_long) in cases {
        let expected = too_long.map(|bytes| ValidationError::TagTooLong { bytes });
        assert_eq!(validate::tag(&tag).err(), expected, "{} bytes", tag.len());
    }
}

#[test]
fn payloads_are_at_most_1_mib() {
    let cases = [
        (0, true),
        (1, true),
        (MAX_PAYLOAD_BYTES, true),
        (1_048_576, true),
        (1_048_577, false),
        (usize::MAX, false),
    ];
    for (bytes, valid) in cases {
        let expected = (!valid).then_some(ValidationError::PayloadTooLarge { bytes });
        assert_eq!(validate::payload_len(bytes).err(), expected, "{bytes}");
    }
}

#[test]
fn eta_is_at_most_30_days_ahead() {
    let now = Timestamp::from_micros(1_498_510_174_000_000);
    let latest = Timestamp::from_micros(now.as_micros() + 30 * 86_400 * 1_000_000);
    let at = |offset: i64| Timestamp::from_micros(latest.as_micros() + offset);
    let cases = [
        (Timestamp::ZERO, true),
        (Timestamp::from_micros(i64::MIN), true),
        (now, true),
        (at(-1), true),
        (at(0), true),
        (at(1), false),
        (Timestamp::from_micros(i64::MAX), false),
    ];
    for (eta, valid) in cases {
        let expected = (!valid).then_some(ValidationError::EtaTooFar { eta, latest });
        assert_eq!(validate::eta(eta, now).err(), expected, "{eta}");
    }
    assert_eq!(now.checked_add(MAX_ETA_AHEAD), Some(latest));
    // Near the end of time the limit saturates instead of overflowing.
    let end = Timestamp::from_micros(i64::MAX);
    assert_eq!(validate::eta(end, end), Ok(()));
}

#[test]
fn lease_request_checks_every_parameter() {
    let too_long = "t".repeat(501);
    // (numTasks, leaseSecs, groupByTag, tag, the offending field)
    let cases = [
        (100, 300, false, None, None),
        (100, 300, true, None, None),
        (100, 300, true, Some("batch"), None),
        (1, 0, true, Some(""), None),
        (1000, 604_800, false, None, None),
        (0, 300, false, None, Some("numTasks")),
        (1001, 300, false, None, Some("numTasks")),
        (100, -1, false, None, Some("leaseSecs")),
        (100, 604_801, false, None, Some("leaseSecs")),
        (100, 300, false, Some("batch"), Some("tag")),
        (100, 300, true, Some(too_long.as_str()), Some("tag")),
        // Several problems: the first in parameter order is reported.
        (0, -1, false, Some("batch"), Some("numTasks")),
    ];
    for (num_tasks, lease_secs, group_by_tag, tag, field) in cases {
        let result = validate::lease_request(num_tasks, lease_secs, group_by_tag, tag);
        assert_eq!(
            failed_field(result),
            field,
            "{num_tasks} {lease_secs} {group_by_tag} {tag:?}"
        );
    }
    assert_eq!(
        validate::lease_request(1, 1, false, Some("t")),
        Err(ValidationError::TagWithoutGroupByTag)
    );
}

#[test]
fn task_for_insert_checks_id_tag_payload_and_eta() {
    let now = Timestamp::from_micros(1_000_000_000_000_000);
    let thirty_days = now.checked_add(MAX_ETA_AHEAD).unwrap_or(now);
    let too_far = now
        .checked_add(MAX_ETA_AHEAD + Duration::from_micros(1))
        .unwrap_or(now);
    let cases = [
        (Task::default(), None),
        (Task::new("work"), None),
        (
            Task::new("work")
                .with_id("f32a7aab42bdaf6f")
                .with_tag("t")
                .with_eta(thirty_days),
            None,
        ),
        (Task::new(vec![0; MAX_PAYLOAD_BYTES]), None),
        // `leaseTimestamp: 0` was sent by real inserts; a past ETA is fine.
        (Task::new("work").with_eta(Timestamp::ZERO), None),
        // The body's `queueName` is not checked: it may be in the long form.
        (
            Task::new("work").with_queue_name("projects/s~app/taskqueues/q"),
            None,
        ),
        (Task::new("work").with_id("bad id"), Some("id")),
        (Task::new("work").with_id(""), Some("id")),
        (Task::new("work").with_tag("t".repeat(501)), Some("tag")),
        (
            Task::new(vec![0; MAX_PAYLOAD_BYTES + 1]),
            Some("payloadBase64"),
        ),
        (Task::new("work").with_eta(too_far), Some("leaseTimestamp")),
    ];
    for (task, field) in cases {
        assert_eq!(
            failed_field(validate::task_for_insert(&task, now)),
            field,
            "{task:?}"
        );
    }
}

#[test]
fn errors_name_their_wire_field() {
    let cases = [
        (ValidationError::InvalidTaskName { name: "x".into() }, "id"),
        (
            ValidationError::InvalidQueueName { name: "x".into() },
            "taskqueue",
        ),
        (
            ValidationError::InvalidProject {
                project: "x".into(),
            },
            "project",
        ),
        (ValidationError::TagTooLong { bytes: 501 }, "tag"),
        (
            ValidationError::PayloadTooLarge { bytes: 1 },
            "payloadBase64",
        ),
        (ValidationError::NumTasksOutOfRange { value: 0 }, "numTasks"),
        (
            ValidationError::LeaseSecondsOutOfRange {
                parameter: "newLeaseSeconds",
                value: -1,
            },
            "newLeaseSeconds",
        ),
        (
            ValidationError::EtaTooFar {
                eta: Timestamp::ZERO,
                latest: Timestamp::ZERO,
            },
            "leaseTimestamp",
        ),
        (ValidationError::TagWithoutGroupByTag, "tag"),
    ];
    for (error, field) in cases {
        assert_eq!(error.field(), field, "{error:?}");
        let message = error.to_string();
        assert!(message.starts_with(char::is_lowercase), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
}

#[test]
fn long_bad_names_are_cut_in_the_error() {
    let error = validate::task_name(&"bad name ".repeat(100)).err();
    let name = match &error {
        Some(ValidationError::InvalidTaskName { name }) => name.clone(),
        other => panic!("expected InvalidTaskName, got {other:?}"),
    };
    assert_eq!(name.chars().count(), 65, "{name}");
    assert!(name.ends_with('…'), "{name}");
    assert!(error.is_some_and(|e| e.to_string().len() < 200));
}

#[test]
fn payload_length_is_measured_decoded() {
    // 1 MiB of bytes is about 1.33 MiB of base64: the limit is on the bytes.
    let task = Task::new(Payload::new(vec![0xff; MAX_PAYLOAD_BYTES]));
    let base64_len = task.payload.as_ref().map_or(0, |p| p.to_base64().len());
    assert!(base64_len > MAX_PAYLOAD_BYTES);
    assert_eq!(validate::task_for_insert(&task, Timestamp::ZERO), Ok(()));
}
