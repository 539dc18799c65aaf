//! The mock target: one wiremock server per scenario, playing the token
//! endpoint (`POST /token`), the metadata server
//! (`GET /computeMetadata/v1/instance/service-accounts/{account}/token`) and
//! the Task Queue API, from the scenario's scripted exchanges.
//!
//! One catch-all [`wiremock::Respond`] serves the running step's exchanges
//! strictly in order. A request that is not the next scripted exchange gets
//! a 500 whose body explains, and fails the step with a message naming the
//! nearest scripted exchange and what differed; an exchange left unconsumed
//! when the step ends fails it too.
//!
//! Tokens are labels (`at-1`): the mock mints an unguessable secret per
//! label, maps `Authorization: Bearer …` back to its label, and never puts a
//! secret in a wire line, a problem or a response it explains. Response JSON
//! is templated on the scenario's virtual clock (see [`crate::scenario::template`]).
//!
//! A scripted connection reset (`reset: true`) is played by the reset front
//! (`crate::target::mock::front`), which asks [`Resets::take`] whether a
//! request is the next exchange and that exchange a reset, before it passes
//! the request on to wiremock; its wire line ends in `-> reset`.
//!
//! Each request becomes one wire line of the step, for example
//! `POST /token refresh_token scope=taskqueue -> 200 <at-1> expires +3600s`
//! (`expires` is the token's expiry relative to the scenario's start) or
//! `GET tasks/t1 [<at-1>] -> 401 authError` (API paths are relative to the
//! queue, the queue itself being `(queue)`; the query string is shown as
//! sent, percent-encoding and order included).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::{Clock, VirtualClock};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::check::request_match;
use crate::report::WireCounters;
use crate::scenario::template;
use crate::scenario::{
    ApiExchange, Exchange, ExpectedRequest, Grant, ScriptedResponse, Spanned, TokenExchange,
};
use crate::target::front::RawRequest;

/// The API's path prefix, below which come `{project}/taskqueues/{queue}`.
pub(crate) const API_PREFIX: &str = taskqueue_model::API_PATH;

/// The metadata server's token path prefix.
const METADATA_PREFIX: &str = "/computeMetadata/v1/instance/service-accounts/";

/// What the mock needs to know about the scenario.
#[derive(Debug, Clone)]
pub(crate) struct MockConfig {
    /// The grant, which decides which token requests are expected.
    pub grant: Grant,
    /// The `expires_in` of issued tokens.
    pub lifetime: Duration,
    /// The scopes issued tokens carry (the token response's `scope`).
    pub granted: ScopeSet,
    /// The project path segment the API requests must name.
    pub project: String,
    /// The queue the API requests must name.
    pub queue: String,
    /// The scenario's clock, shared with the client.
    pub clock: VirtualClock,
}

/// What crossed the wire during one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StepWire {
    /// One line per request, in order.
    pub wire: Vec<String>,
    /// Requests per kind, unexpected requests, unconsumed exchanges
    /// (`retries` is left at 0: the runner counts backoff sleeps).
    pub counters: WireCounters,
    /// Requests that matched no scripted exchange, each naming the nearest.
    pub unexpected: Vec<String>,
    /// Scripted exchanges the step left unconsumed.
    pub unconsumed: Vec<String>,
}

