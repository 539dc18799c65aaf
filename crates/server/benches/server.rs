//! The reference server's throughput over HTTP on its durable store: inserts
//! per second, leased tasks per second at batch 100, and deletes per second,
//! each beside a bare axum baseline measured in the same run. Goals (issue 5
//! §10): inserts at least 0.3× the bare handler's rate, and at least 100k
//! leased tasks/s at batch 100.
//!
//! Run it with `cargo xtask bench server` (or `cargo bench -p
//! taskqueue-server --bench server`). `BENCH_ROUNDS` (default 10) sets the
//! number of rounds, `BENCH_TASKS` (default 10000) the tasks each side
//! inserts, leases and deletes per round, and `BENCH_DIR` the directory of
//! the SQLite file (default: the system's temporary directory; its file
//! system decides what an fsync costs). Without `--bench` on the command
//! line (as under `cargo test --benches`) it only runs the check round
//! described below, a few hundred requests per side.
//!
//! **The two sides.** The server is started in process as `serve` starts
//! it (the full router and its middleware, system clock) on a
//! [`SqliteStore`] in a fresh file with its defaults (WAL,
//! `Synchronous::Full`: group commit, the log synced before answers), one open queue, and a token issued
//! for the `taskqueue` scope. No tracing subscriber is installed, so the
//! request traces cost only their disabled-callsite checks. The baseline is
//! a bare axum router on the same kind of listener (`axum::serve` on
//! 127.0.0.1:0) answering the same three request shapes without any work:
//! insert reads the body and returns a fixed task; lease returns a
//! pre-serialized response of up to 100 tasks, laid out as the server lays
//! them out by default (indented, `prettyPrint` being true by default) and
//! of about the same size (it only counts the tasks inserted, so that
//! "drained" means the same on both sides); delete returns 200 with an
//! empty body, as the server does.
//!
//! **Load.** 16 keep-alive HTTP/1.1 connections per side, each one a task
//! driving a hyper client connection (`hyper::client::conn::http1`, one
//! request at a time, no pool) over `tokio::net::TcpStream`, so that the
//! client is the same for both sides. The connections share the work through an atomic
//! counter. A round runs, per side: insert `BENCH_TASKS` tasks (a ~100-byte
//! payload); lease with `numTasks=100&leaseSecs=600` until every task is
//! leased or a lease comes back empty; delete every leased task. Each phase
//! is timed from the first request to the last answer; its rate is tasks
//! (inserted, leased, deleted) per second of that wall time. The two sides
//! alternate within each phase, the server first on even rounds and the
//! baseline first on odd ones, so drift and ordering effects hit both
//! alike. Everything (server, baseline, load) shares one multi-thread tokio
//! runtime with a worker per core (2 on CI), as the server binary runs; the
//! SQLite writer is the store's own thread.
//!
//! **Checks.** Every request must get its expected status (200), or the
//! benchmark fails. On the server side, after each round (untimed), the ids
//! leased must be exactly the ids the inserts returned, each once. A check round of a few hundred tasks runs
//! on both sides before anything is timed (it also measures the size of a
//! full lease response on each side), then one warm-up round of the same
//! size as the measured ones (the first deletes on a fresh file run at
//! about half the later rate).
//!
//! **Growth.** Then, unless `BENCH_SIZES` is empty, the same round runs on
//! stores that already hold a backlog, for the stores `BENCH_STORES` names
//! (default `sqlite,postgres`; `postgres-unbatched` adds the PostgreSQL store
//! with every insert written alone and no limit on concurrent leases, for
//! comparison): for
//! each size in `BENCH_SIZES` (default `10000,100000,1000000`) a fresh store
//! is filled (untimed, its time going to stderr: SQLite through the `Store`
//! API, PostgreSQL straight into its tables in one transaction) with that many tasks whose
//! ETA is a day ahead (so they sit in every index but no lease takes them)
//! and a tombstone for every tenth of them, a server is started on it, and
//! one warm-up and `BENCH_GROWTH_ROUNDS` (default 3) measured rounds of
//! `BENCH_TASKS` tasks run beside the bare handler. PostgreSQL is the
//! throwaway cluster of the store's tests (fsync off: it measures the
//! store's statements, not the disk) unless `TASKQUEUE_TEST_POSTGRES_URL`
//! names a database. The table gives each phase's median rate per size and
//! its ratio to the bare handler, then the growth goals: SQLite inserts at
//! the largest size at least 0.8x their rate at the smallest (both taken
//! relative to the bare handler in the same rounds, since the machine's
//! speed drifts between sizes; the raw ratio is printed too), deletes at
//! least 0.8x inserts, at least 100k leased tasks/s at every size; PostgreSQL
//! at least 10k inserts/s and 50k leased tasks/s with 16 connections.
//!
//! **Report.** Per phase, the median rate of each side over the rounds
//! (with p10 and p90), the ratio server/baseline of the medians and the
//! median (p10, p90) of the per-round ratios; then whether each goal is
//! met. A missed goal is reported, not a failure.

