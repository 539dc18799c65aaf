//! One leased task from lease to settlement: the [`Supervisor`] waits for a free handler (releasing the task if
//! the worker shuts down first), runs the handler while [`keep_alive`] renews the lease, and settles the outcome:
//! delete, release, or dead letter then delete.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_client::{DeleteTaskRequest, LeasedTask, UpdateTaskRequest};
use taskqueue_model::{Task, limits};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument as _;

use crate::dead_letter::{self, DeadLetter};
use crate::guard::LeaseState;
use crate::pacing::Backoff;
use crate::stats::bump;
use crate::worker::{Inner, Phase};
use crate::{LeaseGuard, Outcome};

/// How a task left the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    Done,
    Retried,
    DeadLettered,
    LostLease,
    ReleasedUnstarted,
    Aborted,
    /// Settling failed (delete, release or dead letter); the lease will run out and the task come back.
    Unsettled,
}

/// How the renewal loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeepAlive {
    /// Asked to stop: the lease is still held.
    Stopped,
    /// The lease is lost.
    Lost,
}

pub(crate) struct Supervisor {
    inner: Arc<Inner>,
    handlers: Arc<Semaphore>,
    task: Task,
    leased_at: Duration,
    /// The worker's slot this task takes, freed when the supervision ends.
    _slot: Option<OwnedSemaphorePermit>,
}

