//! Tasks per second through [`taskqueue_worker::Worker`] with a no-op handler, beside the raw loop a user would
//! write with the client (lease a batch, delete every task of it concurrently, repeat), against the reference
//! server in the same process, in the same run. Goal: the worker at least 0.9× the raw loop.
//!
//! Run it with `cargo xtask bench worker` (or `cargo bench -p taskqueue-worker --bench worker`). `BENCH_ROUNDS`
//! (default 20) and `BENCH_TASKS` (default 2000) set the rounds and the tasks drained per side per round;
//! `BENCH_BATCH` (default 100) is the lease size of both sides and the worker's concurrency. Without `--bench` on
//! the command line (as under `cargo test --benches`) it only runs a smoke check: one small round per side.
//!
//! Both sides alike: the same lease size and lease duration (60 s), at most `BENCH_BATCH` tasks in flight (the
//! raw loop deletes a leased batch with that many concurrent calls; the worker runs that many handlers, no
//! prefetch), the same client, and the end of a drain at the first empty lease. The worker runs with the
//! lease-rate ceiling off (the raw loop has none), `exit_when_empty`, and its defaults otherwise: renewal timers
//! per task, a 50 ms wait for a full batch of free slots before leasing (so it leases as seldom as the raw loop;
//! the report shows both sides' lease calls), and dead letters discarded (a no-op handler makes none).
//!
//! Method: the reference server (memory store, system clock) and both sides run on one current-thread runtime, as
//! in the client's benchmark, so cross-CPU wake-ups do not blur the comparison. Each round fills the queue with
//! the same number of tasks straight through the store, then drains it with one side, fills it again and drains it
//! with the other (the order alternates by round). Every task must have been deleted (the queue's count is checked
//! after each drain). Each drain is measured twice: in wall time, and in CPU time of the process (from Linux's
//! per-thread scheduler statistics, in nanoseconds), which a machine busy with other work disturbs far less. The
//! report gives each side's median tasks per second of both over the rounds (with p10 and p90), the ratios of the
//! medians, the median of the per-round ratios, and the lease calls per drain.

// A benchmark report program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{AccessToken, Scope, ScopeSet, StaticTokenProvider};
use taskqueue_client::{Client, DeleteTaskRequest, LeaseTasksRequest, QueueRef};
use taskqueue_model::{Task, TaskName, Timestamp};
use taskqueue_server::config::QueueDef;
use taskqueue_server::serve::{self, ClockMode, RunningServer};
use taskqueue_server::{NewTask, ServerConfig};
use taskqueue_test_support::bench::{Stats, Table, env_count, full_run, round_order};
use taskqueue_worker::{LeaseGuard, Outcome, Worker};

type BoxError = Box<dyn Error + Send + Sync>;

const PROJECT: &str = "bench-project";
const QUEUE: &str = "bench";

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(full_run()))
}

async fn run(full: bool) -> Result<(), BoxError> {
    let (rounds, tasks, batch) = if full {
        (
            env_count("BENCH_ROUNDS", 20)?,
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

    // Per side (0: the worker, 1: the raw loop): tasks per wall second, per CPU second, lease calls.
    let mut wall: [Vec<f64>; 2] = Default::default();
    let mut cpu: [Vec<f64>; 2] = Default::default();
    let mut leases: [Vec<f64>; 2] = Default::default();
    for round in 0..rounds {
        for side in round_order(round, 2) {
            fill(&server, tasks).await?;
            let (drain, calls) = if side == 0 {
                measured(drain_with_worker(client.clone(), queue.clone(), batch)).await?
            } else {
                measured(drain_raw(&client, &queue, batch)).await?
            };
            check_empty(&server).await?;
            wall[side].push(tasks as f64 / drain.wall);
            if let Some(seconds) = drain.cpu {
                cpu[side].push(tasks as f64 / seconds);
            }
            leases[side].push(calls as f64);
        }
    }
    println!(
        "{rounds} rounds of {tasks} tasks per side, lease size {batch}, at most {batch} tasks in flight per side"
    );
    report("wall", &wall);
    if cpu.iter().all(|rates| rates.len() == rounds) {
        report("CPU", &cpu);
    } else {
        println!("(no CPU time: /proc/self/task/*/schedstat is not readable here)");
    }
    println!(
        "lease calls per drain (median): worker {:.0}, raw {:.0}",
        Stats::of(&leases[0]).median,
        Stats::of(&leases[1]).median
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

/// Prints the tasks per `what` second of each side, the ratio of the medians and the median per-round ratio.
fn report(what: &str, rates: &[Vec<f64>; 2]) {
    let worker = Stats::of(&rates[0]);
    let raw = Stats::of(&rates[1]);
    let paired: Vec<f64> = rates[0].iter().zip(&rates[1]).map(|(w, r)| w / r).collect();
    print!(
        "{}",
        Table::new(format!("tasks/{what} s"), 0)
            .row(format!("worker (no-op handler), {what}"), worker)
            .row(format!("raw lease + delete loop, {what}"), raw)
    );
    println!(
        "ratio worker/raw of the {what} medians: {:.3} (goal >= 0.9); per-round ratio {}",
        worker.ratio_to(&raw),
        Stats::of(&paired).with_unit("", 3)
    );
}

/// How long a drain took.
struct Drain {
    wall: f64,
    /// CPU seconds of the whole process, where Linux reports them.
    cpu: Option<f64>,
}

#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn measured<T>(
    work: impl std::future::Future<Output = Result<T, BoxError>>,
) -> Result<(Drain, T), BoxError> {
    let cpu_before = process_cpu_seconds();
    let started = std::time::Instant::now();
    let value = work.await?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(process_cpu_seconds())
        .map(|(before, after)| after - before);
    Ok((Drain { wall, cpu }, value))
}

/// The CPU time of every thread of this process so far, in seconds: the first field of each thread's
/// `/proc/self/task/<tid>/schedstat` (nanoseconds on a CPU). `None` where that is not readable.
fn process_cpu_seconds() -> Option<f64> {
    let mut nanos: u64 = 0;
    for thread in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(thread.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1e9)
}
