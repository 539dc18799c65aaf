//! [`AppState`]: what every handler shares (configuration, store, clock, tokens, metrics), and [`router`], the
//! whole HTTP surface assembled from the API, OAuth and operations routes.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use taskqueue_clock::{SharedClock, VirtualClock};
use taskqueue_model::Timestamp;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::Store;
use crate::config::ServerConfig;
use crate::health::ProbeCache;
use crate::metrics::Metrics;
use crate::oauth::TokenStore;
use crate::watch::{StoreWatch, WatchedStore};

/// The state every handler shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
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
    pub(crate) probes: Arc<ProbeCache>,
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
        let public_url: String = public_url.into();
        let metrics = Arc::new(Metrics::new());
        let watch = Arc::new(StoreWatch::new(Arc::clone(&metrics), Arc::clone(&clock)));
        Self {
            config: Arc::new(config),
            store: Arc::new(WatchedStore::new(Arc::clone(&store), Arc::clone(&watch))),
            unwatched_store: store,
            clock,
            tokens: Arc::new(TokenStore::new()),
            public_url: Arc::from(public_url.trim_end_matches('/')),
            virtual_clock: None,
            metrics,
            watch,
            probes: Arc::new(ProbeCache::default()),
        }
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
        let mut state = Self::new(config, store, shared, public_url);
        state.virtual_clock = Some(clock);
        state
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

/// The whole HTTP surface for `state`: the API, the OAuth endpoints, `/healthz`, `/readyz`, `/metrics`, and in
/// virtual time the admin endpoint; any other path is 404 with the error envelope.
///
/// Every request is traced (without its query, which may hold a token) and counted in the metrics, answered 503
/// after [`HttpLimits::request_timeout`](crate::config::HttpLimits::request_timeout), refused with 413 when its
/// `Content-Length` is over [`HttpLimits::max_body_bytes`](crate::config::HttpLimits::max_body_bytes) before a byte
/// is read, read whole within
/// [`HttpLimits::body_read_timeout`](crate::config::HttpLimits::body_read_timeout) (else 408), gunzipped when it
/// is `Content-Encoding: gzip` (and still bounded by the limit once decoded), and gzipped in return when the
/// client accepts it. `HEAD` is answered as `GET` without the body, and every refusal, including those of the
/// HTTP layers (405, 413, 415), carries Google's error envelope (`ops::envelope_refusals`).
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .merge(crate::api::routes())
        .merge(crate::oauth::routes())
        .merge(crate::health::routes())
        .route("/metrics", axum::routing::get(crate::metrics::scrape));
    if let Some(clock) = &state.virtual_clock {
        routes = routes.merge(crate::ops::admin_routes(Arc::clone(clock)));
    }
    routes
        .fallback(crate::ops::not_found)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(RequestDecompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), crate::ops::read_body))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::check_content_length,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::enforce_timeout,
        ))
        .layer(axum::middleware::from_fn(crate::ops::envelope_refusals))
        .layer(axum::middleware::from_fn(crate::ops::head_as_get))
        .layer(from_fn_with_state(
            state.clone(),
            crate::metrics::record_requests,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::trace_requests,
        ))
        .with_state(state)
}
