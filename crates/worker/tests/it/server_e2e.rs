//! End to end against the reference server, served on 127.0.0.1 in virtual time: 8 workers with 16 handlers each
//! drain 10,000 tasks, 5% of them failing on purpose and 1% outliving their lease, and every task is done exactly
//! once or dead-lettered after `max_attempts`, none is lost, and none runs on two workers at once.
//!
//! Everything (server, clients, workers, the test) runs on one current-thread runtime, so when the test runs, every
//! other task is parked: on a socket (an API call in flight, which the `Counted` wrapper counts) or on the virtual
//! clock. The test moves the clock to the next pending sleep only when no call is in flight; time never moves under
//! a request, as it would with real time, and no test waits for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use std::time::Duration;
use tokio::sync::Notify;

use async_trait::async_trait;
use taskqueue_auth::{AccessToken, Scope, ScopeSet, StaticTokenProvider};
use taskqueue_client::{
    Client, DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, ListTasksRequest, ModifyLeaseRequest, QueueRef, TaskQueueApi,
};
use taskqueue_clock::{Clock as _, SharedClock, VirtualClock};
use taskqueue_model::{Task, TaskQueue, Tasks, Tasks2, Timestamp};
use taskqueue_server::config::QueueDef;
use taskqueue_server::serve::{self, ClockMode, RunningServer};
use taskqueue_server::{NewTask, ServerConfig, SqliteOptions, SqliteStore, Synchronous};
use taskqueue_worker::{BackoffPolicy, DeadLetterFormat, LeaseGuard, Outcome, Worker};

const PROJECT: &str = "e2e-project";
const QUEUE: &str = "work";
const DEAD: &str = "dead";
const EMAIL: &str = "worker@e2e-project.iam.gserviceaccount.com";

/// The server on a SQLite store in `dir` (its indexes keep each lease cheap with 10,000 tasks queued; the memory
/// store scans the queue on every lease). `Synchronous::Normal`: durability is not what this test checks.
async fn server(dir: &tempfile::TempDir) -> RunningServer {
    let mut config = ServerConfig::new(PROJECT);
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.queues.insert(QueueDef::new(QUEUE));
    config.queues.insert(QueueDef::new(DEAD));
    let store = SqliteStore::open_with(
        dir.path().join("tasks.db"),
        config.store.clone(),
        SqliteOptions::default().with_synchronous(Synchronous::Normal),
    )
    .expect("the store opens");
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
    serve::start_with_store(config, Arc::new(store), ClockMode::Virtual { start })
        .await
        .expect("the server starts")
}

fn queue(name: &str) -> QueueRef {
    QueueRef::new(format!("s~{PROJECT}"), name)
}

/// A client of `server` on the server's clock, with a token the server issued.
async fn client(server: &RunningServer) -> Client {
    let state = server.state();
    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let token = state
        .tokens
        .issue(
            EMAIL,
            scopes.clone(),
            Duration::from_secs(30 * 86_400),
            state.now(),
        )
        .await
        .expect("the store saves the token");
    let clock: SharedClock = server.virtual_clock().expect("virtual time").clone();
    Client::builder()
        .base_url(server.api_base_url())
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new(token))))
        .scopes(scopes)
        .clock(clock)
        .build()
        .expect("a client")
}

/// A `TaskQueueApi` that counts the calls in flight, so the test knows when nothing waits on a socket.
#[derive(Clone)]
struct Counted {
    client: Client,
    in_flight: Arc<Calls>,
}

/// The calls in flight, and a signal when there are none.
#[derive(Default)]
struct Calls {
    count: AtomicUsize,
    none: Notify,
}

impl Calls {
    /// Waits until no call is in flight.
    async fn none_in_flight(&self) {
        loop {
            let none = self.none.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            none.await;
        }
    }
}

/// Counts one call in flight until dropped (a call abandoned half way is dropped too).
struct InFlight(Arc<Calls>);

impl InFlight {
    fn new(calls: &Arc<Calls>) -> Self {
        calls.count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(calls))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.none.notify_waiters();
        }
    }
}

#[async_trait]
impl TaskQueueApi for Counted {
    async fn get_queue(&self, request: GetQueueRequest) -> Result<TaskQueue, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.get_queue(request).await
    }
    async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.insert_task(request).await
    }
    async fn get_task(&self, request: GetTaskRequest) -> Result<Task, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.get_task(request).await
    }
    async fn list_tasks(&self, request: ListTasksRequest) -> Result<Tasks2, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.list_tasks(request).await
    }
    async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.lease_tasks(request).await
    }
    async fn update_task(&self, request: ModifyLeaseRequest) -> Result<Task, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.update_task(request).await
    }
    async fn patch_task(&self, request: ModifyLeaseRequest) -> Result<Task, Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.patch_task(request).await
    }
    async fn delete_task(&self, request: DeleteTaskRequest) -> Result<(), Error> {
        let _call = InFlight::new(&self.in_flight);
        self.client.delete_task(request).await
    }
}

