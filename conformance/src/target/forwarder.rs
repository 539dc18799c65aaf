//! The recording forwarder: an HTTP/1.1 proxy on 127.0.0.1 (hyper serves
//! it, through [`crate::target::front`]) that the client talks to instead
//! of the real endpoint. It forwards each request with reqwest to the real
//! base URL, answers with what came back, and records the exchange, so the
//! harness can hold what crossed the wire against the scenario's script.
//!
//! Bearer tokens are recorded as labels (`at-1`, `at-2`, first seen first,
//! per scenario), never as values; the values are kept apart, only for the
//! secret scanner.
//!
//! The server target also routes the token endpoint (`POST /token`) and the
//! metadata server (`GET /computeMetadata/…`) through the forwarder: such
//! exchanges are recorded as token exchanges ([`TokenRecord`]): the grant
//! and the requested scopes, never the form (it holds the refresh token,
//! the client secret or the signed assertion), and the issued token by
//! label (an issued token takes the next label, so the n-th token issued is
//! `at-n`). Every recorded JSON answer has its `access_token`,
//! `refresh_token` and `id_token` values replaced by a label or
//! `[censored]`; the client gets the answer unchanged. With
//! [`ForwarderOptions::revoke`], the forwarder sends the upstream a
//! stand-in the server never issued in place of those tokens, so the server
//! refuses them as it refuses a revoked token.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use taskqueue_clock::{Clock, SharedClock, SystemClock};
use tokio::task::JoinHandle;
use url::Url;

use crate::target::faults::{Plan, Side};
use crate::target::front::{self, Answer, Answerer, RawRequest};
use crate::target::mock::script::short_scope;

/// The bearer token the forwarder sends in place of a revoked one: no
/// server issued it.
const REVOKED_STAND_IN: &str = "revoked-by-the-conformance-harness";

/// The metadata server's path prefix.
const METADATA_PREFIX: &str = "/computeMetadata/";

/// A request to the token endpoint or the metadata server, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRecord {
    /// `refresh_token`, `jwt_bearer`, `metadata`, or `grant_type=…` for
    /// another grant.
    pub grant: String,
    /// The scopes asked for (full URLs), from the form's `scope`, the
    /// assertion's `scope` claim or the metadata server's `scopes` query.
    pub scopes: Vec<String>,
    /// Whether a metadata request carried `Metadata-Flavor: Google`.
    pub flavored: bool,
    /// The label of the access token the answer issued, if it issued one.
    pub issued: Option<String>,
    /// The answer's `expires_in`, in seconds.
    pub expires_in: Option<u64>,
    /// The answer's `scope`, split, if it had one.
    pub granted: Option<Vec<String>>,
}

/// One request that crossed the forwarder, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// The HTTP method.
    pub method: String,
    /// The path relative to the queue (`tasks/t1`; `""` is the queue
    /// itself), or the whole path (starting with `/`) if it is not below the
    /// configured queue.
    pub path: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The label of the bearer token the request carried.
    pub token: Option<String>,
    /// The request body as JSON (`Err` with why if it is not JSON), if any.
    pub body: Option<Result<Value, String>>,
    /// The answer's status; 502 if the upstream could not be reached, 0 if
    /// the forwarder closed the connection without answering (an injected
    /// reset).
    pub status: u16,
    /// The answer's JSON body, if it is JSON.
    pub json: Option<Value>,
    /// The answer's body as text, cut to 2 KiB (for diffs of non-JSON bodies).
    pub text: String,
    /// Why the upstream could not answer, if it could not.
    pub upstream_error: Option<String>,
    /// For a token-endpoint or metadata-server request: what was asked and
    /// issued (the path is then the whole path, `/token`).
    pub token_exchange: Option<TokenRecord>,
    /// When the answer came back, on the forwarder's clock, if it has one.
    pub at: Option<SystemTime>,
    /// Whether the bearer token was revoked: the upstream got a stand-in.
    pub revoked: bool,
    /// Whether the forwarder answered itself, a fault of the step's plan
    /// ([`Forwarder::set_plan`]), instead of forwarding.
    pub injected: bool,
}

impl Recorded {
    /// Google's error reason of the answer: `error.errors[0].reason`, else
    /// `error.status`, else an OAuth `error` string.
    pub(crate) fn reason(&self) -> Option<String> {
        self.json.as_ref().and_then(error_reason)
    }

