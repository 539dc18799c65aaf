//! The worker's counters: [`WorkerStats`] is a snapshot, readable at any time with [`crate::Worker::stats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// What a worker has done so far. Every field only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Lease calls sent.
    pub lease_calls: u64,
    /// Lease calls that returned no task.
    pub empty_leases: u64,
    /// Lease calls that failed (transient or not).
    pub lease_errors: u64,
    /// Tasks leased.
    pub leased: u64,
    /// Tasks handed to the handler.
    pub started: u64,
    /// Tasks done and deleted.
    pub done: u64,
    /// Tasks given back for another try (released, or held for a delay).
    pub retried: u64,
    /// Tasks dead-lettered: stored (or handed to the callback), then deleted.
    pub dead_lettered: u64,
    /// Successful lease renewals.
    pub renewals: u64,
    /// Renewal attempts that failed with a transient error (and were retried within the lease).
    pub renewal_errors: u64,
    /// Leases lost while the worker held the task (refused renewal, or the lease ran out).
    pub lost_leases: u64,
    /// Tasks leased but never started, released at shutdown.
    pub released_unstarted: u64,
    /// Handlers still running at the shutdown deadline, stopped and their tasks released.
    pub aborted: u64,
    /// Deletes, releases and dead-letter writes that failed: the task comes back when its lease runs out.
    pub settle_errors: u64,
}

macro_rules! counters {
    ($($field:ident),* $(,)?) => {
        /// The live counters behind [`WorkerStats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $field: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> WorkerStats {
                WorkerStats {
                    $($field: self.$field.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters!(
    lease_calls,
    empty_leases,
    lease_errors,
    leased,
    started,
    done,
    retried,
    dead_lettered,
    renewals,
    renewal_errors,
    lost_leases,
    released_unstarted,
    aborted,
    settle_errors,
);

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
