//! Tasks per second through [`taskqueue_worker::Worker`] with a no-op handler, beside the raw loop a user would
//! write with the client (lease a batch, delete every task of it concurrently, repeat), against the reference
//! server in the same process, in the same run. Goal: the worker at least 0.9× the raw loop.
//!
//! Run it with `cargo xtask bench worker` (or `cargo bench -p taskqueue-worker --bench worker`). `BENCH_ROUNDS`
//! (default 10) and `BENCH_TASKS` (default 2000) set the rounds and the tasks drained per side per round;
//! `BENCH_BATCH` (default 100) is the lease size of both sides and the worker's concurrency. Without `--bench` on
//! the command line (as under `cargo test --benches`) it only runs a smoke check: one small round per side.
//!
//! Method: the reference server (memory store, system clock) and both sides run on one current-thread runtime, as
//! in the client's benchmark, so cross-CPU wake-ups do not blur the comparison. Each round fills the queue with
//! the same number of tasks straight through the store, then drains it with one side, fills it again and drains it
//! with the other (the order alternates by round). A side is done when a lease comes back empty; every task must
//! have been deleted (the queue's count is checked after each drain). The worker runs with the lease-rate ceiling
//! off (the raw loop has none) and `exit_when_empty`. The report gives each side's median tasks/s over the rounds
//! (with p10 and p90), the ratio of the medians, and the median of the per-round ratios.

// A benchmark report program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::env;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{AccessToken, Scope, ScopeSet, StaticTokenProvider};
use taskqueue_client::{Client, DeleteTaskRequest, LeaseTasksRequest, QueueRef};
use taskqueue_model::{Task, TaskName, Timestamp};
use taskqueue_server::config::QueueDef;
use taskqueue_server::serve::{self, ClockMode, RunningServer};
use taskqueue_server::{NewTask, ServerConfig};
use taskqueue_worker::{LeaseGuard, Outcome, Worker};

type BoxError = Box<dyn Error + Send + Sync>;

const PROJECT: &str = "bench-project";
const QUEUE: &str = "bench";

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let full = env::args().skip(1).any(|arg| arg == "--bench");
    runtime.block_on(run(full))
}

async fn run(full: bool) -> Result<(), BoxError> {
    let (rounds, tasks, batch) = if full {
        (
            env_count("BENCH_ROUNDS", 10)?,
            env_count("BENCH_TASKS", 2000)?,
            env_count("BENCH_BATCH", 100)?,
        )
    } else {
        (1, 50, 10)
    };
    let batch = u32::try_from(batch.min(1000))?;
    let mut config = ServerConfig::new(PROJECT);
    config.listen = "127.0.0.1:0".parse()?;
    config.queues.insert(QueueDef::new(QUEUE));
    let server = serve::start(config, ClockMode::System).await?;
    let client = client(&server).await?;
    let queue = QueueRef::new(format!("s~{PROJECT}"), QUEUE);

    let mut worker_rates = Vec::new();
    let mut raw_rates = Vec::new();
    let mut ratios = Vec::new();
    let mut worker_leases = Vec::new();
    let mut raw_leases = Vec::new();
    for round in 0..rounds {
        let mut worker_rate = 0.0;
        let mut raw_rate = 0.0;
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            fill(&server, tasks).await?;
            let (seconds, leases) = if side == 0 {
                timed(drain_with_worker(client.clone(), queue.clone(), batch)).await?
            } else {
                timed(drain_raw(&client, &queue, batch)).await?
            };
            check_empty(&server).await?;
            let rate = tasks as f64 / seconds;
            if side == 0 {
                worker_rate = rate;
                worker_leases.push(leases as f64);
            } else {
                raw_rate = rate;
                raw_leases.push(leases as f64);
            }
        }
        worker_rates.push(worker_rate);
        raw_rates.push(raw_rate);
        ratios.push(worker_rate / raw_rate);
    }
    let worker = Stats::of(worker_rates);
    let raw = Stats::of(raw_rates);
    let paired = Stats::of(ratios);
    println!(
        "{rounds} rounds of {tasks} tasks per side, lease size {batch}, worker concurrency {batch}"
    );
    println!("worker (no-op handler): {worker}");
    println!("raw lease + delete loop: {raw}");
    println!(
        "ratio worker/raw of the medians: {:.3} (goal >= 0.9)",
        worker.median / raw.median
    );
    println!(
        "per-round ratio worker/raw: median {:.3} (p10 {:.3}, p90 {:.3})",
        paired.median, paired.p10, paired.p90
    );
    println!(
        "lease calls per drain (median): worker {:.0}, raw {:.0}",
        Stats::of(worker_leases).median,
        Stats::of(raw_leases).median
    );
    server.shutdown().await?;
    Ok(())
}

