//! [`Worker`]: the lease loop, the shutdown sequence, and the handle that asks for it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use taskqueue_client::{LeaseTasksRequest, QueueRef, TaskQueueApi};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::builder::{Config, TagFilter};
use crate::pacing::Backoff;
use crate::settle::{Supervisor, TaskEnd};
use crate::stats::{Counters, add, bump};
use crate::{Error, Handler, WorkerBuilder, WorkerStats};

/// Where a worker is in its life: running, draining after a shutdown request, or stopping handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Running,
    Draining,
    Aborting,
}

/// Why [`Worker::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// A [`ShutdownHandle`] asked it to stop.
    Shutdown,
    /// `exit_when_empty`: a lease came back empty with no handler running.
    QueueEmpty,
}

/// What a run did, returned by [`Worker::run`] once every task it leased is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Why it stopped.
    pub reason: StopReason,
    /// Whether the shutdown deadline passed (or a second request came) with handlers still running; those were
    /// stopped and their tasks released (counted in `stats.aborted`).
    pub aborted: bool,
    /// The counters at the end (since the worker was built).
    pub stats: WorkerStats,
}

/// Asks a running worker to stop: the first [`ShutdownHandle::shutdown`] stops leasing, lets running handlers
/// finish within the shutdown timeout and releases tasks not yet started; a second one (or
/// [`ShutdownHandle::abort`]) stops the running handlers at once and releases their tasks.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    phase: watch::Sender<Phase>,
}

impl ShutdownHandle {
    /// The first call starts a graceful shutdown; the second aborts.
    pub fn shutdown(&self) {
        self.phase.send_modify(|phase| {
            *phase = match *phase {
                Phase::Running => Phase::Draining,
                Phase::Draining | Phase::Aborting => Phase::Aborting,
            };
        });
    }

    /// Stops the running handlers at once and releases their tasks.
    pub fn abort(&self) {
        self.phase.send_replace(Phase::Aborting);
    }

    /// Whether a shutdown was asked for.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        *self.phase.borrow() != Phase::Running
    }
}

