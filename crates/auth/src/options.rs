//! [`HttpOptions`]: how the HTTP-based token sources reach their servers.

use std::time::Duration;

use taskqueue_clock::{RetryPolicy, SharedClock};

use crate::NetworkOptions;

/// Timeouts, retries and the clock shared by the token sources that talk to
/// a token endpoint or the metadata server.
///
/// The defaults: 5 s to connect, 30 s per request, and up to 3 attempts
/// with jittered backoff from 1 s, at most 30 s in all, on the system clock.
/// Only transient failures are retried (5xx, 408, 429,
/// `temporarily_unavailable`, connection errors); `invalid_grant` never is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// The longest wait for a connection.
    pub connect_timeout: Duration,
    /// The longest one request may take.
    pub request_timeout: Duration,
    /// Backoff between attempts on transient failures.
    pub retry: RetryPolicy,
    /// The clock for token expiry, JWT timestamps and backoff sleeps.
    pub clock: SharedClock,
    /// Trust roots and proxy of the token endpoint's client (the metadata
    /// server is always reached directly, with the bundled roots).
    pub network: NetworkOptions,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::new()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_secs(1))
                .with_max_backoff(Duration::from_secs(10))
                .with_max_elapsed(Duration::from_secs(30)),
            clock: taskqueue_clock::system(),
            network: NetworkOptions::default(),
        }
    }
}

impl HttpOptions {
    /// The same options on another clock (a virtual one in tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The same options with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same options with other trust roots or proxy.
    pub fn with_network(mut self, network: NetworkOptions) -> Self {
        self.network = network;
        self
    }

    /// The same options with another connection timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The same options with another per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}
