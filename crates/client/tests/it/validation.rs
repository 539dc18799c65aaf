//! Arguments are validated before sending: nothing reaches the server, and
//! each failure is a typed error naming the offending field.

use std::time::Duration;

use taskqueue_client::{
    GetTaskRequest, InsertTaskRequest, LeaseTasksRequest, LeasedTask, PatchTaskRequest, QueueRef,
    UpdateTaskRequest,
};
use taskqueue_model::{Task, TaskName, Timestamp};
use wiremock::MockServer;

use crate::support::{START_SECS, client, clock, queue, secs, task};

fn leased(id: &str) -> LeasedTask {
    LeasedTask::new(task(id), Timestamp::from_micros(1))
}

#[tokio::test]
async fn invalid_arguments_are_refused_before_sending() {
    let server = MockServer::start().await;
    let client = client(&server, &clock());
    let now_micros = i64::try_from(START_SECS).expect("fits") * 1_000_000;
    let thirty_days = i64::try_from(Duration::from_secs(30 * 86_400).as_micros()).expect("fits");
    let long_tag = "t".repeat(501);

    // (label, expected field, the call's error)
    let cases: Vec<(&str, &str, taskqueue_client::Error)> = vec![
        (
            "bad queue name",
            "taskqueue",
            client
                .lease_tasks(LeaseTasksRequest::new(
                    QueueRef::new("app", "bad_queue"),
                    1,
                    secs(1),
                ))
                .await
                .expect_err("queue"),
        ),
        (
            "empty project",
            "project",
            client
                .get_task(GetTaskRequest::new(QueueRef::new("", "q"), task("t")))
                .await
                .expect_err("project"),
        ),
        (
            "bad task name",
            "id",
            // Refused when the name is made, before any request exists.
            taskqueue_client::Error::from(TaskName::new("no/slashes").expect_err("task")),
        ),
        (
            "zero tasks",
            "numTasks",
            client
                .lease_tasks(LeaseTasksRequest::new(queue(), 0, secs(60)))
                .await
                .expect_err("numTasks"),
        ),
        (
            "1001 tasks",
            "numTasks",
            client
                .lease_tasks(LeaseTasksRequest::new(queue(), 1001, secs(60)))
                .await
                .expect_err("numTasks"),
        ),
        (
            "lease over a week",
            "leaseSecs",
            client
                .lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(604_801)))
                .await
                .expect_err("leaseSecs"),
        ),
        (
            "tag without groupByTag",
            "tag",
            client
                .lease_tasks({
                    let mut request = LeaseTasksRequest::new(queue(), 1, secs(60));
                    request.tag = Some("x".to_owned());
                    request
                })
                .await
                .expect_err("tag"),
        ),
        (
            "update over a week",
            "newLeaseSeconds",
            client
                .update_task(UpdateTaskRequest::new(queue(), leased("t1"), secs(604_801)))
                .await
                .expect_err("newLeaseSeconds"),
        ),
        (
            "patch over a week",
            "newLeaseSeconds",
            client
                .patch_task(PatchTaskRequest::new(queue(), leased("t1"), secs(700_000)))
                .await
                .expect_err("newLeaseSeconds"),
        ),
        (
            "tag over 500 bytes",
            "tag",
            client
                .insert_task(InsertTaskRequest::new(
                    queue(),
                    Task::new("x").with_tag(long_tag),
                ))
                .await
                .expect_err("tag"),
        ),
        (
            "payload over 1 MiB",
            "payloadBase64",
            client
                .insert_task(InsertTaskRequest::new(
                    queue(),
                    Task::new(vec![0_u8; (1 << 20) + 1]),
                ))
                .await
                .expect_err("payload"),
        ),
        (
            "ETA over 30 days ahead",
            "leaseTimestamp",
            client
                .insert_task(InsertTaskRequest::new(
                    queue(),
                    Task::new("x").with_eta(Timestamp::from_micros(now_micros + thirty_days + 1)),
                ))
                .await
                .expect_err("eta"),
        ),
    ];
    for (label, field, error) in &cases {
        assert!(error.is_validation(), "{label}: {error}");
        let validation = error.validation().expect("typed validation error");
        assert_eq!(validation.field(), *field, "{label}: {error}");
        assert!(error.status().is_none(), "{label}");
    }
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty(),
        "nothing may be sent"
    );
}

#[tokio::test]
async fn the_limits_themselves_are_accepted() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let client = client(&server, &clock());
    let now_micros = i64::try_from(START_SECS).expect("fits") * 1_000_000;
    let thirty_days = i64::try_from(Duration::from_secs(30 * 86_400).as_micros()).expect("fits");
    client
        .lease_tasks(LeaseTasksRequest::new(queue(), 1000, secs(604_800)))
        .await
        .expect("largest lease");
    client
        .lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(0)))
        .await
        .expect("zero-second lease");
    client
        .insert_task(InsertTaskRequest::new(
            queue(),
            Task::new(vec![0_u8; 1 << 20])
                .with_tag("t".repeat(500))
                .with_eta(Timestamp::from_micros(now_micros + thirty_days)),
        ))
        .await
        .expect("largest task");
    assert_eq!(server.received_requests().await.expect("rec").len(), 3);
}

#[tokio::test]
async fn a_task_named_lease_cannot_be_updated_by_post() {
    let server = MockServer::start().await;
    let error = client(&server, &clock())
        .update_task(UpdateTaskRequest::new(queue(), leased("lease"), secs(60)))
        .await
        .expect_err("ambiguous path");
    assert!(error.is_validation());
    assert!(error.to_string().contains("use patch instead"), "{error}");
    assert!(server.received_requests().await.expect("rec").is_empty());
}

#[tokio::test]
async fn a_bad_base_url_is_a_configuration_error() {
    for base in [
        "not a url",
        "ftp://example.com/",
        "mailto:someone@example.com",
    ] {
        let error = taskqueue_client::Client::builder()
            .base_url(base)
            .token_provider(std::sync::Arc::new(
                taskqueue_auth::StaticTokenProvider::new(taskqueue_auth::AccessToken::new("at-1")),
            ))
            .build()
            .expect_err(base);
        assert!(error.is_configuration(), "{base}: {error}");
    }
    let error = taskqueue_client::Client::builder()
        .build()
        .expect_err("no token provider");
    assert!(
        error.transport().is_some_and(|t| t.is_invalid_request()),
        "{error}"
    );
}
