//! Shared fixtures: a transport on a virtual clock, and token providers.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_auth::{AccessToken, ScopeSet, StaticTokenProvider, TokenProvider};
use taskqueue_clock::VirtualClock;
use taskqueue_transport::{Request, RetryPolicy, Transport};
use wiremock::MockServer;

/// Shared with the transport's tests.
pub(crate) use taskqueue_test_support::RotatingTokens;

/// A virtual clock on auto-advance: every backoff sleep is logged and
/// completes at once.
pub(crate) fn clock() -> VirtualClock {
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    clock.set_auto_advance(true);
    clock
}

pub(crate) fn transport(clock: &VirtualClock, retry: RetryPolicy) -> Transport {
    transport_with(
        clock,
        retry,
        Arc::new(StaticTokenProvider::new(AccessToken::new("at-1"))),
    )
}

pub(crate) fn transport_with(
    clock: &VirtualClock,
    retry: RetryPolicy,
    tokens: Arc<dyn TokenProvider>,
) -> Transport {
    Transport::builder()
        .token_provider(tokens)
        .retry_policy(retry.with_jitter_seed(42))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("transport")
}

pub(crate) fn get(server: &MockServer, path: &str) -> Request {
    Request::get(format!("{}{path}", server.uri()).parse().expect("url")).operation("test.get")
}

pub(crate) fn post(server: &MockServer, path: &str) -> Request {
    Request::new(
        taskqueue_transport::http::Method::POST,
        format!("{}{path}", server.uri()).parse().expect("url"),
    )
    .operation("test.post")
}

/// Always fails, transiently or not.
#[derive(Debug)]
pub(crate) struct FailingTokens {
    pub(crate) transient: bool,
}

#[async_trait]
impl TokenProvider for FailingTokens {
    async fn token(&self, _scopes: &ScopeSet) -> Result<AccessToken, taskqueue_auth::Error> {
        Err(if self.transient {
            taskqueue_auth::Error::transient("token endpoint unavailable")
        } else {
            taskqueue_auth::Error::permanent("refresh token revoked")
        })
    }
}
