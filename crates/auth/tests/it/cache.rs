//! `TokenCache` over a fake `TokenSource`, in virtual time: single-flight
//! herds, refresh-ahead with jitter, the `min_remaining` guarantee,
//! invalidation, failures, per-scope entries, cancellation and secrets.
//!
//! The fake source counts fetches, mints `at-1`, `at-2`, ... valid for a
//! chosen lifetime from the virtual now, and can be told to fail or to
//! block until the test releases it. Real time appears only as a hang guard
//! (`tokio::time::timeout`), which no passing test comes near.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_auth::clock::{Clock, VirtualClock};
use taskqueue_auth::{
    AccessToken, CacheConfig, CredentialSource, Error, Scope, ScopeSet, TokenCache, TokenProvider,
    TokenSource,
};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

/// One hour: the lifetime of Google's access tokens.
const HOUR: Duration = Duration::from_secs(3600);
/// Generous real-time bound on anything that could hang if the cache were
/// broken.
const HANG_GUARD: Duration = Duration::from_secs(10);

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn taskqueue() -> ScopeSet {
    ScopeSet::from([Scope::Taskqueue])
}

/// A token source for tests: see the module documentation.
#[derive(Debug)]
struct FakeSource {
    clock: VirtualClock,
    /// `None`: tokens without expiry.
    lifetime: Mutex<Option<Duration>>,
    fetches: AtomicUsize,
    asked: Mutex<Vec<ScopeSet>>,
    fail: AtomicBool,
    block: AtomicBool,
    gate: Semaphore,
    entered: Notify,
}

impl FakeSource {
    fn new(clock: &VirtualClock, lifetime: Option<Duration>) -> Self {
        Self {
            clock: clock.clone(),
            lifetime: Mutex::new(lifetime),
            fetches: AtomicUsize::new(0),
            asked: Mutex::new(Vec::new()),
            fail: AtomicBool::new(false),
            block: AtomicBool::new(false),
            gate: Semaphore::new(0),
            entered: Notify::new(),
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn set_fail(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    fn set_block(&self, block: bool) {
        self.block.store(block, Ordering::SeqCst);
    }

    fn set_lifetime(&self, lifetime: Option<Duration>) {
        *self.lifetime.lock().unwrap_or_else(PoisonError::into_inner) = lifetime;
    }

    /// Lets `count` blocked fetches (present or future) go on.
    fn release(&self, count: usize) {
        self.gate.add_permits(count);
    }

    /// Waits until at least `count` fetches have started.
    async fn wait_for_fetches(&self, count: usize) {
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                let entered = self.entered.notified();
                if self.fetches() >= count {
                    return;
                }
                entered.await;
            }
        })
        .await
        .expect("the fetch started");
    }
}

#[async_trait]
impl TokenSource for FakeSource {
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(scopes.clone());
        self.entered.notify_waiters();
        if self.block.load(Ordering::SeqCst) {
            self.gate.acquire().await.expect("gate open").forget();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(
                Error::transient(format!("token endpoint unavailable (fetch {n})"))
                    .with_status(503),
            );
        }
        let token = AccessToken::new(format!("at-{n}"));
        let lifetime = *self.lifetime.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match lifetime {
            Some(lifetime) => token.with_expires_at(self.clock.now() + lifetime),
            None => token,
        })
    }

    fn credential_source(&self) -> CredentialSource {
        CredentialSource::Custom
    }
}

fn start() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

fn cache_on(clock: &VirtualClock, lifetime: Option<Duration>) -> Arc<TokenCache<FakeSource>> {
    cache_with(clock, lifetime, CacheConfig::default())
}

fn cache_with(
    clock: &VirtualClock,
    lifetime: Option<Duration>,
    config: CacheConfig,
) -> Arc<TokenCache<FakeSource>> {
    Arc::new(
        TokenCache::new(FakeSource::new(clock, lifetime), Arc::new(clock.clone()))
            .with_config(config),
    )
}

/// A config with the default window and no jitter: refresh exactly at
/// `expiry - 225 s`.
fn no_jitter() -> CacheConfig {
    CacheConfig::default().with_refresh_jitter(Duration::ZERO)
}

