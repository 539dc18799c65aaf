//! The one public error type of `taskqueue-transport`.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;
use taskqueue_auth::ScopeSet;
use taskqueue_model::ErrorEnvelope;

use crate::ScopeDenial;
use crate::denial::Denial;

/// The operation name of the errors of `TransportBuilder::build`.
const BUILD_OPERATION: &str = "transport.build";

/// How much of an error body is kept for diagnosis.
pub(crate) const MAX_KEPT_BODY_BYTES: usize = 8 * 1024;

/// Why a call failed. Classify it with the predicates.
///
/// It keeps Google's parsed error envelope and the raw body (at most 8 KiB)
/// for diagnosis. Its `Display` names the operation, the status and the
/// reason, never a token; lower-level causes are reachable through
/// [`std::error::Error::source`], not printed.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    operation: &'static str,
    attempts: u32,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

#[derive(Debug)]
enum Kind {
    /// The server answered with a non-success status.
    Status {
        status: StatusCode,
        envelope: Option<Box<ErrorEnvelope>>,
        body: String,
        www_authenticate: Option<String>,
        retry_after: Option<Duration>,
        /// Set for a 403 because the token lacks a scope.
        scope_denial: Option<Box<ScopeDenial>>,
        /// Whether it is a 403 from the resource's ACL.
        acl_denied: bool,
    },
    /// No connection could be made.
    Connect,
    /// An attempt took longer than the per-attempt timeout.
    Timeout,
    /// The connection failed mid-request or mid-response.
    Network,
    /// The response body was larger than the configured limit.
    ResponseTooLarge { limit: usize },
    /// A success response whose body is not what the API promises.
    Decode { status: StatusCode, body: String },
    /// The token provider failed.
    Auth,
    /// The request could not be built, or the transport is misconfigured.
    InvalidRequest { message: String },
}

