//! int64 fields: read from strings, numbers and `null`; written as strings. int32 fields stay numbers.

use serde_json::{Value, json};
use taskqueue_model::{Task, TaskQueue, TaskQueueStats, Timestamp};

use crate::TestResult;

#[test]
fn stats_int64_fields_read_any_form_and_write_strings() -> TestResult {
    // (input, expected (oldestTask, leasedLastMinute, leasedLastHour), expected output)
    let cases = [
        (
            json!({"totalTasks": 3, "oldestTask": "1498510174", "leasedLastMinute": "0", "leasedLastHour": "12"}),
            (Some(1_498_510_174), Some(0), Some(12)),
            json!({"totalTasks": 3, "oldestTask": "1498510174", "leasedLastMinute": "0", "leasedLastHour": "12"}),
        ),
        (
            json!({"totalTasks": 3, "oldestTask": 1498510174, "leasedLastMinute": 0, "leasedLastHour": 12}),
            (Some(1_498_510_174), Some(0), Some(12)),
            json!({"totalTasks": 3, "oldestTask": "1498510174", "leasedLastMinute": "0", "leasedLastHour": "12"}),
        ),
        (
            json!({"oldestTask": "-1", "leasedLastMinute": null, "leasedLastHour": null}),
            (Some(-1), None, None),
            json!({"oldestTask": "-1"}),
        ),
        (
            json!({"oldestTask": "9223372036854775807", "leasedLastHour": -9223372036854775808_i64}),
            (Some(i64::MAX), None, Some(i64::MIN)),
            json!({"oldestTask": "9223372036854775807", "leasedLastHour": "-9223372036854775808"}),
        ),
        (json!({}), (None, None, None), json!({})),
    ];
    for (input, (oldest, minute, hour), output) in cases {
        let stats: TaskQueueStats = serde_json::from_value(input.clone())?;
        assert_eq!(
            (
                stats.oldest_task,
                stats.leased_last_minute,
                stats.leased_last_hour
            ),
            (oldest, minute, hour),
            "{input}"
        );
        assert_eq!(serde_json::to_value(&stats)?, output, "{input}");
    }
    Ok(())
}

#[test]
fn int32_fields_stay_numbers_and_int64_fields_become_strings() -> TestResult {
    let task = {
        let mut value = Task::default();
        value.retry_count = Some(3);
        value.enqueue_timestamp = Some(Timestamp::from_micros(7));
        value.lease_timestamp = Some(Timestamp::from_micros(8));
        value
    };
    let queue: TaskQueue = serde_json::from_value(json!({
        "maxLeases": 7,
        "stats": {"totalTasks": 3, "oldestTask": 1, "leasedLastMinute": 2, "leasedLastHour": 3},
    }))?;
    let task_json = serde_json::to_value(&task)?;
    let queue_json = serde_json::to_value(&queue)?;

    let numbers = [
        &task_json["retry_count"],
        &queue_json["maxLeases"],
        &queue_json["stats"]["totalTasks"],
    ];
    for value in numbers {
        assert!(value.is_i64(), "{value} should be a number");
    }
    let strings = [
        (&task_json["enqueueTimestamp"], "7"),
        (&task_json["leaseTimestamp"], "8"),
        (&queue_json["stats"]["oldestTask"], "1"),
        (&queue_json["stats"]["leasedLastMinute"], "2"),
        (&queue_json["stats"]["leasedLastHour"], "3"),
    ];
    for (value, digits) in strings {
        assert_eq!(value, &Value::from(digits));
    }
    Ok(())
}

#[test]
fn task_timestamps_read_numbers_as_real_clients_sent_them() -> TestResult {
    // gcloud-aio sent `enqueueTimestamp` as an integer and `leaseTimestamp: 0` (docs/wire-format.md §2).
    let task: Task = serde_json::from_value(
        json!({"enqueueTimestamp": 1498510174000000_i64, "leaseTimestamp": 0}),
    )?;
    assert_eq!(
        task.enqueue_timestamp,
        Some(Timestamp::from_micros(1_498_510_174_000_000))
    );
    assert_eq!(task.lease_timestamp, Some(Timestamp::ZERO));
    Ok(())
}