impl Supervisor {
    /// `leased_at`: the monotonic time the lease call was sent, from which the lease runs.
    pub(crate) fn new(
        inner: Arc<Inner>,
        handlers: Arc<Semaphore>,
        task: Task,
        leased_at: Duration,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Self {
        Self {
            inner,
            handlers,
            task,
            leased_at,
            _slot: slot,
        }
    }

    /// The supervision, in its task's span. Not an `async fn`: the span is made here, so the future returned does
    /// not also hold a copy of `self` beside the one its supervision holds (the spawned future stays small).
    pub(crate) fn run(self) -> impl std::future::Future<Output = TaskEnd> + Send {
        let retry_count = self
            .task
            .retry_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let span = tracing::info_span!(
            "task",
            queue = %self.inner.config.queue.queue,
            id = self.task.id.as_deref().unwrap_or(""),
            retry_count,
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        self.supervise(retry_count).instrument(span)
    }

    /// Every task's future is as big as this one: the dead-letter path, rare and the largest, is boxed where it
    /// is awaited, so that the others do not carry its size.
    async fn supervise(self, retry_count: u32) -> TaskEnd {
        let inner = &self.inner;
        let config = &inner.config;
        let Some(lease) = LeasedTask::from_task(&self.task) else {
            // Not a lease the API can renew or release; it runs out by itself.
            tracing::error!("a leased task came without its id or leaseTimestamp; skipped");
            bump(&inner.counters.settle_errors);
            return TaskEnd::Unsettled;
        };
        let state = LeaseState::new(
            config.clock.clone(),
            lease,
            retry_count,
            self.leased_at + config.lease_duration,
        );
        if let Some(max) = config.max_attempts.filter(|max| retry_count > *max) {
            let reason = format!(
                "leased {retry_count} times, more than max_attempts ({max}): earlier attempts lost their lease"
            );
            return Box::pin(self.dead_letter(&state, reason)).await;
        }

        let mut renewal = Renewal::new(inner, &state);
        let mut phase = inner.phase.subscribe();

        // Wait for a free handler, renewing the lease meanwhile. (`biased`: a free handler is taken without ever
        // starting the renewal loop.)
        let permit = tokio::select! {
            biased;
            _ = phase.wait_for(|p| *p != Phase::Running) => None,
            permit = Arc::clone(&self.handlers).acquire_owned() => permit.ok(),
            () = renewal.lost() => return self.lost(),
        };
        let Some(_permit) = permit else {
            if renewal.finish().await == KeepAlive::Lost {
                return self.lost();
            }
            let end = self.release(&state, Duration::ZERO).await;
            if end == TaskEnd::Retried {
                bump(&inner.counters.released_unstarted);
                record("released_unstarted");
                return TaskEnd::ReleasedUnstarted;
            }
            return end;
        };

        bump(&inner.counters.started);
        let started = config.clock.monotonic();
        let guard = LeaseGuard::new(Arc::clone(&state));
        let handler = Arc::clone(&inner.handler);
        let work = handler.handle(self.task.clone(), guard);
        // The handler first: one that finishes at its first poll never starts the renewal loop.
        let outcome = tokio::select! {
            biased;
            outcome = work => Some(outcome),
            () = renewal.lost() => return self.lost(),
            _ = phase.wait_for(|p| *p == Phase::Aborting) => None,
        };
        let elapsed = config.clock.monotonic().saturating_sub(started);
        tracing::Span::current().record("duration_ms", elapsed.as_millis() as u64);
        if renewal.finish().await == KeepAlive::Lost {
            return self.lost();
        }
        let Some(outcome) = outcome else {
            bump(&inner.counters.aborted);
            let _ = self.release(&state, Duration::ZERO).await;
            record("aborted");
            return TaskEnd::Aborted;
        };
        match outcome {
            Outcome::Done => self.delete(&state).await,
            Outcome::Retry { after } => match config.max_attempts {
                Some(max) if retry_count >= max => {
                    let reason =
                        format!("still failing after {retry_count} attempts (max_attempts {max})");
                    Box::pin(self.dead_letter(&state, reason)).await
                }
                _ => self.release(&state, after).await,
            },
            Outcome::GiveUp { reason } => Box::pin(self.dead_letter(&state, reason)).await,
        }
    }

    fn lost(&self) -> TaskEnd {
        record("lost_lease");
        TaskEnd::LostLease
    }

    async fn delete(&self, state: &LeaseState) -> TaskEnd {
        if self.remove(state).await {
            bump(&self.inner.counters.done);
            record("done");
            TaskEnd::Done
        } else {
            TaskEnd::Unsettled
        }
    }

    /// Deletes the task; whether it is gone.
    async fn remove(&self, state: &LeaseState) -> bool {
        let inner = &self.inner;
        let request = DeleteTaskRequest::new(inner.config.queue.clone(), state.lease().id);
        match inner.api.delete_task(request).await {
            Ok(()) => true,
            Err(error) if error.is_not_found() => {
                // A retried delete whose first attempt succeeded: gone either way.
                tracing::debug!(%error, "the task was already deleted");
                true
            }
            Err(error) => {
                tracing::error!(%error, "delete failed; the task comes back when its lease runs out");
                bump(&inner.counters.settle_errors);
                record("unsettled");
                false
            }
        }
    }

    /// Gives the task back: available again after `after` (at once for zero).
    async fn release(&self, state: &LeaseState, after: Duration) -> TaskEnd {
        let inner = &self.inner;
        let secs = after
            .as_secs()
            .saturating_add(u64::from(after.subsec_nanos() > 0))
            .min(u64::from(limits::MAX_LEASE_SECONDS));
        let secs = u32::try_from(secs).unwrap_or(limits::MAX_LEASE_SECONDS);
        let request = UpdateTaskRequest::new(
            inner.config.queue.clone(),
            state.lease(),
            Duration::from_secs(u64::from(secs)),
        );
        match inner.api.update_task(request).await {
            Ok(_) => {
                bump(&inner.counters.retried);
                record("retry");
                TaskEnd::Retried
            }
            Err(error) => {
                tracing::warn!(%error, "release failed; the task comes back when its lease runs out");
                bump(&inner.counters.settle_errors);
                record("unsettled");
                TaskEnd::Unsettled
            }
        }
    }

    /// Stores the dead letter, then deletes the task; never deletes a task whose dead letter was not stored.
    async fn dead_letter(&self, state: &LeaseState, reason: String) -> TaskEnd {
        let inner = &self.inner;
        let letter = DeadLetter {
            queue: inner.config.queue.clone(),
            task: self.task.clone(),
            reason,
        };
        tracing::warn!(reason = %letter.reason, "dead-lettering the task");
        if let Err(error) =
            dead_letter::store(inner.api.as_ref(), &inner.config.dead_letters, letter).await
        {
            tracing::error!(%error, "storing the dead letter failed; the task stays and comes back");
            bump(&inner.counters.settle_errors);
            record("unsettled");
            return TaskEnd::Unsettled;
        }
        if !self.remove(state).await {
            return TaskEnd::Unsettled;
        }
        bump(&inner.counters.dead_lettered);
        record("dead_letter");
        TaskEnd::DeadLettered
    }
}

fn record(outcome: &'static str) {
    tracing::Span::current().record("outcome", outcome);
}

/// The renewal loop of one lease ([`keep_alive`]), started the first time it is polled: a task whose handler is
/// free and finishes at its first poll (the common case for short handlers) never sets up the loop, its stop
/// channel or its timer. The loop runs on the lease's own deadline, so starting it late renews just as early.
struct Renewal<'a> {
    inner: &'a Inner,
    state: &'a LeaseState,
    running: Option<RunningRenewal<'a>>,
}

struct RunningRenewal<'a> {
    stop: watch::Sender<bool>,
    keep: Pin<Box<dyn Future<Output = KeepAlive> + Send + 'a>>,
}