// A benchmark report program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::env;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize as _};
use serde_json::{Value, json};
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_model::Timestamp;
use taskqueue_server::config::StorageConfig;
use taskqueue_server::serve::{ClockMode, RunningServer, start_with_store};
use taskqueue_server::{
    NewTask, PostgresOptions, PostgresStore, QueueDef, ServerConfig, SqliteStore, Store,
    StoreConfig,
};
use taskqueue_test_support::bench::{Stats, env_count, full_run, round_order};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use http1::Conn;

// The throwaway PostgreSQL cluster of taskqueue-store's tests.
#[allow(dead_code)]
#[path = "../../store/tests/it/pg_cluster.rs"]
mod pg_cluster;

type BoxError = Box<dyn Error + Send + Sync>;

const PROJECT: &str = "bench-project";
const QUEUE: &str = "bench-queue";
const EMAIL: &str = "bench@example.com";
/// Concurrent keep-alive connections per side.
const CONNECTIONS: usize = 16;
const LEASE_BATCH: usize = 100;
const LEASE_SECS: u32 = 600;
/// The task payload: 100 bytes, as a small JSON message would be.
const PAYLOAD: &[u8; 100] =
    br#"{"photo_id": 4242, "size": "thumbnail", "bucket": "gs://bench-app-photos", "attempt": 1, "x": "abc"}"#;

/// The statuses every request must get, on both sides: the API answers
/// `tasks.delete` with 200 and an empty body.
const INSERT_STATUS: StatusCode = StatusCode::OK;
const LEASE_STATUS: StatusCode = StatusCode::OK;
const DELETE_STATUS: StatusCode = StatusCode::OK;

const DEFAULT_ROUNDS: usize = 10;
/// Enough that the fastest phase (the baseline's leases, ~100 requests)
/// still takes milliseconds.
const DEFAULT_TASKS: usize = 10_000;
/// The check round: enough for several full lease batches.
const CHECK_TASKS: usize = 250;

/// Inserts must reach this fraction of the bare handler's rate.
const INSERT_GOAL_RATIO: f64 = 0.3;
/// Leased tasks per second at batch 100.
const LEASE_GOAL_RATE: f64 = 100_000.0;

fn main() -> Result<(), BoxError> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let full = full_run();
    // A worker per core, like the `taskqueue-server` binary's runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(full))
}

