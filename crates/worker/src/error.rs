//! The one public error type of `taskqueue-worker`.

use std::fmt;

/// Why a worker could not be built or stopped running.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    kind: Kind,
}

#[derive(Debug, thiserror::Error)]
enum Kind {
    #[error("invalid worker configuration: {0}")]
    Configuration(String),
    #[error("the worker is already running")]
    AlreadyRunning,
    #[error("leasing from {queue} failed: {source}")]
    Lease {
        queue: String,
        #[source]
        source: taskqueue_client::Error,
    },
}

impl Error {
    pub(crate) fn configuration(message: impl fmt::Display) -> Self {
        Self {
            kind: Kind::Configuration(message.to_string()),
        }
    }

    pub(crate) fn already_running() -> Self {
        Self {
            kind: Kind::AlreadyRunning,
        }
    }

    pub(crate) fn lease(queue: &str, source: taskqueue_client::Error) -> Self {
        Self {
            kind: Kind::Lease {
                queue: queue.to_owned(),
                source,
            },
        }
    }

    /// Whether the builder refused its settings.
    #[must_use]
    pub fn is_configuration(&self) -> bool {
        matches!(self.kind, Kind::Configuration(_))
    }

    /// Whether [`crate::Worker::run`] was called while the worker was already running.
    #[must_use]
    pub fn is_already_running(&self) -> bool {
        matches!(self.kind, Kind::AlreadyRunning)
    }

    /// The API error that stopped the worker: a lease call failed with an error that waiting cannot fix (unknown
    /// queue, refused credentials, a denied scope or ACL). The worker finished its running tasks first.
    #[must_use]
    pub fn api_error(&self) -> Option<&taskqueue_client::Error> {
        match &self.kind {
            Kind::Lease { source, .. } => Some(source),
            _ => None,
        }
    }
}
