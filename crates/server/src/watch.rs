//! [`WatchedStore`]: the store every server serves through, a [`Store`] that forwards each operation to the real
//! one and watches what happens, so that neither the store trait nor its backends know about metrics or health:
//!
//! - it counts inserts, tasks leased, releases, deletes and lease expiries per queue ([`Metrics`]);
//! - it keeps a book of the leases it handed out (task name and lease expiry, per queue), which gives the number of
//!   leases held now and the exact count of leases that ran out, for leases made since the server started; the
//!   book holds one entry per task leased, and expired entries are swept on each scrape and at most a minute
//!   after they expire, as leases go on;
//! - it remembers the last write the store failed (insert, lease, lease change, delete, purge), which readiness
//!   reports ([`crate::health`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use taskqueue_clock::SharedClock;
use taskqueue_model::Timestamp;

use crate::metrics::Metrics;
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, PurgeReport, QueueStats, Store, StoreError,
    StoredTask,
};

/// The readiness probe's last result (`crate::health`): when it ran (monotonic), and its failure if it failed.
#[derive(Debug, Default)]
pub(crate) struct ProbeCache {
    pub(crate) last: Mutex<Option<(Duration, Option<&'static str>)>>,
}

/// How long expired entries may stay in the lease book while leases go on without a scrape.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// A write the store failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteFailure {
    /// When, on the server's monotonic clock.
    pub at: Duration,
    /// Whether the store said it is out of space.
    pub full: bool,
    /// The operation (`insert`, `lease`, `modify_lease`, `delete`, `purge`).
    pub operation: &'static str,
}

/// What the watcher keeps, shared by the store wrapper, `/metrics` and `/readyz`.
#[derive(Debug)]
pub struct StoreWatch {
    metrics: Arc<Metrics>,
    clock: SharedClock,
    book: Mutex<LeaseBook>,
    last_failure: Mutex<Option<WriteFailure>>,
}

/// The leases handed out and not yet deleted, released or seen expired: queue → task name → lease expiry. A
/// queue's map stays when it empties (queues are the configured ones), so its gauge goes back to 0.
#[derive(Debug, Default)]
struct LeaseBook {
    queues: HashMap<String, HashMap<String, Timestamp>>,
    last_sweep: Option<Timestamp>,
}

impl StoreWatch {
    /// A watcher counting into `metrics`, timing failures on `clock`.
    #[must_use]
    pub fn new(metrics: Arc<Metrics>, clock: SharedClock) -> Self {
        Self {
            metrics,
            clock,
            book: Mutex::new(LeaseBook::default()),
            last_failure: Mutex::new(None),
        }
    }

    /// The last write the store failed, if any.
    #[must_use]
    pub fn last_failure(&self) -> Option<WriteFailure> {
        lock(&self.last_failure).clone()
    }

    /// Sweeps the leases that ran out by `now` (counting them as expiries) and sets the leased-tasks gauges.
    pub fn refresh_leases(&self, now: Timestamp) {
        let mut book = lock(&self.book);
        self.sweep(&mut book, now);
        for (queue, leases) in &book.queues {
            self.metrics
                .queue_leased
                .with_label_values(&[queue.as_str()])
                .set(i64::try_from(leases.len()).unwrap_or(i64::MAX));
        }
    }

    fn sweep(&self, book: &mut LeaseBook, now: Timestamp) {
        for (queue, leases) in &mut book.queues {
            let before = leases.len();
            // A lease is held through its expiry instant (`eta >= now`), so it has run out once `eta < now`.
            leases.retain(|_, expiry| *expiry >= now);
            let expired = before - leases.len();
            if expired > 0 {
                self.metrics
                    .expired
                    .with_label_values(&[queue.as_str()])
                    .inc_by(expired as u64);
            }
        }
        book.last_sweep = Some(now);
    }

    /// Records the outcome of a write: a storage failure is remembered and counted.
    fn write<T>(&self, operation: &'static str, outcome: &Result<T, StoreError>) {
        let Err(error) = outcome else { return };
        if !error.is_storage() {
            return;
        }
        let full = error.is_storage_full();
        self.metrics
            .write_failures
            .with_label_values(&[if full { "full" } else { "failed" }])
            .inc();
        *lock(&self.last_failure) = Some(WriteFailure {
            at: self.clock.monotonic(),
            full,
            operation,
        });
    }