/// A running mock target.
pub(crate) struct MockTarget {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MockTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTarget")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl MockTarget {
    /// Starts a fresh server (not from wiremock's pool) with the catch-all
    /// responder mounted.
    pub(crate) async fn start(config: MockConfig) -> Self {
        let state = Arc::new(Mutex::new(State {
            config,
            tokens: HashMap::new(),
            script: Vec::new(),
            cursor: 0,
            step: None,
            out: StepWire::default(),
        }));
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: state.clone(),
            })
            .named("conformance scenario script")
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// `http://127.0.0.1:{port}`.
    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    /// `127.0.0.1:{port}`, for the metadata server source.
    pub(crate) fn host(&self) -> String {
        self.server.address().to_string()
    }

    /// The script as the reset front sees it.
    pub(crate) fn resets(&self) -> Resets {
        Resets(self.state.clone())
    }

    /// The secret behind `label`, minted on first use (for the static
    /// grant's fixed token).
    pub(crate) fn secret_for(&self, label: &str) -> String {
        lock(&self.state).secret_for(label)
    }

    /// Every secret minted so far (to check that no record shows one).
    pub(crate) fn secrets(&self) -> Vec<String> {
        lock(&self.state).tokens.keys().cloned().collect()
    }

    /// Loads the exchanges of step `step`. Fails, before anything is served,
    /// if a response template cannot be expanded.
    pub(crate) fn begin_step(
        &self,
        step: usize,
        exchanges: &[Spanned<Exchange>],
    ) -> Result<(), String> {
        let mut state = lock(&self.state);
        let now = state.config.clock.now();
        for (index, exchange) in exchanges.iter().enumerate() {
            let response = match &exchange.value {
                Exchange::Api(api) => Some(&api.response),
                Exchange::Token(token) => token.error.as_ref(),
            };
            if let Some(json) = response.and_then(|response| response.json.as_ref()) {
                template::expand(json, now).map_err(|why| {
                    format!(
                        "exchange #{} (line {}): response json: {why}",
                        index + 1,
                        exchange.referenced.line()
                    )
                })?;
            }
        }
        state.script = exchanges
            .iter()
            .map(|exchange| Scripted {
                exchange: exchange.value.clone(),
                line: exchange.referenced.line(),
            })
            .collect();
        state.cursor = 0;
        state.step = Some(step);
        Ok(())
    }

    /// Ends the running step: its wire lines, counters and problems,
    /// including every exchange it left unconsumed.
    pub(crate) fn end_step(&self) -> StepWire {
        let mut state = lock(&self.state);
        let unconsumed: Vec<String> = state.script[state.cursor..]
            .iter()
            .enumerate()
            .map(|(offset, scripted)| {
                format!(
                    "exchange #{} `{}` (line {}) was never consumed",
                    state.cursor + offset + 1,
                    describe(&scripted.exchange),
                    scripted.line
                )
            })
            .collect();
        let mut out = std::mem::take(&mut state.out);
        out.counters.unconsumed += u32::try_from(unconsumed.len()).unwrap_or(u32::MAX);
        out.unconsumed = unconsumed;
        state.script.clear();
        state.cursor = 0;
        state.step = None;
        out
    }

    /// What arrived while no step was running (normally nothing).
    pub(crate) fn drain(&self) -> StepWire {
        std::mem::take(&mut lock(&self.state).out)
    }
}

/// The mock's script as its reset front sees it.
#[derive(Clone)]
pub(crate) struct Resets(Arc<Mutex<State>>);

impl fmt::Debug for Resets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resets").finish_non_exhaustive()
    }
}

