//! [`AppState`]: what every handler shares (configuration, store, clock, tokens, metrics).
//!
//! It lives apart from the router so that imports run one way: `app` assembles `api`, `oauth`, `health`, `ops`
//! and `scrape`, which all take this state, and this module imports only modules below it (`config`, `metrics`,
//! `tokens`, `watch`), none of which imports it back (`xtask/tests/layering.rs` checks this).

use std::sync::Arc;
use std::time::SystemTime;

use taskqueue_clock::{SharedClock, VirtualClock};
use taskqueue_model::Timestamp;

use crate::Store;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::tokens::TokenStore;
use crate::watch::{ProbeCache, StoreWatch, WatchedStore};

/// The state every handler shares: one `Arc` over [`SharedState`], whose fields it derefs to. Cloning it (axum
/// does for every extractor and every middleware layer of every request) is one reference count.
#[derive(Clone, Debug)]
pub struct AppState(Arc<SharedState>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct SharedState {
    /// The configuration the server runs with.
    pub config: Arc<ServerConfig>,
    /// The task store, as handlers see it: the store given to [`AppState::new`], watched (a
    /// [`WatchedStore`]) for metrics and readiness.
    pub store: Arc<dyn Store>,
    /// The store given to [`AppState::new`], unwatched: for the readiness probe, whose writes are not traffic.
    unwatched_store: Arc<dyn Store>,
    /// The one clock: token expiry, assertion timestamps, ETAs and leases all read it.
    pub clock: SharedClock,
    /// The access tokens issued.
    pub tokens: Arc<TokenStore>,
    /// The URL clients reach the server at, without a trailing slash; the token endpoint is `{public_url}/token`.
    pub public_url: Arc<str>,
    /// The clock again, as a [`VirtualClock`], when the server runs in virtual time: then, and only then, the
    /// admin endpoint that moves it is served.
    pub virtual_clock: Option<Arc<VirtualClock>>,
    /// The server's metrics, served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// What the watched store saw: leases held, the last failed write.
    pub watch: Arc<StoreWatch>,
    /// The readiness probe's last result.
    pub(crate) probes: ProbeCache,
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

impl AppState {
    /// State for `config`, with `store`, `clock` and the public URL the server was bound to.
    #[must_use]
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: SharedClock,
        public_url: impl Into<String>,
    ) -> Self {
        Self::assemble(config, store, clock, public_url.into(), None)
    }

    fn assemble(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: SharedClock,
        public_url: String,
        virtual_clock: Option<Arc<VirtualClock>>,
    ) -> Self {
        let metrics = Arc::new(Metrics::new());
        let watch = Arc::new(StoreWatch::new(Arc::clone(&metrics), Arc::clone(&clock)));
        Self(Arc::new(SharedState {
            config: Arc::new(config),
            store: Arc::new(WatchedStore::new(Arc::clone(&store), Arc::clone(&watch))),
            unwatched_store: Arc::clone(&store),
            clock,
            // Tokens are not traffic: their reads and writes go to the store unwatched.
            tokens: Arc::new(TokenStore::new(Arc::clone(&store))),
            public_url: Arc::from(public_url.trim_end_matches('/')),
            virtual_clock,
            metrics,
            watch,
            probes: ProbeCache::default(),
        }))
    }

    /// State in virtual time: `clock` is the server's only clock, and the admin endpoint `/admin/clock` moves it.
    #[must_use]
    pub fn new_virtual(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<VirtualClock>,
        public_url: impl Into<String>,
    ) -> Self {
        let shared: SharedClock = clock.clone();
        Self::assemble(config, store, shared, public_url.into(), Some(clock))
    }

    /// The store without its watcher: writes through it are neither counted nor judged by readiness.
    pub(crate) fn probe_store(&self) -> &Arc<dyn Store> {
        &self.unwatched_store
    }

    /// The clock's wall time.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The clock's wall time as a store [`Timestamp`].
    #[must_use]
    pub fn now_timestamp(&self) -> Timestamp {
        Timestamp::from_system_time(self.clock.now())
    }

    /// The token endpoint's URL, the audience of JWT-bearer assertions and the `token_uri` of key files.
    #[must_use]
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.public_url)
    }
}
