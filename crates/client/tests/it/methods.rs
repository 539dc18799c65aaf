//! Every method against wiremock: verb, path, query, body and headers.

use serde_json::json;
use taskqueue_client::{
    DeleteTaskRequest, GetQueueRequest, GetTaskRequest, InsertTaskRequest, LeaseTasksRequest,
    LeasedTask, ListTasksRequest, PatchTaskRequest, TaskQueueApi, UpdateTaskRequest,
};
use taskqueue_model::{Task, Timestamp};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{API, client, clock, leased_task_json, queue, secs, task};

const QUEUE_PATH: &str = "/taskqueue/v1beta2/projects/s~my-app/taskqueues/pull-queue";

fn json_response(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Every request carries the token and asks for JSON.
fn authorized() -> wiremock::MockBuilder {
    Mock::given(header("authorization", "Bearer at-1")).and(header("accept", "application/json"))
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests.len(), 1, "exactly one request");
    requests.remove(0)
}

#[tokio::test]
async fn get_queue_without_and_with_stats() {
    let server = MockServer::start().await;
    authorized()
        .and(method("GET"))
        .and(path(QUEUE_PATH))
        .and(query_param_is_missing("getStats"))
        .respond_with(json_response(json!({
            "kind": "taskqueues#taskqueue",
            "id": "projects/s~my-app/taskqueues/pull-queue",
            "maxLeases": 7,
            "acl": {"consumerEmails": ["worker@example.com"]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    authorized()
        .and(method("GET"))
        .and(path(QUEUE_PATH))
        .and(query_param("getStats", "true"))
        .respond_with(json_response(json!({
            "kind": "taskqueues#taskqueue",
            "id": "pull-queue",
            "stats": {"totalTasks": 3, "oldestTask": "1699999000", "leasedLastMinute": "2", "leasedLastHour": 5}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &clock());
    let plain = client
        .get_queue(GetQueueRequest::new(queue()))
        .await
        .expect("queue");
    assert_eq!(plain.max_leases, Some(7));
    assert!(plain.stats.is_none());
    let acl = plain.acl.expect("acl");
    assert_eq!(
        acl.consumer_emails,
        Some(vec!["worker@example.com".to_owned()])
    );
    let with_stats = client
        .get_queue(GetQueueRequest::new(queue()).with_stats(true))
        .await
        .expect("queue with stats");
    let stats = with_stats.stats.expect("stats");
    assert_eq!(stats.total_tasks, Some(3));
    assert_eq!(stats.oldest_task, Some(1_699_999_000));
    assert_eq!(stats.leased_last_minute, Some(2));
    assert_eq!(stats.leased_last_hour, Some(5));
}

#[tokio::test]
async fn insert_sends_the_task_with_its_queue_name_and_url_safe_base64() {
    let server = MockServer::start().await;
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "kind": "taskqueues#task",
            "queueName": "pull-queue",
            // 0xfb 0xff encodes to "+/8=" in the standard alphabet.
            "payloadBase64": "-_8=",
            "tag": "resize"
        })))
        .respond_with(json_response(json!({
            "kind": "taskqueues#task",
            "id": "f32a7aab42bdaf6f",
            "queueName": "pull-queue",
            "payloadBase64": "-_8=",
            "enqueueTimestamp": "1700000000000000",
            "leaseTimestamp": "1700000000000000",
            "retry_count": 0,
            "tag": "resize"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let inserted = client(&server, &clock())
        .insert_task(InsertTaskRequest::new(
            queue(),
            Task::new(vec![0xfb, 0xff]).with_tag("resize"),
        ))
        .await
        .expect("inserted");
    assert_eq!(inserted.id.as_deref(), Some("f32a7aab42bdaf6f"));
    assert_eq!(
        inserted.payload.as_ref().map(|p| p.as_bytes().to_vec()),
        Some(vec![0xfb, 0xff])
    );
    assert_eq!(inserted.retry_count, Some(0));
}

#[tokio::test]
async fn insert_keeps_a_named_task_and_its_eta() {
    let server = MockServer::start().await;
    let eta = Timestamp::from_micros(1_700_000_600_000_000);
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks")))
        .and(body_json(json!({
            "kind": "taskqueues#task",
            "id": "job-42",
            "queueName": "pull-queue",
            "payloadBase64": "aGk=",
            "leaseTimestamp": "1700000600000000"
        })))
        .respond_with(json_response(json!({"id": "job-42"})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, &clock())
        .insert_task(InsertTaskRequest::new(
            queue(),
            Task::new("hi").with_id("job-42").with_eta(eta),
        ))
        .await
        .expect("inserted");
}

#[tokio::test]
async fn get_task_addresses_the_task_path() {
    let server = MockServer::start().await;
    authorized()
        .and(method("GET"))
        .and(path(format!("{QUEUE_PATH}/tasks/job-42")))
        .respond_with(json_response(leased_task_json(
            "job-42",
            1_700_000_060_000_000,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let task = client(&server, &clock())
        .get_task(GetTaskRequest::new(queue(), task("job-42")))
        .await
        .expect("task");
    assert_eq!(task.id.as_deref(), Some("job-42"));
    assert_eq!(task.short_queue_name(), Some("pull-queue"));
    assert_eq!(
        task.lease_timestamp,
        Some(Timestamp::from_micros(1_700_000_060_000_000))
    );
}

#[tokio::test]
async fn list_tasks_reads_items_and_treats_a_missing_items_as_empty() {
    let server = MockServer::start().await;
    authorized()
        .and(method("GET"))
        .and(path(format!("{QUEUE_PATH}/tasks")))
        .respond_with(json_response(json!({
            "kind": "taskqueues#tasks",
            "items": [
                {"id": "a", "queueName": "pull-queue", "retry_count": 0},
                {"id": "b", "queueName": "pull-queue", "retry_count": 2}
            ]
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authorized()
        .and(method("GET"))
        .and(path(format!("{QUEUE_PATH}/tasks")))
        .respond_with(json_response(json!({"kind": "taskqueues#tasks"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &clock());
    let listed = client
        .list_tasks(ListTasksRequest::new(queue()))
        .await
        .expect("list");
    let ids: Vec<_> = listed.iter().filter_map(|t| t.id.as_deref()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(listed.iter().all(|t| t.payload.is_none()));
    let empty = client
        .list_tasks(ListTasksRequest::new(queue()))
        .await
        .expect("empty list");
    assert!(empty.is_empty());
}

#[tokio::test]
async fn lease_sends_its_parameters_in_the_query_and_no_body() {
    let server = MockServer::start().await;
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks/lease")))
        .and(query_param("numTasks", "10"))
        .and(query_param("leaseSecs", "60"))
        .and(query_param_is_missing("groupByTag"))
        .and(query_param_is_missing("tag"))
        .respond_with(json_response(json!({
            "kind": "taskqueue#tasks",
            "items": [leased_task_json("t1", 1_700_000_060_000_000)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let leased = client(&server, &clock())
        .lease_tasks(LeaseTasksRequest::new(queue(), 10, secs(60)))
        .await
        .expect("leased");
    assert_eq!(leased.len(), 1);
    let request = only_request(&server).await;
    assert!(request.body.is_empty());
    assert_eq!(
        request
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
}

#[tokio::test]
async fn lease_by_tag_and_by_oldest_tag() {
    let server = MockServer::start().await;
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks/lease")))
        .and(query_param("groupByTag", "true"))
        .and(query_param("tag", "resize photos"))
        .respond_with(json_response(json!({"kind": "taskqueue#tasks"})))
        .expect(1)
        .mount(&server)
        .await;
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks/lease")))
        .and(query_param("groupByTag", "true"))
        .and(query_param_is_missing("tag"))
        .respond_with(json_response(json!({"kind": "taskqueue#tasks"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &clock());
    let tagged = client
        .lease_tasks(LeaseTasksRequest::new(queue(), 5, secs(30)).with_tag("resize photos"))
        .await
        .expect("lease by tag");
    assert!(tagged.is_empty());
    client
        .lease_tasks(LeaseTasksRequest::new(queue(), 5, secs(30)).group_by_tag())
        .await
        .expect("lease by oldest tag");
}

#[tokio::test]
async fn update_sends_id_queue_name_and_lease_timestamp_from_the_lease() {
    let server = MockServer::start().await;
    let lease = 1_700_000_060_000_000;
    authorized()
        .and(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks/t1")))
        .and(query_param("newLeaseSeconds", "120"))
        .and(body_json(json!({
            "kind": "taskqueues#task",
            "id": "t1",
            "queueName": "projects/s~my-app/taskqueues/pull-queue",
            "leaseTimestamp": lease.to_string()
        })))
        .respond_with(json_response(leased_task_json("t1", lease + 120_000_000)))
        .expect(1)
        .mount(&server)
        .await;
    let leased: Task = serde_json::from_value(leased_task_json("t1", lease)).expect("task");
    let extended = client(&server, &clock())
        .update_task(UpdateTaskRequest::new(
            queue(),
            LeasedTask::from_task(&leased).expect("leased task"),
            secs(120),
        ))
        .await
        .expect("extended");
    assert_eq!(
        extended.lease_timestamp,
        Some(Timestamp::from_micros(lease + 120_000_000))
    );
}

#[tokio::test]
async fn patch_uses_the_patch_verb_and_releases_with_zero_seconds() {
    let server = MockServer::start().await;
    authorized()
        .and(method("PATCH"))
        .and(path(format!("{QUEUE_PATH}/tasks/t1")))
        .and(query_param("newLeaseSeconds", "0"))
        .and(body_json(json!({
            "kind": "taskqueues#task",
            "id": "t1",
            "queueName": "pull-queue",
            "leaseTimestamp": "1700000060000000"
        })))
        .respond_with(json_response(leased_task_json("t1", 1_700_000_000_000_000)))
        .expect(1)
        .mount(&server)
        .await;
    let task = LeasedTask::new(task("t1"), Timestamp::from_micros(1_700_000_060_000_000));
    client(&server, &clock())
        .patch_task(PatchTaskRequest::new(queue(), task, secs(0)))
        .await
        .expect("released");
}

#[tokio::test]
async fn delete_accepts_an_empty_200_or_204() {
    for status in [200, 204] {
        let server = MockServer::start().await;
        authorized()
            .and(method("DELETE"))
            .and(path(format!("{QUEUE_PATH}/tasks/t1")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        client(&server, &clock())
            .delete_task(DeleteTaskRequest::new(queue(), task("t1")))
            .await
            .unwrap_or_else(|error| panic!("{status}: {error}"));
    }
}

#[tokio::test]
async fn project_and_names_are_sent_verbatim_or_escaped_never_reinterpreted() {
    let server = MockServer::start().await;
    authorized()
        .and(method("GET"))
        .and(path(format!(
            "{API}/example.com:my-app/taskqueues/q-1/tasks/a_b-c"
        )))
        .respond_with(json_response(json!({"id": "a_b-c"})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server, &clock())
        .get_task(GetTaskRequest::new(
            taskqueue_client::QueueRef::new("example.com:my-app", "q-1"),
            task("a_b-c"),
        ))
        .await
        .expect("domain-scoped project");
}

#[tokio::test]
async fn the_trait_forwards_each_call_to_the_same_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUEUE_PATH))
        .respond_with(json_response(json!({"id": "pull-queue"})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{QUEUE_PATH}/tasks/lease")))
        .respond_with(json_response(json!({"kind": "taskqueue#tasks"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{QUEUE_PATH}/tasks")))
        .respond_with(json_response(json!({"kind": "taskqueues#tasks"})))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(json_response(json!({"id": "t1"})))
        .with_priority(10)
        .mount(&server)
        .await;
    let client = client(&server, &clock());
    let api: &dyn TaskQueueApi = &client;
    let leased = LeasedTask::new(task("t1"), Timestamp::from_micros(1));
    api.get_queue(GetQueueRequest::new(queue()))
        .await
        .expect("get_queue");
    api.insert_task(InsertTaskRequest::new(queue(), Task::new("x")))
        .await
        .expect("insert_task");
    api.get_task(GetTaskRequest::new(queue(), task("t1")))
        .await
        .expect("get_task");
    api.list_tasks(ListTasksRequest::new(queue()))
        .await
        .expect("list_tasks");
    api.lease_tasks(LeaseTasksRequest::new(queue(), 1, secs(1)))
        .await
        .expect("lease_tasks");
    api.update_task(UpdateTaskRequest::new(queue(), leased.clone(), secs(1)))
        .await
        .expect("update_task");
    api.patch_task(PatchTaskRequest::new(queue(), leased, secs(1)))
        .await
        .expect("patch_task");
    api.delete_task(DeleteTaskRequest::new(queue(), task("t1")))
        .await
        .expect("delete_task");
    let seen: Vec<String> = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                r.url.path().trim_start_matches(QUEUE_PATH)
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "GET ",
            "POST /tasks",
            "GET /tasks/t1",
            "GET /tasks",
            "POST /tasks/lease",
            "POST /tasks/t1",
            "PATCH /tasks/t1",
            "DELETE /tasks/t1",
        ]
    );
}
