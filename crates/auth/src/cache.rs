//! [`TokenCache`]: turns a [`TokenSource`] into a [`TokenProvider`] with one
//! cached token per scope set, single-flight fetches, jittered refresh-ahead
//! and invalidate-on-401, all on an injected [`Clock`](taskqueue_clock::Clock).
//!
//! The behaviour is documented on [`TokenCache`]; the implementation keeps
//! every entry in one map behind one `std` read-write lock, held for a few
//! instructions and never across an `.await`.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use taskqueue_clock::SharedClock;
use tokio::sync::Notify;

use crate::{AccessToken, Error, ScopeSet, TokenProvider, TokenSource};

/// How a [`TokenCache`] decides when to refresh and what it may hand out.
///
/// The defaults suit Google's one-hour tokens and the metadata server, which
/// itself refreshes 4 to 5 minutes before expiry:
///
/// | field | default |
/// |---|---|
/// | [`refresh_ahead`](Self::refresh_ahead) | 225 s |
/// | [`refresh_jitter`](Self::refresh_jitter) | 30 s |
/// | [`min_remaining`](Self::min_remaining) | 10 s |
/// | [`refresh_failure_backoff`](Self::refresh_failure_backoff) | 5 s |
///
/// ```
/// use std::time::Duration;
/// use taskqueue_auth::CacheConfig;
///
/// let config = CacheConfig::default()
///     .with_refresh_ahead(Duration::from_secs(300))
///     .with_refresh_jitter(Duration::ZERO);
/// assert_eq!(config.min_remaining, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// A token with less than this left is refreshed ahead of time by the
    /// next caller, while the others keep using it. Default 225 s.
    pub refresh_ahead: Duration,
    /// Each token gets its own refresh point, drawn uniformly in
    /// `[expiry - refresh_ahead - refresh_jitter, expiry - refresh_ahead]`,
    /// so caches created together do not refresh in lockstep. Default 30 s.
    ///
    /// A token too short-lived for that window (say a 5-minute token from a
    /// metadata server) is refreshed no earlier than halfway through its
    /// usable life, so it does not trigger a refresh on every call.
    pub refresh_jitter: Duration,
    /// A token with this much time left, or less, is never handed out:
    /// callers wait for a fresh one instead. Neither the jitter nor a failing
    /// source ever undercuts it (and with zero, an expired token is still
    /// never handed out). Default 10 s.
    pub min_remaining: Duration,
    /// After a failed refresh-ahead, callers keep using the still-valid token
    /// and nobody tries to refresh again for this long. Default 5 s. (A
    /// fetch with no usable token is tried again on the next call.)
    pub refresh_failure_backoff: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            refresh_ahead: Duration::from_secs(225),
            refresh_jitter: Duration::from_secs(30),
            min_remaining: Duration::from_secs(10),
            refresh_failure_backoff: Duration::from_secs(5),
        }
    }
}

impl CacheConfig {
    /// The same configuration with another [`refresh_ahead`](Self::refresh_ahead).
    pub fn with_refresh_ahead(mut self, refresh_ahead: Duration) -> Self {
        self.refresh_ahead = refresh_ahead;
        self
    }

    /// The same configuration with another [`refresh_jitter`](Self::refresh_jitter).
    pub fn with_refresh_jitter(mut self, refresh_jitter: Duration) -> Self {
        self.refresh_jitter = refresh_jitter;
        self
    }

    /// The same configuration with another [`min_remaining`](Self::min_remaining).
    pub fn with_min_remaining(mut self, min_remaining: Duration) -> Self {
        self.min_remaining = min_remaining;
        self
    }

    /// The same configuration with another
    /// [`refresh_failure_backoff`](Self::refresh_failure_backoff).
    pub fn with_refresh_failure_backoff(mut self, backoff: Duration) -> Self {
        self.refresh_failure_backoff = backoff;
        self
    }
}

