//! The store's domain types: [`StoredTask`], [`NewTask`], [`LeaseRequest`], [`QueueStats`] and [`PurgeReport`].
//!
//! They are plain Rust, without serde: the server's `wire` module converts them to and from the model's JSON types.

use std::fmt;
use std::time::Duration;

use taskqueue_model::{Timestamp, ValidationError, validate};

/// How many tasks [`Store::list`](crate::Store::list) returns at most: `tasks.list` answers "up to a maximum of
/// 100" and has no paging (docs/wire-format.md §2).
pub const LIST_LIMIT: u32 = 100;

/// A task as the store keeps it.
///
/// `eta` is the one time that orders and gates leasing (docs/wire-format.md §5): until the first lease it is the
/// time the task becomes available (the insert's `leaseTimestamp`, else the insert time); from a lease on it is
/// the lease's expiry. An expired lease puts the task back in (ETA, name) order at its old expiry time.
///
/// # The lease boundary
///
/// A lease is held up to and including the instant its ETA names, as in the SDK's stub: the stub leases only
/// tasks whose ETA is strictly before now and lets the holder modify its lease while the ETA is at or after now.
/// So a leased task is held while `eta >= now` and can be leased again once `eta < now`. A task that holds no
/// lease (never leased, or released) is available from its ETA on (`eta <= now`): a release makes the task
/// available "at once", and an insert and a lease in the same microsecond (which virtual time makes common)
/// find the task.
///
/// `Debug` prints the payload's length only: payloads can be large and sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTask {
    /// The queue key the caller stored the task under (see [`Store`](crate::Store) on queue keys).
    pub queue: String,
    /// The task name (`id` on the wire), unique within its queue among live tasks and unexpired tombstones.
    pub name: String,
    /// The payload bytes. Empty in the results of [`Store::list`](crate::Store::list), which does not read them.
    pub payload: Vec<u8>,
    /// The tag, for `groupByTag` leases. `None` (untagged) differs from `Some("")`.
    pub tag: Option<String>,
    /// When the task was inserted: the `now` of the insert.
    pub enqueued_at: Timestamp,
    /// The availability time, or the lease expiry while [`leased`](Self::leased); see the type's documentation.
    pub eta: Timestamp,
    /// Whether `eta` was set by a lease or a lease extension, rather than by the insert or a release (a lease
    /// modification to 0 seconds). A leased task whose `eta` has passed holds an expired lease.
    pub leased: bool,
    /// How many times the task has been leased (`retry_count` on the wire). Leases increment it; lease
    /// modifications do not.
    pub retry_count: u32,
}

impl StoredTask {
    /// The task `task` as an insert at `now` stores it, named `name` in `queue`: not leased, never leased,
    /// enqueued at `now`, available at its ETA or at `now`. (`task.name` is ignored: `name` is the one chosen.)
    pub(crate) fn inserted(queue: &str, name: String, task: NewTask, now: Timestamp) -> Self {
        Self {
            queue: queue.to_owned(),
            name,
            payload: task.payload,
            tag: task.tag,
            enqueued_at: now,
            eta: task.eta.unwrap_or(now),
            leased: false,
            retry_count: 0,
        }
    }

    /// Whether someone holds an unexpired lease on the task at `now`: leased, and `eta >= now` (the boundary
    /// instant is still held; see the type's documentation).
    ///
    /// This is also the condition for [`Store::modify_lease`](crate::Store::modify_lease) to succeed.
    #[must_use]
    pub fn is_lease_held(&self, now: Timestamp) -> bool {
        self.leased && self.eta >= now
    }

    /// Whether a lease at `now` may hand out the task (ignoring tags and lease limits): its ETA has been reached
    /// (`eta <= now`) and no lease holds it, so a leased task only once `eta < now`.
    #[must_use]
    pub fn is_available(&self, now: Timestamp) -> bool {
        self.eta <= now && !self.is_lease_held(now)
    }
}

/// How a lease modification (`tasks.update`, `tasks.patch`) proves that its caller holds the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseProof {
    /// The `leaseTimestamp` the lease (or the last modification) returned: the task's ETA must equal it, so a
    /// worker whose lease expired and was taken by another cannot touch the new holder's lease (the SDK's rule).
    Eta(Timestamp),
    /// No proof: any unexpired lease may be extended or released. Real clients renewed leases by PATCH with a
    /// body of only `id` and `queueName` (or `queueName` alone), which production answered with success; AppScale
    /// checks the ETA only when the body carries one.
    AnyHolder,
}