async fn run(full: bool) -> Result<(), BoxError> {
    let (rounds, tasks) = if full {
        (
            env_count("BENCH_ROUNDS", DEFAULT_ROUNDS)?,
            env_count("BENCH_TASKS", DEFAULT_TASKS)?,
        )
    } else {
        (0, 0)
    };
    let dir = match env::var_os("BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let path = dir.path().join("tasks.sqlite");
    let (server, token) = start_server(path.clone()).await?;
    let baseline = Baseline::start().await?;
    let mut sides = [
        Side::connect("server", server.local_addr(), &token, true).await?,
        Side::connect("baseline", baseline.addr, &token, false).await?,
    ];

    // Nothing is timed before both sides have answered every request of a
    // round right.
    let check = round(&mut sides, CHECK_TASKS, 0).await?;
    let [server_batch, baseline_batch] = check.map(|side| side.lease_batch_bytes);
    if !full {
        println!(
            "server: smoke check passed ({CHECK_TASKS} tasks inserted, leased and deleted on each side); pass --bench for timings"
        );
        drop(sides);
        server.shutdown().await?;
        return Ok(());
    }

    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "taskqueue-server on 127.0.0.1, durable SQLite store (Synchronous::Full) at {}",
        path.display()
    );
    println!(
        "{CONNECTIONS} keep-alive HTTP/1.1 connections per side, {cpus} CPUs; {rounds} rounds of {tasks} tasks per side (insert, lease {LEASE_BATCH} at a time, delete), after a warm-up round"
    );
    println!(
        "a full lease response ({LEASE_BATCH} tasks): server {server_batch} bytes, baseline {baseline_batch} bytes"
    );
    round(&mut sides, tasks, 0).await?;

    let mut rates: [[Vec<f64>; 2]; 3] = Default::default();
    for index in 0..rounds {
        let measured = round(&mut sides, tasks, index).await?;
        for (side, result) in measured.iter().enumerate() {
            for (phase, rate) in result.rates.iter().enumerate() {
                rates[phase][side].push(*rate);
            }
        }
    }
    drop(sides);
    server.shutdown().await?;

    let mut insert_ratio = 0.0;
    let mut lease_rate = 0.0;
    for (phase, [server_rates, baseline_rates]) in ["inserts/s", "leased tasks/s", "deletes/s"]
        .into_iter()
        .zip(&rates)
    {
        let per_round: Vec<f64> = server_rates
            .iter()
            .zip(baseline_rates)
            .map(|(server, baseline)| server / baseline)
            .collect();
        let (server_stats, baseline_stats) = (Stats::of(server_rates), Stats::of(baseline_rates));
        let ratio = server_stats.ratio_to(&baseline_stats);
        let paired = Stats::of(&per_round);
        println!("{phase}");
        println!("  server:   {}", server_stats.with_unit("/s", 0));
        println!("  baseline: {}", baseline_stats.with_unit("/s", 0));
        println!(
            "  ratio server/baseline: {ratio:.3} (per round: median {:.3}, p10 {:.3}, p90 {:.3})",
            paired.median, paired.p10, paired.p90
        );
        match phase {
            "inserts/s" => insert_ratio = ratio,
            "leased tasks/s" => lease_rate = server_stats.median,
            _ => {}
        }
    }
    println!(
        "goal: inserts >= {INSERT_GOAL_RATIO}x the bare handler's rate: {insert_ratio:.3}x, {}",
        verdict(insert_ratio >= INSERT_GOAL_RATIO)
    );
    println!(
        "goal: >= {LEASE_GOAL_RATE:.0} leased tasks/s at batch {LEASE_BATCH}: {lease_rate:.0}/s, {}",
        verdict(lease_rate >= LEASE_GOAL_RATE)
    );
    let sizes = env_sizes()?;
    if !sizes.is_empty() {
        growth(&sizes, tasks, &baseline, &token, dir.path()).await?;
    }
    Ok(())
}

/// `BENCH_SIZES`: the backlog sizes of the growth table.
fn env_sizes() -> Result<Vec<usize>, BoxError> {
    let text = env::var("BENCH_SIZES").unwrap_or_else(|_| "10000,100000,1000000".to_owned());
    text.split(',')
        .map(str::trim)
        .filter(|size| !size.is_empty())
        .map(|size| {
            size.parse()
                .map_err(|_| format!("BENCH_SIZES: `{size}` is not a count").into())
        })
        .collect()
}

/// Fills `store` with `size` tasks due in a day and a tombstone for every tenth of them; returns how long it
/// took, in seconds.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn prefill(store: &Arc<dyn Store>, size: usize) -> Result<f64, BoxError> {
    let started = std::time::Instant::now();
    let now = Timestamp::from_system_time(taskqueue_clock::system().now());
    let later = now.saturating_add(Duration::from_secs(24 * 3600));
    let next = Arc::new(AtomicUsize::new(0));
    let mut fillers = JoinSet::new();
    for _ in 0..64 {
        let (store, next) = (Arc::clone(store), Arc::clone(&next));
        fillers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= size {
                    return Ok::<(), BoxError>(());
                }
                let name = format!("backlog-{n:08}");
                let task = NewTask::new(PAYLOAD.to_vec())
                    .with_name(&name)
                    .with_eta(later);
                store.insert(QUEUE, task, now).await?;
                if n % 10 == 0 {
                    store.delete(QUEUE, &name, now).await?;
                }
            }
        });
    }
    while let Some(filler) = fillers.join_next().await {
        filler??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Fills the PostgreSQL store at `url` with the backlog [`prefill`] gives, written straight into its tables in
/// one transaction (through the `Store` API a million tasks took many minutes on 2 cores), then analyzed as a
/// database in service would be. Returns how long it took, in seconds.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn prefill_postgres(url: &str, size: usize) -> Result<f64, BoxError> {
    let started = std::time::Instant::now();
    let now = Timestamp::from_system_time(taskqueue_clock::system().now());
    let later = now.saturating_add(Duration::from_secs(24 * 3600));
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let size = i64::try_from(size)?;
    let transaction = client.transaction().await?;
    // The names, payload, ETA and tombstones `prefill` writes: every tenth task deleted at `now`.
    transaction
        .execute(
            "INSERT INTO tasks (queue, name, payload, tag, enqueued_at, eta, leased, retry_count) \
             SELECT $1::text, 'backlog-' || lpad(n::text, 8, '0'), $2::bytea, NULL, $3::bigint, $4::bigint, FALSE, 0 \
             FROM generate_series(0, $5::bigint - 1) AS n WHERE n % 10 <> 0",
            &[&QUEUE, &PAYLOAD.as_slice(), &now.as_micros(), &later.as_micros(), &size],
        )
        .await?;
    transaction
        .execute(
            "INSERT INTO tombstones (queue, name, deleted_at) \
             SELECT $1::text, 'backlog-' || lpad(n::text, 8, '0'), $2::bigint \
             FROM generate_series(0, $3::bigint - 1) AS n WHERE n % 10 = 0",
            &[&QUEUE, &now.as_micros(), &size],
        )
        .await?;
    transaction.commit().await?;
    client
        .batch_execute("ANALYZE tasks; ANALYZE tombstones")
        .await?;
    drop(client);
    driver.await??;
    Ok(started.elapsed().as_secs_f64())
}

