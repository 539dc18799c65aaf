//! The real target tells a faithful endpoint from a broken one: the
//! reference server in process on 127.0.0.1 in real time, behind a layer
//! that breaks one rule at a time, fails exactly the scenarios that show
//! that rule, each with a message naming the deviation; and the same
//! scenarios give the same results in two orders against one endpoint.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::report::Outcome;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::{SharedClock, SystemClock};
use taskqueue_server::config::UserPrincipal;
use taskqueue_server::{
    AppState, MemoryStore, QueueDef, SecretDigest, ServerConfig, StoreConfig, router,
};

use super::*;
use crate::scenario::load::load_dir;

/// The scenarios each run holds: one per broken rule, and two a broken
/// rule must not disturb.
const SCENARIOS: [&str; 6] = [
    "methods.tasks-lease-happy",
    "methods.tasks-delete-happy",
    "scopes.taskqueue-consumer-denies-tasks-insert",
    "lease.leased-task-not-handed-out-again",
    "methods.tasks-get-happy",
    "methods.tasks-insert-happy",
];

/// The rule the endpoint breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    /// Faithful.
    Nothing,
    /// A lease does not increment `retry_count`.
    RetryCount,
    /// A delete answers 204 without a body.
    DeleteNoContent,
    /// Every request is served as if its token had every scope.
    NoScopeChecks,
    /// A task under lease is handed out again by the next lease.
    LeaseAgain,
}

struct Layer {
    broken: Broken,
    /// A token with every Task Queue scope, for `NoScopeChecks`.
    full_token: String,
    /// The last lease answer that handed out tasks, for `LeaseAgain`.
    last_lease: Mutex<Option<Vec<u8>>>,
}

async fn corrupt(State(layer): State<Arc<Layer>>, mut request: Request, next: Next) -> Response {
    let is_lease = request.uri().path().ends_with("/tasks/lease");
    let is_delete = request.method() == http::Method::DELETE;
    if layer.broken == Broken::NoScopeChecks
        && request.headers().contains_key("authorization")
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", layer.full_token))
    {
        request.headers_mut().insert("authorization", value);
    }
    // Plain bodies to corrupt: no compression.
    request.headers_mut().remove(http::header::ACCEPT_ENCODING);
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut bytes = bytes.to_vec();
    match layer.broken {
        Broken::RetryCount => {
            if let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) {
                zero_retry_counts(&mut json);
                bytes = json.to_string().into_bytes();
            }
        }
        Broken::DeleteNoContent if is_delete && parts.status == StatusCode::OK => {
            parts.status = StatusCode::NO_CONTENT;
            bytes.clear();
        }
        Broken::LeaseAgain if is_lease && parts.status == StatusCode::OK => {
            let handed_out = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|json| Some(!json.get("items")?.as_array()?.is_empty()))
                .unwrap_or(false);
            let mut last = layer
                .last_lease
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if handed_out {
                *last = Some(bytes.clone());
            } else if let Some(again) = last.clone() {
                bytes = again;
            }
        }
        _ => {}
    }
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

