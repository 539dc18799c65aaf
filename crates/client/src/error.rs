//! The one public error type of `taskqueue-client`.

use std::error::Error as StdError;
use std::fmt;

use taskqueue_auth::{Access, ScopeSet};
use taskqueue_model::{ApiMethod, ValidationError};
use taskqueue_transport::http::StatusCode;

use crate::{accepted_scopes, required_access};

/// Why a Task Queue call failed: an argument was refused before sending, the
/// client's scopes cannot allow the call (pre-flight check), or the call
/// itself failed (see [`taskqueue_transport::Error`]).
///
/// Denials carry a hint: `Display` ends with it, and [`Error::hint`]
/// returns it alone.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Validation(ValidationError),
    Unroutable {
        task: String,
    },
    Transport {
        error: taskqueue_transport::Error,
        /// Set when the server refused the call for a missing scope.
        scope_denied: Option<Box<ScopeDenied>>,
    },
    /// The pre-flight check refused the call; nothing was sent.
    Preflight(Box<ScopeDenied>),
    Configuration(String),
}

/// A call refused because the token lacks a scope: by the server (HTTP 403),
/// or before sending by the client's pre-flight check.
///
/// It names the scopes the method requires, any one of which would do (the
/// server's list when it sent one, else the client's table, see
/// [`accepted_scopes`]), the scopes the token had, and a hint; `Display`
/// prints the hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDenied {
    operation: &'static str,
    method: Option<ApiMethod>,
    required: ScopeSet,
    required_from_server: bool,
    granted: ScopeSet,
    granted_from_token: bool,
    preflight: bool,
}

impl ScopeDenied {
    /// The refused method; `None` only for an operation this client does
    /// not know (a transport error converted by hand).
    pub fn method(&self) -> Option<ApiMethod> {
        self.method
    }

    /// The scopes that allow the call, any one of which would do: from the
    /// server's `WWW-Authenticate` challenge when it named some, else from
    /// the method table ([`accepted_scopes`]).
    pub fn required(&self) -> &ScopeSet {
        &self.required
    }

    /// Whether [`ScopeDenied::required`] comes from the server's challenge.
    pub fn required_from_server(&self) -> bool {
        self.required_from_server
    }

    /// The scopes the token had: those the authorization server reported
    /// for the refused token, or else the scopes the client requested (see
    /// [`ScopeDenied::granted_from_token`]).
    pub fn granted(&self) -> &ScopeSet {
        &self.granted
    }

    /// Whether [`ScopeDenied::granted`] is what the authorization server
    /// reported for the token (`true`), or the scopes requested (`false`,
    /// always so for a pre-flight denial, which fetches no token).
    pub fn granted_from_token(&self) -> bool {
        self.granted_from_token
    }

    /// Whether the client's pre-flight check refused the call, so that no
    /// request was sent.
    pub fn is_preflight(&self) -> bool {
        self.preflight
    }

    /// What is missing and what to do about it, in one sentence or two.
    pub fn hint(&self) -> String {
        self.to_string()
    }

    pub(crate) fn preflight(method: ApiMethod, requested: &ScopeSet) -> Self {
        Self {
            operation: method.id(),
            method: Some(method),
            required: accepted_scopes(method),
            required_from_server: false,
            granted: requested.clone(),
            granted_from_token: false,
            preflight: true,
        }
    }

    fn from_server(
        operation: &'static str,
        method: Option<ApiMethod>,
        denial: &taskqueue_transport::ScopeDenial,
    ) -> Self {
        let (required, required_from_server) = match denial.required() {
            Some(required) => (required.clone(), true),
            None => (method.map(accepted_scopes).unwrap_or_default(), false),
        };
        Self {
            operation,
            method,
            required,
            required_from_server,
            granted: denial.granted().clone(),
            granted_from_token: denial.granted_from_token(),
            preflight: false,
        }
    }

    /// The method as people write it (`tasks.insert`).
    fn name(&self) -> &'static str {
        self.method.map_or(self.operation, ApiMethod::short_name)
    }
}