/// The growth table: rounds on stores holding a backlog of each size, SQLite and PostgreSQL.
async fn growth(
    sizes: &[usize],
    tasks: usize,
    baseline: &Baseline,
    baseline_token: &str,
    dir: &std::path::Path,
) -> Result<(), BoxError> {
    let rounds = env_count("BENCH_GROWTH_ROUNDS", 3)?;
    println!();
    println!(
        "growth: {rounds} rounds of {tasks} tasks per size, on a backlog of that many tasks due in a day and a tombstone per ten"
    );
    println!(
        "{:<18} {:>9} | {:>22} | {:>22} | {:>22}",
        "store", "backlog", "inserts/s (x bare)", "leased/s (x bare)", "deletes/s (x bare)"
    );
    let mut table: Vec<(&str, usize, PhaseMedians)> = Vec::new();
    for backend in growth_stores()? {
        for &size in sizes {
            let (store, seconds): (Arc<dyn Store>, f64) = if backend == "sqlite" {
                let store: Arc<dyn Store> = Arc::new(SqliteStore::open(
                    dir.join(format!("growth-{size}.sqlite")),
                    StoreConfig::default(),
                )?);
                let seconds = prefill(&store, size).await?;
                (store, seconds)
            } else {
                let url = pg_cluster::fresh_url().await;
                let options = if backend == "postgres" {
                    PostgresOptions::default()
                } else {
                    // Every insert a statement of its own and no lease turns: the store before batching.
                    PostgresOptions::default()
                        .with_insert_batch(1)
                        .with_concurrent_leases(usize::MAX)
                };
                // Connecting creates the schema; the backlog then goes in with one statement per table.
                let store =
                    PostgresStore::connect_with(&url, StoreConfig::default(), options).await?;
                let seconds = prefill_postgres(&url, size).await?;
                (Arc::new(store), seconds)
            };
            eprintln!("{backend} backlog of {size}: filled in {seconds:.1} s");
            let (server, token) = start_server_on(store).await?;
            let mut sides = [
                Side::connect("server", server.local_addr(), &token, true).await?,
                Side::connect("baseline", baseline.addr, baseline_token, false).await?,
            ];
            round(&mut sides, tasks, 0).await?;
            let mut rates: [[Vec<f64>; 2]; 3] = Default::default();
            for index in 0..rounds {
                let measured = round(&mut sides, tasks, index).await?;
                for (side, result) in measured.iter().enumerate() {
                    for (phase, rate) in result.rates.iter().enumerate() {
                        rates[phase][side].push(*rate);
                    }
                }
            }
            drop(sides);
            server.shutdown().await?;
            let medians = rates
                .each_ref()
                .map(|[server, bare]| (Stats::of(server).median, Stats::of(bare).median));
            let cell =
                |(server, bare): (f64, f64)| format!("{server:>10.0} ({:>5.3}x)", server / bare);
            println!(
                "{backend:<18} {size:>9} | {:>22} | {:>22} | {:>22}",
                cell(medians[0]),
                cell(medians[1]),
                cell(medians[2])
            );
            table.push((backend, size, medians));
        }
    }
    let rows = |backend: &str| -> Vec<(usize, PhaseMedians)> {
        table
            .iter()
            .filter(|(name, _, _)| *name == backend)
            .map(|(_, size, medians)| (*size, *medians))
            .collect()
    };
    let sqlite = rows("sqlite");
    if let (Some((small, first)), Some((large, last))) = (sqlite.first(), sqlite.last()) {
        // The machine's speed drifts between sizes (other work, the page cache): the goal compares the rates
        // relative to the bare handler measured in the same rounds; the raw ratio is shown beside it.
        let (first, last) = (first[0], last[0]);
        let relative = (last.0 / last.1) / (first.0 / first.1);
        println!(
            "goal: SQLite inserts at {large} >= 0.8x at {small}, each relative to the bare handler in its rounds: \
             {relative:.3}x, {} (raw rates: {:.3}x)",
            verdict(relative >= 0.8),
            last.0 / first.0
        );
    }
    let servers = |medians: PhaseMedians| medians.map(|(server, _)| server);
    for (size, medians) in &sqlite {
        let rates = servers(*medians);
        let ratio = rates[2] / rates[0];
        println!(
            "goal: SQLite deletes >= 0.8x inserts at {size}: {ratio:.3}x, {}; >= {LEASE_GOAL_RATE:.0} leased/s: {:.0}, {}",
            verdict(ratio >= 0.8),
            rates[1],
            verdict(rates[1] >= LEASE_GOAL_RATE)
        );
    }
    for (size, medians) in rows("postgres") {
        let rates = servers(medians);
        println!(
            "goal: PostgreSQL at {size}: >= 10000 inserts/s: {:.0}, {}; >= 50000 leased/s: {:.0}, {}",
            rates[0],
            verdict(rates[0] >= 10_000.0),
            rates[1],
            verdict(rates[1] >= 50_000.0)
        );
    }
    Ok(())
}

