//! Fixtures of the API handler tests: a server state on a `VirtualClock` and a `MemoryStore`, requests sent to
//! `taskqueue_server::router` with `tower::ServiceExt::oneshot` (no socket), tokens minted in the state's
//! `TokenStore`, and assertions on Google's error envelope.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::{Clock, SharedClock, VirtualClock};
use taskqueue_model::Timestamp;
use taskqueue_server::config::ServerConfig;
use taskqueue_server::{
    AppState, LeaseRequest, MemoryStore, NewTask, QueueDef, Store, StoreConfig, StoredTask,
};
use tower::ServiceExt as _;

use crate::support::{T0_SECS, at, clock};

/// The configured project.
pub(crate) const PROJECT: &str = "dev-project";
/// The queue most tests use: open, with a lease limit of 5.
pub(crate) const QUEUE: &str = "pull-queue";
/// A second open queue, left empty.
pub(crate) const EMPTY_QUEUE: &str = "empty-queue";
/// The caller of most tests.
pub(crate) const ME: &str = "worker@dev-project.iam.gserviceaccount.com";

/// `https://www.googleapis.com/auth/taskqueue`.
pub(crate) const FULL: &[Scope] = &[Scope::Taskqueue];

/// A server state with its clock and router.
pub(crate) struct Api {
    pub(crate) state: AppState,
    pub(crate) clock: Arc<VirtualClock>,
    router: Router,
}

/// A response, its body read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Api {
    /// The default server: project `dev-project`, the open queues `pull-queue` (max 5 leases) and `empty-queue`,
    /// at `T0` on a virtual clock.
    pub(crate) fn new() -> Self {
        Self::with(|_| {})
    }

    /// The default configuration changed by `tweak`.
    pub(crate) fn with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::with_config_and_store(tweak, Arc::new(MemoryStore::new(StoreConfig::default())))
    }

    /// The default server on `store`.
    pub(crate) fn with_store(store: Arc<dyn Store>) -> Self {
        Self::with_config_and_store(|_| {}, store)
    }

    fn with_config_and_store(tweak: impl FnOnce(&mut ServerConfig), store: Arc<dyn Store>) -> Self {
        let mut config = ServerConfig::new(PROJECT);
        config
            .queues
            .insert(QueueDef::new(QUEUE).with_max_leases(Some(5)));
        config.queues.insert(QueueDef::new(EMPTY_QUEUE));
        tweak(&mut config);
        let clock = Arc::new(clock());
        let shared: SharedClock = clock.clone();
        let state = AppState::new(config, store, shared, "http://127.0.0.1:8080");
        let router = taskqueue_server::router(state.clone());
        Self {
            state,
            clock,
            router,
        }
    }

    /// A token for `email` with `scopes`, valid for an hour from now.
    pub(crate) async fn token(&self, email: &str, scopes: &[Scope]) -> String {
        let scopes: ScopeSet = scopes.iter().cloned().collect();
        self.state
            .tokens
            .issue(email, scopes, Duration::from_secs(3600), self.clock.now())
            .await
            .expect("the token is saved")
            .expose()
            .to_owned()
    }

    /// A token for [`ME`] with the `taskqueue` scope.
    pub(crate) async fn full_token(&self) -> String {
        self.token(ME, FULL).await
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Moves the clock forward by microseconds, to step just past a boundary.
    pub(crate) fn advance_micros(&self, micros: u64) {
        self.clock.advance(Duration::from_micros(micros));
    }

    /// The clock's time.
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_system_time(self.clock.now())
    }

    /// Inserts a task straight into the store, at the current time.
    pub(crate) async fn seed(&self, queue: &str, task: NewTask) -> StoredTask {
        self.state
            .store
            .insert(queue, task, self.now())
            .await
            .expect("the seed task is inserted")
    }

    /// Leases straight from the store, at the current time.
    pub(crate) async fn seed_lease(&self, queue: &str, num: u32, secs: u32) -> Vec<StoredTask> {
        self.state
            .store
            .lease(queue, &LeaseRequest::new(num, secs), None, self.now())
            .await
            .expect("the seed lease works")
    }

    /// Sends a request.
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the response body is read")
            .to_vec();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// Sends `method uri` with a bearer token and an optional JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        self.send(request(method, uri, token, body)).await
    }
}

/// A request with an optional bearer token and body.
pub(crate) fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder
        .body(body.map_or_else(Body::empty, |body| Body::from(body.to_owned())))
        .expect("a valid request")
}

/// The URL of `queue` in `project`, followed by `rest` (`""`, `/tasks`, `/tasks/t1?newLeaseSeconds=60`).
pub(crate) fn url_in(project: &str, queue: &str, rest: &str) -> String {
    format!("/taskqueue/v1beta2/projects/{project}/taskqueues/{queue}{rest}")
}

/// The URL of [`QUEUE`] in [`PROJECT`], followed by `rest`.
pub(crate) fn url(rest: &str) -> String {
    url_in(PROJECT, QUEUE, rest)
}

/// `T0 + secs` in microseconds, as the wire writes int64 values: a string.
pub(crate) fn micros(secs: i64) -> String {
    at(secs).as_micros().to_string()
}

/// `T0 + secs` in seconds, as `stats.oldestTask` writes it.
pub(crate) fn seconds(secs: i64) -> String {
    (i64::try_from(T0_SECS).expect("T0 fits") + secs).to_string()
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `Content-Type` header.
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a 200 with a JSON body, and returns the body.
    pub(crate) fn ok_json(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), Some("application/json; charset=UTF-8"));
        self.json()
    }

    /// Asserts Google's error envelope with this status and reason, and returns the message.
    pub(crate) fn assert_error(&self, status: u16, reason: &str) -> String {
        let body = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status.as_u16(), status, "body: {body}");
        assert_eq!(
            self.content_type(),
            Some("application/json; charset=UTF-8"),
            "body: {body}"
        );
        let json = self.json();
        let error = &json["error"];
        assert_eq!(error["code"], status, "body: {body}");
        assert_eq!(error["errors"][0]["domain"], "global", "body: {body}");
        assert_eq!(error["errors"][0]["reason"], reason, "body: {body}");
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "an error has a message: {body}");
        assert_eq!(error["errors"][0]["message"], message.as_str());
        message
    }
}

pub(crate) use crate::traces::Traces;
