//! Limits of the Task Queue service, with the source of each (sections of docs/wire-format.md).
//!
//! The [`validate`](crate::validate) functions check values against these constants.

use std::time::Duration;

/// Longest task name (`id`), in characters: `MAX_TASK_NAME_LENGTH = 500` in the SDK, and the docs (docs/wire-format.md §6).
pub const MAX_TASK_NAME_LEN: usize = 500;

/// Longest queue name, in characters: `MAX_QUEUE_NAME_LENGTH = 100` in the SDK, and the docs (docs/wire-format.md §6).
pub const MAX_QUEUE_NAME_LEN: usize = 100;

/// Longest tag, in bytes of its UTF-8 encoding: `MAX_TAG_LENGTH = 500`, checked on the byte string in the SDK
/// (docs/wire-format.md §3.1 and §6).
pub const MAX_TAG_BYTES: usize = 500;

/// Largest payload, in bytes (decoded, not base64): `MAX_PULL_TASK_SIZE_BYTES = 2**20` in the SDK, and the docs'
/// "Maximum task size 1MB" (docs/wire-format.md §6). The SDK stub measures the whole add request; this crate measures the payload.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// Fewest tasks one lease may ask for (`numTasks`): the SDK rejects `numTasks <= 0` (docs/wire-format.md §4 and §5).
pub const MIN_LEASE_TASKS: u32 = 1;

/// Most tasks one lease may ask for (`numTasks`): `MAX_TASKS_PER_LEASE = 1000` in the SDK, and the docs'
/// "up to a maximum of 1,000 tasks" (docs/wire-format.md §5).
pub const MAX_LEASE_TASKS: u32 = 1000;

/// Longest lease, in seconds (`leaseSecs`, `newLeaseSeconds`): `MAX_LEASE_SECONDS = 3600*24*7` in the SDK, and the docs'
/// "up to a maximum of one week" (docs/wire-format.md §5). The shortest is 0, which releases a lease on update.
pub const MAX_LEASE_SECONDS: u32 = 604_800;

/// Furthest a task's ETA may be ahead of now: `MAX_ETA = timedelta(days=30)` in the SDK, and the docs' limits table
/// (docs/wire-format.md §6).
pub const MAX_ETA_AHEAD: Duration = Duration::from_secs(30 * 24 * 60 * 60);