    /// The wire line of the exchange, as the mock target writes them:
    /// `GET tasks/t1 [<at-1>] -> 401 authError`.
    pub(crate) fn line(&self) -> String {
        self.line_since(None)
    }

    /// [`line`](Self::line), with the expiry of an issued token relative to
    /// `start` (`… -> 200 <at-1> expires +3600s`, as the mock target writes
    /// it) when `start` and the record's time are known.
    pub(crate) fn line_since(&self, start: Option<SystemTime>) -> String {
        if let Some(token) = &self.token_exchange {
            return self.token_line(token, start);
        }
        let path = if self.path.is_empty() {
            "(queue)"
        } else {
            &self.path
        };
        let mut line = format!("{} {path}", self.method);
        if !self.query.is_empty() {
            let query: Vec<String> = self
                .query
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            line.push('?');
            line.push_str(&query.join("&"));
        }
        match (&self.token, self.revoked) {
            (Some(label), false) => line.push_str(&format!(" [<{label}>]")),
            (Some(label), true) => line.push_str(&format!(" [<{label}> revoked]")),
            (None, _) => line.push_str(" [no token]"),
        }
        self.push_status(&mut line);
        if let Some(reason) = self.reason() {
            line.push(' ');
            line.push_str(&reason);
        }
        self.push_notes(&mut line);
        line
    }
}

impl Recorded {
    /// ` -> STATUS`, or ` -> reset` for a connection dropped without an answer.
    fn push_status(&self, line: &mut String) {
        if self.status == 0 {
            line.push_str(" -> reset");
        } else {
            line.push_str(&format!(" -> {}", self.status));
        }
    }

    /// What the forwarder itself adds: its own failure to get an answer, and whether it injected the answer.
    fn push_notes(&self, line: &mut String) {
        if let Some(error) = &self.upstream_error {
            line.push_str(&format!(" (forwarder: {error})"));
        }
        if self.injected {
            line.push_str(" (injected)");
        }
    }

    fn token_line(&self, token: &TokenRecord, start: Option<SystemTime>) -> String {
        let mut line = format!("{} {}", self.method, self.path);
        if token.grant != "metadata" {
            line.push(' ');
            line.push_str(&token.grant);
        } else if !token.flavored {
            line.push_str(" no Metadata-Flavor");
        }
        if !token.scopes.is_empty() {
            let shown: Vec<String> = token.scopes.iter().map(|s| short_scope(s)).collect();
            line.push_str(&format!(" scope={}", shown.join(",")));
        }
        self.push_status(&mut line);
        match &token.issued {
            Some(label) => {
                line.push_str(&format!(" <{label}>"));
                if let Some(expires_in) = token.expires_in {
                    match (start, self.at) {
                        (Some(start), Some(at)) => {
                            let elapsed = at.duration_since(start).unwrap_or_default();
                            let expires = elapsed.saturating_add(Duration::from_secs(expires_in));
                            line.push_str(&format!(
                                " expires {}",
                                crate::scenario::template::offset(expires)
                            ));
                        }
                        _ => line.push_str(&format!(" expires_in {expires_in}s")),
                    }
                }
                if let Some(granted) = &token.granted {
                    let mut asked: Vec<String> =
                        token.scopes.iter().map(|s| short_scope(s)).collect();
                    let mut given: Vec<String> = granted.iter().map(|s| short_scope(s)).collect();
                    asked.sort();
                    given.sort();
                    if asked != given {
                        line.push_str(&format!(" granted={}", given.join(",")));
                    }
                }
            }
            None => {
                if let Some(reason) = self.reason() {
                    line.push(' ');
                    line.push_str(&reason);
                }
            }
        }
        self.push_notes(&mut line);
        line
    }
}

/// Google's error reason in a JSON body: `error.errors[0].reason`, else
/// `error.details[].reason`, else `error.status`, else an OAuth `error`
/// string.
pub(crate) fn error_reason(json: &Value) -> Option<String> {
    let error = json.get("error")?;
    if let Some(text) = error.as_str() {
        return Some(text.to_owned());
    }
    let from_errors = error
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.iter().find_map(|e| e.get("reason")?.as_str()));
    let from_details = || {
        error
            .get("details")
            .and_then(Value::as_array)
            .and_then(|details| details.iter().find_map(|d| d.get("reason")?.as_str()))
    };
    from_errors
        .or_else(from_details)
        .or_else(|| error.get("status").and_then(Value::as_str))
        .map(str::to_owned)
}