    fn leased(&self, queue: &str, tasks: &[StoredTask], now: Timestamp) {
        if tasks.is_empty() {
            return;
        }
        self.metrics
            .leased
            .with_label_values(&[queue])
            .inc_by(tasks.len() as u64);
        let mut book = lock(&self.book);
        let leases = book.queues.entry(queue.to_owned()).or_default();
        let mut expired = 0_u64;
        for task in tasks {
            if leases
                .insert(task.name.clone(), task.eta)
                .is_some_and(|previous| previous < now)
            {
                expired += 1;
            }
        }
        if expired > 0 {
            self.metrics
                .expired
                .with_label_values(&[queue])
                .inc_by(expired);
        }
        let due = book
            .last_sweep
            .is_none_or(|last| now.duration_since(last).unwrap_or_default() >= SWEEP_INTERVAL);
        if due {
            self.sweep(&mut book, now);
        }
    }

    fn lease_changed(&self, queue: &str, task: &StoredTask, new_lease_secs: u32) {
        let mut book = lock(&self.book);
        let leases = book.queues.entry(queue.to_owned()).or_default();
        if new_lease_secs == 0 {
            leases.remove(&task.name);
            self.metrics.released.with_label_values(&[queue]).inc();
        } else {
            leases.insert(task.name.clone(), task.eta);
        }
    }

    fn deleted(&self, queue: &str, name: &str, now: Timestamp) {
        self.metrics.deleted.with_label_values(&[queue]).inc();
        let mut book = lock(&self.book);
        let ran_out = book
            .queues
            .get_mut(queue)
            .and_then(|leases| leases.remove(name))
            .is_some_and(|expiry| expiry < now);
        if ran_out {
            self.metrics.expired.with_label_values(&[queue]).inc();
        }
    }
}

/// The data behind a lock, even if a thread panicked while holding it: the book and the last failure stay usable
/// (at worst a count is off by one), and the server keeps serving.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A store that forwards every operation to `inner` and reports to a [`StoreWatch`].
#[derive(Debug)]
pub struct WatchedStore {
    inner: Arc<dyn Store>,
    watch: Arc<StoreWatch>,
}

impl WatchedStore {
    /// Watches `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Store>, watch: Arc<StoreWatch>) -> Self {
        Self { inner, watch }
    }

    /// The store being watched, for probes that must not count as traffic.
    #[must_use]
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }
}

#[async_trait]
impl Store for WatchedStore {
    async fn insert(
        &self,
        queue: &str,
        task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let outcome = self.inner.insert(queue, task, now).await;
        self.watch.write("insert", &outcome);
        if outcome.is_ok() {
            self.watch
                .metrics
                .inserted
                .with_label_values(&[queue])
                .inc();
        }
        outcome
    }

    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError> {
        self.inner.get(queue, name, now).await
    }

    async fn list(
        &self,
        queue: &str,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        self.inner.list(queue, limit, now).await
    }

    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError> {
        let outcome = self.inner.delete(queue, name, now).await;
        self.watch.write("delete", &outcome);
        if outcome.is_ok() {
            self.watch.deleted(queue, name, now);
        }
        outcome
    }

    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let outcome = self.inner.lease(queue, request, max_leases, now).await;
        self.watch.write("lease", &outcome);
        if let Ok(tasks) = &outcome {
            self.watch.leased(queue, tasks, now);
        }
        outcome
    }

    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let outcome = self
            .inner
            .modify_lease(queue, name, proof, new_lease_secs, now)
            .await;
        self.watch.write("modify_lease", &outcome);
        if let Ok(task) = &outcome {
            self.watch.lease_changed(queue, task, new_lease_secs);
        }
        outcome
    }

    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError> {
        self.inner.stats(queue, now).await
    }

    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError> {
        let outcome = self.inner.purge(now, limit).await;
        self.watch.write("purge", &outcome);
        outcome
    }

    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        let outcome = self.inner.save_token(token).await;
        self.watch.write("save_token", &outcome);
        outcome
    }

    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError> {
        self.inner.find_token(digest).await
    }
}
