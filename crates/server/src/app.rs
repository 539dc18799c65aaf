//! [`AppState`]: what every handler shares (configuration, store, clock, tokens), and [`router`], the whole
//! HTTP surface assembled from the API, OAuth and operations routes.

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
use crate::oauth::TokenStore;

/// The state every handler shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration the server runs with.
    pub config: Arc<ServerConfig>,
    /// The task store.
    pub store: Arc<dyn Store>,
    /// The one clock: token expiry, assertion timestamps, ETAs and leases all read it.
    pub clock: SharedClock,
    /// The access tokens issued.
    pub tokens: Arc<TokenStore>,
    /// The URL clients reach the server at, without a trailing slash; the token endpoint is `{public_url}/token`.
    pub public_url: Arc<str>,
    /// The clock again, as a [`VirtualClock`], when the server runs in virtual time: then, and only then, the
    /// admin endpoint that moves it is served.
    pub virtual_clock: Option<Arc<VirtualClock>>,
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
        Self {
            config: Arc::new(config),
            tokens: Arc::new(TokenStore::new(Arc::clone(&store))),
            store,
            clock,
            public_url: Arc::from(public_url.trim_end_matches('/')),
            virtual_clock: None,
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

/// The whole HTTP surface for `state`: the API, the OAuth endpoints, `/healthz`, and in virtual time the admin
/// endpoint; any other path is 404 with the error envelope.
///
/// Every request is traced (without its query, which may hold a token), answered 503 after
/// [`HttpLimits::request_timeout`](crate::config::HttpLimits::request_timeout), refused with 413 when its
/// `Content-Length` is over [`HttpLimits::max_body_bytes`](crate::config::HttpLimits::max_body_bytes) before a byte
/// is read, gunzipped when it is `Content-Encoding: gzip` (and still bounded by the limit once decoded), and gzipped
/// in return when the client accepts it.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .merge(crate::api::routes())
        .merge(crate::oauth::routes())
        .merge(crate::ops::health_routes());
    if let Some(clock) = &state.virtual_clock {
        routes = routes.merge(crate::ops::admin_routes(Arc::clone(clock)));
    }
    routes
        .fallback(crate::ops::not_found)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(RequestDecompressionLayer::new())
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::check_content_length,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::enforce_timeout,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::trace_requests,
        ))
        .with_state(state)
}