/// `BENCH_STORES`: the stores of the growth table, among `sqlite`, `postgres` and `postgres-unbatched` (the
/// PostgreSQL store writing every insert alone, with no limit on concurrent leases). Default `sqlite,postgres`.
fn growth_stores() -> Result<Vec<&'static str>, BoxError> {
    let text = env::var("BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".to_owned());
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| match name {
            "sqlite" => Ok("sqlite"),
            "postgres" => Ok("postgres"),
            "postgres-unbatched" => Ok("postgres-unbatched"),
            other => Err(format!(
                "BENCH_STORES: unknown store `{other}` (sqlite, postgres, postgres-unbatched)"
            )
            .into()),
        })
        .collect()
}

/// Per phase (inserts, leases, deletes): the server's median rate, and the bare handler's in the same rounds.
type PhaseMedians = [(f64, f64); 3];

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

/// Starts the server on a fresh SQLite file at `path` with one open queue,
/// and issues a token for it.
async fn start_server(path: PathBuf) -> Result<(RunningServer, String), BoxError> {
    let store = SqliteStore::open(&path, StoreConfig::default())?;
    start_on(Arc::new(store), StorageConfig::Sqlite { path }).await
}

/// Starts the server on `store` (already open), as [`start_server`] does.
async fn start_server_on(store: Arc<dyn Store>) -> Result<(RunningServer, String), BoxError> {
    start_on(store, StorageConfig::Memory).await
}

async fn start_on(
    store: Arc<dyn Store>,
    storage: StorageConfig,
) -> Result<(RunningServer, String), BoxError> {
    let mut config = ServerConfig::new(PROJECT);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.queues.insert(QueueDef::new(QUEUE));
    config.storage = storage;
    let server = start_with_store(config, store, ClockMode::System).await?;
    let state = server.state();
    // Longer than any run, so that it never expires mid-benchmark.
    let token = state
        .tokens
        .issue(
            EMAIL,
            ScopeSet::from([Scope::Taskqueue]),
            Duration::from_secs(24 * 3600),
            state.now(),
        )
        .await?;
    let token = token.expose().to_owned();
    Ok((server, token))
}

fn tasks_path() -> String {
    format!("/taskqueue/v1beta2/projects/{PROJECT}/taskqueues/{QUEUE}/tasks")
}

/// The body of every insert: the queue and the payload, as clients send it.
fn insert_body() -> Vec<u8> {
    format!(
        r#"{{"queueName": "projects/{PROJECT}/taskqueues/{QUEUE}", "payloadBase64": "{}"}}"#,
        BASE64.encode(PAYLOAD)
    )
    .into_bytes()
}