fn zero_retry_counts(json: &mut Value) {
    match json {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                if key == "retry_count" {
                    *value = json!(0);
                } else {
                    zero_retry_counts(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(zero_retry_counts),
        _ => {}
    }
}

/// The endpoint: its base URL and an `authorized_user` key file for it.
struct Endpoint {
    base_url: String,
    key_file: tempfile::NamedTempFile,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn endpoint(broken: Broken) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let address = listener.local_addr().expect("an address");
    let origin = format!("http://{address}");
    let scopes: ScopeSet = Scope::TASK_QUEUE_SCOPES.into_iter().collect();
    let (secret, refresh) = (
        crate::target::mock::script::unguessable(),
        crate::target::mock::script::unguessable(),
    );
    let mut config = ServerConfig::new("broken-app");
    config.listen = address;
    config.public_url = Some(origin.clone());
    config.store = StoreConfig::default();
    for queue in ["q1", "q2"] {
        config.queues.insert(QueueDef::new(queue));
    }
    config.principals.users.push(UserPrincipal::new(
        "tester@example.com",
        "broken-client",
        SecretDigest::of(&secret),
        SecretDigest::of(&refresh),
        scopes.clone(),
    ));
    let clock: SharedClock = Arc::new(SystemClock::new());
    let store = Arc::new(MemoryStore::new(config.store.clone()));
    let state = AppState::new(config, store, clock.clone(), origin.clone());
    let full_token = state
        .tokens
        .issue(
            "tester@example.com",
            scopes,
            Duration::from_secs(3600),
            clock.now(),
        )
        .await
        .expect("the memory store saves the token")
        .expose()
        .to_owned();
    let layer = Arc::new(Layer {
        broken,
        full_token,
        last_lease: Mutex::new(None),
    });
    let app = router(state).layer(middleware::from_fn_with_state(layer, corrupt));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let key = json!({
        "type": "authorized_user",
        "client_id": "broken-client",
        "client_secret": secret,
        "refresh_token": refresh,
        "token_uri": format!("{origin}/token"),
    });
    let key_file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(key_file.path(), key.to_string()).expect("the key file");
    Endpoint {
        base_url: format!("{origin}/taskqueue/v1beta2/projects/"),
        key_file,
        server,
    }
}

fn scenarios(order: &[&str]) -> Vec<LoadedScenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let all = load_dir(&dir).unwrap_or_else(|errors| panic!("{errors:?}"));
    order
        .iter()
        .map(|id| {
            all.iter()
                .find(|loaded| loaded.scenario.id == *id)
                .unwrap_or_else(|| panic!("no scenario {id}"))
                .clone()
        })
        .collect()
}

/// Runs `order` against `endpoint`: (id, outcome) per scenario.
async fn run(endpoint: &Endpoint, order: &[&str]) -> Vec<(String, Outcome)> {
    let config = RealConfig {
        base_url: endpoint.base_url.clone(),
        project: "s~broken-app".to_owned(),
        queues: vec!["q1".to_owned(), "q2".to_owned()],
        credentials: RealCredentials::File(endpoint.key_file.path().to_owned()),
        max_wait: DEFAULT_MAX_WAIT,
        time_tolerance: DEFAULT_TIME_TOLERANCE,
    };
    let run = run_real(&config, &scenarios(order), |_, _| {})
        .await
        .expect("the real target starts");
    run.records
        .into_iter()
        .map(|record| (record.id, record.outcome))
        .collect()
}

fn failures(outcomes: &[(String, Outcome)]) -> Vec<(String, String)> {
    outcomes
        .iter()
        .filter_map(|(id, outcome)| match outcome {
            Outcome::Failed(why) => Some((id.clone(), why.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faithful_endpoint_passes_in_either_order() {
    let faithful = endpoint(Broken::Nothing).await;
    let forward = run(&faithful, &SCENARIOS).await;
    assert_eq!(failures(&forward), Vec::new());
    assert!(
        forward.iter().all(|(_, outcome)| outcome.is_passed()),
        "{forward:?}"
    );
    let mut reversed_order = SCENARIOS;
    reversed_order.reverse();
    let mut reversed = run(&faithful, &reversed_order).await;
    reversed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut forward = forward;
    forward.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(forward, reversed, "the same results in both orders");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_rule_fails_exactly_its_scenario_naming_the_deviation() {
    let cases = [
        (
            Broken::RetryCount,
            "methods.tasks-lease-happy",
            "retry_count: expected 1, got 0",
        ),
        (
            Broken::DeleteNoContent,
            "methods.tasks-delete-happy",
            "status: expected 200, got 204",
        ),
        (
            Broken::NoScopeChecks,
            "scopes.taskqueue-consumer-denies-tasks-insert",
            "status: expected 403, got 200",
        ),
        (
            Broken::LeaseAgain,
            "lease.leased-task-not-handed-out-again",
            "step 2 (call tasks.lease)",
        ),
    ];
    for (broken, scenario, deviation) in cases {
        let endpoint = endpoint(broken).await;
        let outcomes = run(&endpoint, &SCENARIOS).await;
        assert!(
            outcomes
                .iter()
                .all(|(_, outcome)| !matches!(outcome, Outcome::Skipped(_))),
            "{broken:?}: {outcomes:#?}"
        );
        let failed = failures(&outcomes);
        let ids: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, [scenario], "{broken:?}: {failed:#?}");
        assert!(
            failed[0].1.contains(deviation),
            "{broken:?}: {}",
            failed[0].1
        );
    }
}