async fn secret_of(cache: &TokenCache<FakeSource>, scopes: &ScopeSet) -> String {
    cache
        .token(scopes)
        .await
        .expect("a token")
        .secret()
        .to_owned()
}

fn spawn_token(
    cache: &Arc<TokenCache<FakeSource>>,
    scopes: &ScopeSet,
) -> JoinHandle<Result<AccessToken, Error>> {
    let cache = Arc::clone(cache);
    let scopes = scopes.clone();
    tokio::spawn(async move { cache.token(&scopes).await })
}

/// Lets every other task of a current-thread runtime run until it blocks.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> Vec<T> {
    tokio::time::timeout(HANG_GUARD, async {
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("task finished"));
        }
        results
    })
    .await
    .expect("every caller finished")
}

/// 1000 concurrent callers with no usable token, on a multi-thread runtime:
/// exactly one fetch, whose token all of them get. The source blocks until
/// every caller has started, so the herd really is concurrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_herd_of_1000_callers_causes_one_fetch() {
    // (case, time to move after priming or None for an empty cache,
    //  expected secret, expected fetches in all)
    let cases = [
        ("empty cache", None, "at-1", 1),
        ("past expiry", Some(HOUR + secs(1)), "at-2", 2),
        ("at expiry", Some(HOUR), "at-2", 2),
        ("under min_remaining", Some(HOUR - secs(9)), "at-2", 2),
    ];
    for (case, advance, expected, fetches) in cases {
        let clock = start();
        let cache = cache_on(&clock, Some(HOUR));
        let scopes = taskqueue();
        if let Some(advance) = advance {
            assert_eq!(secret_of(&cache, &scopes).await, "at-1", "{case}");
            clock.advance(advance);
        }
        cache.source().set_block(true);
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, scopes, started) =
                    (Arc::clone(&cache), scopes.clone(), Arc::clone(&started));
                tokio::spawn(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    cache.token(&scopes).await
                })
            })
            .collect();
        cache.source().wait_for_fetches(fetches).await;
        tokio::time::timeout(HANG_GUARD, async {
            while started.load(Ordering::SeqCst) < 1000 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("every caller started");
        cache.source().release(1);
        for result in join_all(handles).await {
            assert_eq!(result.expect("a token").secret(), expected, "{case}");
        }
        assert_eq!(cache.source().fetches(), fetches, "{case}");
    }
}

/// Inside the refresh-ahead window one caller refreshes; while its fetch is
/// blocked, every other caller gets the old token at once; afterwards all
/// get the new one; one extra fetch in all.
#[tokio::test(flavor = "current_thread")]
async fn refresh_ahead_serves_the_valid_token_while_one_caller_refreshes() {
    let clock = start();
    let cache = cache_with(&clock, Some(HOUR), no_jitter());
    let scopes = taskqueue();
    assert_eq!(secret_of(&cache, &scopes).await, "at-1");

    // One second before the window: no refresh.
    clock.advance(HOUR - secs(226));
    assert_eq!(secret_of(&cache, &scopes).await, "at-1");
    assert_eq!(cache.source().fetches(), 1);

    // Inside it: the first caller refreshes, and blocks in the source.
    clock.advance(secs(1));
    cache.source().set_block(true);
    let leader = spawn_token(&cache, &scopes);
    cache.source().wait_for_fetches(2).await;
    for _ in 0..100 {
        let token = tokio::time::timeout(HANG_GUARD, cache.token(&scopes))
            .await
            .expect("served without waiting for the refresh")
            .expect("a token");
        assert_eq!(token.secret(), "at-1");
    }
    assert_eq!(cache.source().fetches(), 2);

    cache.source().release(1);
    let refreshed = join_all(vec![leader]).await.remove(0).expect("a token");
    assert_eq!(refreshed.secret(), "at-2");
    for _ in 0..10 {
        assert_eq!(secret_of(&cache, &scopes).await, "at-2");
    }
    assert_eq!(cache.source().fetches(), 2);
}