/// What happened to each task, by its payload.
#[derive(Default)]
struct Ledger {
    /// payload -> (runs, times it returned done, running now)
    tasks: HashMap<String, (u32, u32, bool)>,
    /// Payloads that started while another worker ran them.
    overlaps: Vec<String>,
}

/// Marks a run over when the handler returns or is dropped.
struct Running(Arc<Mutex<Ledger>>, String);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(entry) = self.0.lock().expect("ledger").tasks.get_mut(&self.1) {
            entry.2 = false;
        }
    }
}

/// The kinds of task, by number: 2.5% always fail (dead-lettered after 3 attempts), 2.5% fail twice then succeed,
/// 1% work 2.5 times the lease, the rest work 0 to 3 s.
fn kind(n: u32) -> &'static str {
    match (n % 40, n % 100) {
        (0, _) => "fail",
        (20, _) => "flaky",
        (_, 7) => "outlive",
        _ => "ok",
    }
}

const TASKS: u32 = 10_000;
const WORKERS: usize = 8;
const CONCURRENCY: usize = 16;
const LEASE: Duration = Duration::from_secs(10);
const MAX_ATTEMPTS: u32 = 3;

fn handler(
    clock: VirtualClock,
    ledger: Arc<Mutex<Ledger>>,
) -> impl Fn(Task, LeaseGuard) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>
+ Send
+ Sync
+ 'static {
    move |task: Task, lease: LeaseGuard| {
        let clock = clock.clone();
        let ledger = Arc::clone(&ledger);
        Box::pin(async move {
            let payload =
                String::from_utf8(task.payload.expect("a payload").into_bytes()).expect("UTF-8");
            {
                let mut ledger = ledger.lock().expect("ledger");
                let entry = ledger.tasks.entry(payload.clone()).or_default();
                entry.0 += 1;
                let overlap = entry.2;
                entry.2 = true;
                if overlap {
                    ledger.overlaps.push(payload.clone());
                }
            }
            let running = Running(Arc::clone(&ledger), payload.clone());
            let (kind, n) = payload.split_once(':').expect("kind:n");
            let n: u64 = n.parse().expect("a number");
            let outcome = match kind {
                "fail" => Outcome::retry(),
                "flaky" if lease.retry_count() < 3 => Outcome::retry(),
                "outlive" => {
                    clock.sleep(LEASE * 5 / 2).await;
                    Outcome::done()
                }
                _ => {
                    clock.sleep(Duration::from_secs(n % 4)).await;
                    Outcome::done()
                }
            };
            if outcome == Outcome::Done {
                ledger
                    .lock()
                    .expect("ledger")
                    .tasks
                    .get_mut(&payload)
                    .expect("entry")
                    .1 += 1;
            }
            drop(running);
            outcome
        })
    }
}

