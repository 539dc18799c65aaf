//! The one task captured from production (docs/wire-format.md §3.1, source IGN) parses to the right values.

use serde_json::Value;
use taskqueue_model::{Task, Timestamp};

use crate::TestResult;

/// The production task, verbatim except for `payloadBase64`: the reference shortens it to `eyJzcmNf…fQ==`, so it is
/// replaced by the complete base64 of `{"src_path": "gs://x"}`, which has the same first and last characters.
const PRODUCTION_TASK: &str = r#"{"kind": "taskqueues#task", "leaseTimestamp": "1498952638063392", "queueName": "projects/s~neuromancer-seung-import/taskqueues/wms-test-pull-queue", "retry_count": 3, "tag": "BossTransferTask", "payloadBase64": "eyJzcmNfcGF0aCI6ICJnczovL3gifQ==", "id": "f32a7aab42bdaf6f", "enqueueTimestamp": "1498510174000000"}"#;

#[test]
fn production_task_parses_to_the_captured_values() -> TestResult {
    let task: Task = serde_json::from_str(PRODUCTION_TASK)?;

    assert_eq!(task.kind.as_deref(), Some("taskqueues#task"));
    assert_eq!(task.id.as_deref(), Some("f32a7aab42bdaf6f"));
    assert_eq!(
        task.lease_timestamp,
        Some(Timestamp::from_micros(1_498_952_638_063_392))
    );
    assert_eq!(
        task.enqueue_timestamp,
        Some(Timestamp::from_micros(1_498_510_174_000_000))
    );
    assert_eq!(task.retry_count, Some(3));
    assert_eq!(task.tag.as_deref(), Some("BossTransferTask"));
    assert_eq!(
        task.payload.as_ref().map(|p| p.as_bytes()),
        Some(&br#"{"src_path": "gs://x"}"#[..])
    );
    assert!(task.unknown_fields.is_empty(), "{:?}", task.unknown_fields);

    let path = task
        .queue_path()
        .ok_or("queueName is not in the long form")?;
    assert_eq!(path.project, "s~neuromancer-seung-import");
    assert_eq!(path.queue, "wms-test-pull-queue");
    assert_eq!(task.short_queue_name(), Some("wms-test-pull-queue"));
    Ok(())
}

#[test]
fn production_task_is_written_back_unchanged() -> TestResult {
    let original: Value = serde_json::from_str(PRODUCTION_TASK)?;
    let task: Task = serde_json::from_value(original.clone())?;
    assert_eq!(serde_json::to_value(&task)?, original);
    Ok(())
}