impl Resets {
    /// Whether the request the front read (`url`, the rest in `request`)
    /// is the next scripted exchange and that exchange a reset; if so, it
    /// is counted, its wire line written and the exchange consumed, and the
    /// front drops the connection. Otherwise the request goes on to
    /// wiremock.
    pub(crate) fn take(&self, url: &url::Url, request: &RawRequest) -> bool {
        let Ok(method) = http::Method::from_bytes(request.method.as_bytes()) else {
            return false;
        };
        let mut headers = http::HeaderMap::new();
        for (name, value) in &request.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        let request = Request {
            url: url.clone(),
            method,
            headers,
            body: request.body.clone(),
        };
        lock(&self.0).take_reset(&request)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

struct State {
    config: MockConfig,
    /// Secret → label and label → secret.
    tokens: HashMap<String, String>,
    script: Vec<Scripted>,
    cursor: usize,
    step: Option<usize>,
    out: StepWire,
}

struct Scripted {
    exchange: Exchange,
    line: u64,
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        lock(&self.state).serve(request)
    }
}

/// A request as the mock understands it.
enum Incoming {
    Token(TokenRequest),
    Api(ApiRequest),
    Other { method: String, path: String },
}

enum TokenKind {
    /// `POST /token` with a form.
    Endpoint { grant_type: Option<String> },
    /// `GET` on the metadata server's token path.
    Metadata { flavored: bool },
}

struct TokenRequest {
    method: String,
    path: String,
    kind: TokenKind,
    /// The requested scopes (full URLs).
    scopes: Vec<String>,
}

struct ApiRequest {
    method: String,
    /// Relative to the queue (`tasks/t1`, `""`), or the whole decoded path
    /// (starting with `/`) when it names another project or queue.
    path: String,
    query: Vec<(String, String)>,
    /// The query string as sent (still percent-encoded), for the wire line.
    raw_query: Option<String>,
    /// The token's label, if the Authorization header carried a known one.
    label: Option<String>,
    /// What to show when there is no known label.
    token_shown: String,
    body: Option<Result<Value, String>>,
}

impl ApiRequest {
    fn line(&self) -> String {
        let path = if self.path.is_empty() {
            "(queue)"
        } else {
            self.path.as_str()
        };
        let query = match &self.raw_query {
            Some(raw) if !raw.is_empty() => format!("?{raw}"),
            _ => String::new(),
        };
        format!("{} {path}{query} [{}]", self.method, self.token_shown)
    }
}

impl TokenRequest {
    fn line(&self) -> String {
        let what = match &self.kind {
            TokenKind::Endpoint { grant_type } => match grant_type.as_deref() {
                Some("refresh_token") => "refresh_token".to_owned(),
                Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => "jwt_bearer".to_owned(),
                Some(other) => format!("grant_type={other}"),
                None => "no grant_type".to_owned(),
            },
            TokenKind::Metadata { flavored: true } => String::new(),
            TokenKind::Metadata { flavored: false } => "no Metadata-Flavor".to_owned(),
        };
        let mut line = format!("{} {}", self.method, self.path);
        if !what.is_empty() {
            line.push(' ');
            line.push_str(&what);
        }
        if !self.scopes.is_empty() {
            let shown: Vec<String> = self.scopes.iter().map(|s| short_scope(s)).collect();
            line.push_str(&format!(" scope={}", shown.join(",")));
        }
        line
    }
}

/// A scope as scenarios write it: the short name of a Task Queue scope,
/// else the full URL.
pub(crate) fn short_scope(scope: &str) -> String {
    let scope = Scope::parse(scope);
    if scope.task_queue_access().is_some() {
        scope
            .as_str()
            .trim_start_matches("https://www.googleapis.com/auth/")
            .to_owned()
    } else {
        scope.as_str().to_owned()
    }
}

impl State {
    fn secret_for(&mut self, label: &str) -> String {
        if let Some((secret, _)) = self.tokens.iter().find(|(_, l)| *l == label) {
            return secret.clone();
        }
        let secret = unguessable();
        self.tokens.insert(secret.clone(), label.to_owned());
        secret
    }

    fn elapsed(&self) -> Duration {
        self.config.clock.elapsed()
    }

    /// Counts `incoming` and returns its wire line, without the answer.
    fn count(&mut self, incoming: &Incoming) -> String {
        match incoming {
            Incoming::Token(token) => {
                self.out.counters.token_requests += 1;
                token.line()
            }
            Incoming::Api(api) => {
                self.out.counters.api_requests += 1;
                api.line()
            }
            Incoming::Other { method, path } => format!("{method} {path}"),
        }
    }

    /// Whether `incoming` is the request `exchange` scripts.
    fn matches(&self, incoming: &Incoming, exchange: &Exchange) -> bool {
        match (incoming, exchange) {
            (Incoming::Token(token), Exchange::Token(_)) => {
                token_differences(self.config.grant, token).is_empty()
            }
            (Incoming::Api(api), Exchange::Api(exchange)) => {
                api_differences(&exchange.request, api, &self.config).is_empty()
            }
            _ => false,
        }
    }

    /// Plays the next exchange if it is a reset that `request` matches
    /// (see [`Resets::take`]).
    fn take_reset(&mut self, request: &Request) -> bool {
        let incoming = self.parse(request);
        let playable = self.script.get(self.cursor).is_some_and(|next| {
            next.exchange.is_reset() && self.matches(&incoming, &next.exchange)
        });
        if playable {
            let line = self.count(&incoming);
            self.cursor += 1;
            self.out.wire.push(format!("{line} -> reset"));
        }
        playable
    }

