//! Shared fixtures: a transport on a virtual clock, and token providers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_auth::{AccessToken, ScopeSet, StaticTokenProvider, TokenProvider};
use taskqueue_clock::VirtualClock;
use taskqueue_transport::{Request, RetryPolicy, Transport};
use wiremock::MockServer;

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

/// Hands out `at-1`, `at-2`, ... and moves to the next token only when the
/// current one is invalidated; counts both. Its tokens record `granted` as
/// their granted scopes, if set.
#[derive(Debug, Default)]
pub(crate) struct RotatingTokens {
    current: Mutex<usize>,
    granted: Option<ScopeSet>,
    pub(crate) issued: AtomicUsize,
    pub(crate) invalidated: AtomicUsize,
}

impl RotatingTokens {
    /// Tokens that the authorization server reports as granted `scopes`.
    pub(crate) fn granting(scopes: ScopeSet) -> Self {
        Self {
            granted: Some(scopes),
            ..Self::default()
        }
    }
}

#[async_trait]
impl TokenProvider for RotatingTokens {
    async fn token(&self, _scopes: &ScopeSet) -> Result<AccessToken, taskqueue_auth::Error> {
        self.issued.fetch_add(1, Ordering::SeqCst);
        let current = *self.current.lock().expect("lock");
        let token = AccessToken::new(format!("at-{}", current + 1));
        Ok(match &self.granted {
            Some(scopes) => token.with_granted_scopes(scopes.clone()),
            None => token,
        })
    }

    fn invalidate(&self, rejected: &AccessToken) {
        self.invalidated.fetch_add(1, Ordering::SeqCst);
        let mut current = self.current.lock().expect("lock");
        if rejected.secret() == format!("at-{}", *current + 1) {
            *current += 1;
        }
    }
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
