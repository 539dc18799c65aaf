//! Shared fixtures: a client on a virtual clock pointed at a mock server, a
//! token provider that rotates on invalidation, and one call per method.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use taskqueue_auth::{AccessToken, StaticTokenProvider};
use taskqueue_client::{
    Client, ClientBuilder, DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest,
    InsertTaskRequest, LeaseTasksRequest, LeasedTask, ListTasksRequest, PatchTaskRequest, QueueRef,
    UpdateTaskRequest,
};
use taskqueue_clock::VirtualClock;
use taskqueue_model::{ApiMethod, Task, TaskName, Timestamp};
use taskqueue_transport::RetryPolicy;
use wiremock::MockServer;

/// Shared with the transport's tests.
pub(crate) use taskqueue_test_support::RotatingTokens;

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

/// A task name the tests know to be valid.
pub(crate) fn task(name: &str) -> TaskName {
    TaskName::new(name).expect("a valid task name")
}

/// A lease length of `seconds`.
pub(crate) fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
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

/// A builder like [`client`]'s, without a token provider, for tests that
/// choose their tokens, scopes and pre-flight setting.
pub(crate) fn builder(server: &MockServer, clock: &VirtualClock) -> ClientBuilder {
    Client::builder()
        .base_url(format!("{}{API}/", server.uri()))
        .retry_policy(RetryPolicy::new().with_jitter_seed(1))
        .clock(Arc::new(clock.clone()))
}

/// Calls `method` with valid arguments, so that only the scopes (or the
/// server) decide the outcome. Every method accepts a `{}` response.
pub(crate) async fn call(client: &Client, method: ApiMethod) -> Result<(), Error> {
    let leased = LeasedTask::new(task("t1"), Timestamp::from_micros(1));
    match method {
        ApiMethod::TaskqueuesGet => client
            .get_queue(GetQueueRequest::new(queue()))
            .await
            .map(drop),
        ApiMethod::TasksDelete => {
            client
                .delete_task(DeleteTaskRequest::new(queue(), task("t1")))
                .await
        }
        ApiMethod::TasksGet => client
            .get_task(GetTaskRequest::new(queue(), task("t1")))
            .await
            .map(drop),
        ApiMethod::TasksInsert => client
            .insert_task(InsertTaskRequest::new(queue(), Task::new("x")))
            .await
            .map(drop),
        ApiMethod::TasksLease => client
            .lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(60)))
            .await
            .map(drop),
        ApiMethod::TasksList => client
            .list_tasks(ListTasksRequest::new(queue()))
            .await
            .map(drop),
        ApiMethod::TasksPatch => client
            .patch_task(PatchTaskRequest::new(queue(), leased, secs(60)))
            .await
            .map(drop),
        ApiMethod::TasksUpdate => client
            .update_task(UpdateTaskRequest::new(queue(), leased, secs(60)))
            .await
            .map(drop),
    }
}

/// How many requests `server` received.
pub(crate) async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.expect("recording").len()
}