    fn serve(&mut self, request: &Request) -> ResponseTemplate {
        let incoming = self.parse(request);
        let line = self.count(&incoming);
        let next = self
            .script
            .get(self.cursor)
            .map(|scripted| scripted.exchange.clone());
        // A reset is the reset front's to play: wiremock can only answer.
        let matched = next
            .as_ref()
            .is_some_and(|next| !next.is_reset() && self.matches(&incoming, next));
        match next {
            Some(Exchange::Token(exchange)) if matched => {
                self.cursor += 1;
                match &incoming {
                    Incoming::Token(token) => self.issue(&exchange, token, &line),
                    _ => self.unexpected(&incoming, &line),
                }
            }
            Some(Exchange::Api(exchange)) if matched => {
                self.cursor += 1;
                self.answer(&exchange, &line)
            }
            _ => self.unexpected(&incoming, &line),
        }
    }

    fn parse(&self, request: &Request) -> Incoming {
        let method = request.method.as_str().to_owned();
        let raw_path = request.url.path();
        let segments: Vec<String> = raw_path
            .split('/')
            .skip(1)
            .map(|segment| {
                percent_encoding::percent_decode_str(segment)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let decoded = format!("/{}", segments.join("/"));
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        if decoded == "/token" {
            let TokenForm { grant_type, scopes } = token_form(&request.body);
            return Incoming::Token(TokenRequest {
                method,
                path: decoded,
                kind: TokenKind::Endpoint { grant_type },
                scopes,
            });
        }
        if decoded.starts_with(METADATA_PREFIX) && decoded.ends_with("/token") {
            let flavored = request
                .headers
                .get("metadata-flavor")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value == "Google");
            let scopes = query
                .iter()
                .find(|(key, _)| key == "scopes")
                .map(|(_, value)| {
                    value
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            return Incoming::Token(TokenRequest {
                method,
                path: decoded,
                kind: TokenKind::Metadata { flavored },
                scopes,
            });
        }
        if let Some(rest) = decoded.strip_prefix(API_PREFIX) {
            let queue_prefix = format!("{}/taskqueues/{}", self.config.project, self.config.queue);
            let path = match rest.strip_prefix(&queue_prefix) {
                Some("") => String::new(),
                Some(tail) if tail.starts_with('/') => tail[1..].to_owned(),
                _ => decoded.clone(),
            };
            let authorization = request
                .headers
                .get("authorization")
                .and_then(|value| value.to_str().ok());
            let (label, token_shown) = match authorization {
                None => (None, "no token".to_owned()),
                Some(value) => match value
                    .strip_prefix("Bearer ")
                    .and_then(|secret| self.tokens.get(secret.trim()))
                {
                    Some(label) => (Some(label.clone()), format!("<{label}>")),
                    None => (None, "unknown token".to_owned()),
                },
            };
            let body = (!request.body.is_empty()).then(|| {
                serde_json::from_slice(&request.body).map_err(|_| {
                    format!(
                        "not JSON: {}",
                        String::from_utf8_lossy(&request.body)
                            .chars()
                            .take(80)
                            .collect::<String>()
                    )
                })
            });
            return Incoming::Api(ApiRequest {
                method,
                path,
                query,
                raw_query: request.url.query().map(str::to_owned),
                label,
                token_shown,
                body,
            });
        }
        Incoming::Other {
            method,
            path: decoded,
        }
    }

    /// The answer to a token request that matched `exchange`.
    fn issue(
        &mut self,
        exchange: &TokenExchange,
        token: &TokenRequest,
        line: &str,
    ) -> ResponseTemplate {
        let metadata = self.config.grant == Grant::Metadata;
        let (response, shown) = if let Some(label) = &exchange.issue {
            let secret = self.secret_for(label);
            let lifetime = self.config.lifetime;
            let expires = template::offset(self.elapsed().saturating_add(lifetime));
            let requested: std::collections::BTreeSet<Scope> = token
                .scopes
                .iter()
                .map(|scope| Scope::parse(scope))
                .collect();
            let granted: std::collections::BTreeSet<Scope> =
                self.config.granted.iter().cloned().collect();
            let granted_note = if requested == granted {
                String::new()
            } else {
                let names: Vec<String> = granted
                    .iter()
                    .map(|scope| short_scope(scope.as_str()))
                    .collect();
                format!(" granted={}", names.join(","))
            };
            let body = json!({
                "access_token": secret,
                "expires_in": lifetime.as_secs(),
                "token_type": "Bearer",
                "scope": self.config.granted.to_space_separated(),
            });
            (
                ResponseTemplate::new(200).set_body_json(body),
                format!("200 <{label}> expires {expires}{granted_note}"),
            )
        } else if let Some(error) = &exchange.error {
            let now = self.config.clock.now();
            let shown = format!("{}{}", error.status, reason_suffix(error));
            (scripted(error, now), shown)
        } else {
            (
                ResponseTemplate::new(500).set_body_string("empty token exchange"),
                "500".to_owned(),
            )
        };
        let response = if metadata {
            response.insert_header("Metadata-Flavor", "Google")
        } else {
            response
        };
        self.out.wire.push(format!("{line} -> {shown}"));
        response
    }

    /// The answer to an API request that matched `exchange`.
    fn answer(&mut self, exchange: &ApiExchange, line: &str) -> ResponseTemplate {
        let now = self.config.clock.now();
        let response = &exchange.response;
        self.out.wire.push(format!(
            "{line} -> {}{}",
            response.status,
            reason_suffix(response)
        ));
        scripted(response, now)
    }

    fn unexpected(&mut self, incoming: &Incoming, line: &str) -> ResponseTemplate {
        self.out.counters.unexpected += 1;
        self.out.wire.push(format!("{line} -> 500 UNEXPECTED"));
        let why = self.diagnose(incoming);
        let problem = format!("unexpected request `{line}`: {why}");
        self.out.unexpected.push(problem.clone());
        ResponseTemplate::new(500).set_body_string(format!("conformance mock: {problem}"))
    }

    /// Why `incoming` is not the next exchange, naming the nearest one.
    fn diagnose(&self, incoming: &Incoming) -> String {
        let Some(step) = self.step else {
            return "no call is running (a request between steps)".to_owned();
        };
        if let Incoming::Other { .. } = incoming {
            return format!(
                "not a token, metadata server or Task Queue API path (step {step}); the mock serves \
                 POST /token, GET {METADATA_PREFIX}…/token and {API_PREFIX}{}/taskqueues/{}/…",
                self.config.project, self.config.queue
            );
        }
        let remaining = &self.script[self.cursor..];
        let Some(next) = remaining.first() else {
            let total = self.script.len();
            return match self.script.last() {
                None => "this step scripts no exchange".to_owned(),
                Some(last) => format!(
                    "all {total} scripted exchange(s) of this step are consumed; the last was #{total} `{}` (line {})",
                    describe(&last.exchange),
                    last.line
                ),
            };
        };
        let number = |offset: usize| self.cursor + offset + 1;
        let differences = |scripted: &Scripted| match (incoming, &scripted.exchange) {
            (Incoming::Token(token), Exchange::Token(_)) => with_reset_note(
                &scripted.exchange,
                token_differences(self.config.grant, token),
            ),
            (Incoming::Api(api), Exchange::Api(exchange)) => with_reset_note(
                &scripted.exchange,
                api_differences(&exchange.request, api, &self.config),
            ),
            (Incoming::Api(_), Exchange::Token(_)) => {
                vec!["a token request was scripted, an API request came".to_owned()]
            }
            (Incoming::Token(_), Exchange::Api(_)) => {
                vec!["an API request was scripted, a token request came".to_owned()]
            }
            (Incoming::Other { .. }, _) => vec!["unknown endpoint".to_owned()],
        };
        let name = |offset: usize, scripted: &Scripted| {
            format!(
                "#{} `{}` (line {})",
                number(offset),
                describe(&scripted.exchange),
                scripted.line
            )
        };
        // A later exchange this request matches: served out of order.
        if let Some((offset, later)) = remaining
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, scripted)| differences(scripted).is_empty())
        {
            return format!(
                "it matches scripted exchange {}, but {} comes first: exchanges are served in order",
                name(offset, later),
                name(0, next)
            );
        }
        // The nearest: the next one, unless a later one has the same method
        // and path (or is a token exchange, for a token request) and the
        // next one does not.
        let similar = |scripted: &Scripted| match (incoming, &scripted.exchange) {
            (Incoming::Token(_), Exchange::Token(_)) => true,
            (Incoming::Api(api), Exchange::Api(exchange)) => {
                exchange.request.method.eq_ignore_ascii_case(&api.method)
                    && normalized_path(&exchange.request.path) == api.path
            }
            _ => false,
        };
        let nearest = if similar(next) {
            None
        } else {
            remaining
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, scripted)| similar(scripted))
        };
        match nearest {
            None => format!(
                "the nearest scripted exchange is the next one, {}: {}",
                name(0, next),
                differences(next).join("; ")
            ),
            Some((offset, scripted)) => format!(
                "the nearest scripted exchange is {} (same method and path): {}; the next one \
                 expected is {}",
                name(offset, scripted),
                differences(scripted).join("; "),
                name(0, next)
            ),
        }
    }
}

