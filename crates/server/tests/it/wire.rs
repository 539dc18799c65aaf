//! The wire conversions: the JSON a stored task becomes, and the task an insert body asks for.

use serde_json::json;
use taskqueue_model::{Payload, QueuePath, Task, Timestamp};
use taskqueue_server::wire::{self, PayloadField, UnleasedLeaseTimestamp};
use taskqueue_server::{NewTask, QueueStats, StoredTask};

fn production_like() -> StoredTask {
    StoredTask {
        queue: "wms-test-pull-queue".to_owned(),
        name: "f32a7aab42bdaf6f".to_owned(),
        payload: br#"{"src_path": "gs://x"}"#.to_vec(),
        tag: Some("BossTransferTask".to_owned()),
        enqueued_at: Timestamp::from_micros(1_498_510_174_000_000),
        eta: Timestamp::from_micros(1_498_952_638_063_392),
        leased: true,
        retry_count: 3,
    }
}

#[test]
fn a_leased_task_serializes_like_the_captured_production_task() {
    let path = QueuePath::new("s~neuromancer-seung-import", "wms-test-pull-queue");
    let task = wire::to_task(
        &production_like(),
        &path,
        PayloadField::Include,
        UnleasedLeaseTimestamp::Zero,
    );
    assert_eq!(
        serde_json::to_value(&task).expect("serializes"),
        json!({
            "kind": "taskqueues#task",
            "id": "f32a7aab42bdaf6f",
            "queueName": "projects/s~neuromancer-seung-import/taskqueues/wms-test-pull-queue",
            "payloadBase64": "eyJzcmNfcGF0aCI6ICJnczovL3gifQ==",
            "enqueueTimestamp": "1498510174000000",
            "leaseTimestamp": "1498952638063392",
            "retry_count": 3,
            "tag": "BossTransferTask",
        })
    );
}

#[test]
fn a_listed_task_has_no_payload_and_an_untagged_one_no_tag() {
    let stored = StoredTask {
        tag: None,
        leased: false,
        retry_count: 0,
        ..production_like()
    };
    let path = QueuePath::new("app", "q");
    let task = wire::to_task(
        &stored,
        &path,
        PayloadField::Omit,
        UnleasedLeaseTimestamp::Zero,
    );
    let json = serde_json::to_value(&task).expect("serializes");
    assert_eq!(json.get("payloadBase64"), None);
    assert_eq!(json.get("tag"), None);
    assert_eq!(json["queueName"], "projects/app/taskqueues/q");
    // A task no lease holds shows leaseTimestamp 0, as the discovery document says...
    assert_eq!(json["leaseTimestamp"], "0");
    assert_eq!(json["retry_count"], 0);
    // ... or, when configured so, its ETA.
    let task = wire::to_task(
        &stored,
        &path,
        PayloadField::Omit,
        UnleasedLeaseTimestamp::Eta,
    );
    let json = serde_json::to_value(&task).expect("serializes");
    assert_eq!(json["leaseTimestamp"], "1498952638063392");
}

#[test]
fn an_expired_lease_shows_its_expiry_whatever_the_unleased_choice() {
    for unleased in [UnleasedLeaseTimestamp::Zero, UnleasedLeaseTimestamp::Eta] {
        let task = wire::to_task(
            &production_like(),
            &QueuePath::new("app", "q"),
            PayloadField::Omit,
            unleased,
        );
        assert_eq!(
            task.lease_timestamp,
            Some(production_like().eta),
            "{unleased:?}"
        );
    }
}

#[test]
fn an_insert_body_becomes_a_new_task() {
    let body: Task = serde_json::from_value(json!({
        "kind": "taskqueues#task",
        "id": "t1",
        "queueName": "projects/s~app/taskqueues/q",
        "payloadBase64": "aGVsbG8_Pg",
        "tag": "a",
        "leaseTimestamp": "1500000000000000",
        "enqueueTimestamp": 1,
        "retry_count": 5,
    }))
    .expect("parses");
    assert_eq!(
        wire::to_new_task(body),
        NewTask::new(b"hello?>".to_vec())
            .with_name("t1")
            .with_tag("a")
            .with_eta(Timestamp::from_micros(1_500_000_000_000_000))
    );
}

#[test]
fn an_empty_id_and_a_zero_lease_timestamp_mean_unset() {
    let body = Task::new(Payload::new("x"))
        .with_id("")
        .with_eta(Timestamp::ZERO);
    let task = wire::to_new_task(body);
    assert_eq!((task.name, task.eta), (None, None));
    let task = wire::to_new_task(Task::default());
    assert_eq!(task, NewTask::default());
}

#[test]
fn stats_report_the_oldest_eta_in_seconds() {
    let stats = QueueStats {
        total_tasks: 3,
        oldest_eta: Some(Timestamp::from_micros(1_893_452_400_999_999)),
        leased_last_minute: 1,
        leased_last_hour: 2,
    };
    assert_eq!(
        serde_json::to_value(wire::to_stats(&stats)).expect("serializes"),
        json!({
            "totalTasks": 3,
            "oldestTask": "1893452400",
            "leasedLastMinute": "1",
            "leasedLastHour": "2",
        })
    );
    let empty = serde_json::to_value(wire::to_stats(&QueueStats::default())).expect("serializes");
    assert_eq!(
        empty,
        json!({ "totalTasks": 0, "leasedLastMinute": "0", "leasedLastHour": "0" })
    );
}