/// One side under load: its connections, and whether its ids are real (the
/// baseline's lease responses repeat the same ids).
struct Side {
    name: &'static str,
    conns: Vec<Conn>,
    checks_ids: bool,
}

impl Side {
    async fn connect(
        name: &'static str,
        addr: SocketAddr,
        token: &str,
        checks_ids: bool,
    ) -> Result<Self, BoxError> {
        let mut conns = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            conns.push(Conn::connect(addr, token).await?);
        }
        Ok(Self {
            name,
            conns,
            checks_ids,
        })
    }
}

/// What one side did in one round.
#[derive(Clone, Copy, Default)]
struct RoundResult {
    /// Inserts/s, leased tasks/s, deletes/s.
    rates: [f64; 3],
    /// The largest lease response body.
    lease_batch_bytes: usize,
}

/// Runs round `number` of `tasks` on both sides, phase by phase, the sides
/// taking turns at going first in every phase.
async fn round(
    sides: &mut [Side; 2],
    tasks: usize,
    number: usize,
) -> Result<[RoundResult; 2], BoxError> {
    let order: Vec<usize> = round_order(number, 2).collect();
    let mut results = [RoundResult::default(); 2];
    let mut inserted: [Vec<String>; 2] = Default::default();
    let mut leased: [Vec<String>; 2] = Default::default();
    for &index in &order {
        let side = &mut sides[index];
        let (ids, seconds) = insert_phase(&mut side.conns, tasks)
            .await
            .map_err(|error| format!("{} inserts: {error}", side.name))?;
        results[index].rates[0] = tasks as f64 / seconds;
        inserted[index] = ids.into_iter().map(|(id, _)| id).collect();
    }
    for &index in &order {
        let side = &mut sides[index];
        let (ids, seconds) = lease_phase(&mut side.conns, tasks)
            .await
            .map_err(|error| format!("{} leases: {error}", side.name))?;
        if ids.len() != tasks {
            return Err(format!(
                "{}: leased {} tasks, {tasks} were inserted",
                side.name,
                ids.len()
            )
            .into());
        }
        results[index].rates[1] = tasks as f64 / seconds;
        results[index].lease_batch_bytes = ids.iter().map(|(_, bytes)| *bytes).max().unwrap_or(0);
        leased[index] = ids.into_iter().map(|(id, _)| id).collect();
    }
    for &index in &order {
        let side = &mut sides[index];
        if side.checks_ids {
            same_ids(side.name, &mut inserted[index], &mut leased[index])?;
        }
        let ids = Arc::new(std::mem::take(&mut leased[index]));
        let seconds = delete_phase(&mut side.conns, ids)
            .await
            .map_err(|error| format!("{} deletes: {error}", side.name))?;
        results[index].rates[2] = tasks as f64 / seconds;
    }
    Ok(results)
}

/// Fails unless `leased` holds exactly the ids of `inserted`, each once.
fn same_ids(side: &str, inserted: &mut [String], leased: &mut [String]) -> Result<(), BoxError> {
    inserted.sort_unstable();
    leased.sort_unstable();
    if let Some(pair) = leased.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!("{side}: task {} was leased twice", pair[0]).into());
    }
    if inserted != leased {
        return Err(format!("{side}: the tasks leased are not the tasks inserted").into());
    }
    Ok(())
}

/// Inserts `tasks` tasks over all the connections; returns each task's id
/// (with its response's size) and the wall time in seconds.
async fn insert_phase(
    conns: &mut Vec<Conn>,
    tasks: usize,
) -> Result<(Vec<(String, usize)>, f64), BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let path: Arc<str> = Arc::from(tasks_path());
    let body = Bytes::from(insert_body());
    on_every_connection(conns, move |mut conn| {
        let (next, path, body) = (Arc::clone(&next), Arc::clone(&path), body.clone());
        async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < tasks {
                let response = conn.send(Method::POST, &path, body.clone()).await?;
                response.expect(INSERT_STATUS)?;
                let task: IdOnly = serde_json::from_slice(&response.body)?;
                let id = task.id.ok_or("an inserted task without an id")?;
                ids.push((id, response.body.len()));
            }
            Ok((conn, ids))
        }
    })
    .await
}