/// A [`TokenProvider`] that caches the tokens of a [`TokenSource`]: one per
/// scope set, fetched by one caller at a time, refreshed ahead of expiry.
///
/// # How it works
///
/// Each normalized [`ScopeSet`] has one entry (so `{a, b}` and `{b, a, a}`
/// share one): the cached token, when it should be refreshed, and whether
/// a fetch is in flight. Every call reads the clock once and classifies the
/// cached token:
///
/// - **fresh** (before its refresh point): handed out at once. This is the
///   hot path: one uncontended read lock, one map lookup and a reference
///   count increment; no allocation beyond the boxed future of the trait.
/// - **stale** (past its refresh point, with more than
///   [`CacheConfig::min_remaining`] left): the first caller becomes the
///   leader and refreshes inline, awaiting the source; everyone else keeps
///   getting the still-valid token at once. If the refresh fails, the leader
///   gets the old token too, and nobody tries again for
///   [`CacheConfig::refresh_failure_backoff`].
/// - **unusable** (absent, invalidated, or with `min_remaining` or less
///   left): the first caller fetches and the others wait for its result,
///   success or error: N concurrent callers cause one fetch. A failed fetch
///   is returned to every waiting caller; the next call tries again.
///
/// A token with no expiry stays fresh until invalidated.
/// [`TokenProvider::invalidate`] drops the token only if it is still the
/// cached one (the same instance or the same secret), so a burst of 401s
/// for one token causes one refresh, and invalidating a token that was
/// already replaced does nothing.
///
/// No task is ever spawned: the work happens inside the callers' futures,
/// so the cache runs on any executor. Waiters park on a
/// [`tokio::sync::Notify`], which needs no runtime.
///
/// # Cancellation
///
/// Any caller may be dropped at any await point. When the leader is dropped
/// mid-fetch, a guard clears the in-flight flag and wakes the waiters; the
/// first of them to run takes over and fetches.
///
/// # Telemetry
///
/// `tracing` debug events (target `taskqueue_auth::cache`) report misses,
/// refresh-ahead starts, callers coalesced into a fetch in flight, fetch
/// outcomes with the number of coalesced waiters, refresh failures and
/// invalidations, with the scopes but never a token. `Debug` shows the
/// source, the configuration and, per scope set, the expiry and refresh
/// point; never a secret.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// use async_trait::async_trait;
/// use taskqueue_auth::clock::{Clock, SharedClock, VirtualClock};
/// use taskqueue_auth::{
///     AccessToken, CredentialSource, Error, Scope, ScopeSet, TokenCache, TokenProvider,
///     TokenSource,
/// };
///
/// /// Mints `token-1`, `token-2`, ... valid for one hour.
/// #[derive(Debug)]
/// struct Minter {
///     clock: SharedClock,
///     minted: AtomicUsize,
/// }
///
/// #[async_trait]
/// impl TokenSource for Minter {
///     async fn fetch(&self, _scopes: &ScopeSet) -> Result<AccessToken, Error> {
///         let n = self.minted.fetch_add(1, Ordering::SeqCst) + 1;
///         let expiry = self.clock.now() + Duration::from_secs(3600);
///         Ok(AccessToken::new(format!("token-{n}")).with_expires_at(expiry))
///     }
///
///     fn credential_source(&self) -> CredentialSource {
///         CredentialSource::Custom
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let shared: SharedClock = Arc::new(clock.clone());
/// let minter = Minter { clock: shared.clone(), minted: AtomicUsize::new(0) };
/// let cache = TokenCache::new(minter, shared);
/// let scopes = ScopeSet::from([Scope::Taskqueue]);
///
/// // The first call fetches; the next ones are served from the cache.
/// assert_eq!(cache.token(&scopes).await?.secret(), "token-1");
/// assert_eq!(cache.token(&scopes).await?.secret(), "token-1");
///
/// // A 401: the rejected token is dropped, the next call fetches a new one.
/// let rejected = cache.token(&scopes).await?;
/// cache.invalidate(&rejected);
/// assert_eq!(cache.token(&scopes).await?.secret(), "token-2");
///
/// // Inside the refresh-ahead window (under 225 s + jitter left), the
/// // next caller refreshes.
/// clock.advance(Duration::from_secs(3600 - 200));
/// assert_eq!(cache.token(&scopes).await?.secret(), "token-3");
/// assert_eq!(cache.source().minted.load(Ordering::SeqCst), 3);
///
/// // Debug never shows a secret.
/// assert!(!format!("{cache:?}").contains("token-3"));
/// # Ok(())
/// # }
/// ```
pub struct TokenCache<S> {
    source: S,
    clock: SharedClock,
    config: CacheConfig,
    entries: RwLock<Entries>,
}