/// `differences`, or, when there are none and `exchange` is a reset that
/// reached wiremock, why it was not played.
fn with_reset_note(exchange: &Exchange, mut differences: Vec<String>) -> Vec<String> {
    if differences.is_empty() && exchange.is_reset() {
        differences.push(
            "it is scripted as a connection reset, which only the mock's reset front plays"
                .to_owned(),
        );
    }
    differences
}

fn normalized_path(path: &str) -> &str {
    path.trim_matches('/')
}

/// How a token request differs from what the grant makes.
fn token_differences(grant: Grant, token: &TokenRequest) -> Vec<String> {
    let mut differences = Vec::new();
    match (grant, &token.kind) {
        (Grant::Static, _) => {
            differences.push("the static grant makes no token request".to_owned());
        }
        (Grant::Metadata, TokenKind::Metadata { flavored }) => {
            if token.method != "GET" {
                differences.push(format!("method: expected GET, got {}", token.method));
            }
            if !flavored {
                differences.push("header `Metadata-Flavor: Google` is missing".to_owned());
            }
        }
        (Grant::Metadata, TokenKind::Endpoint { .. }) => differences.push(format!(
            "the metadata grant asks the metadata server (GET {METADATA_PREFIX}…/token), not {} {}",
            token.method, token.path
        )),
        (Grant::RefreshToken | Grant::JwtBearer, TokenKind::Endpoint { grant_type }) => {
            if token.method != "POST" {
                differences.push(format!("method: expected POST, got {}", token.method));
            }
            let expected = if grant == Grant::RefreshToken {
                "refresh_token"
            } else {
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            };
            if grant_type.as_deref() != Some(expected) {
                differences.push(format!(
                    "grant_type: expected `{expected}`, got `{}`",
                    grant_type.as_deref().unwrap_or("(none)")
                ));
            }
        }
        (Grant::RefreshToken | Grant::JwtBearer, TokenKind::Metadata { .. }) => {
            differences.push(format!(
                "this grant posts to /token, not the metadata server ({} {})",
                token.method, token.path
            ));
        }
    }
    differences
}

