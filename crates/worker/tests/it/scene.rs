//! The one setup of the virtual-time tests: a [`Scene`] is a virtual clock and the fake API on it, hands out worker
//! builders wired to both, and runs a worker to its end (drained, or stopped after a while by one or two shutdown
//! signals) while moving the clock. Also the handlers the tests share: [`by_payload`] and [`slow_handler`], which
//! notes in a [`Journal`] when it started, finished, saw its lease lost and was dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskqueue_clock::{Clock as _, SharedClock, VirtualClock};
use taskqueue_model::Task;
use taskqueue_worker::{
    DeadLetterFormat, Error, LeaseGuard, Outcome, RunReport, Worker, WorkerBuilder,
};

use crate::fake::{self, FakeApi, advance, dead_queue, drive, queue};

/// A virtual clock at the fake's epoch and the fake API on it.
pub(crate) struct Scene {
    pub(crate) clock: VirtualClock,
    pub(crate) api: FakeApi,
}

impl Scene {
    /// A scene whose fake has no transient errors to hand out.
    pub(crate) async fn new() -> Self {
        Self::with_transient_errors(0).await
    }

    /// A scene whose fake can fail `n` calls with a real transient error.
    pub(crate) async fn with_transient_errors(n: usize) -> Self {
        let clock = fake::clock();
        let api = FakeApi::new(&clock, n).await;
        Self { clock, api }
    }

    pub(crate) fn shared_clock(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    /// A worker on the fake's `work` queue, on the scene's clock, dead-lettering into `dead` as envelopes, with
    /// seeded jitter. The handler is still to be set.
    pub(crate) fn builder(&self) -> WorkerBuilder {
        Worker::builder(self.api.clone(), queue())
            .clock(self.shared_clock())
            .jitter_seed(11)
            .dead_letter_queue(dead_queue(), DeadLetterFormat::Envelope)
    }

    /// Runs `worker` until it stops by itself (`exit_when_empty`, or a lease error), moving the clock; fails the
    /// test after `limit` of virtual time.
    pub(crate) async fn run(&self, worker: &Worker, limit: Duration) -> Result<RunReport, Error> {
        let run = worker.clone();
        drive(&self.clock, limit, async move { run.run().await }).await
    }

    /// Runs `worker` for `before` of virtual time (in small steps), then sends `signals` shutdown requests and
    /// drives the run to its end; fails the test after `limit` of virtual time in all.
    pub(crate) async fn run_then_stop(
        &self,
        worker: &Worker,
        before: Duration,
        signals: usize,
        limit: Duration,
    ) -> Result<RunReport, Error> {
        let stop = worker.shutdown_handle();
        let run = worker.clone();
        let running = tokio::spawn(async move { run.run().await });
        advance(&self.clock, before).await;
        for _ in 0..signals {
            stop.shutdown();
        }
        drive(&self.clock, limit, async move {
            running.await.expect("the run did not panic")
        })
        .await
    }
}

/// The handler of the settlement tests: the payload says what to do.
pub(crate) async fn by_payload(task: Task, _lease: LeaseGuard) -> Outcome {
    match task
        .payload
        .as_ref()
        .map(|p| p.as_bytes().to_vec())
        .as_deref()
    {
        Some(b"ok") => Outcome::done(),
        Some(b"retry") => Outcome::retry(),
        Some(b"later") => Outcome::retry_after(Duration::from_secs(120)),
        _ => Outcome::give_up("bad input"),
    }
}

/// Records what happened to handlers, with the virtual time.
#[derive(Clone, Default)]
pub(crate) struct Journal(Arc<Mutex<Vec<(String, f64)>>>);

impl Journal {
    fn note(&self, clock: &VirtualClock, what: &str) {
        self.0
            .lock()
            .expect("journal lock")
            .push((what.to_owned(), clock.elapsed().as_secs_f64()));
    }

    /// When `what` first happened (seconds of virtual time).
    pub(crate) fn at(&self, what: &str) -> Option<f64> {
        self.0
            .lock()
            .expect("journal lock")
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, at)| *at)
    }
}

/// Notes `what` when dropped: shows a handler's future was dropped.
struct OnDrop(Journal, VirtualClock, &'static str);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.note(&self.1, self.2);
    }
}

type BoxedOutcome = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A handler that works `work` on `clock` and returns `outcome`, noting in `journal` its start ("started"), its end
/// ("finished"), its drop ("dropped") and its lease lost ("lost seen", from a task watching `LeaseGuard::lost`).
pub(crate) fn slow_handler(
    clock: &VirtualClock,
    journal: &Journal,
    work: Duration,
    outcome: Outcome,
) -> impl Fn(Task, LeaseGuard) -> BoxedOutcome + Send + Sync + 'static {
    let clock = clock.clone();
    let journal = journal.clone();
    move |_task, lease| {
        let clock = clock.clone();
        let journal = journal.clone();
        let outcome = outcome.clone();
        Box::pin(async move {
            journal.note(&clock, "started");
            let watcher_journal = journal.clone();
            let watcher_clock = clock.clone();
            let watcher_lease = lease.clone();
            tokio::spawn(async move {
                watcher_lease.lost().await;
                watcher_journal.note(&watcher_clock, "lost seen");
            });
            let _dropped = OnDrop(journal.clone(), clock.clone(), "dropped");
            clock.sleep(work).await;
            journal.note(&clock, "finished");
            outcome
        })
    }
}

/// The scene's virtual clock, with sleeps that end through a tokio channel, so that a sleep counts against tokio's
/// cooperative budget, as the system clock's timer does (the virtual clock's own sleeps do not).
#[derive(Debug)]
pub(crate) struct BudgetedClock(pub(crate) VirtualClock);

impl taskqueue_clock::Clock for BudgetedClock {
    fn now(&self) -> std::time::SystemTime {
        self.0.now()
    }

    fn monotonic(&self) -> Duration {
        self.0.monotonic()
    }

    fn sleep(&self, duration: Duration) -> taskqueue_clock::Sleep {
        let slept = self.0.sleep(duration);
        let (done, ended) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            slept.await;
            let _ = done.send(());
        });
        Box::pin(async move {
            let _ = ended.await;
        })
    }
}
