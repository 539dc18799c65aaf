//! [`TaskQueue`]: the `taskqueues#taskqueue` resource returned by `taskqueues.get`, with its stats and ACL.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::setters::option_setters;

/// A queue (kind `taskqueues#taskqueue`). Queues are defined in `queue.yaml`, never through REST.
///
/// ```
/// use taskqueue_model::TaskQueue;
///
/// let queue: TaskQueue = serde_json::from_str(
///     r#"{"kind": "taskqueues#taskqueue", "id": "pull", "maxLeases": 7,
///         "stats": {"totalTasks": 3, "oldestTask": "1498510174", "leasedLastHour": 12}}"#,
/// )?;
/// let stats = queue.stats.ok_or("no stats")?;
/// assert_eq!((stats.total_tasks, stats.oldest_task, stats.leased_last_hour), (Some(3), Some(1_498_510_174), Some(12)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskQueue {
    /// `kind`: `taskqueues#taskqueue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `id`: the queue name, short or (probably, in production) long form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `maxLeases`: how many times a task is leased before it is given up on; unset means forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_leases: Option<i32>,
    /// `stats`: present only when asked for with `getStats=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TaskQueueStats>,
    /// `acl`: who may administer, consume from and produce into the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<TaskQueueAcl>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

/// The `stats` of a [`TaskQueue`]. Google calls them approximations, subject to delay.
///
/// The three int64 fields are written as strings and read from strings, numbers or `null`
/// (see [`int64`](crate::int64)); `totalTasks` is a plain number.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskQueueStats {
    /// `totalTasks`: the number of tasks in the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tasks: Option<i32>,
    /// `oldestTask`: when the oldest unfinished task was enqueued. Documented in seconds since the epoch; an
    /// emulator sent microseconds, so the unit is left to the caller.
    #[serde(
        default,
        with = "crate::int64",
        skip_serializing_if = "Option::is_none"
    )]
    pub oldest_task: Option<i64>,
    /// `leasedLastMinute`: the number of tasks leased in the last minute.
    #[serde(
        default,
        with = "crate::int64",
        skip_serializing_if = "Option::is_none"
    )]
    pub leased_last_minute: Option<i64>,
    /// `leasedLastHour`: the number of tasks leased in the last hour.
    #[serde(
        default,
        with = "crate::int64",
        skip_serializing_if = "Option::is_none"
    )]
    pub leased_last_hour: Option<i64>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

/// The `acl` of a [`TaskQueue`]: email addresses by role.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskQueueAcl {
    /// `adminEmails`: who can control the queue, e.g. set its ACLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_emails: Option<Vec<String>>,
    /// `consumerEmails`: who can lease and delete tasks (`user_email` in `queue.yaml`, by inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_emails: Option<Vec<String>>,
    /// `producerEmails`: who can insert tasks (`writer_email` in `queue.yaml`, by inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_emails: Option<Vec<String>>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

option_setters!(TaskQueue {
    with_kind => kind: String,
    with_id => id: String,
    with_max_leases => max_leases: i32,
    with_stats => stats: TaskQueueStats,
    with_acl => acl: TaskQueueAcl,
});

option_setters!(TaskQueueStats {
    with_total_tasks => total_tasks: i32,
    with_oldest_task => oldest_task: i64,
    with_leased_last_minute => leased_last_minute: i64,
    with_leased_last_hour => leased_last_hour: i64,
});

option_setters!(TaskQueueAcl {
    with_admin_emails => admin_emails: Vec<String>,
    with_consumer_emails => consumer_emails: Vec<String>,
    with_producer_emails => producer_emails: Vec<String>,
});
