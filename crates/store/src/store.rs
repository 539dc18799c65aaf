//! The [`Store`] trait: the storage seam of the server, and the specification of its lease semantics.

use std::fmt;

use async_trait::async_trait;
use taskqueue_model::Timestamp;

use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, PurgeReport, QueueStats, StoreError, StoredTask,
};

/// Task storage with the lease semantics of docs/wire-format.md §5: the contract every backend (memory, SQLite,
/// later PostgreSQL) implements identically.
///
/// # Async
///
/// The trait is async (through `async_trait`, so `Arc<dyn Store>` works). A PostgreSQL backend is async by nature;
/// [`SqliteStore`](crate::SqliteStore) runs SQLite on its own writer thread, commits the operations waiting at the
/// same time in one transaction, and answers through a channel, so no caller blocks a runtime thread. The
/// futures need no particular runtime. An operation handed to the store completes even if its caller stops
/// waiting.
///
/// # Time
///
/// The store never reads a clock: every operation takes `now` from the caller's `taskqueue_clock::Clock`, so
/// virtual time drives leases and tombstones.
/// Callers should not move `now` backwards; if they do, expired tombstones and old lease counts that were already
/// purged stay gone.
///
/// # Queue keys
///
/// `queue` is an opaque key chosen by the caller (for instance the short queue name, or `app/queue` for several
/// projects with the partition prefix removed). The store only compares keys for equality: queues are independent
/// namespaces for names, tombstones, leases and stats, and need not be declared first.
///
/// # Semantics
///
/// - *Leased* means `eta` is a lease expiry; the lease is held while `eta >= now`: at the instant its ETA names
///   the task is still held, as in the SDK's stub ([`StoredTask`] explains the boundary).
/// - A task is *available* when its ETA has been reached (`eta <= now`) and no lease holds it: a leased task
///   becomes available once `eta < now`.
/// - Deleted names are tombstoned for [`StoreConfig::tombstone_ttl`](crate::StoreConfig::tombstone_ttl): a
///   tombstone deleted at `d` blocks its name while `now < d + ttl`.
/// - Every operation is atomic; concurrent leases never hand one task to two holders.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Inserts a task, with `retry_count` 0, not leased, `enqueued_at = now` and `eta = task.eta` or `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError::AlreadyExists`] if a live task has the name; [`StoreError::Tombstoned`] if a task of that
    /// name was deleted less than the tombstone lifetime ago; [`StoreError::Storage`].
    async fn insert(
        &self,
        queue: &str,
        task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError>;

    /// The task of that name, with its payload. Does not lease it.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`]; [`StoreError::Tombstoned`] if it was deleted within the tombstone lifetime;
    /// [`StoreError::Storage`].
    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError>;

    /// Up to `limit` tasks of the queue, leased or not, in (ETA, name) order ("the same order they are stored on
    /// the queue"), **without payloads**: each `payload` is empty. `tasks.list` uses
    /// [`LIST_LIMIT`](crate::LIST_LIMIT).
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn list(
        &self,
        queue: &str,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError>;

    /// Deletes the task, leased or not, without checking who holds the lease, and tombstones its name at `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`]; [`StoreError::Tombstoned`] if it was already deleted within the tombstone
    /// lifetime (the tombstone keeps its first deletion time: a repeated delete does not prolong it);
    /// [`StoreError::Storage`].
    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Leases up to `request.num_tasks` available tasks in (ETA, name) order, filtered by
    /// [`request.tags`](crate::TagFilter).
    ///
    /// Each leased task gets `eta = now + lease_secs`, `leased = true` and `retry_count + 1`, and is returned
    /// with those new values and its payload. The lease is logged for [`stats`](Self::stats).
    ///
    /// `max_leases` is the queue's lease limit (`task_retry_limit`; `None`: no limit): a task already leased
    /// `max_leases` times is handled by [`StoreConfig::over_limit`](crate::StoreConfig::over_limit) instead.
    /// An empty result is not an error.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError>;

    /// Extends or releases a lease held by the caller, who proves it with `proof`: the `leaseTimestamp` its
    /// lease (or last modification) returned ([`LeaseProof::Eta`]), or nothing but the lease being unexpired
    /// ([`LeaseProof::AnyHolder`], a PATCH renewal without `leaseTimestamp`).
    ///
    /// The new ETA is `now + new_lease_secs`; with 0 the task is released (`eta = now`, not leased), available at
    /// once. `retry_count` does not change. Returns the task with its payload.
    ///
    /// # Errors
    ///
    /// [`StoreError::LeaseExpired`] unless the task's lease is held at `now` (leased and `eta >= now`) and, for
    /// [`LeaseProof::Eta`], its ETA equals the one given; [`StoreError::Tombstoned`] for a deleted task;
    /// [`StoreError::NotFound`]; [`StoreError::Storage`]. Nothing changes on an error.
    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError>;

    /// The queue's statistics at `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError>;

    /// Keeps an issued access token (its digest) until it expires. A token saved again replaces the first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError>;

    /// The token whose SHA-256 digest is `digest`, if it was saved and not yet purged (it may have expired:
    /// the caller compares `expires_at` with its clock).
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError>;

    /// Removes up to `limit` expired tombstones, up to `limit` lease-log entries older than an hour and up to
    /// `limit` access tokens expired at `now`, in every queue, using indexes (no full scan). Results never depend on it: expired entries are ignored anyway; it
    /// only bounds the storage. Backends may also purge a few entries opportunistically during writes, so the
    /// counts are backend-specific. A server calls it on a timer, again while a report comes back full; several servers
    /// on one database may purge at once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`].
    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError>;
}