impl<S: TokenSource> TokenCache<S> {
    /// A cache over `source`, reading time from `clock`, with the default
    /// [`CacheConfig`]. Nothing is fetched or spawned until the first call.
    pub fn new(source: S, clock: SharedClock) -> Self {
        Self {
            source,
            clock,
            config: CacheConfig::default(),
            entries: RwLock::default(),
        }
    }

    /// The same cache with another configuration.
    pub fn with_config(mut self, config: CacheConfig) -> Self {
        self.config = config;
        self
    }

    /// The source the cache fetches from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The configuration in use.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The cached token if it can be handed out without any bookkeeping:
    /// fresh, or stale while a refresh is in flight or backing off.
    fn cached(&self, scopes: &ScopeSet, now: SystemTime) -> Option<AccessToken> {
        read(&self.entries)
            .get(scopes)?
            .state
            .servable(now)
            .cloned()
    }

    /// The wake-up of the entry of `scopes`, created empty on first use.
    fn fetched(&self, scopes: &ScopeSet) -> Arc<Notify> {
        if let Some(entry) = read(&self.entries).get(scopes) {
            return Arc::clone(&entry.fetched);
        }
        Arc::clone(
            &write(&self.entries)
                .entry(scopes.clone())
                .or_default()
                .fetched,
        )
    }

    /// Everything but the hot path: refresh-ahead, misses, waiting.
    async fn token_slow(
        &self,
        scopes: &ScopeSet,
        mut now: SystemTime,
    ) -> Result<AccessToken, Error> {
        let fetched = self.fetched(scopes);
        // The generation of the fetch this caller waited for, once it has.
        let mut waited = None;
        loop {
            let (step, notified) = {
                let mut entries = write(&self.entries);
                let step = match entries.get_mut(scopes) {
                    Some(entry) => entry.state.next_step(now, waited),
                    // Entries are never removed: unreachable, but harmless.
                    None => Step::Fail(Arc::new(Error::permanent(
                        "token cache entry vanished (a bug in the cache)",
                    ))),
                };
                // Created under the lock, so the leader's wake-up (sent after
                // it updates the state under the same lock) cannot be missed.
                let notified = matches!(step, Step::Wait(_)).then(|| fetched.notified());
                (step, notified)
            };
            match step {
                Step::Serve(token) => return Ok(token),
                Step::Fail(error) => return Err(share(&error)),
                Step::Fetch(reason) => return self.fetch(scopes, &fetched, reason).await,
                Step::Wait(generation) => {
                    tracing::debug!(
                        scopes = %scopes,
                        "token cache: coalesced into the fetch in flight"
                    );
                    if let Some(notified) = notified {
                        notified.await;
                    }
                    waited = Some(generation);
                    now = self.clock.now();
                }
            }
        }
    }

