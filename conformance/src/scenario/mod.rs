//! The scenario format (version 1), as serde types: one YAML file is one
//! [`Scenario`]. `scenarios/README.md` documents every key; unknown keys are
//! rejected, and errors name `file:line:column` (see [`crate::scenario::load`]).

pub mod load;
pub mod setup;
pub(crate) mod template;
pub mod values;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

pub use serde_saphyr::Spanned;

pub use crate::scenario::values::{CallMethod, ErrorKind, Interval, UtcTime};

/// The only format version this harness reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The format version; must be [`SCHEMA_VERSION`].
    pub schema: u32,
    /// A unique, dotted id, such as `auth.refresh-on-401`; also the snapshot name.
    pub id: String,
    /// One line saying what the scenario shows.
    pub title: String,
    /// The behaviours checked, as ids such as `TQ-AUTH-401-REFRESH`.
    pub behaviors: Vec<String>,
    /// How the client gets its tokens.
    pub credentials: Credentials,
    /// The virtual clock.
    #[serde(default)]
    pub clock: ClockSpec,
    /// Client settings.
    #[serde(default)]
    pub client: ClientSpec,
    /// The ordered steps.
    pub steps: Vec<Spanned<Step>>,
    /// How the scenario runs on the server target (the reference server):
    /// whether it applies, and the queue state it presumes.
    #[serde(default)]
    pub server: Option<Spanned<ServerSpec>>,
}

impl Scenario {
    /// Whether any step scripts a connection reset.
    pub fn scripts_reset(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|step| &step.value.exchanges)
            .any(|exchange| exchange.value.is_reset())
    }
}

/// How the client gets its tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The grant: which token source the client uses.
    pub grant: Grant,
    /// The scopes the client asks for: `taskqueue`, `taskqueue.consumer`,
    /// `cloud-taskqueue`, `cloud-taskqueue.consumer`, or a full scope URL.
    pub scopes: Vec<String>,
    /// The scopes the token endpoint grants (its `scope` field); default: as requested.
    #[serde(default)]
    pub granted: Option<Vec<String>>,
    /// Token lifetime (`expires_in`), as a duration such as `3600s` or `1h`; default `1h`.
    #[serde(default)]
    pub lifetime: Option<Interval>,
}

/// Which token source the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// An `authorized_user` key file: the `refresh_token` grant at the mock token endpoint.
    RefreshToken,
    /// A `service_account` key file: the JWT-bearer grant at the mock token endpoint.
    JwtBearer,
    /// The metadata server (a mock one).
    Metadata,
    /// A fixed token, labelled `at-1`; no token requests.
    Static,
}

impl Grant {
    /// The grant as scenarios write it: `refresh_token`, `jwt_bearer`,
    /// `metadata`, `static`.
    pub fn name(self) -> &'static str {
        match self {
            Grant::RefreshToken => "refresh_token",
            Grant::JwtBearer => "jwt_bearer",
            Grant::Metadata => "metadata",
            Grant::Static => "static",
        }
    }
}

/// The virtual clock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// The starting wall time, RFC 3339 (`2030-01-01T00:00:00Z`).
    #[serde(default = "default_start")]
    pub start: UtcTime,
    /// What a real target does with `advance` steps.
    #[serde(default)]
    pub real_policy: RealPolicy,
    /// With `real_policy: wait`, the longest real wait per `advance`.
    #[serde(default)]
    pub max_wait: Option<Interval>,
}

impl Default for ClockSpec {
    fn default() -> Self {
        Self {
            start: default_start(),
            real_policy: RealPolicy::default(),
            max_wait: None,
        }
    }
}

/// 2030-01-01T00:00:00Z.
fn default_start() -> UtcTime {
    UtcTime(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_893_456_000))
}

/// What a real target does with steps that need virtual time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealPolicy {
    /// Skip the scenario's remaining steps from the first `advance` on.
    #[default]
    Skip,
    /// Sleep in real time, up to `max_wait`; a longer advance skips the rest.
    Wait,
}

