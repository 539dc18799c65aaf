//! The real target end to end, against a loopback wiremock server playing
//! the "real" endpoint.

use std::collections::HashMap;
use std::path::Path;

use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::load::load_str;

const TOKEN: &str = "ya29.real-target-secret-token-0123456789";
const PREFIX: &str = "/taskqueue/v1beta2/projects/s~fake-app/taskqueues/pull-q";

fn config(server: &MockServer) -> RealConfig {
    RealConfig {
        base_url: format!("{}/taskqueue/v1beta2/projects/", server.uri()),
        project: "s~fake-app".to_owned(),
        queue: "pull-q".to_owned(),
        credentials: RealCredentials::Static(SecretString::new(TOKEN)),
    }
}

fn scenario(id: &str, body: &str) -> LoadedScenario {
    let text = format!("schema: 1\nid: {id}\ntitle: t\nbehaviors: [TQ-REAL]\n{body}");
    load_str(Path::new(&format!("scenarios/{id}.yaml")), &text).expect("a valid scenario")
}

const GET_HAPPY: &str = "\
credentials: { grant: refresh_token, scopes: [taskqueue] }
steps:
  - call: tasks.get
    args: { task: t1 }
    exchanges:
      - token: { issue: at-1 }
      - api:
          request: { method: GET, path: tasks/t1, token: at-1 }
          response: { status: 200, json: { id: t1, retry_count: 2, leaseTimestamp: '{{now+60s}}' } }
    expect: { ok: { id: t1, retry_count: 2 } }
    counters: { token_requests: 1, api_requests: 1, retries: 0 }
  - call: tasks.insert
    args: { task: { payloadBase64: aGVsbG8=, tag: t } }
    exchanges:
      - api:
          request: { method: POST, path: tasks, token: at-1, body: { payloadBase64: aGVsbG8=, tag: t } }
          response: { status: 200, json: { id: new-1 } }
    expect: { ok: { id: new-1 } }
";

