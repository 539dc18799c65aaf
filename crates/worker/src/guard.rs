//! The lease of one task as the worker keeps it: the current lease (its `leaseTimestamp` moves with each renewal),
//! the local deadline, and the lost flag a handler watches through its [`LeaseGuard`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use taskqueue_client::LeasedTask;
use taskqueue_clock::SharedClock;
use tokio::sync::watch;

/// The state of one lease, shared by the worker's renewal loop and the handler's [`LeaseGuard`].
pub(crate) struct LeaseState {
    clock: SharedClock,
    retry_count: u32,
    inner: Mutex<Current>,
    lost: watch::Sender<bool>,
}

struct Current {
    lease: LeasedTask,
    /// When the lease ends on the worker's monotonic clock, measured from before the call that set it was sent, so
    /// it never ends later than the server's.
    deadline: Duration,
}

impl LeaseState {
    pub(crate) fn new(
        clock: SharedClock,
        lease: LeasedTask,
        retry_count: u32,
        deadline: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            clock,
            retry_count,
            inner: Mutex::new(Current { lease, deadline }),
            lost: watch::Sender::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        // Every mutation is one assignment: a panic cannot leave it half done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lease as last set: its `leaseTimestamp` proves ownership on the next renewal or release.
    pub(crate) fn lease(&self) -> LeasedTask {
        self.lock().lease.clone()
    }

    pub(crate) fn deadline(&self) -> Duration {
        self.lock().deadline
    }

    /// Records a successful renewal.
    pub(crate) fn renewed(&self, lease: LeasedTask, deadline: Duration) {
        let mut current = self.lock();
        current.lease = lease;
        current.deadline = deadline;
    }

    /// Marks the lease lost; returns whether it was held until now.
    pub(crate) fn mark_lost(&self) -> bool {
        !self.lost.send_replace(true)
    }

    pub(crate) fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }
}

/// A handler's view of its task's lease.
///
/// Cheap to clone. The worker renews the lease while the handler runs; the guard says how long the lease has left
/// and completes [`LeaseGuard::lost`] when it is lost, so work running outside the handler's future (a thread, a
/// child process) can stop before another worker does it twice.
#[derive(Clone)]
pub struct LeaseGuard {
    state: Arc<LeaseState>,
}

impl LeaseGuard {
    pub(crate) fn new(state: Arc<LeaseState>) -> Self {
        Self { state }
    }

    /// The task's name (`id`).
    #[must_use]
    pub fn task_id(&self) -> String {
        self.state.lease().id.into_string()
    }

    /// How many times the task has been leased, this lease included (the lease's `retry_count`).
    #[must_use]
    pub fn retry_count(&self) -> u32 {
        self.state.retry_count
    }

    /// How long the lease has left, as the worker counts it (from before the call that set it was sent); zero
    /// once it has run out.
    #[must_use]
    pub fn remaining(&self) -> Duration {
        self.state
            .deadline()
            .saturating_sub(self.state.clock().monotonic())
    }

    /// Whether the lease has been lost.
    #[must_use]
    pub fn is_lost(&self) -> bool {
        self.state.is_lost()
    }

    /// Completes when the lease is lost: a renewal was refused, or transient failures lasted until it ran out.
    /// Never completes while the lease is held.
    pub async fn lost(&self) {
        let mut receiver = self.state.lost.subscribe();
        // The sender lives in `self.state`, so it cannot be dropped while we wait.
        let _ = receiver.wait_for(|lost| *lost).await;
    }
}

impl fmt::Debug for LeaseGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("task_id", &self.task_id())
            .field("retry_count", &self.state.retry_count)
            .field("remaining", &self.remaining())
            .field("lost", &self.is_lost())
            .finish()
    }
}