async fn client(server: &RunningServer) -> Result<Client, BoxError> {
    let state = server.state();
    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let token = state
        .tokens
        .issue(
            "bench@bench-project.iam.gserviceaccount.com",
            scopes.clone(),
            Duration::from_secs(86_400),
            state.now(),
        )
        .await
        .expect("the memory store saves the token");
    Ok(Client::builder()
        .base_url(server.api_base_url())
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new(token))))
        .scopes(scopes)
        .build()?)
}

/// Puts `tasks` tasks into the queue, straight through the store, available at once.
async fn fill(server: &RunningServer, tasks: usize) -> Result<(), BoxError> {
    let store = &server.state().store;
    let now = server.state().now_timestamp();
    let eta = Timestamp::from_micros(now.as_micros() - 1_000_000);
    for n in 0..tasks {
        let mut task = NewTask::new(format!("task {n}").into_bytes());
        task.eta = Some(eta);
        store.insert(QUEUE, task, now).await?;
    }
    Ok(())
}

async fn check_empty(server: &RunningServer) -> Result<(), BoxError> {
    let now = server.state().now_timestamp();
    let left = server.state().store.stats(QUEUE, now).await?.total_tasks;
    if left == 0 {
        Ok(())
    } else {
        Err(format!("{left} tasks left after a drain").into())
    }
}

/// Drains the queue with the worker; returns its lease calls.
async fn drain_with_worker(client: Client, queue: QueueRef, batch: u32) -> Result<u64, BoxError> {
    let worker = Worker::builder(client, queue)
        .lease_size(batch)
        .concurrency(batch as usize)
        .unlimited_lease_rate()
        .exit_when_empty(true)
        .discard_dead_letters()
        .handler(|_task: Task, _lease: LeaseGuard| async { Outcome::done() })
        .build()?;
    let report = worker.run().await?;
    if report.stats.settle_errors > 0 {
        return Err(format!("the worker failed to settle: {:?}", report.stats).into());
    }
    Ok(report.stats.lease_calls)
}

/// Drains the queue with the raw loop; returns its lease calls.
async fn drain_raw(client: &Client, queue: &QueueRef, batch: u32) -> Result<u64, BoxError> {
    let mut leases = 0;
    loop {
        leases += 1;
        let leased = client
            .lease_tasks(LeaseTasksRequest::new(
                queue.clone(),
                batch,
                Duration::from_secs(60),
            ))
            .await?;
        if leased.items.is_empty() {
            return Ok(leases);
        }
        let mut deletes = tokio::task::JoinSet::new();
        for task in leased.items {
            let client = client.clone();
            let queue = queue.clone();
            let id = TaskName::new(task.id.ok_or("a leased task without an id")?)?;
            deletes
                .spawn(async move { client.delete_task(DeleteTaskRequest::new(queue, id)).await });
        }
        while let Some(deleted) = deletes.join_next().await {
            deleted??;
        }
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn timed<T>(
    work: impl std::future::Future<Output = Result<T, BoxError>>,
) -> Result<(f64, T), BoxError> {
    let started = std::time::Instant::now();
    let value = work.await?;
    Ok((started.elapsed().as_secs_f64(), value))
}

fn env_count(name: &str, default: usize) -> Result<usize, BoxError> {
    match env::var(name) {
        Err(env::VarError::NotPresent) => Ok(default),
        Err(error) => Err(format!("{name}: {error}").into()),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(format!("{name} must be a positive integer, got `{text}`").into()),
        },
    }
}

/// Median, 10th and 90th percentiles (nearest rank).
struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let at = |quantile: f64| {
            let rank = (quantile * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        let median = if samples.len().is_multiple_of(2) {
            let upper = samples.len() / 2;
            (samples[upper - 1] + samples[upper]) / 2.0
        } else {
            samples[samples.len() / 2]
        };
        Self {
            median,
            p10: at(0.10),
            p90: at(0.90),
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:.0} tasks/s (p10 {:.0}, p90 {:.0})",
            self.median, self.p10, self.p90
        )
    }
}
