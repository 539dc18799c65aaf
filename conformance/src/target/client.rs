//! The client under test and its credentials, built the same way on every
//! target: one builder chain, one attempt timeout, one way to make each
//! kind of token source.
//!
//! The token sources keep their default HTTP options (token endpoint: 3
//! attempts from 1 s; metadata server: 5 from 100 ms) except the clock,
//! which is the scenario's, and the jitter, seeded with
//! `client.retry.jitter_seed` when the scenario gives one. Each source is
//! wrapped in a [`TokenCache`] with its default configuration, on the same
//! clock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, HttpOptions, MetadataServerSource, ScopeSet,
    ServiceAccountKey, ServiceAccountSource, SharedTokenProvider, TokenCache,
};
use taskqueue_client::Client;
use taskqueue_clock::{RetryPolicy, SharedClock};

use crate::scenario::{ClientSpec, RetrySpec};

/// The real-time bound on one HTTP attempt, on every target: a socket
/// bound, not a protocol timer (on the virtual-time targets everything
/// else runs on the virtual clock).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client under test (or the real target's setup client, `spec`
/// `None`: no pre-flight check, the default retry policy) at `base_url`,
/// asking `provider` for `scopes`, on `clock`.
pub(crate) fn build(
    base_url: impl Into<String>,
    provider: SharedTokenProvider,
    scopes: ScopeSet,
    clock: SharedClock,
    spec: Option<&ClientSpec>,
) -> Result<Client, String> {
    let mut builder = Client::builder()
        .base_url(base_url.into())
        .token_provider(provider)
        .scopes(scopes)
        .clock(clock)
        .attempt_timeout(ATTEMPT_TIMEOUT);
    if let Some(spec) = spec {
        builder = builder
            .preflight_scope_check(spec.preflight_scope_check)
            .retry_policy(retry_policy(&spec.retry)?);
    }
    builder.build().map_err(|error| format!("client: {error}"))
}

/// The client's retry policy: `client.retry`, jitter seeded.
pub(crate) fn retry_policy(spec: &RetrySpec) -> Result<RetryPolicy, String> {
    Ok(RetryPolicy::new()
        .with_max_attempts(spec.max_attempts)
        .with_initial_backoff(spec.initial_backoff.get())
        .with_max_backoff(spec.max_backoff.get())
        .with_jitter_seed(spec.jitter_seed))
}

/// How token sources are made: on which clock, with which jitter seed.
#[derive(Clone)]
pub(crate) struct Sources {
    /// The clock of the sources and their caches.
    pub(crate) clock: SharedClock,
    /// The jitter seed of the sources' retries, if any.
    pub(crate) seed: Option<u64>,
    /// The HTTP proxy the sources send through, if any.
    pub(crate) proxy: Option<String>,
}

impl Sources {
    fn http(&self, defaults: HttpOptions) -> HttpOptions {
        let mut options = defaults.with_clock(self.clock.clone());
        if let Some(proxy) = &self.proxy {
            let network = options.network.clone().with_proxy(proxy.clone());
            options = options.with_network(network);
        }
        if let Some(seed) = self.seed {
            let retry = options.retry.clone().with_jitter_seed(seed);
            options = options.with_retry(retry);
        }
        options
    }

    fn cached(&self, source: impl taskqueue_auth::TokenSource + 'static) -> SharedTokenProvider {
        Arc::new(TokenCache::new(source, self.clock.clone()))
    }

    /// An `authorized_user` key file's source; `token_uri` overrides the
    /// file's.
    pub(crate) fn authorized_user(
        &self,
        json: &str,
        token_uri: Option<&str>,
    ) -> Result<SharedTokenProvider, String> {
        let credentials = AuthorizedUserCredentials::from_json(json).map_err(auth)?;
        let mut source = AuthorizedUserSource::new(credentials, self.http(HttpOptions::default()))
            .map_err(auth)?;
        if let Some(token_uri) = token_uri {
            source = source.with_token_uri(token_uri).map_err(auth)?;
        }
        Ok(self.cached(source))
    }

    /// A `service_account` key file's source; `token_uri` overrides the
    /// file's.
    pub(crate) fn service_account(
        &self,
        json: &str,
        token_uri: Option<&str>,
    ) -> Result<SharedTokenProvider, String> {
        let key = ServiceAccountKey::from_json(json).map_err(auth)?;
        let mut source =
            ServiceAccountSource::new(key, self.http(HttpOptions::default())).map_err(auth)?;
        if let Some(token_uri) = token_uri {
            source = source.with_token_uri(token_uri).map_err(auth)?;
        }
        Ok(self.cached(source))
    }

    /// The metadata server's source at `host` (`host:port`).
    pub(crate) fn metadata(&self, host: &str) -> Result<SharedTokenProvider, String> {
        let source =
            MetadataServerSource::at_host(host, self.http(MetadataServerSource::default_options()))
                .map_err(auth)?;
        Ok(self.cached(source))
    }
}

/// An `authorized_user` key file's text.
pub(crate) fn user_key_file(
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
    token_uri: &str,
) -> String {
    json!({
        "type": "authorized_user",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
        "token_uri": token_uri,
    })
    .to_string()
}

fn auth(error: taskqueue_auth::Error) -> String {
    format!("credentials: {error}")
}