/// How an API request differs from the scripted one.
fn api_differences(
    expected: &ExpectedRequest,
    actual: &ApiRequest,
    config: &MockConfig,
) -> Vec<String> {
    let mut differences: Vec<String> = request_match::method_difference(expected, &actual.method)
        .into_iter()
        .collect();
    let want_path = normalized_path(&expected.path);
    if want_path != actual.path {
        let note = if actual.path.starts_with('/') {
            format!(
                " (not below project `{}`, queue `{}`)",
                config.project, config.queue
            )
        } else {
            String::new()
        };
        differences.push(format!(
            "path: expected `{want_path}`, got `{}`{note}",
            actual.path
        ));
    }
    if actual.label.as_deref() != Some(expected.token.as_str()) {
        differences.push(format!(
            "token: expected <{}>, got {}",
            expected.token, actual.token_shown
        ));
    }
    differences.extend(request_match::query_differences(expected, &actual.query));
    differences.extend(request_match::body_difference(
        expected,
        actual.body.as_ref(),
        config.clock.now(),
        "body",
    ));
    differences
}

/// A short description of a scripted exchange, as failure messages name it.
pub(crate) fn describe(exchange: &Exchange) -> String {
    match exchange {
        Exchange::Token(token) => match (&token.issue, &token.error) {
            (Some(label), _) => format!("token issue {label}"),
            (None, Some(error)) if error.reset => "token reset".to_owned(),
            (None, Some(error)) => format!("token error {}{}", error.status, reason_suffix(error)),
            (None, None) => "token".to_owned(),
        },
        Exchange::Api(api) => {
            let request = &api.request;
            let path = normalized_path(&request.path);
            let path = if path.is_empty() { "(queue)" } else { path };
            let mut text = format!(
                "api {} {path} token {}",
                request.method.to_ascii_uppercase(),
                request.token
            );
            if !request.query.is_empty() {
                let query: Vec<String> = request
                    .query
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect();
                text.push_str(&format!(" query {}", query.join("&")));
            }
            if api.response.reset {
                text.push_str(" -> reset");
            } else {
                text.push_str(&format!(" -> {}", api.response.status));
            }
            text
        }
    }
}