/// Each token gets its own refresh point in `[expiry - 255 s, expiry -
/// 225 s]` (the defaults): over many caches, and over many tokens of one
/// cache, the points all fall in the window and are not all equal.
#[tokio::test(flavor = "current_thread")]
async fn refresh_points_are_jittered_inside_the_window() {
    // Many caches created together: step the clock one second at a time
    // through the window and note when each one refreshes.
    let clock = start();
    let scopes = taskqueue();
    let caches: Vec<_> = (0..50).map(|_| cache_on(&clock, Some(HOUR))).collect();
    for cache in &caches {
        assert_eq!(secret_of(cache, &scopes).await, "at-1");
    }
    let mut refreshed_at = vec![None; caches.len()];
    clock.advance(HOUR - secs(260));
    for second in 3340..=3380_u64 {
        for (cache, refreshed) in caches.iter().zip(&mut refreshed_at) {
            cache.token(&scopes).await.expect("a token");
            if refreshed.is_none() && cache.source().fetches() == 2 {
                *refreshed = Some(second);
            }
        }
        clock.advance(secs(1));
    }
    let refreshed_at: Vec<u64> = refreshed_at
        .into_iter()
        .map(|at| at.expect("every cache refreshed"))
        .collect();
    // Refreshed at step `s` means the point is in `(s - 1, s]`.
    for at in &refreshed_at {
        assert!(
            (3345..=3375).contains(at),
            "refreshed at {at}: {refreshed_at:?}"
        );
    }
    let distinct: std::collections::BTreeSet<_> = refreshed_at.iter().collect();
    assert!(distinct.len() >= 5, "refresh points {refreshed_at:?}");

    // Many tokens of one cache: each refresh draws anew.
    let clock = start();
    let cache = cache_on(&clock, Some(HOUR));
    assert_eq!(secret_of(&cache, &scopes).await, "at-1");
    let mut offsets = Vec::new();
    for round in 1..=20 {
        let expiry = clock.now() + HOUR;
        clock.advance(HOUR - secs(260));
        loop {
            cache.token(&scopes).await.expect("a token");
            if cache.source().fetches() == round + 1 {
                break;
            }
            clock.advance(secs(1));
        }
        let before_expiry = expiry
            .duration_since(clock.now())
            .expect("refreshed before expiry");
        offsets.push(before_expiry.as_secs());
    }
    for offset in &offsets {
        assert!((225..=255).contains(offset), "{offsets:?}");
    }
    let distinct: std::collections::BTreeSet<_> = offsets.iter().collect();
    assert!(distinct.len() >= 3, "{offsets:?}");
}

/// Whatever the configuration, a token with `min_remaining` or less left is
/// never returned, even when every refresh fails: callers get the valid
/// token while it has more than `min_remaining` left, then the error.
#[tokio::test(flavor = "current_thread")]
async fn min_remaining_is_never_undercut() {
    let base = CacheConfig::default();
    let cases = [
        ("defaults", base.clone()),
        (
            "no refresh-ahead",
            base.clone()
                .with_refresh_ahead(Duration::ZERO)
                .with_refresh_jitter(Duration::ZERO),
        ),
        (
            "window inside the minimum",
            base.clone()
                .with_refresh_ahead(secs(5))
                .with_refresh_jitter(secs(3)),
        ),
        (
            "jitter wider than the lifetime",
            base.clone()
                .with_refresh_ahead(secs(20))
                .with_refresh_jitter(HOUR)
                .with_min_remaining(secs(30)),
        ),
        (
            "zero minimum",
            base.clone().with_min_remaining(Duration::ZERO),
        ),
        (
            "no failure backoff",
            base.clone().with_refresh_failure_backoff(Duration::ZERO),
        ),
    ];
    let lifetime = secs(600);
    for (case, config) in cases {
        let min = config.min_remaining;
        let clock = start();
        let cache = cache_with(&clock, Some(lifetime), config);
        let scopes = taskqueue();
        assert_eq!(secret_of(&cache, &scopes).await, "at-1", "{case}");
        let expiry = clock.now() + lifetime;
        cache.source().set_fail(true);
        for _ in 0..=lifetime.as_secs() + 5 {
            let now = clock.now();
            let left = expiry.duration_since(now).unwrap_or_default();
            let result = cache.token(&scopes).await;
            match result {
                Ok(token) => {
                    assert_eq!(token.secret(), "at-1", "{case}");
                    let remaining = token.remaining_lifetime(now).expect("an expiry");
                    assert!(
                        remaining > min,
                        "{case}: handed out with {remaining:?} left"
                    );
                }
                Err(error) => {
                    assert!(left <= min, "{case}: error with {left:?} left: {error}");
                    assert_eq!(error.status(), Some(503), "{case}");
                }
            }
            clock.advance(secs(1));
        }
    }
}