async fn fake_real_endpoint() -> MockServer {
    let server = MockServer::start().await;
    let bearer = format!("Bearer {TOKEN}");
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/tasks/t1")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "kind": "taskqueues#task", "id": "t1", "retry_count": 2,
            "leaseTimestamp": "1764000000000000", "queueName": "projects/s~fake-app/taskqueues/pull-q"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/tasks")))
        .and(header("authorization", bearer.as_str()))
        .and(body_partial_json(serde_json::json!({"tag": "t"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "new-1"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/tasks/lease")))
        .and(query_param("numTasks", "1"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": {"code": 403, "message": "Insufficient Permission",
                      "errors": [{"domain": "global", "reason": "insufficientPermissions"}]}
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_scenario_the_endpoint_meets_passes_and_the_record_holds_labels_only() {
    let server = fake_real_endpoint().await;
    let loaded = vec![scenario("real.get-and-insert", GET_HAPPY)];
    let mut started = Vec::new();
    let run = run_real(&config(&server), &loaded, |index, loaded| {
        started.push((index, loaded.scenario.id.clone()));
    })
    .await
    .expect("the target is set up");
    assert_eq!(started, [(1, "real.get-and-insert".to_owned())]);
    let record = &run.records[0];
    assert_eq!(record.outcome, Outcome::Passed, "{record:#?}");
    assert_eq!(record.target, Target::Real);
    assert_eq!(
        record.steps[0].wire,
        [
            "note: credentials: static token from TQ_CONFORMANCE_TOKEN; the scenario's grant and \
             scopes do not apply to it",
            "GET tasks/t1 [<at-1>] -> 200",
            "note: 1 scripted token exchange(s) not checked: token requests are not observable on \
             a real target",
            "note: counters.token_requests not checked: token requests are not observable on a \
             real target",
        ]
    );
    assert_eq!(
        record.steps[0].result,
        "ok {\"id\":\"t1\",\"retry_count\":2}"
    );
    assert_eq!(record.steps[1].wire, ["POST tasks [<at-1>] -> 200"]);
    assert_eq!(record.counters.api_requests, 2);
    assert_eq!(
        record.methods,
        ["taskqueue.tasks.get", "taskqueue.tasks.insert"]
    );

    // The token is a known secret, and the record does not hold it.
    let serialized = serde_json::to_string(&run.records).expect("serializable");
    assert!(!run.secrets.is_empty());
    assert_eq!(run.secrets.scan("record", &serialized), Ok(()));
    assert!(run.secrets.scan("record", TOKEN).is_err());
}

#[tokio::test]
async fn a_different_answer_fails_with_a_diff() {
    let server = fake_real_endpoint().await;
    let loaded = vec![scenario(
        "real.lease-expects-ok",
        "\
credentials: { grant: static, scopes: [taskqueue] }
steps:
  - call: tasks.lease
    args: { num_tasks: 1, lease_secs: 60 }
    exchanges:
      - api:
          request: { method: POST, path: tasks/lease, token: at-1, query: { numTasks: '1', leaseSecs: '60' } }
          response: { status: 200, json: { items: [{ id: t1 }] } }
    expect: { ok: { items: [{ id: t1 }] } }
",
    )];
    let run = run_real(&config(&server), &loaded, |_, _| {})
        .await
        .expect("set up");
    let Outcome::Failed(message) = &run.records[0].outcome else {
        panic!("expected a failure: {:#?}", run.records[0]);
    };
    // The wire diff first, then the result against `expect`.
    let expected = "scenarios/real.lease-expects-ok.yaml:7: step 1 (call tasks.lease): API exchange 1 \
                    (scripted api POST tasks/lease token at-1 query leaseSecs=60&numTasks=1 -> 200; \
                    observed POST tasks/lease?numTasks=1&leaseSecs=60 [<at-1>] -> 403 \
                    insufficientPermissions): status: expected 200, got 403; response.items: \
                    missing (expected [{\"id\":\"t1\"}]); expected success, got error scope_denied \
                    403 insufficientPermissions";
    assert!(message.starts_with(expected), "{message}");
    assert!(!message.contains(TOKEN));
}

#[tokio::test]
async fn advances_follow_the_real_policy() {
    let server = fake_real_endpoint().await;
    let step = "  - call: tasks.get\n    args: { task: t1 }\n    exchanges:\n      - api:\n          \
                request: { method: GET, path: tasks/t1, token: at-1 }\n          response: { status: 200 }\n    \
                expect: { ok: { id: t1 } }\n";
    let skip = scenario(
        "real.skip",
        &format!(
            "credentials: {{ grant: static, scopes: [taskqueue] }}\nsteps:\n{step}  - advance: 30m\n{step}"
        ),
    );
    let wait = scenario(
        "real.wait",
        &format!(
            "credentials: {{ grant: static, scopes: [taskqueue] }}\nclock: {{ real_policy: wait, max_wait: 1s }}\n\
             steps:\n{step}  - advance: 20ms\n{step}  - advance: 2s\n{step}"
        ),
    );
    let run = run_real(&config(&server), &[skip, wait], |_, _| {})
        .await
        .expect("set up");
    assert_eq!(
        run.records[0].outcome,
        Outcome::Skipped(
            "scenarios/real.skip.yaml:14: step 2 (advance 30m) needs virtual time (real_policy \
             skip): steps 2-3 not run on a real target"
                .to_owned()
        )
    );
    assert_eq!(run.records[0].steps.len(), 1);
    let waited = &run.records[1];
    assert_eq!(
        waited.outcome,
        Outcome::Skipped(
            "scenarios/real.wait.yaml:23: step 4 (advance 2s) needs virtual time: longer than \
             max_wait 1s: steps 4-5 not run on a real target"
                .to_owned()
        )
    );
    let actions: Vec<&str> = waited.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        ["call tasks.get", "advance 20ms", "call tasks.get"]
    );
    assert_eq!(
        waited.steps[1].result,
        "waited 20ms in real time (real_policy wait)"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_502_in_the_record() {
    // A port nothing listens on: bind, note it, drop.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let config = RealConfig {
        base_url: format!("http://127.0.0.1:{port}/taskqueue/v1beta2/projects/"),
        project: "p".to_owned(),
        queue: "q".to_owned(),
        credentials: RealCredentials::Static(SecretString::new(TOKEN)),
    };
    let loaded = scenario(
        "real.down",
        "credentials: { grant: static, scopes: [taskqueue] }\nclient: { retry: { max_attempts: 1 } }\n\
         steps:\n  - call: tasks.list\n    exchanges:\n      - api:\n          request: { method: GET, \
         path: tasks, token: at-1 }\n          response: { status: 200, json: { items: [] } }\n    \
         expect: { ok: {} }\n",
    );
    let run = run_real(&config, &[loaded], |_, _| {})
        .await
        .expect("set up");
    let Outcome::Failed(message) = &run.records[0].outcome else {
        panic!("expected a failure: {:#?}", run.records[0]);
    };
    assert!(
        message.contains("status: expected 200, got 502"),
        "{message}"
    );
    assert!(
        run.records[0].steps[0].wire[1]
            .starts_with("GET tasks [<at-1>] -> 502 (forwarder: connection failed"),
        "{:?}",
        run.records[0].steps[0].wire
    );
}

#[test]
fn configuration_comes_from_arguments_then_the_environment() {
    let env: HashMap<&str, &str> = HashMap::from([
        (ENV_PROJECT, "s~env-app"),
        (ENV_QUEUE, "env-q"),
        (ENV_TOKEN, " env-token "),
    ]);
    let lookup = |name: &str| env.get(name).map(|value| (*value).to_owned());
    let config = RealConfig::resolve(None, Some("s~arg-app"), None, lookup).expect("complete");
    assert_eq!(config.base_url, taskqueue_client::DEFAULT_BASE_URL);
    assert_eq!(config.project, "s~arg-app");
    assert_eq!(config.queue, "env-q");
    let RealCredentials::Static(token) = &config.credentials else {
        panic!("a static token");
    };
    assert_eq!(token.expose(), "env-token");
    assert!(!format!("{config:?}").contains("env-token"));

    let none = |_: &str| None;
    let error =
        RealConfig::resolve(Some("http://x/"), None, Some("q"), none).expect_err("no project");
    assert_eq!(
        error,
        "the real target needs a project: pass --project or set TQ_CONFORMANCE_PROJECT"
    );
    let adc = RealConfig::resolve(None, Some("p"), Some("q"), none).expect("complete");
    assert!(matches!(
        adc.credentials,
        RealCredentials::ApplicationDefault
    ));
}

#[tokio::test]
async fn the_forwarder_reads_chunked_bodies_and_keeps_connections_alive() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/projects/p/taskqueues/q/tasks"))
        .and(body_partial_json(serde_json::json!({"tag": "chunked"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "c1"})))
        .mount(&server)
        .await;
    let forwarder = Forwarder::start(
        &format!("{}/api/projects/", server.uri()),
        "p",
        "q",
        Duration::from_secs(5),
    )
    .await
    .expect("started");
    let address = forwarder
        .base_url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host")
        .to_owned();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let mut connection = http1::Connection::new(stream);
    let body = r#"{"tag": "chunked"}"#;
    let request = format!(
        "POST /api/projects/p/taskqueues/q/tasks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\
         transfer-encoding: chunked\r\n\r\n5\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        &body[..5],
        body.len() - 5,
        &body[5..]
    );
    for _ in 0..2 {
        connection
            .write_all(request.as_bytes())
            .await
            .expect("sent");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read until the whole response (head and the 11-byte body) is in.
        while !String::from_utf8_lossy(&answer).ends_with("{\"id\":\"c1\"}") {
            let stream = connection_stream(&mut connection);
            stream.readable().await.expect("readable");
            match stream.try_read(&mut chunk) {
                Ok(0) => panic!("closed: {}", String::from_utf8_lossy(&answer)),
                Ok(read) => answer.extend_from_slice(&chunk[..read]),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => panic!("{error}"),
            }
        }
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 OK\r\n"));
    }
    let recorded = forwarder.take();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].line(), "POST tasks [<at-1>] -> 200");
    assert_eq!(
        recorded[0].body,
        Some(Ok(serde_json::json!({"tag": "chunked"})))
    );
    assert_eq!(forwarder.secrets(), [TOKEN]);
}

fn connection_stream(connection: &mut http1::Connection) -> &mut tokio::net::TcpStream {
    connection.stream_mut()
}
