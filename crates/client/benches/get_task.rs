//! The per-call cost of `tasks.get` through [`taskqueue_client::Client`]
//! against a local loopback server, beside raw reqwest sending the same
//! request to the same server in the same run. Goal: at most 1.05× raw
//! reqwest.
//!
//! Run it with `cargo xtask bench client` (or `cargo bench -p
//! taskqueue-client --bench get_task`). `BENCH_ROUNDS` (default 50) and
//! `BENCH_BATCH` (default 400) set the number of rounds and the calls per
//! batch. Without `--bench` on the command line (as under `cargo test
//! --benches`) it only runs a smoke check: a few calls each side.
//!
//! Method: a minimal HTTP/1.1 keep-alive server on 127.0.0.1 answers the
//! one `tasks.get` URL with a realistic ~300-byte task, but only to requests
//! that carry the expected `Authorization`, `Accept` and `User-Agent`
//! headers (anything else gets a 404), so both sides are proven to send the
//! same request. Both sides are checked (status 200, task id) before any
//! timing, and every timed call must succeed. After a warm-up, each round
//! times a batch of sequential calls per side, in alternating order (client
//! first on even rounds, raw first on odd ones), so drift and ordering
//! effects hit both sides alike. The report gives the median per-call time
//! of each side over the rounds (with p10 and p90), the ratio of the
//! medians, and the median of the per-round ratios.
//!
//! Everything, server included, runs on one thread (a current-thread tokio
//! runtime). On the 2-vCPU CI machine a wake-up across CPUs costs ~100 µs,
//! several times a whole call. With the server on threads of its own
//! (wiremock runs each server on a separate thread; a thread-per-connection
//! std server did the same), calls took 110 to 200 µs, and the two sides
//! differed by up to 5× from one run to the next, depending on where the
//! scheduler put each connection's thread. A multi-thread client runtime
//! adds the same kind of wake-ups between the caller and reqwest's
//! connection task. On one thread a call costs the client's work, the
//! server's (small, the same for both sides) and the loopback syscalls:
//! about 20 µs, with p10 and p90 within ~15% of the median.

// A benchmark report program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{AccessToken, StaticTokenProvider};
use taskqueue_client::{Client, GetTaskRequest, QueueRef};
use taskqueue_model::{Task, TaskName};
use taskqueue_test_support::bench::{Stats, Table, env_count, full_run, round_order, time_batch};

type BoxError = Box<dyn Error + Send + Sync>;

const PROJECT: &str = "s~bench-app";
const QUEUE: &str = "pull-queue";
const TASK: &str = "task-1";
const TOKEN: &str = "ya29.bench-token";
const API: &str = "/taskqueue/v1beta2/projects/";
/// The transport's default User-Agent, which the raw side copies.
const USER_AGENT: &str = concat!("taskqueue-rs/", env!("CARGO_PKG_VERSION"), " (gzip)");
/// The task as production returned it: int64 timestamps as strings, a small
/// base64 payload, the long-form queue name.
const TASK_JSON: &str = r#"{"kind":"taskqueues#task","id":"task-1","queueName":"projects/s~bench-app/taskqueues/pull-queue","payloadBase64":"eyJwaG90b19pZCI6IDQyLCAic2l6ZSI6ICJ0aHVtYm5haWwiLCAiYnVja2V0IjogImdzOi8vYmVuY2gtYXBwLXBob3RvcyJ9","enqueueTimestamp":"1498510174000000","leaseTimestamp":"1498952638063392","retry_count":3,"tag":"resize"}"#;

const DEFAULT_ROUNDS: usize = 50;
const DEFAULT_BATCH: usize = 400;
const WARMUP_CALLS: usize = 500;
const SMOKE_CALLS: usize = 3;

fn main() -> Result<(), BoxError> {
    // A current-thread runtime: see the module documentation.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let full = full_run();
    runtime.block_on(run(full))
}

