//! The 8 methods through HTTP, as a table: each case sends one request to a queue seeded the same way and
//! compares the whole JSON answer with the expected wire form (int64 fields as strings, µs timestamps, `items`
//! left out when empty, long-form `queueName`, URL-safe padded base64, the discovery kinds, `leaseTimestamp` 0
//! for a task no lease holds), then checks the effect with a follow-up request.

use axum::http::Method;
use serde_json::{Value, json};
use taskqueue_server::NewTask;

use crate::api_support::{Api, EMPTY_QUEUE, PROJECT, QUEUE, micros, seconds, url, url_in};

/// Matches any non-empty string.
const ANY: &str = "{{any}}";

/// One request and its expected answer.
struct Case {
    name: &'static str,
    method: Method,
    uri: String,
    body: Option<String>,
    /// The expected JSON body; `None`: a 200 with an empty body.
    expect: Option<Value>,
    /// A follow-up request and the status it must get.
    then: Option<(Method, String, u16)>,
}

/// `actual` equals `expected`, where the string [`ANY`] stands for any non-empty string.
fn matches(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(actual), Value::String(expected)) if expected == ANY => !actual.is_empty(),
        (Value::Object(actual), Value::Object(expected)) => {
            actual.len() == expected.len()
                && expected
                    .iter()
                    .all(|(key, value)| actual.get(key).is_some_and(|a| matches(a, value)))
        }
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len()
                && actual.iter().zip(expected).all(|(a, e)| matches(a, e))
        }
        _ => actual == expected,
    }
}

/// The long-form queue name.
fn long_queue() -> String {
    format!("projects/{PROJECT}/taskqueues/{QUEUE}")
}

/// `pull-queue` at T0: `t1` (payload `hello?>`, tag `a`) leased for 60 s, `t2` (payload `hi`) available,
/// `t3` (payload `later`, tag `b`) due at T0+3600; then the clock moves to T0+10.
async fn seeded() -> Api {
    let api = Api::new();
    api.seed(
        QUEUE,
        NewTask::new(b"hello?>".to_vec())
            .with_name("t1")
            .with_tag("a"),
    )
    .await;
    let leased = api.seed_lease(QUEUE, 1, 60).await;
    assert_eq!(leased.len(), 1);
    api.seed(QUEUE, NewTask::new(b"hi".to_vec()).with_name("t2"))
        .await;
    let later = crate::support::at(3600);
    api.seed(
        QUEUE,
        NewTask::new(b"later".to_vec())
            .with_name("t3")
            .with_tag("b")
            .with_eta(later),
    )
    .await;
    api.advance(10);
    api
}

/// `t1` as the wire shows it after the seed lease, with `leaseTimestamp` at T0 + `lease_at`.
fn t1(lease_at: i64) -> Value {
    t1_with_lease_timestamp(&micros(lease_at))
}

/// `t1` as the wire shows it after the seed lease, with this `leaseTimestamp`.
fn t1_with_lease_timestamp(lease_timestamp: &str) -> Value {
    json!({
        "kind": "taskqueues#task",
        "id": "t1",
        "queueName": long_queue(),
        "payloadBase64": "aGVsbG8_Pg==",
        "enqueueTimestamp": micros(0),
        "leaseTimestamp": lease_timestamp,
        "retry_count": 1,
        "tag": "a"
    })
}