impl Error {
    /// The OpenTelemetry `error.type` of a failed attempt: the status code
    /// when the server answered (`"503"`), otherwise a short name of what
    /// failed (`"connect"`, `"timeout"`, ...).
    pub(crate) fn otel_error_type(&self) -> &str {
        match &self.inner.kind {
            Kind::Status { status, .. } => status.as_str(),
            Kind::Decode { .. } => "decode",
            Kind::Connect => "connect",
            Kind::Timeout => "timeout",
            Kind::Network => "network",
            Kind::ResponseTooLarge { .. } => "response_too_large",
            Kind::Auth => "auth",
            Kind::InvalidRequest { .. } => "invalid_request",
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.kind {
            Kind::Status { status, .. } | Kind::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The first `errors[].reason` of Google's error envelope, for example
    /// `notFound`, `insufficientPermissions` or `backendError`.
    pub fn reason(&self) -> Option<&str> {
        self.envelope().and_then(ErrorEnvelope::reason)
    }

    /// The message of Google's error envelope, if the body had one.
    pub fn message(&self) -> Option<&str> {
        self.envelope().and_then(ErrorEnvelope::message)
    }

    /// Google's parsed error envelope, if the error body was one.
    pub fn envelope(&self) -> Option<&ErrorEnvelope> {
        match &self.inner.kind {
            Kind::Status { envelope, .. } => envelope.as_deref(),
            _ => None,
        }
    }

    /// The raw response body (error body, or an undecodable success body),
    /// cut to 8 KiB, for diagnosis.
    pub fn raw_body(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Status { body, .. } | Kind::Decode { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The `WWW-Authenticate` header of a 401 or 403, which says why a token
    /// was refused (`error="invalid_token"`, `error="insufficient_scope"`).
    pub fn www_authenticate(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Status {
                www_authenticate, ..
            } => www_authenticate.as_deref(),
            _ => None,
        }
    }

    /// The delay the server asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.inner.kind {
            Kind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The operation that failed, for example `taskqueue.tasks.lease`.
    pub fn operation(&self) -> &'static str {
        self.inner.operation
    }

    /// How many attempts were made before giving up (0 if none was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether trying again later may succeed: HTTP 408, 429, 500, 502, 503
    /// and 504, connection failures, timeouts, and transient token failures.
    ///
    /// # Troubleshooting
    ///
    /// The transport already retried retryable requests within its policy;
    /// a transient error that reaches you means the budget ran out.
    pub fn is_transient(&self) -> bool {
        match &self.inner.kind {
            Kind::Status { status, .. } => is_transient_status(*status),
            Kind::Connect | Kind::Timeout | Kind::Network => true,
            Kind::Auth => self
                .auth_error()
                .is_some_and(taskqueue_auth::Error::is_transient),
            Kind::ResponseTooLarge { .. } | Kind::Decode { .. } | Kind::InvalidRequest { .. } => {
                false
            }
        }
    }

    /// Whether no connection could be made.
    pub fn is_connect(&self) -> bool {
        matches!(self.inner.kind, Kind::Connect)
    }

    /// Whether an attempt timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout)
    }

    /// Whether the token provider failed; see [`Error::auth_error`].
    pub fn is_auth(&self) -> bool {
        matches!(self.inner.kind, Kind::Auth)
    }

    /// Whether the server refused the credentials (HTTP 401).
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// Whether the server refused the caller (HTTP 403): missing scope,
    /// queue ACL, or quota.
    ///
    /// # Troubleshooting
    ///
    /// [`Error::is_scope_denied`] and [`Error::is_acl_denied`] tell the two
    /// common causes apart; [`Error::reason`] names any other.
    pub fn is_permission_denied(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// Whether the server refused the call because the token lacks a scope
    /// (HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`,
    /// or reason `insufficientPermissions` or `ACCESS_TOKEN_SCOPE_INSUFFICIENT`).
    /// See [`Error::scope_denial`] for the scopes involved.
    ///
    /// # Troubleshooting
    ///
    /// The transport did not refresh the token (a new token has the same
    /// scopes) and did not retry. Ask the token provider for a scope that
    /// allows the call; on Compute Engine, the metadata server ignores the
    /// requested scopes, so change the VM's access scopes instead.
    pub fn is_scope_denied(&self) -> bool {
        self.scope_denial().is_some()
    }

    /// The scopes the server required and the token had, for a 403 for
    /// which [`Error::is_scope_denied`] holds.
    pub fn scope_denial(&self) -> Option<&ScopeDenial> {
        match &self.inner.kind {
            Kind::Status { scope_denial, .. } => scope_denial.as_deref(),
            _ => None,
        }
    }

    /// Whether the resource's ACL refused the caller: HTTP 403 with reason
    /// `forbidden`, and nothing saying a scope is missing.
    ///
    /// # Troubleshooting
    ///
    /// For the Task Queue, the caller's email must be in the queue's `acl`
    /// in `queue.yaml`: `user_email` to get, list, lease, update and delete
    /// tasks, `writer_email` to insert them.
    pub fn is_acl_denied(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Status {
                acl_denied: true,
                ..
            }
        )
    }

    /// Whether the resource does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether a success response could not be decoded as the API promises.
    pub fn is_decode(&self) -> bool {
        matches!(self.inner.kind, Kind::Decode { .. })
    }

    /// Whether the response was larger than the configured limit.
    pub fn is_response_too_large(&self) -> bool {
        matches!(self.inner.kind, Kind::ResponseTooLarge { .. })
    }

    /// Whether the request could not be built or the transport is misconfigured.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self.inner.kind, Kind::InvalidRequest { .. })
    }

    /// Whether the transport could not be built from its settings (a bad
    /// root certificate or proxy URL, a missing token provider).
    pub fn is_configuration(&self) -> bool {
        self.is_invalid_request() && self.inner.operation == BUILD_OPERATION
    }

    /// The token provider's error, if that is what failed.
    pub fn auth_error(&self) -> Option<&taskqueue_auth::Error> {
        self.inner
            .source
            .as_ref()
            .and_then(|source| source.downcast_ref::<taskqueue_auth::Error>())
    }

    /// An error for a request that cannot be built, such as a bad URL.
    pub fn invalid_request(cause: impl fmt::Display) -> Self {
        Self::new(
            Kind::InvalidRequest {
                message: cause.to_string(),
            },
            "http.request",
        )
    }

    /// An error for a non-success response. `token_scopes` are the scopes
    /// the refused token was granted, if known, and `requested` those asked
    /// for: the granted scopes of a scope denial.
    pub(crate) fn status_error(
        operation: &'static str,
        status: StatusCode,
        body: &[u8],
        www_authenticate: Option<String>,
        retry_after: Option<Duration>,
        token_scopes: Option<&ScopeSet>,
        requested: &ScopeSet,
    ) -> Self {
        let envelope = serde_json::from_slice::<ErrorEnvelope>(body).ok();
        let denial = Denial::classify(status, www_authenticate.as_deref(), envelope.as_ref());
        let scope_denial = denial
            .as_ref()
            .and_then(|denial| denial.scope_denial(token_scopes, requested))
            .map(Box::new);
        Self::new(
            Kind::Status {
                status,
                envelope: envelope.map(Box::new),
                body: kept_body(body),
                www_authenticate,
                retry_after,
                scope_denial,
                acl_denied: denial == Some(Denial::Acl),
            },
            operation,
        )
    }

    pub(crate) fn decode(
        operation: &'static str,
        status: StatusCode,
        body: &[u8],
        source: serde_json::Error,
    ) -> Self {
        Self::new(
            Kind::Decode {
                status,
                body: kept_body(body),
            },
            operation,
        )
        .with_source(source)
    }

    pub(crate) fn connect(operation: &'static str) -> Self {
        Self::new(Kind::Connect, operation)
    }

    pub(crate) fn timeout(operation: &'static str) -> Self {
        Self::new(Kind::Timeout, operation)
    }

    pub(crate) fn network(operation: &'static str) -> Self {
        Self::new(Kind::Network, operation)
    }

    pub(crate) fn response_too_large(operation: &'static str, limit: usize) -> Self {
        Self::new(Kind::ResponseTooLarge { limit }, operation)
    }

    pub(crate) fn auth(operation: &'static str, source: taskqueue_auth::Error) -> Self {
        Self::new(Kind::Auth, operation).with_source(source)
    }

    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Self::new(
            Kind::InvalidRequest {
                message: message.into(),
            },
            BUILD_OPERATION,
        )
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.inner.operation = operation;
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    fn new(kind: Kind, operation: &'static str) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                operation,
                attempts: 0,
                source: None,
            }),
        }
    }
}

