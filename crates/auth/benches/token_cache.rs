//! What [`taskqueue_auth::TokenCache`] costs: the cached `token()` hot path
//! beside baselines measured in the same run, and a 1000-caller herd at
//! expiry, which must cause exactly one fetch.
//!
//! Run it with `cargo xtask bench auth` (or `cargo bench -p taskqueue-auth
//! --bench token_cache`). `BENCH_ROUNDS` (default 30) and `BENCH_BATCH`
//! (default 100000) set the hot-path rounds and calls per round;
//! `BENCH_HERD_ROUNDS` (default 15) the herd rounds. Without `--bench` on
//! the command line (as under `cargo test --benches`) it only runs a smoke
//! check: a few calls each side and one herd, with the same exactness
//! check.
//!
//! **Hot path.** On a current-thread runtime, each round times a batch of
//! sequential `token()` calls per side, rotating the order of the sides from
//! round to round. The sides:
//!
//! - the cache holding a valid token, on the system clock (what production
//!   runs): clock read, map lookup, two uncontended read locks, a reference
//!   count increment, and the boxed future of the `async_trait`;
//! - `StaticTokenProvider` through the same trait: the floor for any
//!   provider behind `dyn TokenProvider` (boxed future plus `Arc` clone);
//! - a bare `Arc<Mutex<AccessToken>>` lock-and-clone, synchronous: the floor
//!   for any shared cache.
//!
//! A fourth line times the system clock read alone (through `SharedClock`),
//! which the cache does once per call to check the token's expiry.
//!
//! The report gives the median ns per call of each side (with p10 and p90),
//! and the ratio of the cache's median to each baseline's.
//!
//! **Herd.** On a two-worker multi-thread runtime and a virtual clock, each
//! round moves time past the token's expiry and spawns 1000 tasks asking
//! for a token. The source holds its fetch until all 1000 tasks have
//! started, so they really do pile up on the expired entry. The round fails
//! the benchmark unless the source saw exactly one request and every task
//! got the new token. The report gives the wall time from the first spawn
//! to the last task's token (median, p10, p90 over the rounds).

// A benchmark report program: stdout is its interface.
#![allow(clippy::print_stdout)]

use std::error::Error as StdError;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_auth::clock::{SharedClock, VirtualClock};
use taskqueue_auth::{
    AccessToken, CredentialSource, Error, Scope, ScopeSet, StaticTokenProvider, TokenCache,
    TokenProvider, TokenSource,
};
use taskqueue_test_support::bench::{Stats, Table, env_count, full_run, round_order, time_batch};
use tokio::sync::{Notify, Semaphore};

type BoxError = Box<dyn StdError + Send + Sync>;

const DEFAULT_ROUNDS: usize = 30;
const DEFAULT_BATCH: usize = 100_000;
const DEFAULT_HERD_ROUNDS: usize = 15;
const WARMUP_CALLS: usize = 100_000;
const SMOKE_CALLS: usize = 1_000;
const HERD: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(3600);

fn main() -> Result<(), BoxError> {
    let full = full_run();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(hot_path(full))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(herd(full))
}

/// Mints `bench-1`, `bench-2`, ... valid for an hour; with a gate, each
/// fetch waits for one permit first.
#[derive(Debug)]
struct Minter {
    clock: SharedClock,
    fetches: AtomicUsize,
    gate: Option<Semaphore>,
}