fn cases() -> Vec<Case> {
    let modify_body = json!({
        "kind": "taskqueues#task",
        "id": "t1",
        "queueName": QUEUE,
        "leaseTimestamp": micros(60)
    })
    .to_string();
    vec![
        Case {
            name: "taskqueues.get",
            method: Method::GET,
            uri: url(""),
            body: None,
            expect: Some(json!({
                "kind": "taskqueues#taskqueue",
                "id": long_queue(),
                "maxLeases": 5
            })),
            then: None,
        },
        Case {
            name: "taskqueues.get getStats=false",
            method: Method::GET,
            uri: url("?getStats=false"),
            body: None,
            expect: Some(json!({
                "kind": "taskqueues#taskqueue",
                "id": long_queue(),
                "maxLeases": 5
            })),
            then: None,
        },
        Case {
            name: "taskqueues.get getStats=true",
            method: Method::GET,
            uri: url("?getStats=true"),
            body: None,
            expect: Some(json!({
                "kind": "taskqueues#taskqueue",
                "id": long_queue(),
                "maxLeases": 5,
                "stats": {
                    "totalTasks": 3,
                    "oldestTask": seconds(0),
                    "leasedLastMinute": "1",
                    "leasedLastHour": "1"
                }
            })),
            then: None,
        },
        Case {
            name: "tasks.list: (ETA, name) order, no payloads",
            method: Method::GET,
            uri: url("/tasks"),
            body: None,
            expect: Some(json!({
                "kind": "taskqueues#tasks",
                "items": [
                    {"kind": "taskqueues#task", "id": "t2", "queueName": long_queue(),
                     "enqueueTimestamp": micros(0), "leaseTimestamp": "0", "retry_count": 0},
                    {"kind": "taskqueues#task", "id": "t1", "queueName": long_queue(),
                     "enqueueTimestamp": micros(0), "leaseTimestamp": micros(60), "retry_count": 1, "tag": "a"},
                    {"kind": "taskqueues#task", "id": "t3", "queueName": long_queue(),
                     "enqueueTimestamp": micros(0), "leaseTimestamp": "0", "retry_count": 0, "tag": "b"}
                ]
            })),
            then: None,
        },
        Case {
            name: "tasks.list of an empty queue leaves items out",
            method: Method::GET,
            uri: url_in(PROJECT, EMPTY_QUEUE, "/tasks"),
            body: None,
            expect: Some(json!({"kind": "taskqueues#tasks"})),
            then: None,
        },
        Case {
            name: "tasks.get",
            method: Method::GET,
            uri: url("/tasks/t1"),
            body: None,
            expect: Some(t1(60)),
            then: None,
        },
        Case {
            name: "tasks.insert named, standard unpadded base64 in, URL-safe padded out",
            method: Method::POST,
            uri: url("/tasks"),
            body: Some(
                json!({"kind": "taskqueues#task", "id": "t9", "queueName": QUEUE,
                       "payloadBase64": "aGVsbG8/Pg", "tag": "c"})
                .to_string(),
            ),
            expect: Some(json!({
                "kind": "taskqueues#task",
                "id": "t9",
                "queueName": long_queue(),
                "payloadBase64": "aGVsbG8_Pg==",
                "enqueueTimestamp": micros(10),
                "leaseTimestamp": "0",
                "retry_count": 0,
                "tag": "c"
            })),
            then: Some((Method::GET, url("/tasks/t9"), 200)),
        },
        Case {
            name: "tasks.insert unnamed with an ETA (number), long-form queueName",
            method: Method::POST,
            uri: url("/tasks"),
            body: Some(
                json!({"queueName": long_queue(), "payloadBase64": "aGk=",
                       "leaseTimestamp": at_micros(600), "enqueueTimestamp": 5, "retry_count": 7})
                .to_string(),
            ),
            expect: Some(json!({
                "kind": "taskqueues#task",
                "id": ANY,
                "queueName": long_queue(),
                "payloadBase64": "aGk=",
                "enqueueTimestamp": micros(10),
                "leaseTimestamp": "0",
                "retry_count": 0
            })),
            then: Some((Method::GET, url("/tasks"), 200)),
        },
        Case {
            name: "tasks.lease: the available task, retry_count incremented, lease from now",
            method: Method::POST,
            uri: url("/tasks/lease?numTasks=10&leaseSecs=30"),
            body: None,
            expect: Some(json!({
                "kind": "taskqueue#tasks",
                "items": [{
                    "kind": "taskqueues#task",
                    "id": "t2",
                    "queueName": long_queue(),
                    "payloadBase64": "aGk=",
                    "enqueueTimestamp": micros(0),
                    "leaseTimestamp": micros(40),
                    "retry_count": 1
                }]
            })),
            then: Some((Method::GET, url("/tasks/t2"), 200)),
        },
        Case {
            name: "tasks.lease of nothing leaves items out (a `{}` body is ignored)",
            method: Method::POST,
            uri: url("/tasks/lease?numTasks=1&leaseSecs=30&groupByTag=true&tag=zzz"),
            body: Some("{}".to_owned()),
            expect: Some(json!({"kind": "taskqueue#tasks"})),
            then: None,
        },
        Case {
            name: "tasks.update extends from now",
            method: Method::POST,
            uri: url("/tasks/t1?newLeaseSeconds=120"),
            body: Some(modify_body.clone()),
            expect: Some(t1(130)),
            then: None,
        },
        Case {
            name: "tasks.patch with newLeaseSeconds=0 releases",
            method: Method::PATCH,
            uri: url("/tasks/t1?newLeaseSeconds=0"),
            body: Some(modify_body),
            expect: Some(t1_with_lease_timestamp("0")),
            then: None,
        },
        Case {
            name: "tasks.delete answers 200 with an empty body",
            method: Method::DELETE,
            uri: url("/tasks/t2"),
            body: None,
            expect: None,
            then: Some((Method::GET, url("/tasks/t2"), 404)),
        },
    ]
}