impl fmt::Display for ScopeDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        let access = self.method.map(required_access);
        if self.required.is_empty() {
            write!(f, "{name} needs a scope the token lacks")?;
        } else {
            write!(f, "{name} needs {}", listed(&self.required, "or"))?;
        }
        let granted = listed(&self.granted, "and");
        let one = self.granted.len() == 1;
        if access.is_some_and(|access| self.granted.grants(access)) {
            // Only the server refuses these: the pre-flight check lets them pass.
            return if self.granted_from_token {
                let next = if self.required_from_server {
                    "request one of the scopes it named"
                } else {
                    "ask its operator which scope it wants"
                };
                write!(
                    f,
                    "; the token has {granted}, which the scope table accepts for this call, \
                     so the server applies another table: {next}."
                )
            } else {
                let it = if one { "it" } else { "them" };
                write!(
                    f,
                    "; the client requested {granted}, which allows this call, so the token was issued \
                     without {it}: the Compute Engine metadata server and static tokens ignore the \
                     requested scopes. On Compute Engine, change the VM's access scopes; otherwise \
                     mint a token with one of the required scopes."
                )
            };
        }
        let whose = if self.preflight {
            "the client requests"
        } else if self.granted_from_token {
            "the token has"
        } else {
            "the token was requested with"
        };
        let task_queue_scopes = self
            .granted
            .iter()
            .filter(|scope| scope.task_queue_access().is_some())
            .count();
        if self.granted.is_empty() {
            write!(f, "; {whose} no scope.")?;
        } else if task_queue_scopes == 0 {
            let which = if one {
                "which is not a Task Queue scope"
            } else {
                "none of which is a Task Queue scope"
            };
            write!(f, "; {whose} only {granted}, {which}.")?;
        } else if access == Some(Access::Write) {
            let which = if one {
                "which is read-only"
            } else {
                "none of which allows writing"
            };
            write!(f, "; {whose} only {granted}, {which}.")?;
        } else {
            write!(f, "; {whose} only {granted}.")?;
        }
        let wanted = match access {
            Some(Access::Write) => "a read/write scope",
            Some(Access::Read) => "a Task Queue scope",
            None => "one of the required scopes",
        };
        if self.preflight {
            write!(f, " Request {wanted} with ClientBuilder::scopes.")
        } else {
            write!(
                f,
                " Request {wanted}, or on Compute Engine change the VM's access scopes \
                 (its metadata server ignores the requested scopes)."
            )
        }
    }
}

/// `a`, `a or b`, `a, b or c` (with `conjunction` in place of `or`).
fn listed(scopes: &ScopeSet, conjunction: &str) -> String {
    let names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

/// The hint for a call the queue's ACL refused.
fn acl_hint(operation: &str) -> String {
    let (name, role) = match ApiMethod::from_id(operation) {
        Some(ApiMethod::TasksInsert) => ("tasks.insert", Some("writer_email")),
        Some(method) => (method.short_name(), Some("user_email")),
        None => (operation, None),
    };
    let add = match role {
        Some(role) => {
            format!("add the caller's email to the queue's `acl` in queue.yaml as `{role}`")
        }
        None => "add the caller's email to the queue's `acl` in queue.yaml".to_owned(),
    };
    format!(
        "{name} was refused by the queue's ACL: {add} (`user_email` may get, list, lease, update, \
         patch and delete tasks, `writer_email` may insert them; a service account needs its email \
         as both)."
    )
}

impl Error {
    /// Whether an argument was refused before anything was sent.
    pub fn is_validation(&self) -> bool {
        matches!(self.kind, Kind::Validation(_) | Kind::Unroutable { .. })
    }

    /// The validation failure, if an argument was refused before sending.
    pub fn validation(&self) -> Option<&ValidationError> {
        match &self.kind {
            Kind::Validation(error) => Some(error),
            _ => None,
        }
    }

    /// The transport error, if the call was sent (or its token fetched) and failed.
    pub fn transport(&self) -> Option<&taskqueue_transport::Error> {
        match &self.kind {
            Kind::Transport { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.transport()
            .and_then(taskqueue_transport::Error::status)
    }

    /// Google's error reason (`notFound`, `insufficientPermissions`, ...).
    pub fn reason(&self) -> Option<&str> {
        self.transport()
            .and_then(taskqueue_transport::Error::reason)
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_transient)
    }

    /// Whether the server refused the request's arguments (HTTP 400): a bad
    /// name, an out-of-range parameter, a lease that no longer matches.
    ///
    /// # Troubleshooting
    ///
    /// Arguments the client can check are refused before sending
    /// ([`Error::is_validation`]); a 400 means the server judged what the
    /// client could not, such as an expired lease or an unknown task.
    pub fn is_invalid_argument(&self) -> bool {
        self.has_status(400)
    }

    /// Whether the request conflicts with the queue's state (HTTP 409), such
    /// as inserting a task whose name is taken or tombstoned.
    pub fn is_conflict(&self) -> bool {
        self.has_status(409)
    }

    /// Whether the server asked the client to slow down (HTTP 429).
    pub fn is_rate_limited(&self) -> bool {
        self.has_status(429)
    }

    /// Whether no access token could be had (the token provider failed);
    /// [`Error::transport`] then gives the auth error through
    /// `auth_error()`.
    pub fn is_auth(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_auth)
    }

    /// Whether an attempt timed out.
    pub fn is_timeout(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_timeout)
    }

    /// Whether no connection could be made to the server.
    pub fn is_connect(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_connect)
    }

    fn has_status(&self, code: u16) -> bool {
        self.status().is_some_and(|status| status.as_u16() == code)
    }

    /// Whether the queue or task does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_not_found)
    }

    /// Whether the server refused the credentials (HTTP 401).
    pub fn is_unauthenticated(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_unauthenticated)
    }

    /// Whether the server refused the caller (HTTP 403: scope, ACL or
    /// quota), or the pre-flight check refused the call on its behalf.
    ///
    /// # Troubleshooting
    ///
    /// [`Error::is_scope_denied`] and [`Error::is_acl_denied`] tell the two
    /// usual causes apart, and [`Error::hint`] says what to change.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.kind, Kind::Preflight(_))
            || self
                .transport()
                .is_some_and(taskqueue_transport::Error::is_permission_denied)
    }

    /// Whether the token lacks a scope the call needs: the server said so
    /// (HTTP 403), or the pre-flight check found that the client's scopes
    /// cannot allow the call. See [`Error::scope_denied`].
    ///
    /// # Troubleshooting
    ///
    /// The consumer scopes are read-only: they allow `taskqueues.get`,
    /// `tasks.get` and `tasks.list`, nothing else. Request `taskqueue` or
    /// `cloud-taskqueue` to insert, lease, update, patch or delete.
    pub fn is_scope_denied(&self) -> bool {
        self.scope_denied().is_some()
    }

    /// The scopes required and granted, for an error for which
    /// [`Error::is_scope_denied`] holds.
    pub fn scope_denied(&self) -> Option<&ScopeDenied> {
        match &self.kind {
            Kind::Preflight(denied) => Some(denied),
            Kind::Transport { scope_denied, .. } => scope_denied.as_deref(),
            _ => None,
        }
    }

    /// Whether the queue's ACL refused the caller (HTTP 403 `forbidden`).
    ///
    /// # Troubleshooting
    ///
    /// Add the caller's email to the queue's `acl` in `queue.yaml`:
    /// `user_email` to get, list, lease, update, patch and delete tasks,
    /// `writer_email` to insert them.
    pub fn is_acl_denied(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_acl_denied)
    }

    /// What to change, for a scope or ACL denial.
    pub fn hint(&self) -> Option<String> {
        if let Some(denied) = self.scope_denied() {
            return Some(denied.hint());
        }
        self.transport()
            .filter(|error| error.is_acl_denied())
            .map(|error| acl_hint(error.operation()))
    }

    /// Whether the server's success response was not the JSON the API promises.
    pub fn is_decode(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_decode)
    }

    /// Whether the client was misconfigured (for example a bad base URL, a
    /// bad proxy URL or root certificate, no token provider).
    pub fn is_configuration(&self) -> bool {
        matches!(self.kind, Kind::Configuration(_))
            || self
                .transport()
                .is_some_and(taskqueue_transport::Error::is_configuration)
    }

    pub(crate) fn unroutable(task: &str) -> Self {
        Self {
            kind: Kind::Unroutable {
                task: task.to_owned(),
            },
        }
    }

    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Configuration(message.into()),
        }
    }

    pub(crate) fn preflight(denied: ScopeDenied) -> Self {
        Self {
            kind: Kind::Preflight(Box::new(denied)),
        }
    }
}