/// Leases 100 at a time over all the connections until `tasks` tasks are
/// leased or a lease comes back empty; returns each leased id (with its
/// response's size) and the wall time in seconds.
async fn lease_phase(
    conns: &mut Vec<Conn>,
    tasks: usize,
) -> Result<(Vec<(String, usize)>, f64), BoxError> {
    let leased = Arc::new(AtomicUsize::new(0));
    let path: Arc<str> = Arc::from(format!(
        "{}/lease?numTasks={LEASE_BATCH}&leaseSecs={LEASE_SECS}",
        tasks_path()
    ));
    on_every_connection(conns, move |mut conn| {
        let (leased, path) = (Arc::clone(&leased), Arc::clone(&path));
        async move {
            let mut ids = Vec::new();
            while leased.load(Ordering::Relaxed) < tasks {
                let response = conn.send(Method::POST, &path, Bytes::new()).await?;
                response.expect(LEASE_STATUS)?;
                let batch: LeasedTasks = serde_json::from_slice(&response.body)?;
                let items = batch.items.unwrap_or_default();
                if items.is_empty() {
                    break;
                }
                if items.len() > LEASE_BATCH {
                    return Err(format!("a lease of {LEASE_BATCH} returned {}", items.len()).into());
                }
                leased.fetch_add(items.len(), Ordering::Relaxed);
                for item in items {
                    let id = item.id.ok_or("a leased task without an id")?;
                    ids.push((id, response.body.len()));
                }
            }
            Ok((conn, ids))
        }
    })
    .await
}

/// Deletes every task of `ids` over all the connections; returns the wall
/// time in seconds.
async fn delete_phase(conns: &mut Vec<Conn>, ids: Arc<Vec<String>>) -> Result<f64, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let base = tasks_path();
    for id in ids.iter() {
        if !id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        {
            return Err(format!("task id `{id}` would need escaping in a URL").into());
        }
    }
    let (_, seconds) = on_every_connection(conns, move |mut conn| {
        let (next, ids, base) = (Arc::clone(&next), Arc::clone(&ids), base.clone());
        async move {
            let mut path = String::new();
            while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                path.clear();
                path.push_str(&base);
                path.push('/');
                path.push_str(id);
                conn.send(Method::DELETE, &path, Bytes::new())
                    .await?
                    .expect(DELETE_STATUS)?;
            }
            Ok((conn, Vec::<()>::new()))
        }
    })
    .await?;
    Ok(seconds)
}

/// Runs `job` on every connection at once, each in its own task, and gives
/// the connections back; returns what the jobs collected and the wall time
/// in seconds from the first spawn to the last job's end. Any failed job
/// fails the phase.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn on_every_connection<F, Fut, T>(
    conns: &mut Vec<Conn>,
    job: F,
) -> Result<(Vec<T>, f64), BoxError>
where
    F: Fn(Conn) -> Fut,
    Fut: Future<Output = Result<(Conn, Vec<T>), BoxError>> + Send + 'static,
    T: Send + 'static,
{
    let started = std::time::Instant::now();
    let mut jobs = JoinSet::new();
    for conn in conns.drain(..) {
        jobs.spawn(job(conn));
    }
    let mut collected = Vec::new();
    let mut failure = None;
    while let Some(joined) = jobs.join_next().await {
        match joined? {
            Ok((conn, mut items)) => {
                conns.push(conn);
                collected.append(&mut items);
            }
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    match failure {
        Some(error) => Err(error),
        None => Ok((collected, seconds)),
    }
}

/// Only the `id` of a task in a response.
#[derive(Deserialize)]
struct IdOnly {
    id: Option<String>,
}

/// Only the ids of a lease response's tasks.
#[derive(Deserialize)]
struct LeasedTasks {
    #[serde(default)]
    items: Option<Vec<IdOnly>>,
}

/// The bare axum baseline: the same routes, answered without any work.
#[derive(Clone)]
struct Baseline {
    addr: SocketAddr,
    /// Tasks inserted and not yet leased: only so that a lease drains.
    available: Arc<AtomicUsize>,
    insert_response: Bytes,
    /// `lease_responses[n]`: a pre-serialized response with `n` tasks.
    lease_responses: Arc<[Bytes]>,
}

impl Baseline {
    async fn start() -> Result<Self, BoxError> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let payload = BASE64.encode(PAYLOAD);
        let task = |id: String, retry_count: u32| {
            json!({
                "kind": "taskqueues#task",
                "id": id,
                "queueName": format!("projects/{PROJECT}/taskqueues/{QUEUE}"),
                "payloadBase64": payload,
                "enqueueTimestamp": "1700000000000000",
                "leaseTimestamp": "1700000600000000",
                "retry_count": retry_count,
            })
        };
        let lease_responses = (0..=LEASE_BATCH)
            .map(|count| {
                let tasks = if count == 0 {
                    json!({"kind": "taskqueues#tasks"})
                } else {
                    let items: Vec<Value> =
                        (0..count).map(|n| task(format!("{n:016x}"), 1)).collect();
                    json!({"kind": "taskqueues#tasks", "items": items})
                };
                pretty(&tasks)
            })
            .collect::<Result<_, _>>()?;
        let baseline = Self {
            addr: listener.local_addr()?,
            available: Arc::new(AtomicUsize::new(0)),
            insert_response: pretty(&task("0123456789abcdef".to_owned(), 0))?,
            lease_responses,
        };
        let tasks = tasks_path();
        let app = Router::new()
            .route(&tasks, post(baseline_insert))
            .route(&format!("{tasks}/lease"), post(baseline_lease))
            .route(&format!("{tasks}/{{task}}"), delete(baseline_delete))
            .with_state(baseline.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("baseline server failed: {error}");
            }
        });
        Ok(baseline)
    }
}