/// Client settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The project path segment (sent verbatim).
    #[serde(default = "default_project")]
    pub project: String,
    /// The queue name.
    #[serde(default = "default_queue")]
    pub queue: String,
    /// Whether the client checks its scopes before sending (default: off, so
    /// the wire shows the server's answer).
    #[serde(default)]
    pub preflight_scope_check: bool,
    /// The retry policy.
    #[serde(default)]
    pub retry: RetrySpec,
}

impl Default for ClientSpec {
    fn default() -> Self {
        Self {
            project: default_project(),
            queue: default_queue(),
            preflight_scope_check: false,
            retry: RetrySpec::default(),
        }
    }
}

fn default_project() -> String {
    "s~conformance".to_owned()
}

fn default_queue() -> String {
    "pull-queue".to_owned()
}

/// The client's retry policy (backoff sleeps run on the virtual clock).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts per call, the first included.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first backoff ceiling, e.g. `1s`.
    #[serde(default = "default_initial")]
    pub initial_backoff: Interval,
    /// The largest backoff ceiling, e.g. `32s`.
    #[serde(default = "default_max_backoff")]
    pub max_backoff: Interval,
    /// The jitter seed, so the backoff sequence is reproducible.
    #[serde(default = "default_seed")]
    pub jitter_seed: u64,
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self {
            max_attempts: default_attempts(),
            initial_backoff: default_initial(),
            max_backoff: default_max_backoff(),
            jitter_seed: default_seed(),
        }
    }
}

fn default_attempts() -> u32 {
    4
}
fn default_initial() -> Interval {
    Interval::seconds(1)
}
fn default_max_backoff() -> Interval {
    Interval::seconds(32)
}
fn default_seed() -> u64 {
    7
}

/// One step: either a client call (`call` with `args`, `exchanges`,
/// `expect`, optionally `counters`) or an advance of the virtual clock
/// (`advance` alone). [`crate::scenario::load`] checks that exactly one is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The method id of a call, e.g. `tasks.lease` (or `taskqueue.tasks.lease`).
    #[serde(default)]
    pub call: Option<Spanned<CallMethod>>,
    /// How far to move the virtual clock (`90s`, `30m`, `2h`, `1h30m`).
    #[serde(default)]
    pub advance: Option<Spanned<Interval>>,
    /// The call's arguments (see scenarios/README.md per method).
    #[serde(default)]
    pub args: BTreeMap<String, Value>,
    /// The exchanges the mock serves for this call, in order; on a real
    /// target, expectations on what crossed the wire.
    #[serde(default)]
    pub exchanges: Vec<Spanned<Exchange>>,
    /// The call's expected outcome.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Expected counts for this call (token requests, API requests, retries).
    #[serde(default)]
    pub counters: Option<Counters>,
}

/// One scripted exchange.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Exchange {
    /// A request to the token endpoint (or metadata server) and its answer.
    Token(TokenExchange),
    /// A request to the Task Queue API and its answer.
    Api(ApiExchange),
}

impl Exchange {
    /// Whether the exchange scripts a connection reset (`reset: true`): a
    /// request the token endpoint or the API drops without answering.
    pub fn is_reset(&self) -> bool {
        match self {
            Exchange::Token(token) => token.error.as_ref().is_some_and(|error| error.reset),
            Exchange::Api(api) => api.response.reset,
        }
    }
}

/// A token request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExchange {
    /// Answer with a new token under this label (`at-2`).
    #[serde(default)]
    pub issue: Option<String>,
    /// Or answer with this error (`reset: true`: drop the connection
    /// without an answer).
    #[serde(default)]
    pub error: Option<ScriptedResponse>,
}

/// An API request and its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiExchange {
    /// What the request must be.
    pub request: ExpectedRequest,
    /// What the mock answers.
    pub response: ScriptedResponse,
}

/// What an API request must look like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path below `.../projects/{project}/taskqueues/{queue}`: `""`,
    /// `tasks`, `tasks/t1`, `tasks/lease`.
    pub path: String,
    /// The token label the request must carry.
    pub token: String,
    /// Query parameters that must be present with these values (others are
    /// allowed unless `exact_query` is set).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Whether `query` lists every parameter.
    #[serde(default)]
    pub exact_query: bool,
    /// Fields the JSON body must contain (a subset match).
    #[serde(default)]
    pub body: Option<Value>,
}