impl From<ValidationError> for Error {
    fn from(error: ValidationError) -> Self {
        Self {
            kind: Kind::Validation(error),
        }
    }
}

/// The method comes from the error's operation, which this client sets to
/// the method's discovery id.
impl From<taskqueue_transport::Error> for Error {
    fn from(error: taskqueue_transport::Error) -> Self {
        let scope_denied = error.scope_denial().map(|denial| {
            let operation = error.operation();
            Box::new(ScopeDenied::from_server(
                operation,
                ApiMethod::from_id(operation),
                denial,
            ))
        });
        Self {
            kind: Kind::Transport {
                error,
                scope_denied,
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Validation(error) => write!(f, "invalid argument: {error}"),
            Kind::Unroutable { task } => write!(
                f,
                "invalid argument: task `{task}` cannot be updated with POST, \
                 whose path is the lease method's; use patch instead"
            ),
            Kind::Transport { error, .. } => match self.hint() {
                // The server's message may end a sentence; the hint starts another.
                Some(hint) => write!(
                    f,
                    "{}; hint: {hint}",
                    error.to_string().trim_end_matches('.')
                ),
                None => fmt::Display::fmt(error, f),
            },
            Kind::Preflight(denied) => write!(
                f,
                "{}: not sent: the client's scopes do not allow it (pre-flight check); hint: {denied} \
                 If the server accepts these scopes, turn the check off with \
                 ClientBuilder::preflight_scope_check(false).",
                denied.operation
            ),
            Kind::Configuration(message) => write!(f, "invalid client configuration: {message}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            Kind::Validation(error) => Some(error),
            Kind::Transport { error, .. } => error.source(),
            Kind::Unroutable { .. } | Kind::Preflight(_) | Kind::Configuration(_) => None,
        }
    }
}