async fn run(full: bool) -> Result<(), BoxError> {
    let base_url = format!("{}{API}", server::start().await?);
    let url = format!("{base_url}{PROJECT}/taskqueues/{QUEUE}/tasks/{TASK}");
    let client = Client::builder()
        .base_url(base_url)
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new(TOKEN))))
        .build()?;
    let raw = Raw::new(url.clone(), None)?;
    // The transport sets a per-attempt timeout on every request (60 s by
    // default); this baseline does the same, to separate that timer's cost
    // from the rest of the stack's.
    let raw_timed = Raw::new(url, Some(Duration::from_secs(60)))?;
    let queue = QueueRef::new(PROJECT, QUEUE);
    let task = TaskName::new(TASK)?;
    let via_client = || {
        let request = GetTaskRequest::new(queue.clone(), task.clone());
        let client = &client;
        async move { Ok::<Task, BoxError>(client.get_task(request).await?) }
    };
    let via_raw = || raw.get_task();
    let via_raw_timed = || raw_timed.get_task();

    // Never time failures: each side must fetch the right task first.
    check("taskqueue-client", via_client().await?)?;
    check("raw reqwest", via_raw().await?)?;
    check("raw reqwest + timeout", via_raw_timed().await?)?;

    if !full {
        for _ in 0..SMOKE_CALLS {
            check("taskqueue-client", via_client().await?)?;
            check("raw reqwest", via_raw().await?)?;
        }
        println!(
            "get_task: smoke check passed ({} calls each side); pass --bench for timings",
            SMOKE_CALLS + 1
        );
        return Ok(());
    }

    let rounds = env_count("BENCH_ROUNDS", DEFAULT_ROUNDS)?;
    let batch = env_count("BENCH_BATCH", DEFAULT_BATCH)?;
    println!(
        "tasks.get on 127.0.0.1: {rounds} rounds of {batch} sequential calls per side, after {WARMUP_CALLS} warm-up calls each"
    );
    time_batch(WARMUP_CALLS, via_client).await?;
    time_batch(WARMUP_CALLS, via_raw).await?;
    time_batch(WARMUP_CALLS, via_raw_timed).await?;

    let mut times: [Vec<f64>; 3] = Default::default();
    let mut round_ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut round_times = [0.0; 3];
        for side in round_order(round, 3) {
            let time = match side {
                0 => time_batch(batch, via_client).await?,
                1 => time_batch(batch, via_raw).await?,
                _ => time_batch(batch, via_raw_timed).await?,
            };
            round_times[side] = time.micros();
            times[side].push(round_times[side]);
        }
        round_ratios.push(round_times[0] / round_times[1]);
    }

    let [client_stats, raw_stats, raw_timed_stats] = times.map(|side| Stats::of(&side));
    let ratio = client_stats.ratio_to(&raw_stats);
    let paired = Stats::of(&round_ratios);
    print!(
        "{}",
        Table::new("µs/call", 1)
            .row("tasks.get via taskqueue-client", client_stats)
            .row("tasks.get via raw reqwest", raw_stats)
            .row("tasks.get via raw reqwest + timeout", raw_timed_stats)
    );
    println!(
        "ratio client/raw: {ratio:.3} (goal <= 1.05){}",
        if ratio <= 1.05 { "" } else { "  ABOVE GOAL" }
    );
    println!("per-round ratio client/raw: {}", paired.with_unit("", 3));
    println!(
        "ratio client/(raw + same per-request timeout): {:.3}",
        client_stats.ratio_to(&raw_timed_stats)
    );
    Ok(())
}

/// The baseline: one reqwest client, created once, configured like the
/// transport's (User-Agent, gzip), doing the same work per call: send the
/// same headers, read the body, decode it into a [`Task`]. The plain
/// baseline sets no per-request timeout, which the transport does: that
/// timer is then part of the overhead measured. The timed baseline sets the
/// transport's default, to show the rest of the stack's overhead alone.
struct Raw {
    http: reqwest::Client,
    url: String,
    authorization: String,
    timeout: Option<Duration>,
}

impl Raw {
    fn new(url: String, timeout: Option<Duration>) -> Result<Self, BoxError> {
        // With the `rustls-no-provider` feature, reqwest panics at build time
        // unless it is handed a TLS configuration with a crypto provider,
        // even for plain http. Loopback http needs no roots.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .gzip(true)
            .build()?;
        Ok(Self {
            http,
            url,
            authorization: format!("Bearer {TOKEN}"),
            timeout,
        })
    }

    async fn get_task(&self) -> Result<Task, BoxError> {
        let mut request = self
            .http
            .get(&self.url)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("raw reqwest: HTTP {status}").into());
        }
        let body = response.bytes().await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

fn check(side: &str, task: Task) -> Result<(), BoxError> {
    if task.id.as_deref() == Some(TASK) {
        Ok(())
    } else {
        Err(format!("{side}: expected task {TASK}, got {:?}", task.id).into())
    }
}

/// The loopback server, spawned on the bench's own runtime.
mod server {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    use super::{API, BoxError, PROJECT, QUEUE, TASK, TASK_JSON, TOKEN, USER_AGENT};

    /// Starts the server and returns its `http://127.0.0.1:port`.
    pub(crate) async fn start() -> Result<String, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Err(error) = serve(stream).await {
                        eprintln!("bench server: connection failed: {error}");
                    }
                });
            }
        });
        Ok(format!("http://{address}"))
    }

    /// Answers the requests of one keep-alive connection, in order. GET
    /// requests have no body, so a request ends at its blank line.
    async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let (reader, mut writer) = stream.split();
        let mut reader = BufReader::new(reader);
        let request_line = format!("GET {API}{PROJECT}/taskqueues/{QUEUE}/tasks/{TASK} HTTP/1.1");
        let expected_headers = [
            ("authorization", format!("Bearer {TOKEN}")),
            ("accept", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ];
        let ok = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: {}\r\n\r\n{TASK_JSON}",
            TASK_JSON.len()
        );
        let not_found = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(()); // The client closed the connection.
            }
            let mut matches = line.trim_end() == request_line;
            let mut found = 0;
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap_or((header, ""));
                if let Some((_, expected)) = expected_headers
                    .iter()
                    .find(|(expected, _)| name.eq_ignore_ascii_case(expected))
                {
                    found += 1;
                    matches &= value.trim() == expected;
                }
            }
            let response = if matches && found == expected_headers.len() {
                ok.as_str()
            } else {
                not_found
            };
            writer.write_all(response.as_bytes()).await?;
        }
    }
}
