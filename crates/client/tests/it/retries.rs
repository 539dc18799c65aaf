//! Retry defaults per method: reads, update, patch and delete retry; lease
//! and insert never do unless the caller opts in.

use taskqueue_client::{
    DeleteTaskRequest, GetTaskRequest, InsertTaskRequest, LeaseTasksRequest, LeasedTask,
    UpdateTaskRequest,
};
use taskqueue_model::{Task, Timestamp};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, clock, queue, secs, task};

/// A server that fails once with 503, then answers `{}`.
async fn fails_once() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.expect("recording").len()
}

fn leased() -> LeasedTask {
    LeasedTask::new(task("t1"), Timestamp::from_micros(1))
}

#[tokio::test]
async fn lease_and_insert_are_not_retried_by_default() {
    let server = fails_once().await;
    let clock = clock();
    let client = client(&server, &clock);
    let error = client
        .lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(60)))
        .await
        .expect_err("lease is not retried");
    assert!(error.is_transient());
    assert_eq!(requests(&server).await, 1);

    let server = fails_once().await;
    let client = crate::support::client(&server, &clock);
    client
        .insert_task(InsertTaskRequest::new(queue(), Task::new("x")))
        .await
        .expect_err("insert is not retried");
    assert_eq!(requests(&server).await, 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn lease_and_insert_retry_when_the_caller_opts_in() {
    let server = fails_once().await;
    let clock = clock();
    let client = client(&server, &clock);
    client
        .lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(60)).with_retry(true))
        .await
        .expect("retried lease");
    assert_eq!(requests(&server).await, 2);

    let server = fails_once().await;
    let client = crate::support::client(&server, &clock);
    client
        .insert_task(InsertTaskRequest::new(queue(), Task::new("x")).with_retry(true))
        .await
        .expect("retried insert");
    assert_eq!(requests(&server).await, 2);
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn reads_update_and_delete_are_retried_by_default() {
    let clock = clock();
    let server = fails_once().await;
    client(&server, &clock)
        .get_task(GetTaskRequest::new(queue(), task("t1")))
        .await
        .expect("retried get");
    assert_eq!(requests(&server).await, 2);

    let server = fails_once().await;
    client(&server, &clock)
        .update_task(UpdateTaskRequest::new(queue(), leased(), secs(60)))
        .await
        .expect("retried update");
    assert_eq!(requests(&server).await, 2);

    let server = fails_once().await;
    client(&server, &clock)
        .delete_task(DeleteTaskRequest::new(queue(), task("t1")))
        .await
        .expect("retried delete");
    assert_eq!(requests(&server).await, 2);
    assert_eq!(
        clock.sleeps().len(),
        3,
        "one backoff sleep per retried call"
    );
}
