//! [`StoreError`]: why a [`Store`](crate::Store) operation failed.

/// Why a [`Store`](crate::Store) operation failed.
///
/// The first four variants are the service's own answers (the SDK's `TaskQueueServiceError` codes of
/// docs/wire-format.md §4); [`Storage`](Self::Storage) is the store failing.
///
/// # Intended HTTP mapping
///
/// The HTTP layer answers with Google's error envelope. Production's exact statuses are unknown for most rows;
/// the choices follow what real clients expected and agree with the conformance scenarios (`scenarios/errors`,
/// `scenarios/lease`, `scenarios/clients`):
///
/// | Variant | Operation | Status | `reason` | `message` | Why |
/// |---|---|---|---|---|---|
/// | `NotFound` | get, delete | 404 | `notFound` | `Not Found` | §10's recommended choice; scenarios `errors.404-task-not-found`, `errors.404-delete-not-found` |
/// | `NotFound`, `Tombstoned` | update, patch | 400 | `invalid` | `The task lease has expired.` | App Engine answered the lease-expired error for a task that does not exist (AppScale); `choices.modify_missing_task: not_found` gives 404 |
/// | `AlreadyExists` | insert | 409 | `duplicate` | `Task name already taken: {name}` | scenario `errors.409-insert-name-taken` (AppScale's text) |
/// | `Tombstoned` | insert | 409 | `duplicate` | `Task name already taken: {name}` | the docs: reusing a deleted name within the tombstone period is an "item exists" error |
/// | `Tombstoned` | get | 404 | `notFound` | `Not Found` | the task is gone |
/// | `Tombstoned` | delete | 200 | – | – | a repeated delete is idempotent (AppScale's REST layer answers 200); `choices.repeated_delete: not_found` gives 404 |
/// | `LeaseExpired` | update, patch | 400 | `invalid` | `The task lease has expired.` | AppScale and both emulators; scenarios `lease.stale-holder-refused`, `lease.update-after-expiry-refused` |
/// | `Storage` | any | 500 | `backendError` | `Backend Error` | never the store's message: it may name paths |
/// | `StorageFull` | insert, lease, update, patch, delete | 507 | `insufficientStorage` | `The server's storage is full: the write was not made.` | no client retries a 507 (they retry 500 and 503), so workers stop and say why instead of retrying a write that cannot succeed until an operator frees space |
///
/// `LeaseExpired` covers an expired lease, a foreign or stale `leaseTimestamp`, and a task that is not leased at
/// all: "GAE does not differentiate between the two conditions" (AppScale, docs/wire-format.md §4).
///
/// The enum is exhaustive on purpose: its variants are the service's answers, which callers map one by one (a
/// new one would be a breaking change they must handle).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No task of that name is in the queue, and no unexpired tombstone either (UNKNOWN_TASK).
    #[error("task not found")]
    NotFound,
    /// A live task already has the name (TASK_ALREADY_EXISTS).
    #[error("a task with this name already exists")]
    AlreadyExists,
    /// The name belongs to a task deleted less than the tombstone lifetime ago (TOMBSTONED_TASK).
    #[error("the task was deleted and its name is tombstoned")]
    Tombstoned,
    /// The caller does not hold the task's lease: it expired, the `leaseTimestamp` given is not the current
    /// one, or the task is not leased (TASK_LEASE_EXPIRED).
    #[error("the task lease has expired")]
    LeaseExpired,
    /// The store failed: I/O, a corrupt or foreign database file, a schema too new, a stopped worker.
    #[error("storage error: {0}")]
    Storage(String),
    /// The store is out of space (a full disk): nothing was written. Reads still work.
    #[error("storage full: {0}")]
    StorageFull(String),
}

impl StoreError {
    /// Builds a [`Storage`](Self::Storage) error from a context and a cause.
    pub(crate) fn storage(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Storage(format!("{context}: {cause}"))
    }

    /// Whether the store itself failed, as opposed to refusing the operation.
    #[must_use]
    pub fn is_storage(&self) -> bool {
        matches!(self, Self::Storage(_) | Self::StorageFull(_))
    }

    /// Whether the store failed because it is out of space.
    #[must_use]
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::StorageFull(_))
    }
}
