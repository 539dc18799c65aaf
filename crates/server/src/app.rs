//! [`AppState`]: what every handler shares (configuration, store, clock, tokens), and [`router`], the whole
//! HTTP surface assembled from the API, OAuth and operations routes.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use taskqueue_clock::SharedClock;
use taskqueue_model::Timestamp;

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
            store,
            clock,
            tokens: Arc::new(TokenStore::new()),
            public_url: Arc::from(public_url.trim_end_matches('/')),
        }
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

/// The whole HTTP surface for `state`: the API, the OAuth endpoints, and the operations routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::oauth::routes())
        .with_state(state)
}