    /// Fetches as the leader of the entry of `scopes`, publishes the outcome
    /// to the waiters (woken through `fetched`) and returns it.
    async fn fetch(
        &self,
        scopes: &ScopeSet,
        fetched: &Notify,
        reason: FetchReason,
    ) -> Result<AccessToken, Error> {
        let guard = FetchGuard {
            entries: &self.entries,
            scopes,
            fetched,
            done: false,
        };
        match reason {
            FetchReason::RefreshAhead { remaining } => tracing::debug!(
                scopes = %scopes,
                remaining_secs = remaining.as_secs(),
                "token cache: refresh-ahead started"
            ),
            FetchReason::Miss(why) => tracing::debug!(
                scopes = %scopes,
                reason = why,
                "token cache: miss, fetching a token"
            ),
        }
        let result = self.source.fetch(scopes).await;
        let now = self.clock.now();
        let result = result.and_then(|token| self.admit(token, now));
        let backoff = self.config.refresh_failure_backoff;
        // Decided under the lock, logged after it.
        let outcome = guard.finish(|state| {
            let waiters = std::mem::take(&mut state.waiters);
            state.generation += 1;
            match result {
                Ok(cached) => {
                    let token = cached.token.clone();
                    state.token = Some(cached);
                    state.last_failure = None;
                    state.refresh_blocked_until = None;
                    Outcome::Fetched { token, waiters }
                }
                Err(error) => {
                    let error =
                        Arc::new(error.with_credential_source(self.source.credential_source()));
                    state.last_failure = Some((state.generation, Arc::clone(&error)));
                    match state.token.as_ref().filter(|cached| cached.usable(now)) {
                        Some(cached) => {
                            let token = cached.token.clone();
                            state.refresh_blocked_until = now.checked_add(backoff);
                            Outcome::KeptValid {
                                token,
                                error,
                                waiters,
                            }
                        }
                        None => {
                            // An unusable secret has no reason to linger.
                            state.token = None;
                            Outcome::Failed { error, waiters }
                        }
                    }
                }
            }
        });
        match outcome {
            Outcome::Fetched { token, waiters } => {
                tracing::debug!(
                    scopes = %scopes,
                    coalesced_waiters = waiters,
                    lifetime_secs = token.remaining_lifetime(now).map(|left| left.as_secs()),
                    "token cache: token fetched"
                );
                Ok(token)
            }
            Outcome::KeptValid {
                token,
                error,
                waiters,
            } => {
                tracing::debug!(
                    scopes = %scopes,
                    coalesced_waiters = waiters,
                    error = %error,
                    remaining_secs = token.remaining_lifetime(now).map(|left| left.as_secs()),
                    backoff_secs = backoff.as_secs_f64(),
                    "token cache: refresh failed, keeping the still-valid token"
                );
                Ok(token)
            }
            Outcome::Failed { error, waiters } => {
                tracing::debug!(
                    scopes = %scopes,
                    coalesced_waiters = waiters,
                    error = %error,
                    "token cache: fetch failed with no valid token to fall back on"
                );
                Err(share(&error))
            }
        }
    }

    /// Turns a fetched token into a cache entry with its refresh point, or
    /// an error if it has `min_remaining` or less left already.
    fn admit(&self, token: AccessToken, now: SystemTime) -> Result<Cached, Error> {
        let Some(expires_at) = token.expires_at() else {
            return Ok(Cached {
                token,
                usable_until: None,
                refresh_at: None,
            });
        };
        let config = &self.config;
        let Some(usable_until) = expires_at
            .checked_sub(config.min_remaining)
            .filter(|until| now < *until)
        else {
            let left = expires_at.duration_since(now).unwrap_or_default();
            return Err(Error::transient(format!(
                "the new token expires in {:.1} s, not above the cache's minimum of {:.1} s \
                 (is the local clock ahead of the server's?)",
                left.as_secs_f64(),
                config.min_remaining.as_secs_f64()
            ))
            .with_credential_source(self.source.credential_source()));
        };
        let refresh_at = refresh_point(
            expires_at,
            usable_until,
            now,
            config,
            random_jitter(config.refresh_jitter),
        );
        Ok(Cached {
            token,
            usable_until: Some(usable_until),
            refresh_at: Some(refresh_at),
        })
    }
}

#[async_trait]
impl<S: TokenSource> TokenProvider for TokenCache<S> {
    async fn token(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let now = self.clock.now();
        match self.cached(scopes, now) {
            Some(token) => Ok(token),
            None => self.token_slow(scopes, now).await,
        }
    }