impl Minter {
    fn new(clock: SharedClock, gated: bool) -> Self {
        Self {
            clock,
            fetches: AtomicUsize::new(0),
            gate: gated.then(|| Semaphore::new(0)),
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Lets one gated fetch through.
    fn release(&self) {
        if let Some(gate) = &self.gate {
            gate.add_permits(1);
        }
    }
}

#[async_trait]
impl TokenSource for Minter {
    async fn fetch(&self, _scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(gate) = &self.gate {
            gate.acquire()
                .await
                .map_err(|_| Error::transient("gate closed"))?
                .forget();
        }
        Ok(AccessToken::new(format!("bench-{n}")).with_expires_at(self.clock.now() + LIFETIME))
    }

    fn credential_source(&self) -> CredentialSource {
        CredentialSource::Custom
    }
}

fn scopes() -> ScopeSet {
    ScopeSet::from([Scope::Taskqueue])
}

async fn hot_path(full: bool) -> Result<(), BoxError> {
    let scopes = scopes();
    let clock = taskqueue_auth::clock::system();
    let cache = TokenCache::new(Minter::new(Arc::clone(&clock), false), Arc::clone(&clock));
    let first = cache.token(&scopes).await?;
    let fixed = StaticTokenProvider::new(first.clone());
    let shared = Arc::new(Mutex::new(first.clone()));

    let cache: &dyn TokenProvider = &cache;
    let fixed: &dyn TokenProvider = &fixed;
    let via_cache = || cache.token(black_box(&scopes));
    let via_static = || fixed.token(black_box(&scopes));
    let via_mutex = || {
        let token = shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        std::future::ready(Ok::<AccessToken, Error>(token))
    };
    let clock_read = || std::future::ready(Ok::<SystemTime, Error>(clock.now()));
    // Every side hands out the same token before any timing.
    for (side, token) in [
        ("cache", via_cache().await?),
        ("static", via_static().await?),
        ("mutex", via_mutex().await?),
    ] {
        if !token.same_instance(&first) {
            return Err(format!("{side}: not the cached token").into());
        }
    }

    if !full {
        time_batch(SMOKE_CALLS, via_cache).await?;
        time_batch(SMOKE_CALLS, via_static).await?;
        time_batch(SMOKE_CALLS, via_mutex).await?;
        time_batch(SMOKE_CALLS, clock_read).await?;
        println!("token_cache hot path: smoke check passed ({SMOKE_CALLS} calls each side)");
        return Ok(());
    }

    let rounds = env_count("BENCH_ROUNDS", DEFAULT_ROUNDS)?;
    let batch = env_count("BENCH_BATCH", DEFAULT_BATCH)?;
    println!(
        "cached token() hot path, current-thread runtime: {rounds} rounds of {batch} sequential calls per side, after {WARMUP_CALLS} warm-up calls each"
    );
    time_batch(WARMUP_CALLS, via_cache).await?;
    time_batch(WARMUP_CALLS, via_static).await?;
    time_batch(WARMUP_CALLS, via_mutex).await?;
    time_batch(WARMUP_CALLS, clock_read).await?;

    let mut times: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        for index in round_order(round, times.len()) {
            let time = match index {
                0 => time_batch(batch, via_cache).await?,
                1 => time_batch(batch, via_static).await?,
                2 => time_batch(batch, via_mutex).await?,
                _ => time_batch(batch, clock_read).await?,
            };
            times[index].push(time.nanos());
        }
    }
    let [cache_stats, static_stats, mutex_stats, clock_stats] = times.map(|side| Stats::of(&side));
    print!(
        "{}",
        Table::new("ns/call", 1)
            .row("TokenCache::token (hit, system clock)", cache_stats)
            .row("StaticTokenProvider::token", static_stats)
            .row("Arc<Mutex<AccessToken>> lock + clone", mutex_stats)
            .row("SharedClock::now alone (system clock)", clock_stats)
    );
    println!(
        "ratio cache/static: {:.2}; cache/mutex: {:.2}; cache minus static: {:.1} ns/call",
        cache_stats.ratio_to(&static_stats),
        cache_stats.ratio_to(&mutex_stats),
        cache_stats.median - static_stats.median
    );
    Ok(())
}

async fn herd(full: bool) -> Result<(), BoxError> {
    let rounds = if full {
        env_count("BENCH_HERD_ROUNDS", DEFAULT_HERD_ROUNDS)?
    } else {
        1
    };
    let scopes = scopes();
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let shared_clock: SharedClock = Arc::new(clock.clone());
    let cache = Arc::new(TokenCache::new(
        Minter::new(Arc::clone(&shared_clock), true),
        shared_clock,
    ));
    cache.source().release();
    cache.token(&scopes).await?;
    if full {
        println!(
            "herd at expiry: {HERD} tasks on a 2-worker multi-thread runtime, {rounds} rounds; the fetch is held until all have started"
        );
    }
    let mut walls = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        clock.advance(LIFETIME);
        let before = cache.source().fetches();
        let (wall, secrets) = time_herd(&cache, &scopes).await?;
        let requests = cache.source().fetches() - before;
        let expected = format!("bench-{}", round + 1);
        if requests != 1 {
            return Err(format!(
                "herd round {round}: {requests} requests reached the source, expected exactly 1"
            )
            .into());
        }
        if let Some(wrong) = secrets.iter().find(|secret| **secret != expected) {
            return Err(format!("herd round {round}: a task got {wrong}, not {expected}").into());
        }
        walls.push(wall);
    }
    let stats = Stats::of(&walls);
    if full {
        println!("requests to the source per herd: exactly 1 in every round");
        println!(
            "wall time for all {HERD} to get a token: {}",
            stats.with_unit("µs", 1)
        );
    } else {
        println!("token_cache herd: smoke check passed ({HERD} tasks, 1 request)");
    }
    Ok(())
}

/// Spawns the herd, lets the source answer once every task has started, and
/// returns the wall time in µs from the first spawn to the last token, with
/// the secret each task got.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
async fn time_herd(
    cache: &Arc<TokenCache<Minter>>,
    scopes: &ScopeSet,
) -> Result<(f64, Vec<String>), BoxError> {
    let started = Arc::new(AtomicUsize::new(0));
    let all_started = Arc::new(Notify::new());
    let begin = std::time::Instant::now();
    let handles: Vec<_> = (0..HERD)
        .map(|_| {
            let (cache, scopes) = (Arc::clone(cache), scopes.clone());
            let (started, all_started) = (Arc::clone(&started), Arc::clone(&all_started));
            tokio::spawn(async move {
                if started.fetch_add(1, Ordering::SeqCst) + 1 == HERD {
                    all_started.notify_one();
                }
                cache.token(&scopes).await
            })
        })
        .collect();
    all_started.notified().await;
    cache.source().release();
    let mut secrets = Vec::with_capacity(HERD);
    for handle in handles {
        secrets.push(handle.await??.secret().to_owned());
    }
    let wall = begin.elapsed();
    Ok((wall.as_secs_f64() * 1e6, secrets))
}