/// A scripted response: an answer (`status`, with `headers` and `json` or
/// `body`), or `reset: true`, the connection closed without any answer.
/// [`crate::scenario::load`] refuses a response with neither a status nor
/// a reset, and a reset with anything else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    /// The HTTP status; 0 (absent) for a reset, which answers nothing.
    #[serde(default)]
    pub status: u16,
    /// Whether the server (or a load balancer) drops the connection without
    /// answering: the client sees a transport failure, not a status.
    #[serde(default)]
    pub reset: bool,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; strings `{{now}}`, `{{now+60s}}`, `{{now-1h}}` become
    /// microseconds since the epoch on the virtual clock.
    #[serde(default)]
    pub json: Option<Value>,
    /// Or a raw text body.
    #[serde(default)]
    pub body: Option<String>,
}

/// The expected outcome of a call: exactly one of `ok` and `error`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Success, with fields the result must contain (a subset match on its
    /// JSON form; `{}` accepts any success).
    #[serde(default)]
    pub ok: Option<Value>,
    /// Failure of this kind.
    #[serde(default)]
    pub error: Option<ExpectedError>,
}

/// An expected failure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// The kind: `validation`, `unauthenticated`, `scope_denied`,
    /// `acl_denied`, `permission_denied`, `not_found`, `bad_request`,
    /// `conflict`, `transient`, `decode`, `auth`.
    pub kind: ErrorKind,
    /// The HTTP status, if one is expected.
    #[serde(default)]
    pub status: Option<u16>,
    /// Google's error reason, if one is expected.
    #[serde(default)]
    pub reason: Option<String>,
    /// For `auth` errors: the OAuth error code (`invalid_grant`).
    #[serde(default)]
    pub oauth_error: Option<String>,
    /// For `scope_denied`: the scopes the error names as required.
    #[serde(default)]
    pub required: Option<Vec<String>>,
}

/// Expected counts for one step.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Requests to the token endpoint or metadata server.
    #[serde(default)]
    pub token_requests: Option<u32>,
    /// Requests to the API.
    #[serde(default)]
    pub api_requests: Option<u32>,
    /// Backoff sleeps (retries after transient failures).
    #[serde(default)]
    pub retries: Option<u32>,
}

/// How a scenario runs on the server target: the reference server
/// `taskqueue-server`, started in process per scenario. Every key is
/// optional; without the block a scenario runs against an empty queue
/// unless its script shows something a faithful server cannot produce (see
/// `crate::target::applicability`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Not run on the server target, and why (shown in the record).
    #[serde(default)]
    pub skip: Option<String>,
    /// Run although the script has what makes a scenario inapplicable by
    /// default (a token-endpoint error, a fault), and why the server
    /// produces it.
    #[serde(default)]
    pub run: Option<String>,
    /// Tasks in the queue before the first step, in wire form.
    #[serde(default)]
    pub seed: Vec<Spanned<SeedTask>>,
    /// The queue's `task_retry_limit` (`maxLeases`); default none.
    #[serde(default)]
    pub max_leases: Option<u32>,
    /// The queue's ACL; default none (open to every authenticated caller).
    #[serde(default)]
    pub acl: Option<AclSpec>,
    /// Whether the queue is configured on the server (default `true`).
    #[serde(default = "default_true")]
    pub queue_exists: bool,
    /// Access tokens the server refuses as revoked, by label: the n-th token
    /// the server issues (or the static token) is `at-n`. `at-1` is refused
    /// from the start, `{ token: at-1, from_step: 2 }` from step 2 on.
    #[serde(default)]
    pub revoke: Vec<Revocation>,
    /// How the scenario's credentials are registered with the server.
    #[serde(default)]
    pub principal: PrincipalMode,
    /// Task names in the script that stand for names the server generates
    /// (an insert without `id`): bound to the generated name on first
    /// sight, like token labels.
    #[serde(default)]
    pub generated: Vec<String>,
}