impl LeaseProof {
    /// Whether this proof lets its caller modify `task`'s lease at `now`: the lease is held (see
    /// [`StoredTask::is_lease_held`]) and, for [`Eta`](Self::Eta), the task's ETA is the one given.
    #[must_use]
    pub fn admits(self, task: &StoredTask, now: Timestamp) -> bool {
        task.is_lease_held(now)
            && match self {
                Self::Eta(eta) => task.eta == eta,
                Self::AnyHolder => true,
            }
    }
}

impl fmt::Debug for StoredTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTask")
            .field("queue", &self.queue)
            .field("name", &self.name)
            .field("payload_len", &self.payload.len())
            .field("tag", &self.tag)
            .field("enqueued_at", &self.enqueued_at)
            .field("eta", &self.eta)
            .field("leased", &self.leased)
            .field("retry_count", &self.retry_count)
            .finish()
    }
}

/// A task to insert.
///
/// The store does not validate names, tags, payload sizes or the ETA horizon: the caller checks them first with
/// [`validate::task_for_insert`] (the HTTP layer answers 400 `invalid`).
///
/// ```
/// use taskqueue_model::Timestamp;
/// use taskqueue_store::NewTask;
///
/// let task = NewTask::new(b"work".to_vec())
///     .with_name("t1")
///     .with_tag("batch-7")
///     .with_eta(Timestamp::from_micros(1_500_000_000_000_000));
/// assert_eq!(task.name.as_deref(), Some("t1"));
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct NewTask {
    /// The name; `None` lets the store generate 16 lowercase hex digits (like production's `f32a7aab42bdaf6f`),
    /// unique in the queue among live tasks and unexpired tombstones.
    pub name: Option<String>,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The tag, if any.
    pub tag: Option<String>,
    /// When the task becomes available; `None` means the insert's `now`.
    pub eta: Option<Timestamp>,
}

impl NewTask {
    /// An untagged task carrying `payload`, named by the store and available at once.
    #[must_use]
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload: payload.into(),
            ..Self::default()
        }
    }

    /// Sets the name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Sets the ETA.
    #[must_use]
    pub fn with_eta(mut self, eta: Timestamp) -> Self {
        self.eta = Some(eta);
        self
    }
}

impl fmt::Debug for NewTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTask")
            .field("name", &self.name)
            .field("payload_len", &self.payload.len())
            .field("tag", &self.tag)
            .field("eta", &self.eta)
            .finish()
    }
}

/// Which tasks a lease may take, by tag (docs/wire-format.md §5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TagFilter {
    /// Any task: `groupByTag` false.
    Any,
    /// Only tasks with this tag: `groupByTag=true&tag=T`.
    Tag(String),
    /// `groupByTag=true` without a tag: the tag of the oldest available task. If that task is untagged, the
    /// untagged tasks among the first `num_tasks` available ones by (ETA, name), as the SDK stub does.
    OldestTag,
}

/// The parameters of one lease: how many tasks, for how long, and which.
///
/// ```
/// use taskqueue_store::{LeaseRequest, TagFilter};
///
/// let request = LeaseRequest::from_query(100, 300, true, Some("batch-7"))?;
/// assert_eq!(request.tags, TagFilter::Tag("batch-7".to_owned()));
/// assert!(LeaseRequest::from_query(100, 300, false, Some("batch-7")).is_err());
/// # Ok::<(), taskqueue_model::ValidationError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LeaseRequest {
    /// At most this many tasks (`numTasks`; the API allows 1 to 1000). 0 leases nothing.
    pub num_tasks: u32,
    /// The lease length in seconds (`leaseSecs`; 0 to 604800). 0 gives a lease that has already expired.
    pub lease_secs: u32,
    /// Which tasks, by tag.
    pub tags: TagFilter,
}

impl LeaseRequest {
    /// A lease of up to `num_tasks` tasks of any tag for `lease_secs` seconds.
    #[must_use]
    pub fn new(num_tasks: u32, lease_secs: u32) -> Self {
        Self {
            num_tasks,
            lease_secs,
            tags: TagFilter::Any,
        }
    }

    /// Sets the tag filter.
    #[must_use]
    pub fn with_tags(mut self, tags: TagFilter) -> Self {
        self.tags = tags;
        self
    }

