//! The bad-input corpus: each request gets a 4xx in Google's envelope with the expected status and reason
//! (and, for parameters, the location), and the server keeps serving: a valid request after each one succeeds.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;
use taskqueue_server::NewTask;

use crate::api_support::{Api, PROJECT, QUEUE, micros, url, url_in};

/// The body of a corpus request.
enum Payload {
    None,
    Text(String),
    /// A small body under a `Content-Length` that claims `declared` bytes: refused before reading.
    Declared(u64),
    /// Raw bytes without a `Content-Length` header: refused while reading, past the limit.
    Unsized(Vec<u8>),
}

struct Bad {
    name: &'static str,
    method: Method,
    uri: String,
    body: Payload,
    status: u16,
    reason: &'static str,
    location: Option<&'static str>,
    headers: Vec<(&'static str, &'static str)>,
}

fn bad(name: &'static str, method: Method, uri: String, status: u16, reason: &'static str) -> Bad {
    Bad {
        name,
        method,
        uri,
        body: Payload::None,
        status,
        reason,
        location: None,
        headers: Vec::new(),
    }
}

impl Bad {
    fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Payload::Text(body.into());
        self
    }

    fn raw(mut self, body: Payload) -> Self {
        self.body = body;
        self
    }

    fn at(mut self, location: &'static str) -> Self {
        self.location = Some(location);
        self
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
}

fn insert(name: &'static str, body: impl Into<String>, status: u16, reason: &'static str) -> Bad {
    bad(name, Method::POST, url("/tasks"), status, reason).body(body)
}

fn lease(name: &'static str, query: &str, reason: &'static str) -> Bad {
    bad(
        name,
        Method::POST,
        url(&format!("/tasks/lease?{query}")),
        400,
        reason,
    )
}

fn update(
    name: &'static str,
    method: Method,
    query: &str,
    body: impl Into<String>,
    reason: &'static str,
) -> Bad {
    bad(name, method, url(&format!("/tasks/t1{query}")), 400, reason).body(body)
}

