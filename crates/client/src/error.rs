//! The one public error type of `taskqueue-client`.

use std::error::Error as StdError;
use std::fmt;

use taskqueue_model::ValidationError;
use taskqueue_transport::http::StatusCode;

/// Why a Task Queue call failed: an argument was refused before sending, or
/// the call itself failed (see [`taskqueue_transport::Error`]).
#[derive(Debug)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Validation(ValidationError),
    Unroutable { task: String },
    Transport(taskqueue_transport::Error),
    Configuration(String),
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
            Kind::Transport(error) => Some(error),
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

    /// Whether the server refused the caller (HTTP 403: scope, ACL or quota).
    ///
    /// # Troubleshooting
    ///
    /// [`Error::reason`] `insufficientPermissions` means the token lacks a
    /// scope that allows the call (the consumer scopes are read-only);
    /// `forbidden` means the caller is not in the queue's ACL.
    pub fn is_permission_denied(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_permission_denied)
    }

    /// Whether the server's success response was not the JSON the API promises.
    pub fn is_decode(&self) -> bool {
        self.transport()
            .is_some_and(taskqueue_transport::Error::is_decode)
    }

    /// Whether the client was misconfigured (for example a bad base URL).
    pub fn is_configuration(&self) -> bool {
        matches!(self.kind, Kind::Configuration(_))
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
}

impl From<ValidationError> for Error {
    fn from(error: ValidationError) -> Self {
        Self {
            kind: Kind::Validation(error),
        }
    }
}

impl From<taskqueue_transport::Error> for Error {
    fn from(error: taskqueue_transport::Error) -> Self {
        Self {
            kind: Kind::Transport(error),
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
            Kind::Transport(error) => fmt::Display::fmt(error, f),
            Kind::Configuration(message) => write!(f, "invalid client configuration: {message}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            Kind::Validation(error) => Some(error),
            Kind::Transport(error) => error.source(),
            Kind::Unroutable { .. } | Kind::Configuration(_) => None,
        }
    }
}