    /// Builds the request from the query parameters of `tasks.lease`, checked with
    /// [`validate::lease_request`]: `numTasks` 1..=1000, `leaseSecs` 0..=604800, and `tag` only with `groupByTag`.
    ///
    /// The tag is taken verbatim, so `tag=` (empty) asks for the tag `""`; the SDK stub read an empty tag as no
    /// tag, so the HTTP layer may want to pass `None` for it.
    ///
    /// # Errors
    ///
    /// The [`ValidationError`] of the first parameter out of range.
    pub fn from_query(
        num_tasks: i64,
        lease_secs: i64,
        group_by_tag: bool,
        tag: Option<&str>,
    ) -> Result<Self, ValidationError> {
        validate::lease_request(num_tasks, lease_secs, group_by_tag, tag)?;
        let num_tasks = u32::try_from(num_tasks)
            .map_err(|_| ValidationError::NumTasksOutOfRange { value: num_tasks })?;
        let lease_secs =
            u32::try_from(lease_secs).map_err(|_| ValidationError::LeaseSecondsOutOfRange {
                parameter: "leaseSecs",
                value: lease_secs,
            })?;
        let tags = match (group_by_tag, tag) {
            (false, _) => TagFilter::Any,
            (true, Some(tag)) => TagFilter::Tag(tag.to_owned()),
            (true, None) => TagFilter::OldestTag,
        };
        Ok(Self {
            num_tasks,
            lease_secs,
            tags,
        })
    }

    /// The lease length.
    #[must_use]
    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.lease_secs))
    }
}

/// What to do with a task that a lease would take past the queue's lease limit (`max_leases`, from
/// `task_retry_limit`): a task may be leased `max_leases` times; the next lease would be one too many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverLimit {
    /// Delete the task instead of leasing it, leaving a tombstone, as the SDK stub does ("cannot be leased again
    /// after N leases") and as the docs describe ("the system deletes the task automatically"). Like the stub,
    /// the deleted tasks count among the `num_tasks` the lease picked, so the lease may return fewer tasks than
    /// are available.
    #[default]
    Delete,
    /// Keep the task (it is still listed and counted) but never lease it again, as AppScale does. Such tasks are
    /// not candidates at all, so they do not use up `num_tasks`.
    Skip,
}

/// What [`Store::stats`](crate::Store::stats) reports for a queue (`getStats=true`). Google called its own figures
/// approximations; these are exact for the store, at one-second granularity for the lease counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueStats {
    /// The number of tasks in the queue, leased or not (`totalTasks`).
    pub total_tasks: u64,
    /// The smallest ETA in the queue, leased tasks included (`oldestTask`); `None` for an empty queue.
    pub oldest_eta: Option<Timestamp>,
    /// Tasks handed out by leases in the current second and the 59 before it (`leasedLastMinute`).
    pub leased_last_minute: u64,
    /// Tasks handed out by leases in the current second and the 3599 before it (`leasedLastHour`).
    pub leased_last_hour: u64,
}

/// What one [`Store::purge`](crate::Store::purge) removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PurgeReport {
    /// Expired tombstones removed.
    pub tombstones: u64,
    /// Lease-log entries older than an hour removed.
    pub lease_log: u64,
    /// Expired access tokens removed.
    pub tokens: u64,
}

impl PurgeReport {
    /// Whether nothing was removed (a timer may stop purging until its next tick).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tombstones == 0 && self.lease_log == 0 && self.tokens == 0
    }

    /// Whether some kind of entry reached `limit`, so that more may be left to purge.
    #[must_use]
    pub fn is_full(&self, limit: u32) -> bool {
        let limit = u64::from(limit);
        self.tombstones >= limit || self.lease_log >= limit || self.tokens >= limit
    }
}

/// An access token the server issued, as the store keeps it: the SHA-256 digest of the token (never the token),
/// the principal it stands for, its scopes and its expiry.
///
/// Keeping tokens in the store lets every server instance on one database accept a token any of them issued,
/// and a restart sign nobody out. `Debug` leaves the digest out.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// SHA-256 of the token.
    pub digest: [u8; 32],
    /// The caller's email.
    pub principal: String,
    /// The granted scopes, as their URLs.
    pub scopes: Vec<String>,
    /// The first instant at which the token is refused.
    pub expires_at: Timestamp,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("principal", &self.principal)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