impl ServerSpec {
    /// The labels of the tokens revoked from step `step` on (from 1).
    pub fn revoked_at(&self, step: usize) -> Vec<String> {
        self.revoke
            .iter()
            .filter(|revocation| revocation.from_step() <= step)
            .map(|revocation| revocation.label().to_owned())
            .collect()
    }
}

impl Default for ServerSpec {
    fn default() -> Self {
        Self {
            skip: None,
            run: None,
            seed: Vec::new(),
            max_leases: None,
            acl: None,
            queue_exists: true,
            revoke: Vec::new(),
            principal: PrincipalMode::default(),
            generated: Vec::new(),
        }
    }
}

/// A token the server refuses: from the start, or from a step on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Revocation {
    /// Refused from the start: `at-1`.
    Always(String),
    /// Refused from a step on: `{ token: at-1, from_step: 2 }`.
    FromStep(RevokedFrom),
}

/// A token refused from a step on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedFrom {
    /// The token's label.
    pub token: String,
    /// The first step (from 1) whose requests it is refused on.
    pub from_step: usize,
}

impl Revocation {
    /// The token's label.
    pub fn label(&self) -> &str {
        match self {
            Revocation::Always(label) => label,
            Revocation::FromStep(from) => &from.token,
        }
    }

    /// The first step it is refused on (1: from the start).
    pub fn from_step(&self) -> usize {
        match self {
            Revocation::Always(_) => 1,
            Revocation::FromStep(from) => from.from_step,
        }
    }

    /// How the scenario writes it.
    pub fn describe(&self) -> String {
        match self {
            Revocation::Always(label) => label.clone(),
            Revocation::FromStep(from) => format!("{} from step {}", from.token, from.from_step),
        }
    }
}

fn default_true() -> bool {
    true
}

/// A task in the queue before the first step, as the wire shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTask {
    /// The task name.
    pub id: String,
    /// The payload, base64 (either alphabet); default empty.
    #[serde(default, rename = "payloadBase64")]
    pub payload_base64: Option<String>,
    /// The tag, if any.
    #[serde(default)]
    pub tag: Option<String>,
    /// When it was inserted: a time template (`{{now-1h}}`, read at
    /// `clock.start`) or microseconds since the epoch; default `{{now}}`.
    #[serde(default, rename = "enqueueTimestamp")]
    pub enqueue_timestamp: Option<Value>,
    /// Its ETA (or, with `retry_count` above 0, the expiry of its last
    /// lease), in the same forms; default its `enqueueTimestamp`.
    #[serde(default, rename = "leaseTimestamp")]
    pub lease_timestamp: Option<Value>,
    /// How many times it was leased before; default 0.
    #[serde(default)]
    pub retry_count: u32,
    /// The step before which it is written (another producer inserting it
    /// meanwhile); default 1, before the first.
    #[serde(default)]
    pub before_step: Option<usize>,
}

impl SeedTask {
    /// The step before which the task is written (from 1).
    pub fn before(&self) -> usize {
        self.before_step.unwrap_or(1)
    }
}

/// A queue ACL, as `queue.yaml` writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSpec {
    /// `user_email` entries: who may consume.
    #[serde(default)]
    pub user_emails: Vec<String>,
    /// `writer_email` entries: who may insert.
    #[serde(default)]
    pub writer_emails: Vec<String>,
}

/// How the scenario's credentials are registered with the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalMode {
    /// Registered as the client uses them.
    #[default]
    Registered,
    /// Not registered at all (an unknown refresh token or service account).
    Unregistered,
    /// `refresh_token`: registered with another client secret.
    WrongSecret,
    /// `jwt_bearer`: registered with another public key.
    WrongKey,
}

impl PrincipalMode {
    /// The mode as scenarios write it.
    pub fn name(self) -> &'static str {
        match self {
            PrincipalMode::Registered => "registered",
            PrincipalMode::Unregistered => "unregistered",
            PrincipalMode::WrongSecret => "wrong_secret",
            PrincipalMode::WrongKey => "wrong_key",
        }
    }
}