/// Leases tasks from one queue and runs a [`Handler`] on each: renews the lease while the handler runs, deletes
/// the task when it is done, gives it back when it asks for a retry, dead-letters it when it gives up or runs out
/// of attempts, backs off when the queue is empty or the API fails, and stops cleanly.
///
/// Cheap to clone: clones share the counters and the shutdown state.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) api: Arc<dyn TaskQueueApi>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    pub(crate) phase: watch::Sender<Phase>,
    running: AtomicBool,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A builder for a worker on `queue`, calling the API through `api` (a `taskqueue_client::Client`, or any
    /// other [`TaskQueueApi`], such as a fake in tests).
    pub fn builder(api: impl TaskQueueApi + 'static, queue: QueueRef) -> WorkerBuilder {
        WorkerBuilder::new(Arc::new(api), queue)
    }

    /// [`Worker::builder`] with an API already shared.
    pub fn builder_shared(api: Arc<dyn TaskQueueApi>, queue: QueueRef) -> WorkerBuilder {
        WorkerBuilder::new(api, queue)
    }

    pub(crate) fn from_parts(
        api: Arc<dyn TaskQueueApi>,
        handler: Arc<dyn Handler>,
        config: Config,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                api,
                handler,
                config,
                counters: Counters::default(),
                phase: watch::Sender::new(Phase::Running),
                running: AtomicBool::new(false),
            }),
        }
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> WorkerStats {
        self.inner.counters.snapshot()
    }

    /// A handle that stops the worker (from a signal handler, another task, or the handler itself).
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            phase: self.inner.phase.clone(),
        }
    }

    /// Runs until a shutdown request (or, with `exit_when_empty`, until the queue is drained), then settles every
    /// task it holds and reports. Must be called within a tokio runtime; handlers run as tokio tasks.
    ///
    /// A failed lease call is retried with backoff when the error is transient; any other error (unknown queue,
    /// refused credentials, a denied scope or ACL) stops the worker gracefully and is returned.
    ///
    /// # Errors
    ///
    /// [`Error::is_already_running`] if another `run` of this worker has not returned;
    /// [`Error::api_error`] for the lease error that stopped it.
    pub async fn run(&self) -> Result<RunReport, Error> {
        if self.inner.running.swap(true, Ordering::SeqCst) {
            return Err(Error::already_running());
        }
        let result = self.run_once().await;
        // Ready to run again.
        self.inner.phase.send_replace(Phase::Running);
        self.inner.running.store(false, Ordering::SeqCst);
        result
    }

    async fn run_once(&self) -> Result<RunReport, Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let clock = config.clock.clone();
        let capacity = config.concurrency + config.prefetch;
        let slots = Arc::new(Semaphore::new(capacity));
        let handlers = Arc::new(Semaphore::new(config.concurrency));
        let mut tasks = JoinSet::new();
        let mut idle = Backoff::new(config.idle_backoff, config.jitter_seed);
        let mut errors = Backoff::new(config.error_backoff, config.jitter_seed.map(|s| !s));
        let mut phase = inner.phase.subscribe();
        let mut failure = None;
        let mut reason = StopReason::Shutdown;

        loop {
            while tasks.try_join_next().is_some() {}
            if *phase.borrow_and_update() != Phase::Running {
                break;
            }
            // Room for at least one task, then as many more as are free, up to the lease size.
            let first = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => permit.ok(),
                _ = phase.wait_for(|p| *p != Phase::Running) => None,
            };
            let Some(first) = first else { break };
            let mut permits = vec![first];
            let want = usize::try_from(config.lease_size).unwrap_or(usize::MAX);
            take_free(&slots, &mut permits, want);
            // While tasks run, a slot frees up at a time: wait a moment for a full batch rather than leasing
            // tasks one by one (each lease call is a write, and the service limits them). Fast handlers fill it
            // within the wait, so the worker makes as few lease calls as a loop that leases a batch, settles it
            // all and leases again; slow ones lease what is free when the wait ends.
            let min_batch = want.min(capacity);
            if permits.len() < min_batch && !tasks.is_empty() && !config.lease_batch_wait.is_zero()
            {
                let waited = clock.sleep(config.lease_batch_wait);
                tokio::pin!(waited);
                while permits.len() < min_batch {
                    tokio::select! {
                        permit = Arc::clone(&slots).acquire_owned() => match permit {
                            Ok(permit) => permits.push(permit),
                            Err(_) => break,
                        },
                        () = &mut waited => break,
                        _ = phase.wait_for(|p| *p != Phase::Running) => break,
                    }
                }
                take_free(&slots, &mut permits, want);
            }
            if let Some(rate) = &config.lease_rate {
                tokio::select! {
                    () = rate.acquire(clock.as_ref()) => {}
                    _ = phase.wait_for(|p| *p != Phase::Running) => break,
                }
            }
            let request = lease_request(config, permits.len());
            let sent_at = clock.monotonic();
            bump(&inner.counters.lease_calls);
            match inner.api.lease_tasks(request).await {
                Ok(leased) if leased.items.is_empty() => {
                    drop(permits);
                    bump(&inner.counters.empty_leases);
                    errors.reset();
                    while tasks.try_join_next().is_some() {}
                    if config.exit_when_empty && tasks.is_empty() {
                        reason = StopReason::QueueEmpty;
                        break;
                    }
                    let wait = idle.next_wait();
                    tracing::debug!(queue = %config.queue.queue, ?wait, "empty lease; backing off");
                    // Draining (`exit_when_empty`) with handlers still running: the queue is empty unless they
                    // give tasks back, so the next lease comes as soon as they have all finished (to stop, or to
                    // take back a retried task), or after the backoff, whichever is first. Without this the last
                    // batch of a drain would wait out a whole backoff after its handlers were done.
                    let settled = async {
                        if config.exit_when_empty {
                            while tasks.join_next().await.is_some() {}
                        } else {
                            std::future::pending::<()>().await;
                        }
                    };
                    tokio::select! {
                        () = clock.sleep(wait) => {}
                        () = settled => {}
                        _ = phase.wait_for(|p| *p != Phase::Running) => break,
                    }
                }
                Ok(leased) => {
                    idle.reset();
                    errors.reset();
                    add(&inner.counters.leased, leased.items.len() as u64);
                    let mut permits = permits.into_iter();
                    for task in leased.items {
                        let slot: Option<OwnedSemaphorePermit> = permits.next();
                        let supervisor = Supervisor::new(
                            Arc::clone(inner),
                            Arc::clone(&handlers),
                            task,
                            sent_at,
                            slot,
                        );
                        tasks.spawn(supervisor.run());
                    }
                }
                Err(error) if error.is_transient() => {
                    drop(permits);
                    bump(&inner.counters.lease_errors);
                    let wait = errors.next_wait();
                    tracing::warn!(queue = %config.queue.queue, %error, ?wait, "lease failed; backing off");
                    tokio::select! {
                        () = clock.sleep(wait) => {}
                        _ = phase.wait_for(|p| *p != Phase::Running) => break,
                    }
                }
                Err(error) => {
                    drop(permits);
                    bump(&inner.counters.lease_errors);
                    tracing::error!(queue = %config.queue.queue, %error, "lease failed; stopping");
                    failure = Some(error);
                    break;
                }
            }
        }

        // Drain: no more leases; tasks not started are released, running handlers get the shutdown timeout.
        inner.phase.send_if_modified(|phase| {
            let was_running = *phase == Phase::Running;
            if was_running {
                *phase = Phase::Draining;
            }
            was_running
        });
        let deadline = clock.sleep(config.shutdown_timeout);
        tokio::pin!(deadline);
        let mut aborted = *phase.borrow() == Phase::Aborting;
        loop {
            tokio::select! {
                joined = tasks.join_next() => {
                    match joined {
                        None => break,
                        Some(Ok(TaskEnd::Aborted)) => aborted = true,
                        Some(Ok(_)) => {}
                        Some(Err(join)) => {
                            tracing::error!(error = %join, "a task supervisor panicked");
                        }
                    }
                }
                () = &mut deadline, if !aborted => {
                    tracing::warn!(running = tasks.len(), "shutdown deadline passed; stopping the running handlers");
                    aborted = true;
                    inner.phase.send_replace(Phase::Aborting);
                }
                _ = phase.wait_for(|p| *p == Phase::Aborting), if !aborted => {
                    aborted = true;
                }
            }
        }
        let report = RunReport {
            reason,
            aborted,
            stats: self.stats(),
        };
        tracing::info!(queue = %config.queue.queue, ?report, "worker stopped");
        match failure {
            Some(error) => Err(Error::lease(&config.queue.queue, error)),
            None => Ok(report),
        }
    }
}

/// Takes free slots without waiting, up to `want` in all.
fn take_free(slots: &Arc<Semaphore>, permits: &mut Vec<OwnedSemaphorePermit>, want: usize) {
    while permits.len() < want {
        match Arc::clone(slots).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => break,
        }
    }
}

fn lease_request(config: &Config, tasks: usize) -> LeaseTasksRequest {
    let num = u32::try_from(tasks).unwrap_or(config.lease_size);
    let request = LeaseTasksRequest::new(config.queue.clone(), num, config.lease_duration);
    match &config.tags {
        TagFilter::Any => request,
        TagFilter::Grouped => request.group_by_tag(),
        TagFilter::Tag(tag) => request.with_tag(tag.clone()),
    }
}