/// Lets every ready task run until no API call is in flight, and none starts while the ready tasks run on.
async fn quiesce(calls: &Calls) {
    loop {
        calls.none_in_flight().await;
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        if calls.count.load(Ordering::SeqCst) == 0 {
            return;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn eight_workers_drain_ten_thousand_tasks_exactly_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = server(&dir).await;
    let clock: VirtualClock = (**server.virtual_clock().expect("virtual time")).clone();
    let store = Arc::clone(&server.state().store);
    let now = Timestamp::from_system_time(clock.now());
    // Straight into the store, concurrently, so the writer commits them in large groups.
    let mut inserts = tokio::task::JoinSet::new();
    for n in 0..TASKS {
        let store = Arc::clone(&store);
        inserts.spawn(async move {
            store
                .insert(QUEUE, NewTask::new(format!("{}:{n}", kind(n))), now)
                .await
                .expect("insert");
        });
    }
    while inserts.join_next().await.is_some() {}
    clock.advance(Duration::from_secs(1));

    let in_flight = Arc::new(Calls::default());
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut workers = Vec::new();
    let mut runs = Vec::new();
    for seed in 0..WORKERS {
        let api = Counted {
            client: client(&server).await,
            in_flight: Arc::clone(&in_flight),
        };
        let worker = Worker::builder(api, queue(QUEUE))
            .clock(Arc::new(clock.clone()))
            .jitter_seed(seed as u64)
            .lease_size(16)
            .concurrency(CONCURRENCY)
            // Handlers end at whole seconds, so with the default 50 ms each lease call found only the one or two
            // slots freed since the last (6,766 calls for 11,000 tasks, most of the test's time); waiting up to
            // 1 s of virtual time for more free slots takes far fewer.
            .lease_batch_wait(Duration::from_secs(1))
            .lease_duration(LEASE)
            .max_attempts(MAX_ATTEMPTS)
            .dead_letter_queue(queue(DEAD), DeadLetterFormat::Envelope)
            .idle_backoff(BackoffPolicy::new(
                Duration::from_millis(200),
                Duration::from_secs(2),
            ))
            .exit_when_empty(true)
            .handler(handler(clock.clone(), Arc::clone(&ledger)))
            .build()
            .expect("a worker");
        let run = worker.clone();
        runs.push(tokio::spawn(async move { run.run().await }));
        workers.push(worker);
    }

    let limit = Duration::from_secs(3600);
    let mut steps = 0_u64;
    while runs.iter().any(|run| !run.is_finished()) {
        quiesce(&in_flight).await;
        if runs.iter().all(|run| run.is_finished()) {
            break;
        }
        assert!(
            clock.elapsed() <= limit,
            "still draining after {:?}",
            clock.elapsed()
        );
        // Wake everything due within the next 50 ms at once: fewer, fuller steps, at most 50 ms late.
        clock.advance_to_next_sleeper();
        clock.advance(Duration::from_millis(50));
        steps += 1;
    }
    let mut total = taskqueue_worker::WorkerStats::default();
    for run in runs {
        let report = run.await.expect("no panic").expect("the worker ran");
        let stats = report.stats;
        total.done += stats.done;
        total.dead_lettered += stats.dead_lettered;
        total.lost_leases += stats.lost_leases;
        total.renewals += stats.renewals;
        total.settle_errors += stats.settle_errors;
        total.started += stats.started;
        total.lease_calls += stats.lease_calls;
        total.leased += stats.leased;
        total.retried += stats.retried;
    }

    // Nothing is left in the work queue.
    let now = Timestamp::from_system_time(clock.now());
    assert_eq!(store.stats(QUEUE, now).await.expect("stats").total_tasks, 0);

    // Every task ran, none on two workers at once; done exactly once, or failed MAX_ATTEMPTS times.
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(
        ledger.overlaps.is_empty(),
        "ran on two workers at once: {:?}",
        ledger.overlaps
    );
    assert_eq!(ledger.tasks.len(), TASKS as usize, "tasks never run");
    let mut failed = Vec::new();
    for n in 0..TASKS {
        let key = format!("{}:{n}", kind(n));
        let (runs, done, _) = ledger.tasks[&key];
        match kind(n) {
            "fail" => {
                assert_eq!((runs, done), (MAX_ATTEMPTS, 0), "{key}");
                failed.push(key);
            }
            "flaky" => assert_eq!((runs, done), (3, 1), "{key}"),
            _ => assert_eq!((runs, done), (1, 1), "{key}"),
        }
    }

    // Every always-failing task is in the dead-letter queue, once, with its payload and the reason.
    let letters = client(&server)
        .await
        .lease_tasks(LeaseTasksRequest::new(
            queue(DEAD),
            1000,
            Duration::from_secs(60),
        ))
        .await
        .expect("lease the dead letters");
    let mut dead: Vec<String> = letters
        .items
        .iter()
        .map(|letter| {
            let envelope: serde_json::Value =
                serde_json::from_slice(letter.payload.as_ref().expect("payload").as_bytes())
                    .expect("an envelope");
            assert!(
                envelope["reason"]
                    .as_str()
                    .expect("reason")
                    .contains("after 3 attempts"),
                "{envelope}"
            );
            let original = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE,
                envelope["payloadBase64"].as_str().expect("payload"),
            )
            .expect("base64");
            String::from_utf8(original).expect("UTF-8")
        })
        .collect();
    dead.sort();
    failed.sort();
    assert_eq!(dead, failed);

    let outlived = (0..TASKS).filter(|n| kind(*n) == "outlive").count() as u64;
    assert_eq!(total.done, u64::from(TASKS) - failed.len() as u64);
    assert_eq!(total.dead_lettered, failed.len() as u64);
    assert_eq!(total.lost_leases, 0);
    assert_eq!(total.settle_errors, 0);
    assert!(
        total.renewals >= outlived * 2,
        "{} renewals",
        total.renewals
    );
    eprintln!(
        "drained {TASKS} tasks in {:?} of virtual time and {steps} steps: {total:?}",
        clock.elapsed()
    );
}
