//! [`ValidationError`]: why a name, a parameter or a task breaks the service's rules.

use crate::Timestamp;
use crate::limits::{
    MAX_ETA_AHEAD, MAX_LEASE_SECONDS, MAX_LEASE_TASKS, MAX_PAYLOAD_BYTES, MAX_QUEUE_NAME_LEN,
    MAX_TAG_BYTES, MAX_TASK_NAME_LEN, MIN_LEASE_TASKS,
};

#[cfg(test)]
mod tests;

/// The most characters of an offending name kept in a [`ValidationError`]; longer names are cut and end in `…`.
const MAX_QUOTED_CHARS: usize = 64;

/// A value breaks one of the service's rules (see [`limits`](crate::limits)).
///
/// Returned by the [`validate`](crate::validate) functions and the name types' constructors. [`field`](Self::field)
/// gives the wire name of the offending field or query parameter, for building a 400 `invalid` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The task name (`id`) is empty, too long, or uses a character outside `[A-Za-z0-9_-]`.
    #[error(
        "invalid task name {name:?}: must be 1 to {MAX_TASK_NAME_LEN} characters, each an ASCII letter, a digit, `_` or `-`"
    )]
    InvalidTaskName {
        /// The offending name, cut to 64 characters.
        name: String,
    },
    /// The queue name is empty, too long, or uses a character outside `[A-Za-z0-9-]`.
    #[error(
        "invalid queue name {name:?}: must be 1 to {MAX_QUEUE_NAME_LEN} characters, each an ASCII letter, a digit or `-`"
    )]
    InvalidQueueName {
        /// The offending name, cut to 64 characters.
        name: String,
    },
    /// The project is empty, longer than 100 bytes, or uses a character other than ASCII letters, digits, `-`, `~`, `.` and `:`.
    #[error(
        "invalid project {project:?}: must be 1 to 100 characters, each an ASCII letter, a digit, `-`, `~`, `.` or `:` (e.g. `s~app`)"
    )]
    InvalidProject {
        /// The offending project, cut to 64 characters.
        project: String,
    },
    /// The tag is longer than [`MAX_TAG_BYTES`] bytes.
    #[error("tag is {bytes} bytes long, over the limit of {MAX_TAG_BYTES} bytes")]
    TagTooLong {
        /// The tag's length in bytes.
        bytes: usize,
    },
    /// The payload is larger than [`MAX_PAYLOAD_BYTES`].
    #[error("payload is {bytes} bytes, over the limit of {MAX_PAYLOAD_BYTES} bytes (1 MiB)")]
    PayloadTooLarge {
        /// The payload's length in bytes (decoded).
        bytes: usize,
    },
    /// `numTasks` is outside `1..=1000`.
    #[error(
        "numTasks is {value}, outside the allowed range {MIN_LEASE_TASKS} to {MAX_LEASE_TASKS}"
    )]
    NumTasksOutOfRange {
        /// The requested number of tasks.
        value: i64,
    },
    /// `leaseSecs` or `newLeaseSeconds` is outside `0..=604800`.
    #[error(
        "{parameter} is {value}, outside the allowed range 0 to {MAX_LEASE_SECONDS} seconds (one week)"
    )]
    LeaseSecondsOutOfRange {
        /// The query parameter: `leaseSecs` or `newLeaseSeconds`.
        parameter: &'static str,
        /// The requested number of seconds.
        value: i64,
    },
    /// The ETA (`leaseTimestamp` on insert) is more than 30 days ahead.
    #[error(
        "eta {eta} is more than {} days ahead: the latest allowed is {latest} (microseconds since the Unix epoch)",
        MAX_ETA_AHEAD.as_secs() / 86_400
    )]
    EtaTooFar {
        /// The requested ETA.
        eta: Timestamp,
        /// The latest ETA allowed: now plus [`MAX_ETA_AHEAD`].
        latest: Timestamp,
    },
    /// A lease names a `tag` without `groupByTag=true`.
    #[error("tag is only allowed together with groupByTag=true")]
    TagWithoutGroupByTag,
}

impl ValidationError {
    /// The wire name of the offending body field or query parameter.
    ///
    /// | Variant | Field |
    /// |---|---|
    /// | `InvalidTaskName` | `id` (also the `task` path parameter) |
    /// | `InvalidQueueName` | `taskqueue` (the path parameter; the body's `queueName` may be in the long form) |
    /// | `InvalidProject` | `project` |
    /// | `TagTooLong`, `TagWithoutGroupByTag` | `tag` |
    /// | `PayloadTooLarge` | `payloadBase64` |
    /// | `NumTasksOutOfRange` | `numTasks` |
    /// | `LeaseSecondsOutOfRange` | its `parameter` |
    /// | `EtaTooFar` | `leaseTimestamp` |
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::InvalidTaskName { .. } => "id",
            Self::InvalidQueueName { .. } => "taskqueue",
            Self::InvalidProject { .. } => "project",
            Self::TagTooLong { .. } | Self::TagWithoutGroupByTag => "tag",
            Self::PayloadTooLarge { .. } => "payloadBase64",
            Self::NumTasksOutOfRange { .. } => "numTasks",
            Self::LeaseSecondsOutOfRange { parameter, .. } => parameter,
            Self::EtaTooFar { .. } => "leaseTimestamp",
        }
    }

    pub(crate) fn invalid_task_name(name: &str) -> Self {
        Self::InvalidTaskName { name: quote(name) }
    }

    pub(crate) fn invalid_queue_name(name: &str) -> Self {
        Self::InvalidQueueName { name: quote(name) }
    }

    pub(crate) fn invalid_project(project: &str) -> Self {
        Self::InvalidProject {
            project: quote(project),
        }
    }
}

/// Cuts `text` to [`MAX_QUOTED_CHARS`] characters, marking a cut with `…`, so that a huge bad name stays readable.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