#[derive(Debug, Default)]
struct State {
    exchanges: Vec<Recorded>,
    /// Labels of the tokens the upstream gets a stand-in for.
    revoked: Vec<String>,
    /// (token value, label) for the running scenario.
    labels: Vec<(String, String)>,
    /// Every token value seen in the run, for the secret scanner.
    secrets: Vec<String>,
    /// The running step's faults to inject.
    plan: Plan,
    /// Scopes asked for in place of the client's ([`ForwarderOptions::grant_scopes`]).
    grant_scopes: Option<Vec<String>>,
}

/// What a forwarder does beyond forwarding.
#[derive(Clone, Default)]
pub(crate) struct ForwarderOptions {
    /// The clock that stamps each record ([`Recorded::at`]).
    pub clock: Option<SharedClock>,
    /// Token labels (`at-1`) the upstream gets a revoked stand-in for, to
    /// start with ([`Forwarder::set_revoked`] changes them).
    pub revoke: Vec<String>,
    /// Scopes (full URLs) the token endpoint or metadata server is asked
    /// for in place of those the client asks for, so the token it grants is
    /// narrower than requested, as a user's partial consent or a VM's
    /// access scopes make it.
    pub grant_scopes: Option<Vec<String>>,
    /// Where `POST /token` goes, when the token endpoint is not at the API's
    /// origin (Google's `https://oauth2.googleapis.com/token`).
    pub token_upstream: Option<Url>,
}

impl std::fmt::Debug for ForwarderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwarderOptions")
            .field("clock", &self.clock.is_some())
            .field("revoke", &self.revoke)
            .field("grant_scopes", &self.grant_scopes)
            .field("token_upstream", &self.token_upstream)
            .finish()
    }
}