/// ` reason`: Google's `errors[0].reason`, else `error.status`, else an
/// OAuth `error` code; empty when none.
fn reason_suffix(response: &ScriptedResponse) -> String {
    let Some(json) = &response.json else {
        return String::new();
    };
    let error = json.get("error");
    let reason = error
        .and_then(|error| error.get("errors"))
        .and_then(|errors| errors.get(0))
        .and_then(|first| first.get("reason"))
        .and_then(Value::as_str)
        .or_else(|| {
            error
                .and_then(|error| error.get("status"))
                .and_then(Value::as_str)
        })
        .or_else(|| error.and_then(Value::as_str));
    reason
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default()
}

/// A scripted response, its JSON templated at `now`.
fn scripted(response: &ScriptedResponse, now: std::time::SystemTime) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(response.status);
    if let Some(json) = &response.json {
        // Checked in `begin_step`; a failure here cannot happen.
        let body = template::expand(json, now).unwrap_or_else(|_| json.clone());
        template = template.set_body_json(body);
    } else if let Some(body) = &response.body {
        template = template.set_body_string(body.clone());
    }
    for (name, value) in &response.headers {
        template = template.insert_header(name.as_str(), value.as_str());
    }
    template
}

/// What a token-endpoint request asks for, read from its form body.
pub(crate) struct TokenForm {
    /// `grant_type`, verbatim.
    pub(crate) grant_type: Option<String>,
    /// The scopes asked for: `scope`, else the `scope` claim of the JWT-bearer `assertion`.
    pub(crate) scopes: Vec<String>,
}

/// Reads a token-endpoint request's form body (the mock target and the recording forwarder both need it).
pub(crate) fn token_form(body: &[u8]) -> TokenForm {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let scope = field("scope").or_else(|| field("assertion").and_then(|a| jwt_scope(&a)));
    TokenForm {
        grant_type: field("grant_type"),
        scopes: scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// The `scope` claim of a JWT-bearer assertion (not a secret: the
/// signature is what matters, and it is never read).
fn jwt_scope(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("scope")?.as_str().map(str::to_owned)
}

/// A secret nobody can guess: 128 bits from the process's random hasher keys.
pub(crate) fn unguessable() -> String {
    let mut text = String::from("ya29.mock-");
    for part in 0_u8..2 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u8(part);
        text.push_str(&format!("{:016x}", hasher.finish()));
    }
    text
}
