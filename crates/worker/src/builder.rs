//! [`WorkerBuilder`]: every setting of a worker, checked once in [`WorkerBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_client::{QueueRef, TaskQueueApi};
use taskqueue_clock::SharedClock;
use taskqueue_model::limits;

use crate::dead_letter::{DeadLetterHandler, DeadLetterSink};
use crate::pacing::{BackoffPolicy, LeaseRateLimit};
use crate::{DeadLetterFormat, Error, Handler, Worker};

/// Which tasks a worker leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TagFilter {
    /// Any task, oldest ETA first.
    Any,
    /// Only tasks sharing the tag of the oldest available one (`groupByTag`).
    Grouped,
    /// Only tasks with this tag.
    Tag(String),
}

/// A worker's settings, once checked.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) queue: QueueRef,
    pub(crate) lease_size: u32,
    pub(crate) lease_duration: Duration,
    pub(crate) concurrency: usize,
    pub(crate) prefetch: usize,
    pub(crate) tags: TagFilter,
    pub(crate) renew_fraction: f64,
    pub(crate) renewal_backoff: BackoffPolicy,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) dead_letters: DeadLetterSink,
    pub(crate) idle_backoff: BackoffPolicy,
    pub(crate) error_backoff: BackoffPolicy,
    pub(crate) lease_rate: Option<Arc<LeaseRateLimit>>,
    pub(crate) lease_batch_wait: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) exit_when_empty: bool,
    pub(crate) clock: SharedClock,
    pub(crate) jitter_seed: Option<u64>,
}

/// Builds a [`Worker`]; see [`Worker::builder`].
///
/// Defaults: leases of up to 10 tasks for 60 s, 10 handlers at a time and no prefetch, a 50 ms wait for a full
/// lease's worth of free slots while handlers run, any tag, renewal at half the lease, no attempt limit, idle
/// backoff from 1 s to 30 s, error backoff from 1 s to 60 s, at most 10 lease calls per second, 30 s to finish at
/// shutdown, the system clock. A dead-letter destination and a handler are required.
pub struct WorkerBuilder {
    api: Arc<dyn TaskQueueApi>,
    queue: QueueRef,
    handler: Option<Arc<dyn Handler>>,
    lease_size: u32,
    lease_duration: Duration,
    concurrency: usize,
    prefetch: usize,
    tags: TagFilter,
    renew_fraction: f64,
    max_attempts: Option<u32>,
    dead_letters: Option<DeadLetterSink>,
    idle_backoff: BackoffPolicy,
    error_backoff: BackoffPolicy,
    lease_rate: Option<Arc<LeaseRateLimit>>,
    lease_batch_wait: Duration,
    shutdown_timeout: Duration,
    exit_when_empty: bool,
    clock: Option<SharedClock>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("queue", &self.queue)
            .field("lease_size", &self.lease_size)
            .field("lease_duration", &self.lease_duration)
            .field("concurrency", &self.concurrency)
            .field("prefetch", &self.prefetch)
            .field("tags", &self.tags)
            .field("renew_fraction", &self.renew_fraction)
            .field("max_attempts", &self.max_attempts)
            .field("dead_letters", &self.dead_letters)
            .finish_non_exhaustive()
    }
}

impl WorkerBuilder {
    pub(crate) fn new(api: Arc<dyn TaskQueueApi>, queue: QueueRef) -> Self {
        Self {
            api,
            queue,
            handler: None,
            lease_size: 10,
            lease_duration: Duration::from_secs(60),
            concurrency: 10,
            prefetch: 0,
            tags: TagFilter::Any,
            renew_fraction: 0.5,
            max_attempts: None,
            dead_letters: None,
            idle_backoff: BackoffPolicy::new(Duration::from_secs(1), Duration::from_secs(30)),
            error_backoff: BackoffPolicy::new(Duration::from_secs(1), Duration::from_secs(60)),
            lease_rate: Some(Arc::new(LeaseRateLimit::per_second(10.0))),
            lease_batch_wait: Duration::from_millis(50),
            shutdown_timeout: Duration::from_secs(30),
            exit_when_empty: false,
            clock: None,
            jitter_seed: None,
        }
    }

