//! What a handler says about its task ([`Outcome`]), and the [`Handler`] seam itself.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use taskqueue_model::Task;

use crate::LeaseGuard;

/// What the worker does with a task once its handler returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The work is done: the task is deleted.
    Done,
    /// Try again: the lease is released (`newLeaseSeconds = 0`), or set to end after `after`, so the task is leased
    /// again once that time has passed. After `max_attempts` leases the task is dead-lettered instead.
    Retry {
        /// How long the task stays unavailable; zero releases it at once.
        after: Duration,
    },
    /// The task can never succeed: it is dead-lettered (stored, then deleted) with this reason.
    GiveUp {
        /// Why, as the dead letter records it.
        reason: String,
    },
}

impl Outcome {
    /// [`Outcome::Done`].
    #[must_use]
    pub fn done() -> Self {
        Self::Done
    }

    /// [`Outcome::Retry`] at once.
    #[must_use]
    pub fn retry() -> Self {
        Self::Retry {
            after: Duration::ZERO,
        }
    }

    /// [`Outcome::Retry`] after `delay` (whole seconds, rounded up; at most a week, the longest lease).
    #[must_use]
    pub fn retry_after(delay: Duration) -> Self {
        Self::Retry { after: delay }
    }

    /// [`Outcome::GiveUp`] with `reason`.
    #[must_use]
    pub fn give_up(reason: impl Into<String>) -> Self {
        Self::GiveUp {
            reason: reason.into(),
        }
    }

    /// The name the traces and reports use: `done`, `retry`, `give_up`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry { .. } => "retry",
            Self::GiveUp { .. } => "give_up",
        }
    }
}

/// Works on one leased task.
///
/// Any `Fn(Task, LeaseGuard) -> impl Future<Output = Outcome>` that is `Send + Sync + 'static` is a handler, so an
/// async closure or an `async fn` will do; implement the trait for handlers with state of their own.
///
/// The handler runs while the worker renews the lease. If the lease is lost (a renewal was refused, or transient
/// failures outlasted it), [`LeaseGuard::lost`] completes and the handler's future is dropped at its next await
/// point: another worker may already hold the task. Work started elsewhere (threads, child processes) should watch
/// [`LeaseGuard::lost`] and stop.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Works on `task` (as leased: `id`, `payload`, `tag`, `retry_count`) and says what to do with it.
    async fn handle(&self, task: Task, lease: LeaseGuard) -> Outcome;
}

#[async_trait]
impl<F, Fut> Handler for F
where
    F: Fn(Task, LeaseGuard) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    async fn handle(&self, task: Task, lease: LeaseGuard) -> Outcome {
        (self)(task, lease).await
    }
}