/// A source handing out a token that has `min_remaining` or less left
/// already is an error (probably clock skew), not a token; nothing is
/// cached, so the next call tries again.
#[tokio::test(flavor = "current_thread")]
async fn a_fetched_token_under_the_minimum_is_an_error() {
    let clock = start();
    let cache = cache_on(&clock, Some(secs(10)));
    let scopes = taskqueue();
    let error = cache.token(&scopes).await.expect_err("too short-lived");
    assert!(error.to_string().contains("minimum"), "{error}");
    assert!(error.is_transient());
    assert_eq!(error.credential_source(), Some(CredentialSource::Custom));
    assert_eq!(cache.source().fetches(), 1);
    // Just above the minimum is acceptable.
    cache.source().set_lifetime(Some(secs(11)));
    assert_eq!(secret_of(&cache, &scopes).await, "at-2");
    assert_eq!(secret_of(&cache, &scopes).await, "at-2");
    assert_eq!(cache.source().fetches(), 2);
    cache.source().set_lifetime(Some(HOUR));
    clock.advance(secs(1));
    assert_eq!(secret_of(&cache, &scopes).await, "at-3");
    assert_eq!(cache.source().fetches(), 3);
}

/// Two concurrent bursts of 500 callers each, every one invalidating
/// `at-1` (as after a 401) and asking again: one refresh in all.
/// Invalidating the stale `at-1` afterwards does nothing; a token equal in
/// secret but another instance does invalidate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalidate_bursts_for_one_token_cause_one_refresh() {
    let clock = start();
    let cache = cache_on(&clock, Some(HOUR));
    let scopes = taskqueue();
    let other_scopes = ScopeSet::from([Scope::TaskqueueConsumer]);
    let rejected = cache.token(&scopes).await.expect("a token");
    assert_eq!(rejected.secret(), "at-1");
    assert_eq!(secret_of(&cache, &other_scopes).await, "at-2");

    let burst = |count: usize| -> Vec<JoinHandle<Result<AccessToken, Error>>> {
        (0..count)
            .map(|_| {
                let (cache, scopes, rejected) =
                    (Arc::clone(&cache), scopes.clone(), rejected.clone());
                tokio::spawn(async move {
                    cache.invalidate(&rejected);
                    cache.token(&scopes).await
                })
            })
            .collect()
    };
    let mut handles = burst(500);
    handles.extend(burst(500));
    for result in join_all(handles).await {
        assert_eq!(result.expect("a token").secret(), "at-3");
    }
    assert_eq!(cache.source().fetches(), 3);

    // A stale invalidation (at-1 is long gone) changes nothing.
    for result in join_all(burst(100)).await {
        assert_eq!(result.expect("a token").secret(), "at-3");
    }
    assert_eq!(cache.source().fetches(), 3);
    // The other scope set was never touched.
    assert_eq!(secret_of(&cache, &other_scopes).await, "at-2");

    // Another instance with the cached secret (a token that went through a
    // clone-free path) still counts as the cached token.
    cache.invalidate(&AccessToken::new("at-3"));
    assert_eq!(secret_of(&cache, &scopes).await, "at-4");
    assert_eq!(secret_of(&cache, &other_scopes).await, "at-2");
    assert_eq!(cache.source().fetches(), 4);
}