/// `value` laid out as the API lays its responses out by default
/// (`prettyPrint` defaults to true): indented by one space.
fn pretty(value: &Value) -> Result<Bytes, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, formatter,
    ))?;
    Ok(Bytes::from(out))
}

fn json_response(body: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

async fn baseline_insert(State(baseline): State<Baseline>, body: Bytes) -> Response {
    std::hint::black_box(body);
    baseline.available.fetch_add(1, Ordering::Relaxed);
    json_response(baseline.insert_response.clone())
}

async fn baseline_lease(State(baseline): State<Baseline>) -> Response {
    let before = baseline
        .available
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |available| {
            Some(available - available.min(LEASE_BATCH))
        })
        .unwrap_or_else(|available| available);
    json_response(baseline.lease_responses[before.min(LEASE_BATCH)].clone())
}

async fn baseline_delete() -> StatusCode {
    DELETE_STATUS
}

/// The load's HTTP/1.1 client: one keep-alive connection per [`Conn`], each
/// a hyper client connection (`hyper::client::conn::http1`) over a
/// `tokio::net::TcpStream`, one request at a time, no pipelining, no pool,
/// no redirects, no compression. Both sides are driven by the same client,
/// so its cost is the same on both.
mod http1 {
    use std::net::SocketAddr;

    use axum::body::Bytes;
    use axum::http::{HeaderValue, Method, Request, StatusCode, header};
    use http_body_util::{BodyExt as _, Full};
    use hyper::client::conn::http1::{SendRequest, handshake};
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpStream;

    use super::BoxError;

    /// One keep-alive connection. Its driver task ends when the connection
    /// is dropped.
    pub(crate) struct Conn {
        sender: SendRequest<Full<Bytes>>,
        host: HeaderValue,
        authorization: HeaderValue,
    }

    /// A response: its status and its (de-chunked) body.
    pub(crate) struct Response {
        pub(crate) status: StatusCode,
        pub(crate) body: Bytes,
    }

    impl Response {
        /// Fails unless the status is `expected`, quoting the body's start.
        pub(crate) fn expect(&self, expected: StatusCode) -> Result<(), BoxError> {
            if self.status == expected {
                return Ok(());
            }
            let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]);
            Err(format!("HTTP {} (expected {expected}): {shown}", self.status).into())
        }
    }

    impl Conn {
        pub(crate) async fn connect(addr: SocketAddr, token: &str) -> Result<Self, BoxError> {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) = handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // A connection that fails mid-request fails that request too, which reports it.
                let _ = connection.await;
            });
            Ok(Self {
                sender,
                host: HeaderValue::try_from(addr.to_string())?,
                authorization: HeaderValue::try_from(format!("Bearer {token}"))?,
            })
        }

        /// Sends one request and reads its whole response. Fails if the
        /// server closes the keep-alive connection.
        pub(crate) async fn send(
            &mut self,
            method: Method,
            path: &str,
            body: Bytes,
        ) -> Result<Response, BoxError> {
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, self.host.clone())
                .header(header::AUTHORIZATION, self.authorization.clone())
                .header(header::CONTENT_LENGTH, body.len());
            if !body.is_empty() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            self.sender.ready().await?;
            let response = self
                .sender
                .send_request(request.body(Full::new(body))?)
                .await?;
            if response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"))
            {
                return Err("the server closed the keep-alive connection".into());
            }
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok(Response { status, body })
        }
    }
}
