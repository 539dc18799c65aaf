//! [`StoreError`]: why a [`Store`](crate::Store) operation failed.

/// Why a [`Store`](crate::Store) operation failed.
///
/// The first four variants are the service's own answers (the SDK's `TaskQueueServiceError` codes of
/// taskqueue-api.md §4); [`Storage`](Self::Storage) is the store failing.
///
/// # Intended HTTP mapping
///
/// The HTTP layer (a later step) answers with Google's error envelope. Production's exact statuses are unknown for
/// most rows (taskqueue-api.md §4, §10, §11); the choices follow §10's recommendations and agree with the
/// conformance scenarios (`scenarios/errors`, `scenarios/lease`):
///
/// | Variant | Operation | Status | `reason` | `message` | Why |
/// |---|---|---|---|---|---|
/// | `NotFound` | get, delete, update, patch | 404 | `notFound` | `Not Found` | §10's recommended choice; scenarios `errors.404-task-not-found`, `errors.404-delete-not-found` |
/// | `AlreadyExists` | insert | 409 | `duplicate` | `Task name already taken: {name}` | scenario `errors.409-insert-name-taken` (AppScale's text) |
/// | `Tombstoned` | insert | 409 | `duplicate` | `Task name already taken: {name}` | the docs: reusing a deleted name within the tombstone period is an "item exists" error |
/// | `Tombstoned` | get, delete | 404 | `notFound` | `Not Found` | the task is gone; scenario `errors.404-delete-not-found` ("already deleted") |
/// | `Tombstoned` | update, patch | 404 | `notFound` | `Not Found` | the stub answers TOMBSTONED_TASK, not TASK_LEASE_EXPIRED (AppScale issue #2815) |
/// | `LeaseExpired` | update, patch | 400 | `invalid` | `The task lease has expired.` | AppScale and both emulators; scenarios `lease.stale-holder-refused`, `lease.update-after-expiry-refused` |
/// | `Storage` | any | 500 | `backendError` | `Backend Error` | never the store's message: it may name paths |
///
/// `LeaseExpired` covers an expired lease, a foreign or stale `leaseTimestamp`, and a task that is not leased at
/// all: "GAE does not differentiate between the two conditions" (AppScale, taskqueue-api.md §4).
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
}

impl StoreError {
    /// Builds a [`Storage`](Self::Storage) error from a context and a cause.
    pub(crate) fn storage(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Storage(format!("{context}: {cause}"))
    }

    /// Whether the store itself failed, as opposed to refusing the operation.
    #[must_use]
    pub fn is_storage(&self) -> bool {
        matches!(self, Self::Storage(_))
    }
}