/// A failed refresh-ahead keeps serving the still-valid token, and nobody
/// retries the refresh for `refresh_failure_backoff` (5 s).
#[tokio::test(flavor = "current_thread")]
async fn a_failed_refresh_ahead_keeps_serving_the_valid_token() {
    let clock = start();
    let cache = cache_with(&clock, Some(HOUR), no_jitter());
    let scopes = taskqueue();
    assert_eq!(secret_of(&cache, &scopes).await, "at-1");
    clock.advance(HOUR - secs(225));
    cache.source().set_fail(true);

    // (seconds to move first, expected secret, expected fetches in all)
    let steps = [
        (0, "at-1", 2), // the refresh fails; the leader gets at-1 too
        (0, "at-1", 2), // backing off
        (4, "at-1", 2), // still backing off
        (1, "at-1", 3), // backoff over: one more (failed) try
        (1, "at-1", 3),
    ];
    for (step, (advance, expected, fetches)) in steps.into_iter().enumerate() {
        clock.advance(secs(advance));
        for _ in 0..3 {
            assert_eq!(secret_of(&cache, &scopes).await, expected, "step {step}");
        }
        assert_eq!(cache.source().fetches(), fetches, "step {step}");
    }
    cache.source().set_fail(false);
    clock.advance(secs(5));
    assert_eq!(secret_of(&cache, &scopes).await, "at-4");
    assert_eq!(secret_of(&cache, &scopes).await, "at-4");
    assert_eq!(cache.source().fetches(), 4);
}

/// A failed fetch with no valid token goes to every caller waiting for it:
/// all 50 get the error from one fetch; the next call tries again.
#[tokio::test(flavor = "current_thread")]
async fn a_failed_fetch_is_shared_with_every_waiter() {
    for (case, prime) in [("empty cache", false), ("expired token", true)] {
        let clock = start();
        let cache = cache_on(&clock, Some(HOUR));
        let scopes = taskqueue();
        let before = usize::from(prime);
        if prime {
            assert_eq!(secret_of(&cache, &scopes).await, "at-1");
            clock.advance(HOUR);
        }
        cache.source().set_fail(true);
        cache.source().set_block(true);
        let handles: Vec<_> = (0..50).map(|_| spawn_token(&cache, &scopes)).collect();
        cache.source().wait_for_fetches(before + 1).await;
        settle().await;
        // One leader, 49 callers coalesced behind it.
        assert!(
            format!("{cache:?}").contains("waiters: 49"),
            "{case}: {cache:?}"
        );
        cache.source().release(1);
        let message = format!(
            "custom provider: token endpoint unavailable (fetch {})",
            before + 1
        );
        for result in join_all(handles).await {
            let error = result.expect_err("the shared failure");
            assert_eq!(error.to_string(), message, "{case}");
            assert_eq!(error.status(), Some(503), "{case}");
            assert!(error.is_transient(), "{case}");
            assert_eq!(error.credential_source(), Some(CredentialSource::Custom));
        }
        assert_eq!(cache.source().fetches(), before + 1, "{case}");

        // No backoff without a valid token: the next call tries again.
        cache.source().set_block(false);
        cache.token(&scopes).await.expect_err("still failing");
        assert_eq!(cache.source().fetches(), before + 2, "{case}");
        cache.source().set_fail(false);
        assert_eq!(
            secret_of(&cache, &scopes).await,
            format!("at-{}", before + 3),
            "{case}"
        );
    }
}

