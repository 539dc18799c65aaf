//! [`Task`]: the `taskqueues#task` resource.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::names::{QueuePath, short_queue_name};
use crate::setters::option_setters;
use crate::{Payload, Timestamp, kind};

/// A task (kind `taskqueues#task`), as sent to insert, update and patch, and as returned by every task method.
///
/// Every field is optional and left out of the JSON when `None`. Fields this crate does not know are kept in
/// [`unknown_fields`](Self::unknown_fields) and written back unchanged.
///
/// Wire facts (docs/wire-format.md §3.1): the timestamps are microseconds written as strings; `retry_count` is
/// snake_case and a number; `queueName` comes back from a lease in the long form
/// `projects/s~app/taskqueues/queue` (see [`short_queue_name`](Self::short_queue_name)).
///
/// ```
/// use taskqueue_model::{Task, Timestamp};
///
/// let task = Task::new("work")
///     .with_queue_name("pull")
///     .with_tag("batch-7")
///     .with_eta(Timestamp::from_micros(1_500_000_000_000_000));
/// let json = serde_json::to_value(&task)?;
/// assert_eq!(json["payloadBase64"], "d29yaw==");
/// assert_eq!(json["leaseTimestamp"], "1500000000000000");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Task {
    /// `kind`: `taskqueues#task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `id`: the task name, user-chosen or server-generated (production: 16 lowercase hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `queueName`: the queue, short (`pull`) or long (`projects/s~app/taskqueues/pull`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    /// `payloadBase64`: the payload. Left out or empty in `tasks.list` responses.
    #[serde(
        default,
        rename = "payloadBase64",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload: Option<Payload>,
    /// `enqueueTimestamp`: when the task was enqueued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enqueue_timestamp: Option<Timestamp>,
    /// `leaseTimestamp`: when the current lease expires. On insert, the ETA: when the task may first be leased.
    /// On update, the lease token: the value the lease returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_timestamp: Option<Timestamp>,
    /// `retry_count` (snake_case on the wire): how many times the task has been leased.
    #[serde(
        default,
        rename = "retry_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_count: Option<i32>,
    /// `tag`: groups tasks for `groupByTag` leases; at most 500 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

impl Task {
    /// A task of kind `taskqueues#task` carrying `payload`, with every other field unset.
    #[must_use]
    pub fn new(payload: impl Into<Payload>) -> Task {
        Task {
            kind: Some(kind::TASK.to_owned()),
            payload: Some(payload.into()),
            ..Task::default()
        }
    }

    /// Sets `id`, the task name.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `tag`.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Sets `queueName`.
    #[must_use]
    pub fn with_queue_name(mut self, queue_name: impl Into<String>) -> Self {
        self.queue_name = Some(queue_name.into());
        self
    }

    /// Sets the ETA, the earliest time the task may be leased. On insert this is `leaseTimestamp`.
    #[must_use]
    pub fn with_eta(mut self, eta: Timestamp) -> Self {
        self.lease_timestamp = Some(eta);
        self
    }

    /// `queueName` parsed as `projects/{project}/taskqueues/{queue}`; `None` if it is unset or in the short form.
    #[must_use]
    pub fn queue_path(&self) -> Option<QueuePath> {
        self.queue_name.as_deref().and_then(QueuePath::parse)
    }

    /// The short queue name, whether `queueName` is in the short or the long form; `None` if it is unset.
    #[must_use]
    pub fn short_queue_name(&self) -> Option<&str> {
        self.queue_name.as_deref().map(short_queue_name)
    }
}

option_setters!(Task {
    with_kind => kind: String,
    with_payload => payload: Payload,
    with_enqueue_timestamp => enqueue_timestamp: Timestamp,
    with_lease_timestamp => lease_timestamp: Timestamp,
    with_retry_count => retry_count: i32,
});
