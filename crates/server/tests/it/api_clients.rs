//! The request shapes real v1beta2 clients sent to production, replayed byte for byte over HTTP against the
//! server as `taskqueue-server serve` runs it, on a 127.0.0.1 socket, with the answers production gave them (or, where production's is
//! unknown, the answer the server chose and documents).
//!
//! - gcloud-aio (an asyncio client, raw HTTP): inserts `{kind, queueName, payloadBase64, enqueueTimestamp (a JSON
//!   number), leaseTimestamp: 0, retry_count: 0}` into `s~project`, leases with `alt=json&leaseSecs&numTasks`
//!   (and `groupByTag=true&tag=T`) on a POST without a body, renews every half lease with
//!   `PATCH …?alt=json&newLeaseSeconds=N` and the body `{kind, id, queueName}` (no `leaseTimestamp`: its smoke
//!   test asserted 200 against production), reads `stats.totalTasks` as a number, deletes.
//! - The cs-unplugged render daemon (google-api-python-client, built from the discovery document): writes to
//!   `b~project`, reads from the bare project, inserts `{kind, queueName, payloadBase64 (standard base64), tag}`,
//!   leases with `groupByTag=true|false`, patches with the body `{queueName}` only, and every call carries
//!   `alt=json` (bodiless POSTs send `Content-Length: 0`).
//! - Update (POST) bodies carrying the whole leased task as returned (payload, long-form `queueName`, int64
//!   strings), or cut back to the short `queueName`.
//! - A domain-scoped app (`example.com:my-app`), whose `:` the Python client percent-encodes in the path.
//! - Retry habits: a repeated delete must succeed, and a renewal after a delete must be the lease-expired 400,
//!   not a 404, which clients that retry every status but 400 repeat forever.
//!
//! The last test flips each `choices:` key and checks the other answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::Method;
use serde_json::{Value, json};
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::{Clock as _, VirtualClock};
use taskqueue_model::Payload;
use taskqueue_server::config::{
    ApiChoices, ModifyMissingTask, PatchLeaseTimestamp, RepeatedDelete, UnleasedLeaseTimestamp,
};
use taskqueue_server::serve::{self, ClockMode, RunningServer};
use taskqueue_server::{QueueDef, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::api_support::{Api, QUEUE, micros, url};
use crate::support::{T0_SECS, at};

const CALLER: &str = "worker@dev-project.iam.gserviceaccount.com";

/// The server as `taskqueue-server serve` runs it (its router behind its connection handling, on 127.0.0.1, on an
/// ephemeral port), in virtual time and in memory, with one bearer token; stopped when dropped.
struct Served {
    clock: Arc<VirtualClock>,
    addr: SocketAddr,
    token: String,
    _server: RunningServer,
}

/// An answer: the status and the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a 200 with a JSON body and returns it.
    fn ok(&self, what: &str) -> Value {
        assert_eq!(
            self.status,
            200,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// Asserts a refusal with this status and reason, and returns the message.
    fn refused(&self, status: u16, reason: &str, what: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        let json = self.json();
        assert_eq!(
            json["error"]["errors"][0]["reason"], reason,
            "{what}: {json}"
        );
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Served {
    /// Serves project `project` with the queue [`QUEUE`] (open, no lease limit) and `choices`.
    async fn start(project: &str, choices: ApiChoices) -> Self {
        let mut config = ServerConfig::new(project);
        config.queues.insert(QueueDef::new(QUEUE));
        config.choices = choices;
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let start = UNIX_EPOCH + Duration::from_secs(T0_SECS);
        let server = serve::start(config, ClockMode::Virtual { start })
            .await
            .expect("the server starts");
        let clock = Arc::clone(server.virtual_clock().expect("virtual time"));
        let scopes: ScopeSet = [Scope::Taskqueue].into_iter().collect();
        let token = server
            .state()
            .tokens
            .issue(
                CALLER,
                scopes,
                Duration::from_secs(30 * 86_400),
                clock.now(),
            )
            .await
            .expect("the token is saved")
            .expose()
            .to_owned();
        Self {
            clock,
            addr: server.local_addr(),
            token,
            _server: server,
        }
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Sends one request on its own connection, exactly as written: `target` is the path and query below
    /// `/taskqueue/v1beta2/projects/`, `body` the bytes of a JSON body (`Some("")` sends `Content-Length: 0`, as
    /// httplib2 does for a bodiless POST).
    async fn send(&self, method: &str, target: &str, body: Option<&str>) -> Answer {
        let mut request = format!(
            "{method} /taskqueue/v1beta2/projects/{target} HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Bearer {}\r\nAccept: application/json\r\nConnection: close\r\n",
            self.addr, self.token
        );
        if let Some(body) = body {
            if !body.is_empty() {
                request.push_str("Content-Type: application/json\r\n");
            }
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body.unwrap_or_default());
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read the answer");
        let split = raw
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        assert!(
            !head.contains("transfer-encoding: chunked"),
            "this reader expects Content-Length: {head}"
        );
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        Answer {
            status,
            body: raw[split + 4..].to_vec(),
        }
    }
}

/// URL-safe padded base64 of `text`, as gcloud-aio encoded payloads.
fn urlsafe(text: &str) -> String {
    Payload::new(text.as_bytes().to_vec()).to_base64()
}

/// An int64 field of the wire, which the server writes as a string.
fn int64(value: &Value) -> i64 {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("an int64 string, not {value}"))
}

fn now_micros(served: &Served) -> i64 {
    taskqueue_model::Timestamp::from_system_time(served.clock.now()).as_micros()
}

#[tokio::test]
async fn gcloud_aio_inserts_leases_renews_by_patch_without_proof_and_deletes() {
    let served = Served::start("dev-project", ApiChoices::default()).await;
    let queue = "s~dev-project/taskqueues/pull-queue";
    let long_queue = "projects/s~dev-project/taskqueues/pull-queue";

    // make_insert_body: the client's clock as a JSON number, leaseTimestamp 0, retry_count 0.
    let payload = urlsafe(r#"{"job": 7, "path": "a/b?c>d"}"#);
    let body = format!(
        r#"{{"kind": "taskqueues#task", "queueName": "pull-queue", "payloadBase64": "{payload}", "enqueueTimestamp": 1893455999123456, "leaseTimestamp": 0, "retry_count": 0}}"#
    );
    let inserted = served
        .send("POST", &format!("{queue}/tasks"), Some(&body))
        .await
        .ok("insert");
    let id = inserted["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 16, "{id}");
    assert_eq!(inserted["queueName"], long_queue);
    assert_eq!(inserted["payloadBase64"], payload.as_str());
    assert_eq!(inserted["retry_count"], 0);
    // The client's enqueueTimestamp is ignored; leaseTimestamp 0 is "no ETA", and a task no lease holds shows 0.
    assert_eq!(int64(&inserted["enqueueTimestamp"]), at(0).as_micros());
    assert_eq!(inserted["leaseTimestamp"], "0");

    // get_stats: GET the queue with getStats=true; totalTasks is read as a number.
    let stats = served
        .send("GET", &format!("{queue}?getStats=true"), None)
        .await
        .ok("stats");
    assert_eq!(stats["stats"]["totalTasks"].as_i64(), Some(1), "{stats}");

    // lease_task: a POST with the parameters in the query and no body; the task is available at once.
    let leased = served
        .send(
            "POST",
            &format!("{queue}/tasks/lease?alt=json&leaseSecs=60&numTasks=1"),
            None,
        )
        .await
        .ok("lease");
    assert_eq!(leased["items"][0]["id"], id.as_str(), "{leased}");
    assert_eq!(leased["items"][0]["retry_count"], 1);
    assert_eq!(
        int64(&leased["items"][0]["leaseTimestamp"]),
        at(60).as_micros()
    );

    // The task manager renews every half lease with make_renew_body: kind, id, queueName, no leaseTimestamp.
    // The unmodified client had every one of these refused; each must extend the lease from now.
    let renew =
        format!(r#"{{"kind": "taskqueues#task", "id": "{id}", "queueName": "pull-queue"}}"#);
    for round in 1..=6_u64 {
        served.advance(30);
        let renewed = served
            .send(
                "PATCH",
                &format!("{queue}/tasks/{id}?alt=json&newLeaseSeconds=60"),
                Some(&renew),
            )
            .await
            .ok(&format!("renewal {round}"));
        assert_eq!(
            int64(&renewed["leaseTimestamp"]),
            now_micros(&served) + 60_000_000
        );
        assert_eq!(renewed["retry_count"], 1, "a renewal is not a lease");
        // Nobody else can lease the task while it is renewed.
        let other = served
            .send(
                "POST",
                &format!("{queue}/tasks/lease?alt=json&leaseSecs=60&numTasks=1"),
                None,
            )
            .await
            .ok("a competing lease");
        assert_eq!(other.get("items"), None, "round {round}: {other}");
    }

    // groupByTag=true&tag=T, as lease_task sends them for a tag.
    let tagged = format!(
        r#"{{"kind": "taskqueues#task", "queueName": "pull-queue", "payloadBase64": "{payload}", "enqueueTimestamp": 1893456000000000, "leaseTimestamp": 0, "retry_count": 0, "tag": "batch-7"}}"#
    );
    served
        .send("POST", &format!("{queue}/tasks"), Some(&tagged))
        .await
        .ok("tagged insert");
    let by_tag = served
        .send(
            "POST",
            &format!(
                "{queue}/tasks/lease?alt=json&leaseSecs=60&numTasks=5&groupByTag=true&tag=batch-7"
            ),
            None,
        )
        .await
        .ok("lease by tag");
    assert_eq!(by_tag["items"][0]["tag"], "batch-7", "{by_tag}");
    assert_eq!(by_tag["items"].as_array().map(Vec::len), Some(1));

    // delete_task, then the same delete again (a retry after a lost answer): both 200 with an empty body.
    for attempt in ["delete", "repeated delete"] {
        let deleted = served
            .send("DELETE", &format!("{queue}/tasks/{id}"), None)
            .await;
        assert_eq!((deleted.status, deleted.body.len()), (200, 0), "{attempt}");
    }
    // A renewal racing the delete gets the lease-expired 400, which the client stops on, not a 404.
    let late = served
        .send(
            "PATCH",
            &format!("{queue}/tasks/{id}?alt=json&newLeaseSeconds=60"),
            Some(&renew),
        )
        .await;
    assert_eq!(
        late.refused(400, "invalid", "renewal after delete"),
        "The task lease has expired."
    );
}

#[tokio::test]
async fn a_renewal_without_proof_is_refused_once_the_lease_ran_out() {
    let served = Served::start("dev-project", ApiChoices::default()).await;
    let queue = "s~dev-project/taskqueues/pull-queue";
    let body = r#"{"kind": "taskqueues#task", "queueName": "pull-queue", "payloadBase64": "eA==", "leaseTimestamp": 0}"#;
    let id = served
        .send("POST", &format!("{queue}/tasks"), Some(body))
        .await
        .ok("insert")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    served
        .send(
            "POST",
            &format!("{queue}/tasks/lease?alt=json&leaseSecs=60&numTasks=1"),
            None,
        )
        .await
        .ok("lease");
    let renew =
        format!(r#"{{"kind": "taskqueues#task", "id": "{id}", "queueName": "pull-queue"}}"#);
    let patch = format!("{queue}/tasks/{id}?alt=json&newLeaseSeconds=60");

    // At the instant the lease ends it is still held: the renewal works.
    served.advance(60);
    served
        .send("PATCH", &patch, Some(&renew))
        .await
        .ok("renewal at the expiry instant");
    // One second after the renewed lease ended, it does not.
    served.advance(61);
    served.send("PATCH", &patch, Some(&renew)).await.refused(
        400,
        "invalid",
        "renewal after expiry",
    );
    // A patch carrying leaseTimestamp 0 is the same renewal without proof.
    let leased = served
        .send(
            "POST",
            &format!("{queue}/tasks/lease?alt=json&leaseSecs=60&numTasks=1"),
            None,
        )
        .await
        .ok("lease again");
    assert_eq!(leased["items"][0]["retry_count"], 2);
    let zero = format!(r#"{{"id": "{id}", "queueName": "pull-queue", "leaseTimestamp": "0"}}"#);
    let released = served
        .send(
            "PATCH",
            &format!("{queue}/tasks/{id}?newLeaseSeconds=0"),
            Some(&zero),
        )
        .await
        .ok("release without proof");
    assert_eq!(released["leaseTimestamp"], "0");
}

#[tokio::test]
async fn the_python_discovery_client_of_cs_unplugged_writes_to_b_and_reads_bare() {
    let served = Served::start("dev-project", ApiChoices::default()).await;
    let write = "b~dev-project/taskqueues/pull-queue";
    let read = "dev-project/taskqueues/pull-queue";

    // create_task: standard base64 (b64encode) of a JSON document, a tag, alt=json.
    let insert = r#"{"kind": "taskqueues#task", "queueName": "pull-queue", "payloadBase64": "eyJrZXkiOiAiPz8+In0=", "tag": "render"}"#;
    let created = served
        .send("POST", &format!("{write}/tasks?alt=json"), Some(insert))
        .await
        .ok("create_task");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        created["queueName"],
        "projects/b~dev-project/taskqueues/pull-queue"
    );
    // The payload comes back URL-safe: the same bytes.
    assert_eq!(
        Payload::from_base64(created["payloadBase64"].as_str().unwrap_or_default())
            .map(Payload::into_bytes)
            .ok(),
        Some(br#"{"key": "??>"}"#.to_vec())
    );

    // __len__: taskqueues.get with getStats on the bare project.
    let stats = served
        .send("GET", &format!("{read}?getStats=true&alt=json"), None)
        .await
        .ok("get");
    assert_eq!(stats["stats"]["totalTasks"], 1);

    // list_tasks on the bare project: no payloads.
    let listed = served
        .send("GET", &format!("{read}/tasks?alt=json"), None)
        .await
        .ok("list");
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(listed["items"][0].get("payloadBase64"), None);

    // lease_tasks with a tag (groupByTag=true) and without one (groupByTag=false): bodiless POSTs with
    // Content-Length: 0.
    let leased = served
        .send(
            "POST",
            &format!(
                "{write}/tasks/lease?leaseSecs=30&numTasks=1&groupByTag=true&tag=render&alt=json"
            ),
            Some(""),
        )
        .await
        .ok("lease by tag");
    assert_eq!(leased["items"][0]["id"], id.as_str(), "{leased}");
    let nothing = served
        .send(
            "POST",
            &format!("{write}/tasks/lease?leaseSecs=30&numTasks=1&groupByTag=false&alt=json"),
            Some(""),
        )
        .await
        .ok("lease without a tag");
    assert_eq!(nothing.get("items"), None, "{nothing}");

    // update_task: a patch whose body is the queueName alone.
    served.advance(20);
    let patched = served
        .send(
            "PATCH",
            &format!("{write}/tasks/{id}?newLeaseSeconds=60&alt=json"),
            Some(r#"{"queueName": "pull-queue"}"#),
        )
        .await
        .ok("update_task");
    assert_eq!(int64(&patched["leaseTimestamp"]), at(80).as_micros());
    assert_eq!(patched["tag"], "render");

    // delete_task.
    let deleted = served
        .send("DELETE", &format!("{write}/tasks/{id}?alt=json"), None)
        .await;
    assert_eq!(deleted.status, 200);
}

#[tokio::test]
async fn update_bodies_carrying_the_whole_leased_task_prove_ownership_with_its_lease_timestamp() {
    let served = Served::start("dev-project", ApiChoices::default()).await;
    let queue = "s~dev-project/taskqueues/pull-queue";
    let insert = r#"{"id": "f32a7aab42bdaf6f", "queueName": "pull-queue", "payloadBase64": "eyJzcmMiOiAiZ3M6Ly94In0=", "tag": "BossTransferTask"}"#;
    served
        .send("POST", &format!("{queue}/tasks"), Some(insert))
        .await
        .ok("insert");
    let leased = served
        .send(
            "POST",
            &format!("{queue}/tasks/lease?leaseSecs=300&numTasks=1"),
            Some(""),
        )
        .await
        .ok("lease");
    let task = leased["items"][0].clone();
    assert_eq!(
        task["queueName"],
        "projects/s~dev-project/taskqueues/pull-queue"
    );
    served.advance(100);

    // The task exactly as the lease returned it, payload and long-form queueName included.
    let update = |body: &Value, secs: u32| {
        let target = format!("{queue}/tasks/f32a7aab42bdaf6f?newLeaseSeconds={secs}");
        let body = body.to_string();
        let served = &served;
        async move { served.send("POST", &target, Some(&body)).await }
    };
    let extended = update(&task, 600).await.ok("update with the whole task");
    assert_eq!(int64(&extended["leaseTimestamp"]), at(700).as_micros());
    assert_eq!(extended["retry_count"], 1);

    // The answer sent back with queueName cut to the short form, as some clients did.
    let mut short = extended.clone();
    short["queueName"] = json!("pull-queue");
    served.advance(100);
    let again = update(&short, 60)
        .await
        .ok("update with the short queueName");
    assert_eq!(int64(&again["leaseTimestamp"]), at(260).as_micros());

    // The stale copy no longer proves anything; an update without leaseTimestamp is refused outright.
    update(&task, 60)
        .await
        .refused(400, "invalid", "a stale leaseTimestamp");
    let mut unproven = again.clone();
    if let Some(fields) = unproven.as_object_mut() {
        fields.remove("leaseTimestamp");
    }
    update(&unproven, 60)
        .await
        .refused(400, "required", "an update without leaseTimestamp");
    // A body naming another queue or task is refused.
    let mut moved = again.clone();
    moved["queueName"] = json!("projects/s~dev-project/taskqueues/other-queue");
    update(&moved, 60)
        .await
        .refused(400, "invalid", "another queue");
}

#[tokio::test]
async fn a_domain_scoped_project_is_served_with_and_without_its_partition_prefix() {
    let served = Served::start("example.com:my-app", ApiChoices::default()).await;
    // The Python client percent-encodes the colon; raw clients send it as it is.
    for (project, long) in [
        (
            "s~example.com%3Amy-app",
            "projects/s~example.com:my-app/taskqueues/pull-queue",
        ),
        (
            "example.com:my-app",
            "projects/example.com:my-app/taskqueues/pull-queue",
        ),
    ] {
        let queue = format!("{project}/taskqueues/pull-queue");
        let body = format!(r#"{{"queueName": "{long}", "payloadBase64": "eA=="}}"#);
        let inserted = served
            .send("POST", &format!("{queue}/tasks"), Some(&body))
            .await
            .ok(project);
        assert_eq!(inserted["queueName"], long, "{project}");
        let leased = served
            .send(
                "POST",
                &format!("{queue}/tasks/lease?leaseSecs=60&numTasks=1"),
                None,
            )
            .await
            .ok(project);
        assert_eq!(leased["items"][0]["queueName"], long, "{project}");
        let got = served
            .send("GET", &format!("{queue}?getStats=true"), None)
            .await
            .ok(project);
        assert_eq!(got["id"], long, "{project}");
    }
    // Another domain, or the bare app id, is another project.
    for other in ["s~other.com:my-app", "s~my-app", "my-app"] {
        served
            .send("GET", &format!("{other}/taskqueues/pull-queue"), None)
            .await
            .refused(404, "notFound", other);
    }
}

/// The other answer of each `choices:` key, through the router.
#[tokio::test]
async fn each_choice_flips_its_answer() {
    let strict = ApiChoices::default()
        .with_patch_lease_timestamp(PatchLeaseTimestamp::Required)
        .with_repeated_delete(RepeatedDelete::NotFound)
        .with_modify_missing_task(ModifyMissingTask::NotFound)
        .with_unleased_lease_timestamp(UnleasedLeaseTimestamp::Eta);
    let api = Api::with(|config| config.choices = strict);
    let token = api.full_token().await;
    let call = |method: Method, rest: &str, body: Option<&str>| {
        let uri = url(rest);
        let token = token.clone();
        let body = body.map(str::to_owned);
        let api = &api;
        async move { api.call(method, &uri, Some(&token), body.as_deref()).await }
    };

    // unleased_lease_timestamp: eta: a never-leased task shows its ETA.
    let inserted = call(
        Method::POST,
        "/tasks",
        Some(r#"{"id": "t1", "payloadBase64": "eA==", "leaseTimestamp": 0}"#),
    )
    .await
    .ok_json();
    assert_eq!(inserted["leaseTimestamp"], micros(0));
    call(Method::POST, "/tasks/lease?numTasks=1&leaseSecs=60", None)
        .await
        .ok_json();

    // patch_lease_timestamp: required: a renewal without leaseTimestamp is 400 required, and 0 proves nothing.
    call(
        Method::PATCH,
        "/tasks/t1?newLeaseSeconds=60",
        Some(r#"{"id": "t1", "queueName": "pull-queue"}"#),
    )
    .await
    .assert_error(400, "required");
    call(
        Method::PATCH,
        "/tasks/t1?newLeaseSeconds=60",
        Some(r#"{"id": "t1", "queueName": "pull-queue", "leaseTimestamp": "0"}"#),
    )
    .await
    .assert_error(400, "invalid");
    let proven = format!(
        r#"{{"id": "t1", "queueName": "pull-queue", "leaseTimestamp": "{}"}}"#,
        micros(60)
    );
    call(Method::PATCH, "/tasks/t1?newLeaseSeconds=60", Some(&proven))
        .await
        .ok_json();

    // repeated_delete: not_found, and modify_missing_task: not_found.
    let deleted = call(Method::DELETE, "/tasks/t1", None).await;
    assert_eq!(deleted.status.as_u16(), 200);
    call(Method::DELETE, "/tasks/t1", None)
        .await
        .assert_error(404, "notFound");
    call(Method::PATCH, "/tasks/t1?newLeaseSeconds=60", Some(&proven))
        .await
        .assert_error(404, "notFound");
    let unknown = format!(
        r#"{{"id": "t9", "queueName": "pull-queue", "leaseTimestamp": "{}"}}"#,
        micros(60)
    );
    call(Method::POST, "/tasks/t9?newLeaseSeconds=60", Some(&unknown))
        .await
        .assert_error(404, "notFound");

    // The defaults give the other answers.
    let api = Api::new();
    let token = api.full_token().await;
    let send = |method: Method, rest: &str, body: Option<&str>| {
        let uri = url(rest);
        let token = token.clone();
        let body = body.map(str::to_owned);
        let api = &api;
        async move { api.call(method, &uri, Some(&token), body.as_deref()).await }
    };
    let inserted = send(
        Method::POST,
        "/tasks",
        Some(r#"{"id": "t1", "payloadBase64": "eA==", "leaseTimestamp": 0}"#),
    )
    .await
    .ok_json();
    assert_eq!(inserted["leaseTimestamp"], "0");
    send(Method::POST, "/tasks/lease?numTasks=1&leaseSecs=60", None)
        .await
        .ok_json();
    send(
        Method::PATCH,
        "/tasks/t1?newLeaseSeconds=60",
        Some(r#"{"id": "t1", "queueName": "pull-queue"}"#),
    )
    .await
    .ok_json();
    send(Method::DELETE, "/tasks/t1", None).await;
    let again = send(Method::DELETE, "/tasks/t1", None).await;
    assert_eq!((again.status.as_u16(), again.body.len()), (200, 0));
    send(Method::PATCH, "/tasks/t1?newLeaseSeconds=60", Some(&proven))
        .await
        .assert_error(400, "invalid");
    // A name never used is still 404 on delete.
    send(Method::DELETE, "/tasks/never", None)
        .await
        .assert_error(404, "notFound");
}