    fn invalidate(&self, rejected: &AccessToken) {
        let mut entries = write(&self.entries);
        for (scopes, entry) in entries.iter_mut() {
            let state = &mut entry.state;
            let is_cached = state.token.as_ref().is_some_and(|cached| {
                cached.token.same_instance(rejected) || cached.token.secret() == rejected.secret()
            });
            if is_cached {
                tracing::debug!(scopes = %scopes, "token cache: token invalidated");
                state.token = None;
                state.refresh_blocked_until = None;
            }
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.source)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .field("entries", &EntriesDebug(&self.entries))
            .finish()
    }
}

/// One entry per scope set, all behind one lock: the hot path takes a single
/// uncontended read lock; writers (fetch start and end, invalidation) are
/// rare and brief.
type Entries = HashMap<ScopeSet, Entry, BuildHasherDefault<ScopeHasher>>;

/// The cache entry of one scope set.
#[derive(Default)]
struct Entry {
    state: State,
    /// Woken (all at once) whenever a fetch ends, however it ends. Shared so
    /// that waiters can park on it without holding the lock.
    fetched: Arc<Notify>,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// Whether a leader is fetching right now.
    fetching: bool,
    /// How many fetches have completed (not counting abandoned ones).
    generation: u64,
    /// The last failed fetch and the generation it completed.
    last_failure: Option<(u64, Arc<Error>)>,
    /// No refresh-ahead before this time (after a failed one).
    refresh_blocked_until: Option<SystemTime>,
    /// Callers that started waiting on the fetch in flight (telemetry only:
    /// one that gives up is still counted).
    waiters: usize,
}

struct Cached {
    token: AccessToken,
    /// From this moment on (expiry minus `min_remaining`) the token is never
    /// handed out; `None` for a token that never expires.
    usable_until: Option<SystemTime>,
    /// When refresh-ahead starts; `None` for a token that never expires.
    refresh_at: Option<SystemTime>,
}

impl Cached {
    fn usable(&self, now: SystemTime) -> bool {
        self.usable_until.is_none_or(|until| now < until)
    }

    fn stale(&self, now: SystemTime) -> bool {
        self.refresh_at.is_some_and(|at| now >= at)
    }
}

/// What one caller does next.
enum Step {
    Serve(AccessToken),
    Fail(Arc<Error>),
    Fetch(FetchReason),
    /// Wait for the fetch in flight; the value is the current generation.
    Wait(u64),
}

#[derive(Clone, Copy)]
enum FetchReason {
    RefreshAhead { remaining: Duration },
    Miss(&'static str),
}

impl State {
    /// The token, if a caller may take it without touching the state.
    fn servable(&self, now: SystemTime) -> Option<&AccessToken> {
        let cached = self.token.as_ref()?;
        if !cached.usable(now) {
            return None;
        }
        let no_refresh_now = !cached.stale(now)
            || self.fetching
            || self.refresh_blocked_until.is_some_and(|until| now < until);
        no_refresh_now.then_some(&cached.token)
    }

    /// Decides what a caller does at `now`; `waited` is the generation of the
    /// fetch it already waited for, if any.
    fn next_step(&mut self, now: SystemTime, waited: Option<u64>) -> Step {
        if let Some(token) = self.servable(now) {
            return Step::Serve(token.clone());
        }
        let reason = match &self.token {
            Some(cached) if cached.usable(now) => FetchReason::RefreshAhead {
                remaining: cached
                    .token
                    .remaining_lifetime(now)
                    .unwrap_or(Duration::MAX),
            },
            Some(_) => FetchReason::Miss("expiring"),
            None if self.generation == 0 && !self.fetching => FetchReason::Miss("empty"),
            None => FetchReason::Miss("invalidated or failed"),
        };
        if let (Some(waited), Some((failed, error))) = (waited, &self.last_failure)
            && *failed > waited
        {
            return Step::Fail(Arc::clone(error));
        }
        if self.fetching {
            self.waiters += 1;
            return Step::Wait(self.generation);
        }
        self.fetching = true;
        self.waiters = 0;
        Step::Fetch(reason)
    }
}

/// The end of a fetch, as the leader reports it.
enum Outcome {
    Fetched {
        token: AccessToken,
        waiters: usize,
    },
    KeptValid {
        token: AccessToken,
        error: Arc<Error>,
        waiters: usize,
    },
    Failed {
        error: Arc<Error>,
        waiters: usize,
    },
}

/// Clears the in-flight flag and wakes the waiters when the leader's future
/// is dropped (or its source panics) before the fetch ends, so that one of
/// the waiters takes over.
struct FetchGuard<'a> {
    entries: &'a RwLock<Entries>,
    scopes: &'a ScopeSet,
    fetched: &'a Notify,
    done: bool,
}