/// `T0 + secs` in microseconds, as a JSON number (clients sent numbers too).
fn at_micros(secs: i64) -> i64 {
    crate::support::at(secs).as_micros()
}

#[tokio::test]
async fn every_method_answers_in_the_production_wire_format() {
    let cases = cases();
    assert_eq!(
        cases
            .iter()
            .map(|case| case.name.split([' ', ':']).next().unwrap_or_default())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        8,
        "the table covers the 8 methods"
    );
    for case in cases {
        let api = seeded().await;
        let token = api.full_token().await;
        let reply = api
            .call(
                case.method.clone(),
                &case.uri,
                Some(&token),
                case.body.as_deref(),
            )
            .await;
        match &case.expect {
            Some(expected) => {
                let actual = reply.ok_json();
                assert!(
                    matches(&actual, expected),
                    "{}:\n  actual   {actual}\n  expected {expected}",
                    case.name
                );
            }
            None => {
                assert_eq!(reply.status.as_u16(), 200, "{}", case.name);
                assert!(reply.body.is_empty(), "{}", case.name);
                assert_eq!(reply.content_type(), None, "{}", case.name);
            }
        }
        if let Some((method, uri, status)) = case.then {
            let follow = api.call(method, &uri, Some(&token), None).await;
            assert_eq!(follow.status.as_u16(), status, "{} (follow-up)", case.name);
        }
    }
}

#[tokio::test]
async fn an_insert_then_lease_round_trip_keeps_the_payload_bytes() {
    let api = Api::new();
    let token = api.full_token().await;
    // Every byte value, so both URL-safe symbols appear in the base64.
    let payload: Vec<u8> = (0..=255).collect();
    let encoded = taskqueue_model::Payload::new(payload.clone()).to_base64();
    assert!(encoded.contains('-') && encoded.contains('_'));
    let body = json!({"queueName": QUEUE, "payloadBase64": encoded}).to_string();
    let inserted = api
        .call(Method::POST, &url("/tasks"), Some(&token), Some(&body))
        .await
        .ok_json();
    let id = inserted["id"].as_str().expect("a generated id");
    assert_eq!(id.len(), 16, "16 hex digits like production's: {id}");
    let leased = api
        .call(
            Method::POST,
            &url("/tasks/lease?numTasks=1&leaseSecs=60"),
            Some(&token),
            None,
        )
        .await
        .ok_json();
    assert_eq!(leased["items"][0]["id"], id);
    let back = taskqueue_model::Payload::from_base64(
        leased["items"][0]["payloadBase64"]
            .as_str()
            .expect("a payload"),
    )
    .expect("valid base64");
    assert_eq!(back.as_bytes(), payload.as_slice());
}