impl<'a> Renewal<'a> {
    fn new(inner: &'a Inner, state: &'a LeaseState) -> Self {
        Self {
            inner,
            state,
            running: None,
        }
    }

    /// Completes when the lease is lost; renews it meanwhile (starting the loop on the first poll).
    fn lost(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            let (inner, state) = (self.inner, self.state);
            let running = self.running.get_or_insert_with(|| {
                let (stop, stop_rx) = watch::channel(false);
                RunningRenewal {
                    stop,
                    // Outside tokio's cooperative budget: a handler that spends the task's whole budget at every
                    // poll (draining a busy channel) would otherwise leave the renewal's timer and call pending
                    // for as long as it runs, and the lease would run out unrenewed.
                    keep: Box::pin(tokio::task::unconstrained(keep_alive(
                        inner, state, stop_rx,
                    ))),
                }
            });
            // The loop ends by itself only when the lease is lost; `finish` is what stops it otherwise.
            running.keep.as_mut().poll(cx).map(|_| ())
        })
    }

    /// Stops the loop, if it started, and waits for it (it finishes a renewal in flight, so the lease it reports
    /// is current). The lease is lost if its deadline has passed meanwhile: a handler that held the thread past
    /// it (blocking work in a poll) never let the loop run, and another worker may hold the task by now.
    async fn finish(&mut self) -> KeepAlive {
        let ended = match self.running.as_mut() {
            None => KeepAlive::Stopped,
            Some(running) => {
                let _ = running.stop.send(true);
                running.keep.as_mut().await
            }
        };
        if ended == KeepAlive::Stopped
            && self.state.deadline() <= self.inner.config.clock.monotonic()
        {
            return lose(
                self.inner,
                self.state,
                "the lease ran out before the handler finished",
            );
        }
        ended
    }
}

/// Renews the lease each time `renew_at` of it has passed, until stopped or the lease is lost. A transient failure
/// is retried with backoff while the lease lasts; a refusal, or running out of time, loses it.
async fn keep_alive(
    inner: &Inner,
    state: &LeaseState,
    mut stop: watch::Receiver<bool>,
) -> KeepAlive {
    let config = &inner.config;
    let clock = config.clock.clone();
    let mut backoff = Backoff::new(config.renewal_backoff, config.jitter_seed);
    let renew_after = config.lease_duration.mul_f64(config.renew_fraction);
    let margin = config.lease_duration.saturating_sub(renew_after);
    loop {
        // Stopped (while a renewal was in flight): no timer to set up.
        if *stop.borrow_and_update() {
            return KeepAlive::Stopped;
        }
        // Sleep until the remaining lease is down to `margin`.
        let wait = state
            .deadline()
            .saturating_sub(margin)
            .saturating_sub(clock.monotonic());
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => return KeepAlive::Stopped,
            () = clock.sleep(wait) => {}
        }
        backoff.reset();
        loop {
            let sent_at = clock.monotonic();
            let remaining = state.deadline().saturating_sub(sent_at);
            if remaining.is_zero() {
                return lose(inner, state, "the lease ran out while renewals failed");
            }
            let request =
                UpdateTaskRequest::new(config.queue.clone(), state.lease(), config.lease_duration)
                    .with_retry(false);
            let answer = tokio::select! {
                answer = inner.api.update_task(request) => Some(answer),
                () = clock.sleep(remaining) => None,
            };
            match answer {
                None => {
                    return lose(
                        inner,
                        state,
                        "the lease ran out while a renewal was pending",
                    );
                }
                Some(Ok(task)) => {
                    let mut lease = state.lease();
                    if let Some(timestamp) = task.lease_timestamp {
                        lease.lease_timestamp = timestamp;
                    }
                    state.renewed(lease, sent_at + config.lease_duration);
                    bump(&inner.counters.renewals);
                    tracing::debug!("lease renewed");
                    break;
                }
                Some(Err(error)) if error.is_transient() => {
                    bump(&inner.counters.renewal_errors);
                    let wait = backoff.next_wait().min(remaining);
                    tracing::warn!(%error, ?wait, "renewal failed; retrying within the lease");
                    // Keep trying even if the handler finishes meanwhile: the settlement needs a current lease.
                    clock.sleep(wait).await;
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "renewal refused");
                    return lose(inner, state, "the renewal was refused");
                }
            }
        }
    }
}

fn lose(inner: &Inner, state: &LeaseState, why: &'static str) -> KeepAlive {
    if state.mark_lost() {
        bump(&inner.counters.lost_leases);
        tracing::warn!(why, "lease lost; stopping the handler");
    }
    KeepAlive::Lost
}