/// One entry per normalized scope set: sets differing in order or
/// duplicates share an entry, different sets do not.
#[tokio::test(flavor = "current_thread")]
async fn scope_sets_are_cached_separately_and_order_independently() {
    let clock = start();
    let cache = cache_on(&clock, Some(HOUR));
    let cloud_platform = "https://www.googleapis.com/auth/cloud-platform";
    let set = |scopes: &[Scope]| scopes.iter().cloned().collect::<ScopeSet>();
    // (scope set asked for, expected secret)
    let cases = [
        (set(&[Scope::Taskqueue]), "at-1"),
        (set(&[Scope::TaskqueueConsumer]), "at-2"),
        (set(&[Scope::Taskqueue, Scope::TaskqueueConsumer]), "at-3"),
        (set(&[Scope::TaskqueueConsumer, Scope::Taskqueue]), "at-3"),
        (
            set(&[Scope::TaskqueueConsumer, Scope::Taskqueue, Scope::Taskqueue]),
            "at-3",
        ),
        (set(&[Scope::parse(cloud_platform)]), "at-4"),
        (
            ScopeSet::parse_space_separated(&format!(
                "{cloud_platform} https://www.googleapis.com/auth/taskqueue"
            )),
            "at-5",
        ),
        (
            ScopeSet::parse_space_separated(&format!(
                " https://www.googleapis.com/auth/taskqueue  {cloud_platform}"
            )),
            "at-5",
        ),
        (ScopeSet::new(), "at-6"),
        (set(&[Scope::Taskqueue]), "at-1"),
    ];
    for (scopes, expected) in &cases {
        assert_eq!(secret_of(&cache, scopes).await, *expected, "{scopes}");
    }
    assert_eq!(cache.source().fetches(), 6);
    // The source was asked for each normalized set once.
    let asked = cache
        .source()
        .asked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let expected: Vec<ScopeSet> = [0, 1, 2, 5, 6, 8].map(|i| cases[i].0.clone()).into();
    assert_eq!(asked, expected);
}

/// A token without an expiry is cached until invalidated.
#[tokio::test(flavor = "current_thread")]
async fn a_token_without_expiry_is_kept_until_invalidated() {
    let clock = start();
    let cache = cache_on(&clock, None);
    let scopes = taskqueue();
    let token = cache.token(&scopes).await.expect("a token");
    assert_eq!(token.expires_at(), None);
    for _ in 0..5 {
        clock.advance(secs(10 * 365 * 24 * 3600));
        assert_eq!(secret_of(&cache, &scopes).await, "at-1");
    }
    cache.invalidate(&token);
    assert_eq!(secret_of(&cache, &scopes).await, "at-2");
    assert_eq!(cache.source().fetches(), 2);
}

/// The caller doing the fetch is aborted mid-fetch: a waiter takes over and
/// fetches, every other waiter gets its token, nobody hangs. A waiter
/// aborted meanwhile changes nothing.
#[tokio::test(flavor = "current_thread")]
async fn an_aborted_leader_hands_the_fetch_to_a_waiter() {
    for (case, prime) in [("empty cache", false), ("expired token", true)] {
        let clock = start();
        let cache = cache_on(&clock, Some(HOUR));
        let scopes = taskqueue();
        let before = usize::from(prime);
        if prime {
            assert_eq!(secret_of(&cache, &scopes).await, "at-1");
            clock.advance(HOUR);
        }
        cache.source().set_block(true);
        let leader = spawn_token(&cache, &scopes);
        cache.source().wait_for_fetches(before + 1).await;
        let mut waiters: Vec<_> = (0..6).map(|_| spawn_token(&cache, &scopes)).collect();
        settle().await;
        assert!(
            format!("{cache:?}").contains("waiters: 6"),
            "{case}: {cache:?}"
        );

        leader.abort();
        let aborted = leader.await.expect_err("the leader was aborted");
        assert!(aborted.is_cancelled(), "{case}");
        let quitter = waiters.pop().expect("a waiter");
        quitter.abort();
        assert!(quitter.await.expect_err("aborted").is_cancelled());

        // A waiter took over: a second fetch started, blocked like the first.
        cache.source().wait_for_fetches(before + 2).await;
        cache.source().release(1);
        let expected = format!("at-{}", before + 2);
        for result in join_all(waiters).await {
            assert_eq!(result.expect("a token").secret(), expected, "{case}");
        }
        assert_eq!(secret_of(&cache, &scopes).await, expected, "{case}");
        assert_eq!(cache.source().fetches(), before + 2, "{case}");
    }
}

/// Drives `token()` until the source has started fetch number `fetch`,
/// then drops it mid-fetch, as a `select!` or a timeout would.
async fn drop_mid_fetch(cache: &TokenCache<FakeSource>, scopes: &ScopeSet, fetch: usize) {
    let call = cache.token(scopes);
    tokio::pin!(call);
    tokio::select! {
        biased;
        result = &mut call => panic!("the source was blocked, yet got {result:?}"),
        () = cache.source().wait_for_fetches(fetch) => {}
    }
}