impl FetchGuard<'_> {
    /// Publishes the outcome of the fetch: `update` runs under the lock with
    /// the in-flight flag cleared, then the waiters are woken.
    fn finish<R>(mut self, update: impl FnOnce(&mut State) -> R) -> R {
        let result = {
            let mut entries = write(self.entries);
            let mut vanished = State::default();
            let state = entries
                .get_mut(self.scopes)
                .map_or(&mut vanished, |entry| &mut entry.state);
            state.fetching = false;
            update(state)
        };
        self.done = true;
        self.fetched.notify_waiters();
        result
    }
}

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            tracing::debug!(
                scopes = %self.scopes,
                "token cache: fetch abandoned by its caller, a waiter takes over"
            );
            if let Some(entry) = write(self.entries).get_mut(self.scopes) {
                entry.state.fetching = false;
            }
            self.fetched.notify_waiters();
        }
    }
}

/// The refresh point of a token expiring at `expires_at`, fetched at `now`,
/// usable until `usable_until`, given a jitter drawn in
/// `[0, config.refresh_jitter]`.
fn refresh_point(
    expires_at: SystemTime,
    usable_until: SystemTime,
    now: SystemTime,
    config: &CacheConfig,
    jitter: Duration,
) -> SystemTime {
    let drawn = expires_at
        .checked_sub(config.refresh_ahead)
        .and_then(|latest| latest.checked_sub(jitter.min(config.refresh_jitter)));
    // Not before half the usable life, so a short-lived token does not cause
    // a refresh on every call.
    let floor = now + usable_until.duration_since(now).unwrap_or_default() / 2;
    drawn.map_or(floor, |drawn| drawn.max(floor))
}

/// A duration drawn uniformly in `[0, max]`, to the nanosecond.
fn random_jitter(max: Duration) -> Duration {
    let max = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(..=max))
}

/// A copy of a shared fetch error for one caller (a reference count).
fn share(error: &Arc<Error>) -> Error {
    Error::clone(error)
}

/// The entries for `Debug`: scopes, expiry and refresh point, no secret.
struct EntriesDebug<'a>(&'a RwLock<Entries>);

impl fmt::Debug for EntriesDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(entries) = self.0.try_read() else {
            return f.write_str("<locked>");
        };
        let mut map = f.debug_map();
        for (scopes, entry) in entries.iter() {
            map.entry(&format_args!("{scopes}"), &StateDebug(&entry.state));
        }
        map.finish()
    }
}

struct StateDebug<'a>(&'a State);

impl fmt::Debug for StateDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.0;
        let cached = state.token.as_ref();
        f.debug_struct("Entry")
            .field("cached", &cached.is_some())
            .field("expires_at", &cached.and_then(|c| c.token.expires_at()))
            .field("refresh_at", &cached.and_then(|c| c.refresh_at))
            .field("fetching", &state.fetching)
            .field("waiters", &state.waiters)
            .field("fetches", &state.generation)
            .finish()
    }
}

/// A fast hasher for the scope-set keys (a multiply-rotate hash in the
/// style of rustc's `FxHasher`). The keys are chosen by the application, not
/// by an adversary, and the four Task Queue scopes hash as bare
/// discriminants, so SipHash's flooding resistance buys nothing here.
#[derive(Default)]
struct ScopeHasher(u64);

impl ScopeHasher {
    const SEED: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::SEED).rotate_left(26);
    }
}

impl Hasher for ScopeHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn write_isize(&mut self, value: isize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every lock here guards plain data updated in single assignments, so a
/// panic elsewhere cannot leave it inconsistent: poisoning is ignored.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