/// The statuses worth retrying: 408, 429, 500, 502, 503, 504.
pub(crate) fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The body as text, cut at a character boundary to at most 8 KiB.
fn kept_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= MAX_KEPT_BODY_BYTES {
        return text.into_owned();
    }
    let mut end = MAX_KEPT_BODY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operation = self.inner.operation;
        match &self.inner.kind {
            Kind::Status {
                status, envelope, ..
            } => {
                write!(f, "{operation}: HTTP {}", status.as_u16())?;
                match envelope {
                    Some(envelope) => {
                        if let Some(reason) = envelope.reason() {
                            write!(f, " {reason}")?;
                        }
                        if let Some(message) = envelope.message() {
                            write!(f, ": {message}")?;
                        }
                        Ok(())
                    }
                    None => match status.canonical_reason() {
                        Some(text) => write!(f, " {text} (body is not a Google error envelope)"),
                        None => write!(f, " (body is not a Google error envelope)"),
                    },
                }
            }
            Kind::Connect => write!(f, "{operation}: could not connect to the server"),
            Kind::Timeout => write!(f, "{operation}: the attempt timed out"),
            Kind::Network => write!(f, "{operation}: the connection failed during the exchange"),
            Kind::ResponseTooLarge { limit } => {
                write!(
                    f,
                    "{operation}: the response body exceeds the limit of {limit} bytes"
                )
            }
            Kind::Decode { status, .. } => write!(
                f,
                "{operation}: HTTP {} response body is not the expected JSON",
                status.as_u16()
            ),
            Kind::Auth => write!(f, "{operation}: could not get an access token"),
            Kind::InvalidRequest { message } => {
                write!(f, "{operation}: invalid request: {message}")
            }
        }?;
        if self.inner.attempts > 1 {
            write!(f, " (after {} attempts)", self.inner.attempts)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("operation", &self.inner.operation)
            .field("kind", &self.inner.kind)
            .field("attempts", &self.inner.attempts)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|source| source.as_ref() as &(dyn StdError + 'static))
    }
}