/// The same on a multi-thread runtime, with the leader's future dropped
/// rather than aborted; and a refresh-ahead leader dropped too: the valid
/// token is still served and the next caller in the window refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_leader_never_wedges_the_entry() {
    let clock = start();
    let cache = cache_with(&clock, Some(HOUR), no_jitter());
    let scopes = taskqueue();
    cache.source().set_block(true);
    drop_mid_fetch(&cache, &scopes, 1).await;
    let next = spawn_token(&cache, &scopes);
    cache.source().wait_for_fetches(2).await;
    cache.source().release(1);
    let token = join_all(vec![next]).await.remove(0).expect("a token");
    assert_eq!(token.secret(), "at-2");

    clock.advance(HOUR - secs(200));
    drop_mid_fetch(&cache, &scopes, 3).await;
    assert_eq!(cache.source().fetches(), 3);
    cache.source().set_block(false);
    assert_eq!(secret_of(&cache, &scopes).await, "at-4");
    assert_eq!(secret_of(&cache, &scopes).await, "at-4");
    assert_eq!(cache.source().fetches(), 4);
}

/// A `MakeWriter` collecting everything written into one buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// Neither `Debug` of the cache nor its debug events carry a secret, and the
/// events tell a miss, a refresh-ahead, coalesced waiters and a failure.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_debug_or_traces() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    // Tests on other threads, with no subscriber, hit the same callsites: one
    // whose first registration races with `set_default` can be left disabled
    // for every subscriber (a known `tracing` race). Rebuilding the interest
    // cache right before each step closes that window.
    let rearm = tracing::callsite::rebuild_interest_cache;
    rearm();

    let clock = start();
    let cache = cache_with(&clock, Some(HOUR), no_jitter());
    let scopes = taskqueue();
    let consumer = ScopeSet::from([Scope::TaskqueueConsumer]);
    assert_eq!(secret_of(&cache, &scopes).await, "at-1");
    assert_eq!(secret_of(&cache, &consumer).await, "at-2");
    // Coalesced waiters.
    rearm();
    cache.source().set_block(true);
    let token = cache.token(&scopes).await.expect("a token");
    cache.invalidate(&token);
    let handles: Vec<_> = (0..3).map(|_| spawn_token(&cache, &scopes)).collect();
    cache.source().wait_for_fetches(3).await;
    settle().await;
    cache.source().release(1);
    join_all(handles).await;
    cache.source().set_block(false);
    // A failed refresh-ahead.
    rearm();
    clock.advance(HOUR - secs(200));
    cache.source().set_fail(true);
    assert_eq!(secret_of(&cache, &scopes).await, "at-3");

    let debug = [format!("{cache:?}"), format!("{cache:#?}")];
    for printed in &debug {
        assert!(printed.contains("TokenCache"), "{printed}");
        assert!(printed.contains("refresh_at"), "{printed}");
        assert!(printed.contains(&scopes.to_string()), "{printed}");
    }
    let traces = captured.text();
    for event in [
        "miss",
        "refresh-ahead started",
        "coalesced",
        "refresh failed",
        "invalidated",
    ] {
        assert!(traces.contains(event), "no `{event}` event in:\n{traces}");
    }
    for text in debug.iter().chain([&traces]) {
        for secret in ["at-1", "at-2", "at-3", "at-4"] {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
}

/// The cache is a `TokenProvider` like any other: it works behind
/// `Arc<dyn TokenProvider>`, and is `Send + Sync`.
#[tokio::test(flavor = "current_thread")]
async fn usable_as_a_shared_provider() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<TokenCache<FakeSource>>();
    let clock = start();
    let provider: taskqueue_auth::SharedTokenProvider = cache_on(&clock, Some(HOUR));
    let token = provider.token(&taskqueue()).await.expect("a token");
    assert_eq!(token.secret(), "at-1");
    let expiry: Option<SystemTime> = token.expires_at();
    assert_eq!(expiry, Some(clock.now() + HOUR));
}
