//! Conversions between the store's types and the model's wire types: the one place the server's domain meets
//! serde.
//!
//! - `id` is the task name; `queueName` is the long form `projects/{project}/taskqueues/{queue}`, with the project
//!   as the request gave it (`s~app` stays `s~app`), as production sent it (docs/wire-format.md §3.1, §9.2, §10).
//! - `leaseTimestamp` is the lease's expiry for a task a lease set the ETA of (held or expired: an expired lease
//!   shows a time before now, as the docs say). For a task no lease holds (never leased, or released) it is `0`,
//!   as the discovery document says ("0 if the task isn't currently leased") and AppScale's 2016–18 code sent,
//!   or the task's ETA with [`UnleasedLeaseTimestamp::Eta`] (AppScale's later code). Either way an update or
//!   patch proving ownership with it is refused: no lease is held.
//! - `enqueueTimestamp` is the insert time, `retry_count` the number of leases, `tag` the tag if any.
//! - `payloadBase64` is left out of `tasks.list` results ([`PayloadField::Omit`]).

use taskqueue_model::{Payload, QueuePath, Task, TaskQueueStats, Timestamp, kind};

use crate::{NewTask, QueueStats, StoredTask};

/// Whether [`to_task`] fills `payloadBase64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadField {
    /// With the payload: get, insert, lease, update, patch.
    Include,
    /// Without: `tasks.list`, whose "retrieved tasks will not include the task payload" (docs/wire-format.md §2).
    Omit,
}

/// What `leaseTimestamp` a task no lease holds (never leased, or released) shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UnleasedLeaseTimestamp {
    /// `0`, as the discovery document says.
    #[default]
    Zero,
    /// The task's ETA: when it becomes (or became) available.
    Eta,
}

/// The wire form of `task`, in the queue `path` (the project as the request named it, and the short queue name);
/// `unleased` picks the `leaseTimestamp` of a task no lease holds.
///
/// ```
/// use taskqueue_model::{QueuePath, Timestamp};
/// use taskqueue_server::wire::{self, PayloadField, UnleasedLeaseTimestamp};
/// use taskqueue_server::StoredTask;
///
/// let task = StoredTask {
///     queue: "pull".to_owned(),
///     name: "f32a7aab42bdaf6f".to_owned(),
///     payload: b"work".to_vec(),
///     tag: Some("batch-7".to_owned()),
///     enqueued_at: Timestamp::from_micros(1_498_510_174_000_000),
///     eta: Timestamp::from_micros(1_498_952_638_063_392),
///     leased: true,
///     retry_count: 3,
/// };
/// let path = QueuePath::new("s~app", "pull");
/// let json = serde_json::to_value(wire::to_task(&task, &path, PayloadField::Include, UnleasedLeaseTimestamp::Zero))?;
/// assert_eq!(json["queueName"], "projects/s~app/taskqueues/pull");
/// assert_eq!(json["leaseTimestamp"], "1498952638063392");
/// assert_eq!(json["retry_count"], 3);
///
/// let fresh = StoredTask { leased: false, retry_count: 0, ..task };
/// let json = serde_json::to_value(wire::to_task(&fresh, &path, PayloadField::Include, UnleasedLeaseTimestamp::Zero))?;
/// assert_eq!(json["leaseTimestamp"], "0");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[must_use]
pub fn to_task(
    task: &StoredTask,
    path: &QueuePath,
    payload: PayloadField,
    unleased: UnleasedLeaseTimestamp,
) -> Task {
    let lease_timestamp = match (task.leased, unleased) {
        (true, _) | (false, UnleasedLeaseTimestamp::Eta) => task.eta,
        (false, UnleasedLeaseTimestamp::Zero) => Timestamp::ZERO,
    };
    let mut wire = Task::default()
        .with_kind(kind::TASK)
        .with_id(task.name.clone())
        .with_queue_name(path.to_string())
        .with_enqueue_timestamp(task.enqueued_at)
        .with_lease_timestamp(lease_timestamp)
        .with_retry_count(i32::try_from(task.retry_count).unwrap_or(i32::MAX));
    if let PayloadField::Include = payload {
        wire = wire.with_payload(Payload::new(task.payload.clone()));
    }
    wire.tag = task.tag.clone();
    wire
}

/// The task an insert body asks for. Check it first with `taskqueue_model::validate::task_for_insert`.
///
/// - `id` names the task; a missing or empty `id` lets the store generate a name (AppScale also generates one
///   for `""`).
/// - `leaseTimestamp` is the ETA. A missing one, and `0`, which real clients sent as "unset" (gcloud-aio's
///   insert bodies), mean "now"; any other value, even in the past, is kept.
/// - A missing `payloadBase64` is an empty payload: whether to require it is the HTTP layer's call.
/// - `queueName`, `enqueueTimestamp`, `retry_count` and `kind` are ignored: the URL names the queue and the
///   store sets the rest.
#[must_use]
pub fn to_new_task(task: Task) -> NewTask {
    NewTask {
        name: task.id.filter(|id| !id.is_empty()),
        payload: task.payload.map(Payload::into_bytes).unwrap_or_default(),
        tag: task.tag,
        eta: task.lease_timestamp.filter(|&eta| eta != Timestamp::ZERO),
    }
}

/// The `stats` of `taskqueues.get?getStats=true`.
///
/// `oldestTask` is in **seconds** (rounded down), as the discovery document says ("timestamp (in seconds since the
/// epoch) of the oldest unfinished task") and AppScale sends, and is left out for an empty queue.
#[must_use]
pub fn to_stats(stats: &QueueStats) -> TaskQueueStats {
    let mut wire = TaskQueueStats::default()
        .with_total_tasks(i32::try_from(stats.total_tasks).unwrap_or(i32::MAX))
        .with_leased_last_minute(i64::try_from(stats.leased_last_minute).unwrap_or(i64::MAX))
        .with_leased_last_hour(i64::try_from(stats.leased_last_hour).unwrap_or(i64::MAX));
    wire.oldest_task = stats
        .oldest_eta
        .map(|eta| eta.as_micros().div_euclid(1_000_000));
    wire
}