#[derive(Debug)]
struct Shared {
    upstream: Url,
    queue_prefix: String,
    http: reqwest::Client,
    clock: Option<SharedClock>,
    token_upstream: Option<Url>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running forwarder; stops when dropped.
#[derive(Debug)]
pub(crate) struct Forwarder {
    local_base: String,
    address: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Forwarder {
    /// Starts a forwarder on 127.0.0.1 in front of `upstream_base` (the
    /// API's base URL, ending in `projects/`), for the queue `queue` of
    /// `project`, with `options`: a clock to stamp records, tokens to
    /// revoke, scopes to grant, where the token endpoint is.
    pub(crate) async fn start_with(
        upstream_base: &str,
        project: &str,
        queue: &str,
        timeout: Duration,
        options: ForwarderOptions,
    ) -> Result<Forwarder, String> {
        let mut upstream = Url::parse(upstream_base)
            .map_err(|error| format!("base URL `{upstream_base}`: {error}"))?;
        if !matches!(upstream.scheme(), "http" | "https") {
            return Err(format!("base URL `{upstream_base}` must be http or https"));
        }
        if !upstream.path().ends_with('/') {
            let path = format!("{}/", upstream.path());
            upstream.set_path(&path);
        }
        let http = front::relay_client(timeout)
            .map_err(|error| format!("the forwarder's HTTP client: {error}"))?;
        let (listener, address) = front::listen("the forwarder").await?;
        let queue_prefix = format!(
            "{}{}/taskqueues/{}",
            upstream.path(),
            escape_segment(project),
            escape_segment(queue)
        );
        let local_base = format!("http://{address}{}", upstream.path());
        let shared = Arc::new(Shared {
            upstream,
            queue_prefix,
            http,
            clock: options.clock,
            token_upstream: options.token_upstream,
            state: Mutex::new(State {
                revoked: options.revoke,
                grant_scopes: options.grant_scopes,
                ..State::default()
            }),
        });
        let task = tokio::spawn(front::accept(listener, shared.clone()));
        Ok(Forwarder {
            local_base,
            address,
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:{port}`: the origin a token endpoint or metadata
    /// server behind the forwarder is reached at.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `127.0.0.1:{port}` (the server target's metadata-server address).
    #[cfg(feature = "server")]
    pub(crate) fn host(&self) -> String {
        self.address.to_string()
    }

    /// The base URL the client uses: `http://127.0.0.1:{port}` and the
    /// upstream's path.
    pub(crate) fn base_url(&self) -> &str {
        &self.local_base
    }

    /// The exchanges recorded since the last call.
    pub(crate) fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.shared.lock().exchanges)
    }

    /// From now on, the upstream gets a stand-in for the tokens labelled
    /// `labels` (and no other).
    pub(crate) fn set_revoked(&self, labels: Vec<String>) {
        self.shared.lock().revoked = labels;
    }

    /// From now on, answers the faults of `plan` instead of forwarding
    /// (see [`crate::target::faults`]); an empty plan forwards everything.
    pub(crate) fn set_plan(&self, plan: Plan) {
        self.shared.lock().plan = plan;
    }

    /// Every token value seen so far, for the secret scanner.
    pub(crate) fn secrets(&self) -> Vec<String> {
        self.shared.lock().secrets.clone()
    }
}

/// A path segment escaped as the client escapes it: everything but
/// unreserved characters and `:`.
fn escape_segment(segment: &str) -> String {
    let mut out = String::new();
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn forward(shared: &Shared, request: RawRequest) -> Answer {
    let (path, query) = split_target(&request.target);
    let relative = path
        .strip_prefix(&shared.queue_prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .map(|rest| rest.trim_start_matches('/').to_owned())
        .unwrap_or_else(|| path.to_owned());
    let decoded_query = decode_query(query);
    let token_exchange = token_request(path, &request, &decoded_query);
    let token = request
        .header("authorization")
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(|value| label_for(shared, value.trim()));
    let revoked = token
        .as_ref()
        .is_some_and(|label| shared.lock().revoked.contains(label));
    // A token request's form holds the refresh token, the client secret or
    // the signed assertion: it is never kept.
    let body = (token_exchange.is_none() && !request.body.is_empty()).then(|| {
        serde_json::from_slice::<Value>(&request.body).map_err(|error| format!("not JSON: {error}"))
    });
    let mut recorded = Recorded {
        method: request.method.clone(),
        path: relative,
        query: if token_exchange.is_some() {
            Vec::new()
        } else {
            decoded_query
        },
        token,
        body,
        status: 502,
        json: None,
        text: String::new(),
        upstream_error: None,
        token_exchange: None,
        at: None,
        revoked,
        injected: false,
    };

    let side = if token_exchange.is_some() {
        Side::Token
    } else {
        Side::Api
    };
    let injection = shared.lock().plan.next(side);
    let now = shared
        .clock
        .as_ref()
        .map_or_else(|| SystemClock::new().now(), |clock| clock.now());
    if let Some(injection) = injection {
        recorded.injected = true;
        if injection.reset {
            recorded.status = 0;
            recorded.upstream_error = Some("connection reset, no answer".to_owned());
            recorded.token_exchange = token_exchange;
            recorded.at = shared.clock.as_ref().map(|clock| clock.now());
            shared.lock().exchanges.push(recorded);
            return Answer::Reset;
        }
        let answer = injection.answer(now);
        return finish(shared, recorded, token_exchange, answer);
    }

    let mut url = shared.upstream.clone();
    url.set_path(path);
    url.set_query(query);
    if path == "/token"
        && let Some(token_upstream) = &shared.token_upstream
    {
        url = token_upstream.clone();
    }
    let mut request = request;
    let grant_scopes = shared.lock().grant_scopes.clone();
    if let (Some(token), Some(scopes)) = (&token_exchange, &grant_scopes) {
        narrow_scopes(&mut url, &mut request, token, scopes);
    }
    let stand_in = format!("Bearer {REVOKED_STAND_IN}");
    let authorization = revoked.then_some(stand_in.as_str());
    let answer = front::relay(&shared.http, url, request, authorization).await;
    let (status, headers, body) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            let body = format!("conformance forwarder: the upstream did not answer: {error}");
            recorded.upstream_error = Some(error);
            (
                502,
                vec![("content-type".to_owned(), "text/plain".to_owned())],
                body.into_bytes(),
            )
        }
    };
    finish(shared, recorded, token_exchange, (status, headers, body))
}

/// Records `recorded` with its answer, scrubbed of secrets, and returns the
/// answer for the client.
fn finish(
    shared: &Shared,
    mut recorded: Recorded,
    mut token_exchange: Option<TokenRecord>,
    (status, headers, body): (u16, Vec<(String, String)>, Vec<u8>),
) -> Answer {
    recorded.status = status;
    recorded.at = shared.clock.as_ref().map(|clock| clock.now());
    match serde_json::from_slice::<Value>(&body) {
        Ok(mut json) => {
            let issued = scrub(shared, &mut json);
            if let Some(exchange) = &mut token_exchange {
                exchange.issued = issued;
                exchange.expires_in = json.get("expires_in").and_then(Value::as_u64);
                exchange.granted = json
                    .get("scope")
                    .and_then(Value::as_str)
                    .map(|scope| scope.split_whitespace().map(str::to_owned).collect());
            }
            recorded.text = json.to_string().chars().take(2048).collect();
            recorded.json = Some(json);
        }
        Err(_) if token_exchange.is_some() => {
            // Not JSON: kept out of the record, it could hold anything.
            recorded.text = format!("({} bytes, not JSON)", body.len());
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&body);
            recorded.text = text.chars().take(2048).collect();
        }
    }
    recorded.token_exchange = token_exchange;
    shared.lock().exchanges.push(recorded);
    Answer::Respond((status, headers, body))
}

/// The forwarder answers each request its front reads.
impl Answerer for Shared {
    async fn answer(self: Arc<Self>, request: RawRequest) -> Answer {
        forward(&self, request).await
    }
}

/// Asks the token endpoint (the form's `scope`) or the metadata server (the
/// `scopes` query) for `scopes` instead of what the client asked for.
fn narrow_scopes(url: &mut Url, request: &mut RawRequest, token: &TokenRecord, scopes: &[String]) {
    if token.grant == "metadata" {
        let query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "scopes")
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .chain([("scopes".to_owned(), scopes.join(","))])
            .collect();
        url.query_pairs_mut().clear().extend_pairs(query);
    } else {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .map(|(key, value)| {
                let value = if key == "scope" {
                    scopes.join(" ")
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        request.body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
    }
}

/// The token exchange a request to `path` is, if it goes to the token
/// endpoint or the metadata server.
fn token_request(
    path: &str,
    request: &RawRequest,
    query: &[(String, String)],
) -> Option<TokenRecord> {
    let split = |text: &str, by: char| -> Vec<String> {
        text.split(|c: char| c == by || c.is_whitespace())
            .filter(|scope| !scope.is_empty())
            .map(str::to_owned)
            .collect()
    };
    if path == "/token" {
        let form = crate::target::mock::script::token_form(&request.body);
        let grant = match form.grant_type.as_deref() {
            Some("refresh_token") => "refresh_token".to_owned(),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => "jwt_bearer".to_owned(),
            Some(other) => format!("grant_type={other}"),
            None => "no grant_type".to_owned(),
        };
        return Some(TokenRecord {
            grant,
            scopes: form.scopes,
            flavored: false,
            issued: None,
            expires_in: None,
            granted: None,
        });
    }
    if path.starts_with(METADATA_PREFIX) {
        let scopes = query
            .iter()
            .find(|(key, _)| key == "scopes")
            .map(|(_, value)| split(value, ','))
            .unwrap_or_default();
        return Some(TokenRecord {
            grant: "metadata".to_owned(),
            scopes,
            flavored: request.header("metadata-flavor") == Some("Google"),
            issued: None,
            expires_in: None,
            granted: None,
        });
    }
    None
}

/// Replaces the secrets of a JSON answer with labels: `access_token` with
/// its label (`<at-2>`, labelling it now if it is new: the label of the
/// issued token, returned), `refresh_token` and `id_token` with
/// `[censored]`. Every value replaced is kept for the secret scanner.
fn scrub(shared: &Shared, json: &mut Value) -> Option<String> {
    let Value::Object(fields) = json else {
        return None;
    };
    let mut issued = None;
    if let Some(Value::String(token)) = fields.get("access_token") {
        let label = label_for(shared, token);
        fields.insert(
            "access_token".to_owned(),
            Value::String(format!("<{label}>")),
        );
        issued = Some(label);
    }
    for key in ["refresh_token", "id_token"] {
        if let Some(Value::String(secret)) = fields.get(key) {
            remember(shared, secret);
            fields.insert(key.to_owned(), Value::String("[censored]".to_owned()));
        }
    }
    issued
}

fn remember(shared: &Shared, secret: &str) {
    let mut state = shared.lock();
    if !state.secrets.iter().any(|known| known == secret) {
        state.secrets.push(secret.to_owned());
    }
}

fn label_for(shared: &Shared, token: &str) -> String {
    remember(shared, token);
    let mut state = shared.lock();
    if let Some((_, label)) = state.labels.iter().find(|(known, _)| known == token) {
        return label.clone();
    }
    let label = format!("at-{}", state.labels.len() + 1);
    state.labels.push((token.to_owned(), label.clone()));
    label
}

fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

fn decode_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_come_from_googles_envelope_or_oauth() {
        let cases = [
            (
                json!({"error": {"errors": [{"reason": "authError"}], "status": "UNAUTHENTICATED"}}),
                Some("authError"),
            ),
            (
                json!({"error": {"details": [{"reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}),
                Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
            ),
            (
                json!({"error": {"code": 404, "status": "NOT_FOUND"}}),
                Some("NOT_FOUND"),
            ),
            (json!({"error": "invalid_grant"}), Some("invalid_grant")),
            (json!({"id": "t1"}), None),
        ];
        for (json, reason) in cases {
            assert_eq!(error_reason(&json).as_deref(), reason, "{json}");
        }
    }

    #[test]
    fn lines_name_labels_never_tokens() {
        let recorded = Recorded {
            method: "POST".to_owned(),
            path: "tasks/lease".to_owned(),
            query: vec![("numTasks".to_owned(), "1".to_owned())],
            token: Some("at-1".to_owned()),
            body: None,
            status: 403,
            json: Some(json!({"error": {"errors": [{"reason": "insufficientPermissions"}]}})),
            text: String::new(),
            upstream_error: None,
            token_exchange: None,
            at: None,
            revoked: false,
            injected: false,
        };
        assert_eq!(
            recorded.line(),
            "POST tasks/lease?numTasks=1 [<at-1>] -> 403 insufficientPermissions"
        );
        let queue = Recorded {
            path: String::new(),
            token: None,
            status: 200,
            json: None,
            query: Vec::new(),
            method: "GET".to_owned(),
            ..recorded
        };
        assert_eq!(queue.line(), "GET (queue) [no token] -> 200");
        assert_eq!(escape_segment("s~app:x y"), "s~app:x%20y");
    }

    #[tokio::test]
    async fn token_exchanges_are_recorded_by_label_and_revoked_tokens_replaced() {
        use wiremock::matchers::{header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        const ISSUED: &str = "tqs.issued-secret-token-value-0123456789";
        const ROTATED: &str = "1//rotated-refresh-token-value";
        let upstream = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": ISSUED, "expires_in": 3600, "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/taskqueue", "refresh_token": ROTATED
            })))
            .mount(&upstream)
            .await;
        let api = "/taskqueue/v1beta2/projects/s~app/taskqueues/q/tasks/t1";
        Mock::given(method("GET"))
            .and(path(api))
            .and(header("authorization", format!("Bearer {ISSUED}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "t1"})))
            .mount(&upstream)
            .await;
        Mock::given(method("GET"))
            .and(path(api))
            .and(header(
                "authorization",
                format!("Bearer {REVOKED_STAND_IN}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": {"code": 401, "errors": [{"reason": "authError"}]}
            })))
            .mount(&upstream)
            .await;
        let forwarder = Forwarder::start_with(
            &format!("{}/taskqueue/v1beta2/projects/", upstream.uri()),
            "s~app",
            "q",
            Duration::from_secs(5),
            ForwarderOptions::default(),
        )
        .await
        .expect("starts");
        let tls = taskqueue_auth::http::rustls_client_config().expect("TLS configuration");
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("a client");
        let answer = http
            .post(format!("{}/token", forwarder.origin()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token&client_id=c&client_secret=shh-secret&refresh_token=1%2F%2Fold&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Ftaskqueue")
            .send()
            .await
            .expect("answered");
        // The client gets the answer unchanged.
        let body: Value =
            serde_json::from_slice(&answer.bytes().await.expect("a body")).expect("json");
        assert_eq!(body["access_token"], ISSUED);
        let get = |token: &'static str| {
            http.get(format!("{}{api}", forwarder.origin()))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(get(ISSUED).await.expect("answered").status(), 200);
        forwarder.set_revoked(vec!["at-1".to_owned()]);
        assert_eq!(get(ISSUED).await.expect("answered").status(), 401);

        let recorded = forwarder.take();
        assert_eq!(recorded.len(), 3);
        let token = recorded[0]
            .token_exchange
            .as_ref()
            .expect("a token exchange");
        assert_eq!(token.grant, "refresh_token");
        assert_eq!(token.issued.as_deref(), Some("at-1"));
        assert_eq!(token.expires_in, Some(3600));
        assert_eq!(recorded[0].body, None, "the form is never kept");
        assert_eq!(
            recorded[0]
                .json
                .as_ref()
                .map(|json| json["access_token"].clone()),
            Some(json!("<at-1>"))
        );
        assert_eq!(
            recorded[0].line(),
            "POST /token refresh_token scope=taskqueue -> 200 <at-1> expires_in 3600s"
        );
        assert_eq!(recorded[1].line(), "GET tasks/t1 [<at-1>] -> 200");
        assert_eq!(
            recorded[2].line(),
            "GET tasks/t1 [<at-1> revoked] -> 401 authError"
        );
        let text = format!("{recorded:?}");
        for secret in [ISSUED, ROTATED, "shh-secret", "1//old"] {
            assert!(!text.contains(secret), "the records show `{secret}`");
        }
        let secrets = forwarder.secrets();
        assert!(secrets.iter().any(|s| s == ISSUED) && secrets.iter().any(|s| s == ROTATED));
    }

    #[tokio::test]
    async fn an_injected_reset_drops_the_connection_and_the_client_sees_a_transient_failure() {
        use std::collections::BTreeMap;

        use taskqueue_auth::{AccessToken, ScopeSet, StaticTokenProvider};
        use taskqueue_client::QueueRef;
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        use crate::scenario::{CallMethod, ClientSpec, Interval};
        use crate::target::faults::{Injection, Planned};

        let upstream = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(
                "/taskqueue/v1beta2/projects/s~app/taskqueues/q/tasks/t1",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "kind": "taskqueues#task", "id": "t1", "queueName": "projects/s~app/taskqueues/q"
            })))
            .mount(&upstream)
            .await;
        let forwarder = Forwarder::start_with(
            &format!("{}/taskqueue/v1beta2/projects/", upstream.uri()),
            "s~app",
            "q",
            Duration::from_secs(5),
            ForwarderOptions::default(),
        )
        .await
        .expect("starts");
        let client = |attempts: u32| {
            let mut spec = ClientSpec::default();
            spec.retry.max_attempts = attempts;
            spec.retry.initial_backoff = Interval::parse("1ms").expect("a duration");
            spec.retry.max_backoff = Interval::parse("1ms").expect("a duration");
            let clock: SharedClock = Arc::new(SystemClock::new());
            crate::target::client::build(
                forwarder.base_url(),
                Arc::new(StaticTokenProvider::new(AccessToken::new(
                    "reset-test-token-value",
                ))),
                ScopeSet::from_iter([taskqueue_auth::Scope::Taskqueue]),
                clock,
                Some(&spec),
            )
            .expect("a client")
        };
        let queue = QueueRef::new("s~app", "q");
        let get = CallMethod::parse("tasks.get").expect("a method").0;
        let args = BTreeMap::from([("task".to_owned(), json!("t1"))]);
        let reset_then_forward = || {
            Plan::of(vec![
                Planned::Inject(Side::Api, Injection::reset()),
                Planned::Forward(Side::Api),
            ])
        };

        // One attempt: the reset is the call's failure, and a transient one.
        let once = client(1);
        forwarder.set_plan(reset_then_forward());
        let call =
            crate::target::dispatch::start(&once, &queue, get, &args, SystemClock::new().now())
                .expect("valid args");
        let error = call.await.expect_err("no answer came back");
        assert!(error.is_transient(), "a reset is transient: {error}");
        assert_eq!(error.status(), None, "no status: nothing was answered");
        let recorded = forwarder.take();
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].line(),
            "GET tasks/t1 [<at-1>] -> reset (forwarder: connection reset, no answer) (injected)"
        );

        // Two attempts: the client retries on a new connection and succeeds.
        let twice = client(2);
        forwarder.set_plan(reset_then_forward());
        let call =
            crate::target::dispatch::start(&twice, &queue, get, &args, SystemClock::new().now())
                .expect("valid args");
        let task = call.await.expect("the retry is answered");
        assert_eq!(task["id"], "t1");
        let lines: Vec<String> = forwarder.take().iter().map(Recorded::line).collect();
        assert_eq!(
            lines,
            [
                "GET tasks/t1 [<at-1>] -> reset (forwarder: connection reset, no answer) (injected)",
                "GET tasks/t1 [<at-1>] -> 200",
            ]
        );
    }
}