fn corpus() -> Vec<Bad> {
    let holder = json!({"id": "t1", "queueName": QUEUE, "leaseTimestamp": micros(60)}).to_string();
    let over_a_mib = taskqueue_model::Payload::new(vec![7_u8; (1 << 20) + 1]).to_base64();
    vec![
        // Bodies that are not JSON, or not a task.
        insert("malformed JSON", "{\"payloadBase64\": ", 400, "parseError"),
        insert("not JSON at all", "payload=aGk=", 400, "parseError"),
        insert("trailing garbage", "{} {}", 400, "parseError"),
        insert("an array", "[]", 400, "invalid"),
        insert("null", "null", 400, "invalid"),
        insert("a string", "\"task\"", 400, "invalid"),
        insert(
            "payload of the wrong type",
            r#"{"payloadBase64": 5}"#,
            400,
            "invalid",
        ),
        insert("tag of the wrong type", r#"{"tag": ["a"]}"#, 400, "invalid"),
        insert("id of the wrong type", r#"{"id": 17}"#, 400, "invalid"),
        insert(
            "retry_count of the wrong type",
            r#"{"retry_count": "x"}"#,
            400,
            "invalid",
        ),
        insert(
            "leaseTimestamp not an integer",
            r#"{"leaseTimestamp": "tomorrow"}"#,
            400,
            "invalid",
        ),
        insert(
            "leaseTimestamp a fraction",
            r#"{"leaseTimestamp": 1.5}"#,
            400,
            "invalid",
        ),
        insert(
            "bad base64",
            r#"{"payloadBase64": "*not base64*"}"#,
            400,
            "invalid",
        ),
        insert(
            "mixed base64 alphabets",
            r#"{"payloadBase64": "ab+_"}"#,
            400,
            "invalid",
        ),
        insert(
            "impossible base64 length",
            r#"{"payloadBase64": "abcde"}"#,
            400,
            "invalid",
        ),
        insert("empty body", "", 400, "required"),
        insert("whitespace body", " \r\n", 400, "required"),
        // Names and values the model's validators refuse.
        insert("bad task name", r#"{"id": "bad name"}"#, 400, "invalid"),
        insert("task name with a slash", r#"{"id": "a/b"}"#, 400, "invalid"),
        insert(
            "task name too long",
            json!({"id": "a".repeat(501)}).to_string(),
            400,
            "invalid",
        ),
        insert(
            "tag too long",
            json!({"tag": "é".repeat(251)}).to_string(),
            400,
            "invalid",
        ),
        insert(
            "ETA more than 30 days ahead",
            json!({"leaseTimestamp": micros(10 + 30 * 86_400 + 1)}).to_string(),
            400,
            "invalid",
        ),
        insert(
            "another queue in the body",
            r#"{"queueName": "other-queue"}"#,
            400,
            "invalid",
        ),
        insert(
            "another project in the body's long form",
            r#"{"queueName": "projects/other/taskqueues/pull-queue"}"#,
            400,
            "invalid",
        ),
        insert("a name already taken", r#"{"id": "t1"}"#, 409, "duplicate"),
        // Sizes.
        insert(
            "payload over 1 MiB decoded",
            json!({"payloadBase64": over_a_mib}).to_string(),
            413,
            "uploadTooLarge",
        ),
        bad(
            "a Content-Length over the limit",
            Method::POST,
            url("/tasks"),
            413,
            "uploadTooLarge",
        )
        .raw(Payload::Declared(10_000_000)),
        bad(
            "an unsized body over the limit",
            Method::POST,
            url("/tasks"),
            413,
            "uploadTooLarge",
        )
        .raw(Payload::Unsized(vec![b' '; 2 << 20])),
        // Path segments.
        bad(
            "bad task name in the URL",
            Method::GET,
            url("/tasks/bad%20name"),
            400,
            "invalid",
        )
        .at("task"),
        bad(
            "task name not UTF-8",
            Method::GET,
            url("/tasks/%FF"),
            400,
            "invalid",
        ),
        bad(
            "bad queue name",
            Method::GET,
            url_in(PROJECT, "bad_queue", "/tasks"),
            400,
            "invalid",
        )
        .at("taskqueue"),
        bad(
            "queue name too long",
            Method::GET,
            url_in(PROJECT, &"q".repeat(101), ""),
            400,
            "invalid",
        )
        .at("taskqueue"),
        bad(
            "bad project",
            Method::GET,
            url_in("bad%21project", QUEUE, "/tasks"),
            400,
            "invalid",
        )
        .at("project"),
        bad(
            "unknown queue",
            Method::GET,
            url_in(PROJECT, "no-such-queue", "/tasks"),
            404,
            "notFound",
        ),
        bad(
            "another project",
            Method::GET,
            url_in("other", QUEUE, "/tasks"),
            404,
            "notFound",
        ),
        bad(
            "unknown task",
            Method::GET,
            url("/tasks/nope"),
            404,
            "notFound",
        ),
        bad(
            "unknown task deleted",
            Method::DELETE,
            url("/tasks/nope"),
            404,
            "notFound",
        ),
        // Lease parameters.
        lease("numTasks missing", "leaseSecs=60", "required").at("numTasks"),
        lease("leaseSecs missing", "numTasks=1", "required").at("leaseSecs"),
        lease("numTasks zero", "numTasks=0&leaseSecs=60", "invalid").at("numTasks"),
        lease("numTasks negative", "numTasks=-1&leaseSecs=60", "invalid").at("numTasks"),
        lease(
            "numTasks over 1000",
            "numTasks=1001&leaseSecs=60",
            "invalid",
        )
        .at("numTasks"),
        lease(
            "numTasks not a number",
            "numTasks=ten&leaseSecs=60",
            "invalid",
        )
        .at("numTasks"),
        lease(
            "numTasks a fraction",
            "numTasks=1.5&leaseSecs=60",
            "invalid",
        )
        .at("numTasks"),
        lease(
            "numTasks beyond 64 bits",
            "numTasks=99999999999999999999&leaseSecs=60",
            "invalid",
        )
        .at("numTasks"),
        lease(
            "numTasks repeated",
            "numTasks=1&numTasks=2&leaseSecs=60",
            "invalid",
        )
        .at("numTasks"),
        lease("leaseSecs negative", "numTasks=1&leaseSecs=-1", "invalid").at("leaseSecs"),
        lease(
            "leaseSecs over a week",
            "numTasks=1&leaseSecs=604801",
            "invalid",
        )
        .at("leaseSecs"),
        lease("leaseSecs empty", "numTasks=1&leaseSecs=", "invalid").at("leaseSecs"),
        lease(
            "groupByTag not a boolean",
            "numTasks=1&leaseSecs=60&groupByTag=maybe",
            "invalid",
        )
        .at("groupByTag"),
        lease(
            "tag without groupByTag",
            "numTasks=1&leaseSecs=60&tag=a",
            "invalid",
        )
        .at("tag"),
        lease(
            "tag too long",
            &format!(
                "numTasks=1&leaseSecs=60&groupByTag=true&tag={}",
                "t".repeat(501)
            ),
            "invalid",
        )
        .at("tag"),
        // Update and patch.
        update(
            "newLeaseSeconds missing",
            Method::POST,
            "",
            holder.clone(),
            "required",
        )
        .at("newLeaseSeconds"),
        update(
            "newLeaseSeconds over a week",
            Method::POST,
            "?newLeaseSeconds=604801",
            holder.clone(),
            "invalid",
        )
        .at("newLeaseSeconds"),
        update(
            "newLeaseSeconds negative",
            Method::PATCH,
            "?newLeaseSeconds=-5",
            holder.clone(),
            "invalid",
        )
        .at("newLeaseSeconds"),
        update(
            "newLeaseSeconds not a number",
            Method::PATCH,
            "?newLeaseSeconds=x",
            holder.clone(),
            "invalid",
        )
        .at("newLeaseSeconds"),
        update(
            "update without a body",
            Method::POST,
            "?newLeaseSeconds=60",
            "",
            "required",
        ),
        update(
            "update without leaseTimestamp",
            Method::POST,
            "?newLeaseSeconds=60",
            r#"{"id": "t1", "queueName": "pull-queue"}"#,
            "required",
        ),
        update(
            "update naming another task",
            Method::POST,
            "?newLeaseSeconds=60",
            json!({"id": "t2", "leaseTimestamp": micros(60)}).to_string(),
            "invalid",
        ),
        update(
            "patch without queueName",
            Method::PATCH,
            "?newLeaseSeconds=60",
            json!({"id": "t1", "leaseTimestamp": micros(60)}).to_string(),
            "required",
        ),
        update(
            "patch moving the task to another queue",
            Method::PATCH,
            "?newLeaseSeconds=60",
            json!({"queueName": "other", "leaseTimestamp": micros(60)}).to_string(),
            "invalid",
        ),
        update(
            "update with malformed JSON",
            Method::POST,
            "?newLeaseSeconds=60",
            "{",
            "parseError",
        ),
        update(
            "update with a stale leaseTimestamp",
            Method::POST,
            "?newLeaseSeconds=60",
            json!({"leaseTimestamp": micros(59)}).to_string(),
            "invalid",
        ),
        // Standard parameters.
        bad(
            "getStats not a boolean",
            Method::GET,
            url("?getStats=yes"),
            400,
            "invalid",
        )
        .at("getStats"),
        bad(
            "prettyPrint not a boolean",
            Method::GET,
            url("?prettyPrint=2"),
            400,
            "invalid",
        )
        .at("prettyPrint"),
        bad(
            "alt=media",
            Method::GET,
            url("/tasks/t1?alt=media"),
            400,
            "invalid",
        )
        .at("alt"),
        bad(
            "a bad fields selector",
            Method::GET,
            url("/tasks?fields=items(id"),
            400,
            "invalid",
        )
        .at("fields"),
        // Routing.
        bad(
            "unknown path below a queue",
            Method::GET,
            url("/nope"),
            404,
            "notFound",
        ),
        bad(
            "a path below a task",
            Method::GET,
            url("/tasks/t1/more"),
            404,
            "notFound",
        ),
        bad(
            "a trailing slash",
            Method::GET,
            url("/tasks/"),
            404,
            "notFound",
        ),
        bad(
            "an empty project",
            Method::GET,
            url_in("", QUEUE, "/tasks"),
            400,
            "invalid",
        )
        .at("project"),
        bad(
            "another API version",
            Method::GET,
            "/taskqueue/v1beta1/projects/dev-project".to_owned(),
            404,
            "notFound",
        ),
        bad(
            "the API root",
            Method::GET,
            "/taskqueue".to_owned(),
            404,
            "notFound",
        ),
        bad(
            "PUT on the tasks",
            Method::PUT,
            url("/tasks"),
            405,
            "httpMethodNotAllowed",
        ),
        bad(
            "DELETE on the queue",
            Method::DELETE,
            url(""),
            405,
            "httpMethodNotAllowed",
        ),
        bad(
            "POST on the queue",
            Method::POST,
            url(""),
            405,
            "httpMethodNotAllowed",
        ),
        bad(
            "TRACE on a task (HEAD is answered as GET)",
            Method::TRACE,
            url("/tasks/t1"),
            405,
            "httpMethodNotAllowed",
        ),
        bad(
            "a bad method override",
            Method::POST,
            url("/tasks/t1"),
            400,
            "invalid",
        )
        .header("x-http-method-override", "GET POST")
        .at("X-HTTP-Method-Override"),
    ]
}

fn build(case: &Bad, token: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(case.method.clone())
        .uri(case.uri.as_str())
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (name, value) in &case.headers {
        builder = builder.header(*name, *value);
    }
    let body = match &case.body {
        Payload::None => Body::empty(),
        Payload::Text(text) => {
            builder = builder.header(header::CONTENT_LENGTH, text.len());
            Body::from(text.clone())
        }
        Payload::Declared(length) => {
            builder = builder.header(header::CONTENT_LENGTH, *length);
            Body::from("{}")
        }
        Payload::Unsized(bytes) => Body::from(bytes.clone()),
    };
    builder.body(body).expect("a valid request")
}

#[tokio::test]
async fn every_bad_request_gets_a_4xx_envelope_and_the_server_keeps_serving() {
    let api = Api::new();
    api.seed(QUEUE, NewTask::new(b"one".to_vec()).with_name("t1"))
        .await;
    api.seed_lease(QUEUE, 1, 60).await;
    api.seed(QUEUE, NewTask::new(b"two".to_vec()).with_name("t2"))
        .await;
    api.advance(10);
    let token = api.full_token().await;
    let corpus = corpus();
    assert!(corpus.len() >= 70, "{} cases", corpus.len());
    for case in &corpus {
        let reply = api.send(build(case, &token)).await;
        if case.method == Method::HEAD {
            // A HEAD answer has no body to carry the envelope.
            assert_eq!(reply.status.as_u16(), case.status, "{}", case.name);
        } else {
            let message = reply.assert_error(case.status, case.reason);
            assert!(!message.contains(&token), "{}", case.name);
            if let Some(location) = case.location {
                assert_eq!(
                    reply.json()["error"]["errors"][0]["location"],
                    location,
                    "{}",
                    case.name
                );
            }
        }
        if case.status == 405 {
            assert!(reply.header("allow").is_some(), "{}", case.name);
        }
        let after = api
            .call(Method::GET, &url("/tasks/t1"), Some(&token), None)
            .await;
        assert_eq!(after.status, 200, "after {}", case.name);
        assert_eq!(
            after.json()["leaseTimestamp"],
            micros(60),
            "after {}: t1 untouched",
            case.name
        );
    }
    // Nothing in the corpus inserted a task.
    let listed = api
        .call(Method::GET, &url("/tasks"), Some(&token), None)
        .await
        .ok_json();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_payload_of_exactly_one_mib_is_accepted() {
    let api = Api::new();
    let token = api.full_token().await;
    let payload = taskqueue_model::Payload::new(vec![0xfb_u8; 1 << 20]).to_base64();
    let body = json!({"id": "big", "payloadBase64": payload}).to_string();
    assert!(body.len() <= api.state.config.limits.max_body_bytes);
    let task = api
        .call(Method::POST, &url("/tasks"), Some(&token), Some(&body))
        .await
        .ok_json();
    assert_eq!(
        task["payloadBase64"].as_str().map(str::len),
        Some(payload.len())
    );
}

#[tokio::test]
async fn the_body_limit_follows_the_configuration() {
    let api = Api::with(|config| config.limits.max_body_bytes = 64);
    let token = api.full_token().await;
    let small = json!({"payloadBase64": "aGk="}).to_string();
    assert_eq!(
        api.call(Method::POST, &url("/tasks"), Some(&token), Some(&small))
            .await
            .status,
        200
    );
    let large = json!({"payloadBase64": "a".repeat(100)}).to_string();
    let message = api
        .call(Method::POST, &url("/tasks"), Some(&token), Some(&large))
        .await
        .assert_error(413, "uploadTooLarge");
    assert!(message.contains("64 bytes"), "{message}");
}