    /// The handler that works on each task (required).
    #[must_use]
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// The most tasks one lease call asks for (1..=1000). The worker never asks for more than it has room for.
    #[must_use]
    pub fn lease_size(mut self, tasks: u32) -> Self {
        self.lease_size = tasks;
        self
    }

    /// How long each lease (and each renewal) lasts: whole seconds, rounded up, 1 s to a week.
    #[must_use]
    pub fn lease_duration(mut self, duration: Duration) -> Self {
        self.lease_duration = duration;
        self
    }

    /// The most handlers running at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, handlers: usize) -> Self {
        self.concurrency = handlers;
        self
    }

    /// How many tasks may wait leased for a free handler, beyond `concurrency` (default 0: lease only what can
    /// start at once). Their leases are renewed while they wait and released at shutdown.
    #[must_use]
    pub fn prefetch(mut self, tasks: usize) -> Self {
        self.prefetch = tasks;
        self
    }

    /// Leases only tasks tagged `tag`.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags = TagFilter::Tag(tag.into());
        self
    }

    /// Leases only tasks sharing the tag of the oldest available task (`groupByTag` without a tag).
    #[must_use]
    pub fn group_by_tag(mut self) -> Self {
        self.tags = TagFilter::Grouped;
        self
    }

    /// Renews the lease when this fraction of it has passed (strictly between 0 and 1; default 0.5).
    #[must_use]
    pub fn renew_at(mut self, fraction: f64) -> Self {
        self.renew_fraction = fraction;
        self
    }

    /// Dead-letters a task once it has been leased this many times (its `retry_count`) and still does not succeed,
    /// and at once if it comes back with a higher count (earlier workers lost it). At least 1.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Dead letters go into `queue` (through the same API), as `format` says.
    #[must_use]
    pub fn dead_letter_queue(mut self, queue: QueueRef, format: DeadLetterFormat) -> Self {
        self.dead_letters = Some(DeadLetterSink::Queue { queue, format });
        self
    }

    /// Dead letters go to `handler`; the task is deleted once it returns `Ok`.
    #[must_use]
    pub fn on_dead_letter(mut self, handler: impl DeadLetterHandler) -> Self {
        self.dead_letters = Some(DeadLetterSink::Callback(Arc::new(handler)));
        self
    }

    /// Dead letters are logged at error level and deleted. Data is lost: choose it knowingly.
    #[must_use]
    pub fn discard_dead_letters(mut self) -> Self {
        self.dead_letters = Some(DeadLetterSink::Discard);
        self
    }

    /// The backoff after an empty lease (default 1 s doubling to 30 s, jittered).
    #[must_use]
    pub fn idle_backoff(mut self, policy: BackoffPolicy) -> Self {
        self.idle_backoff = policy;
        self
    }

    /// The backoff after a failed lease call (default 1 s doubling to 60 s, jittered).
    #[must_use]
    pub fn error_backoff(mut self, policy: BackoffPolicy) -> Self {
        self.error_backoff = policy;
        self
    }

    /// At most `per_second` lease calls per second from this worker (default 10).
    #[must_use]
    pub fn max_lease_rate(mut self, per_second: f64) -> Self {
        self.lease_rate = Some(Arc::new(LeaseRateLimit::per_second(per_second)));
        self
    }

    /// Shares one lease-rate ceiling between several workers (of one queue, on one clock).
    #[must_use]
    pub fn lease_rate_limit(mut self, limit: Arc<LeaseRateLimit>) -> Self {
        self.lease_rate = Some(limit);
        self
    }

    /// No ceiling on lease calls (the backoffs still apply). For benchmarks and private servers.
    #[must_use]
    pub fn unlimited_lease_rate(mut self) -> Self {
        self.lease_rate = None;
        self
    }

    /// While handlers run and fewer slots are free than a lease may take (`lease_size`, at most
    /// `concurrency + prefetch`), how long the worker waits for more to free up before leasing what is free
    /// (default 50 ms; zero leases at once, however few slots are free). Fewer, fuller lease calls: each is a
    /// write, and the service limited them per queue. Fast handlers fill the batch within the wait, so the worker
    /// leases as seldom as a loop that leases a batch, settles it all and leases again.
    #[must_use]
    pub fn lease_batch_wait(mut self, wait: Duration) -> Self {
        self.lease_batch_wait = wait;
        self
    }

    /// How long running handlers may take to finish after a shutdown request (default 30 s); then they are stopped
    /// and their tasks released.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Stops once a lease comes back empty while no handler runs: drains the queue, for scripts and cron.
    #[must_use]
    pub fn exit_when_empty(mut self, exit: bool) -> Self {
        self.exit_when_empty = exit;
        self
    }

    /// The clock for renewals, backoffs and the shutdown deadline (default: the system clock). Give it the
    /// client's clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Draws the backoff jitter from a generator seeded with `seed` (reproducible tests).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Checks the settings and builds the worker. Spawns nothing: the work starts with [`Worker::run`].
    ///
    /// # Errors
    ///
    /// [`Error::is_configuration`]: no handler, no dead-letter destination, or a setting out of range.
    pub fn build(self) -> Result<Worker, Error> {
        let handler = self
            .handler
            .ok_or_else(|| Error::configuration("no handler: call WorkerBuilder::handler"))?;
        let dead_letters = self.dead_letters.ok_or_else(|| {
            Error::configuration(
                "no dead-letter destination: call dead_letter_queue, on_dead_letter or discard_dead_letters",
            )
        })?;
        if !(1..=limits::MAX_LEASE_TASKS).contains(&self.lease_size) {
            return Err(Error::configuration(format!(
                "lease_size must be 1..={}, not {}",
                limits::MAX_LEASE_TASKS,
                self.lease_size
            )));
        }
        let secs = self
            .lease_duration
            .as_secs()
            .saturating_add(u64::from(self.lease_duration.subsec_nanos() > 0));
        if !(1..=u64::from(limits::MAX_LEASE_SECONDS)).contains(&secs) {
            return Err(Error::configuration(format!(
                "lease_duration must be 1 s to {} s, not {:?}",
                limits::MAX_LEASE_SECONDS,
                self.lease_duration
            )));
        }
        if self.concurrency == 0 {
            return Err(Error::configuration("concurrency must be at least 1"));
        }
        if !(self.renew_fraction > 0.0 && self.renew_fraction < 1.0) {
            return Err(Error::configuration(format!(
                "renew_at must be strictly between 0 and 1, not {}",
                self.renew_fraction
            )));
        }
        if self.max_attempts == Some(0) {
            return Err(Error::configuration("max_attempts must be at least 1"));
        }
        if let TagFilter::Tag(tag) = &self.tags {
            taskqueue_model::validate::tag(tag).map_err(Error::configuration)?;
        }
        let lease_duration = Duration::from_secs(secs);
        // Transient renewal failures are retried well inside the lease: the first wait is at most a twentieth of
        // it, the longest a fifth.
        let renewal_backoff = BackoffPolicy::new(
            (lease_duration / 20).min(Duration::from_secs(1)),
            lease_duration / 5,
        );
        let config = Config {
            queue: self.queue,
            lease_size: self.lease_size,
            lease_duration,
            concurrency: self.concurrency,
            prefetch: self.prefetch,
            tags: self.tags,
            renew_fraction: self.renew_fraction,
            renewal_backoff,
            max_attempts: self.max_attempts,
            dead_letters,
            idle_backoff: self.idle_backoff,
            error_backoff: self.error_backoff,
            lease_rate: self.lease_rate,
            lease_batch_wait: self.lease_batch_wait,
            shutdown_timeout: self.shutdown_timeout,
            exit_when_empty: self.exit_when_empty,
            clock: self.clock.unwrap_or_else(taskqueue_clock::system),
            jitter_seed: self.jitter_seed,
        };
        Ok(Worker::from_parts(self.api, handler, config))
    }
}
