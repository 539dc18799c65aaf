//! Snapshots of the canonical JSON of each type, built from representative values, and of the error messages.
//!
//! The snapshots hold `serde_json::to_string_pretty` output, i.e. exactly what goes on the wire.

use serde::Serialize;
use serde_json::json;
use taskqueue_model::{
    ErrorEnvelope, Payload, Task, TaskQueue, TaskQueueAcl, TaskQueueStats, Tasks, Tasks2,
    Timestamp, ValidationError, validate,
};

use crate::TestResult;

fn pretty(value: &impl Serialize) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(value)
}

/// A leased task as production returned it, with one unknown field.
fn leased_task() -> Task {
    let mut task = Task::new(r#"{"src_path": "gs://x"}"#)
        .with_id("f32a7aab42bdaf6f")
        .with_queue_name("projects/s~neuromancer-seung-import/taskqueues/wms-test-pull-queue")
        .with_tag("BossTransferTask");
    task.enqueue_timestamp = Some(Timestamp::from_micros(1_498_510_174_000_000));
    task.lease_timestamp = Some(Timestamp::from_micros(1_498_952_638_063_392));
    task.retry_count = Some(3);
    task.unknown_fields
        .insert("xFutureField".to_owned(), json!({"nested": [1, "two"]}));
    task
}

fn stats() -> TaskQueueStats {
    {
        let mut value = TaskQueueStats::default();
        value.total_tasks = Some(12);
        value.oldest_task = Some(1_498_510_174);
        value.leased_last_minute = Some(0);
        value.leased_last_hour = Some(7);
        value
    }
}

fn acl() -> TaskQueueAcl {
    {
        let mut value = TaskQueueAcl::default();
        value.admin_emails = Some(vec!["admin@example.com".to_owned()]);
        value.consumer_emails = Some(vec![
            "worker@example.com".to_owned(),
            "sa@app.iam.gserviceaccount.com".to_owned(),
        ]);
        value.producer_emails = Some(vec![]);
        value
    }
}

#[test]
fn task_snapshot() -> TestResult {
    insta::assert_snapshot!("task", pretty(&leased_task())?);
    Ok(())
}

#[test]
fn insert_request_snapshot() -> TestResult {
    let task = Task::new(vec![0xfb, 0xff, 0x00])
        .with_queue_name("pull")
        .with_eta(Timestamp::from_micros(1_500_000_000_000_000));
    insta::assert_snapshot!("insert_request", pretty(&task)?);
    Ok(())
}

#[test]
fn tasks_snapshot() -> TestResult {
    let second = Task::default().with_id("task2").with_queue_name("pull");
    insta::assert_snapshot!("tasks", pretty(&Tasks::new(vec![leased_task(), second]))?);
    Ok(())
}

#[test]
fn tasks2_snapshot() -> TestResult {
    let mut listed = leased_task();
    listed.payload = None;
    insta::assert_snapshot!("tasks2", pretty(&Tasks2::new(vec![listed]))?);
    Ok(())
}

#[test]
fn empty_lease_snapshot() -> TestResult {
    insta::assert_snapshot!("empty_lease", pretty(&Tasks::new(vec![]))?);
    Ok(())
}

#[test]
fn task_queue_snapshot() -> TestResult {
    let queue = {
        let mut value = TaskQueue::default();
        value.kind = Some(taskqueue_model::kind::TASK_QUEUE.to_owned());
        value.id = Some("projects/s~app/taskqueues/pull".to_owned());
        value.max_leases = Some(7);
        value.stats = Some(stats());
        value.acl = Some(acl());
        value
    };
    insta::assert_snapshot!("task_queue", pretty(&queue)?);
    Ok(())
}

#[test]
fn stats_snapshot() -> TestResult {
    insta::assert_snapshot!("stats", pretty(&stats())?);
    Ok(())
}

#[test]
fn acl_snapshot() -> TestResult {
    insta::assert_snapshot!("acl", pretty(&acl())?);
    Ok(())
}

#[test]
fn error_envelope_snapshot() -> TestResult {
    let envelope = ErrorEnvelope::new(401, "authError", "Invalid Credentials")
        .with_location("header", "Authorization");
    insta::assert_snapshot!("error_envelope", pretty(&envelope)?);
    Ok(())
}

#[test]
fn scalar_snapshots() -> TestResult {
    let scalars = json!({
        "timestamp": Timestamp::from_micros(1_498_952_638_063_392),
        "negativeTimestamp": Timestamp::from_micros(-1),
        "payload": Payload::new("hello?>"),
        "emptyPayload": Payload::default(),
    });
    insta::assert_snapshot!("scalars", pretty(&scalars)?);
    Ok(())
}

#[test]
fn validation_error_messages_snapshot() {
    let errors = [
        validate::task_name(&"bad name ".repeat(20)).err(),
        validate::queue_name("under_score").err(),
        validate::project("a/b").err(),
        validate::tag(&"t".repeat(501)).err(),
        validate::payload_len(1_048_577).err(),
        validate::num_tasks(1001).err(),
        validate::lease_seconds("newLeaseSeconds", -1).err(),
        validate::eta(Timestamp::from_micros(2_592_000_000_001), Timestamp::ZERO).err(),
        Some(ValidationError::TagWithoutGroupByTag),
    ];
    let messages: Vec<String> = errors
        .iter()
        .map(|e| {
            e.as_ref()
                .map_or_else(|| "passed".to_owned(), |e| format!("{}: {e}", e.field()))
        })
        .collect();
    insta::assert_snapshot!("validation_error_messages", messages.join("\n"));
}
