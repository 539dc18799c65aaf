//! Shared fixtures: a client on a virtual clock pointed at a mock server.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use taskqueue_auth::{AccessToken, StaticTokenProvider};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::VirtualClock;
use taskqueue_transport::RetryPolicy;
use wiremock::MockServer;

/// The virtual start time of every test: 2023-11-14T22:13:20Z.
pub(crate) const START_SECS: u64 = 1_700_000_000;

/// The API prefix every path starts with.
pub(crate) const API: &str = "/taskqueue/v1beta2/projects";

pub(crate) fn clock() -> VirtualClock {
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(START_SECS));
    clock.set_auto_advance(true);
    clock
}

pub(crate) fn client(server: &MockServer, clock: &VirtualClock) -> Client {
    Client::builder()
        .base_url(format!("{}{API}/", server.uri()))
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new("at-1"))))
        .retry_policy(RetryPolicy::new().with_jitter_seed(1))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("client")
}

pub(crate) fn queue() -> QueueRef {
    QueueRef::new("s~my-app", "pull-queue")
}

/// A task as the service returned it from a lease: long-form queue name,
/// int64 fields as strings.
pub(crate) fn leased_task_json(id: &str, lease_micros: i64) -> serde_json::Value {
    serde_json::json!({
        "kind": "taskqueues#task",
        "id": id,
        "queueName": "projects/s~my-app/taskqueues/pull-queue",
        "payloadBase64": "aGVsbG8=",
        "enqueueTimestamp": "1699999000000000",
        "leaseTimestamp": lease_micros.to_string(),
        "retry_count": 1,
        "tag": "resize"
    })
}
