//! [`Transport`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{
    NetworkOptions, ProxySetting, Scope, ScopeSet, SharedTokenProvider, TokenProvider,
};
use taskqueue_clock::SharedClock;

use crate::Error;
use taskqueue_clock::RetryPolicy;

/// The default User-Agent. Google's performance tips ask for `gzip` in it
/// for compressed responses.
pub(crate) const DEFAULT_USER_AGENT: &str =
    concat!("taskqueue-rs/", env!("CARGO_PKG_VERSION"), " (gzip)");

/// A Google REST transport, cheap to clone: clones share one connection pool,
/// token provider, retry policy and clock.
#[derive(Clone)]
pub struct Transport {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: SharedTokenProvider,
    pub(crate) scopes: ScopeSet,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: SharedClock,
    pub(crate) attempt_timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

impl Transport {
    /// A builder with the defaults: scope `taskqueue`, [`RetryPolicy::new`],
    /// the system clock, 10 s connect timeout, 60 s per attempt, responses
    /// up to 64 MiB.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::new()
    }

    /// The scopes requested from the token provider.
    pub fn scopes(&self) -> &ScopeSet {
        &self.inner.scopes
    }

    /// The retry policy applied to retryable requests.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The clock every sleep and deadline goes through.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("scopes", &self.inner.scopes)
            .field("retry", &self.inner.retry)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Transport`]. Setters never fail; [`TransportBuilder::build`]
/// reports the first problem.
#[derive(Debug)]
pub struct TransportBuilder {
    tokens: Option<SharedTokenProvider>,
    scopes: ScopeSet,
    retry: RetryPolicy,
    clock: Option<SharedClock>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    max_response_bytes: usize,
    user_agent: String,
    network: NetworkOptions,
}

impl TransportBuilder {
    fn new() -> Self {
        Self {
            tokens: None,
            scopes: ScopeSet::from([Scope::Taskqueue]),
            retry: RetryPolicy::new(),
            clock: None,
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(60),
            max_response_bytes: 64 << 20,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            network: NetworkOptions::default(),
        }
    }

    /// Trust roots and proxy (default: Mozilla's roots, the environment's
    /// proxy): add an internal CA, use the platform verifier, or name a
    /// proxy.
    pub fn network(mut self, network: NetworkOptions) -> Self {
        self.network = network;
        self
    }

    /// The source of access tokens (required): any [`TokenProvider`], owned
    /// or already shared (`Arc<dyn TokenProvider>` is one).
    pub fn token_provider(mut self, tokens: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(tokens));
        self
    }

    /// The scopes to ask the token provider for.
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// The retry policy for retryable requests.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock for backoff sleeps and the total retry budget.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The longest wait for a TCP (and TLS) connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest one attempt may take, from sending to the last body byte.
    ///
    /// This is a real-time I/O deadline on the socket, not virtual time.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes (after decompression).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Puts `product` (for example `my-worker/1.2`) in front of the default
    /// User-Agent.
    pub fn user_agent_prefix(mut self, product: &str) -> Self {
        self.user_agent = format!("{product} {DEFAULT_USER_AGENT}");
        self
    }

    /// Builds the transport and its connection pool.
    pub fn build(self) -> Result<Transport, Error> {
        let tokens = self
            .tokens
            .ok_or_else(|| Error::configuration("a token provider is required"))?;
        let tls =
            taskqueue_auth::http::rustls_client_config_for(&self.network).map_err(|source| {
                Error::configuration("the TLS configuration could not be built").with_source(source)
            })?;
        let mut http = reqwest::Client::builder();
        match self.network.proxy() {
            ProxySetting::Disabled => http = http.no_proxy(),
            ProxySetting::Url { url, no_proxy } => {
                let proxy = reqwest::Proxy::all(url.as_str())
                    .map_err(|source| {
                        Error::configuration(format!("the proxy URL `{url}` is not valid"))
                            .with_source(source)
                    })?
                    .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
                http = http.proxy(proxy);
            }
            // The environment's proxy, as reqwest reads it by default.
            _ => {}
        }
        let http = http
            .tls_backend_preconfigured(tls)
            .user_agent(self.user_agent)
            .connect_timeout(self.connect_timeout)
            .gzip(true)
            .build()
            .map_err(|source| {
                Error::configuration("the HTTP client could not be built").with_source(source)
            })?;
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                tokens,
                scopes: self.scopes,
                retry: self.retry,
                clock: self.clock.unwrap_or_else(taskqueue_clock::system),
                attempt_timeout: self.attempt_timeout,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}
