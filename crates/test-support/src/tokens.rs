//! [`RotatingTokens`]: a token provider that moves to a new token only when the current one is invalidated, for
//! the tests of a 401's refresh and of scope denials.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use taskqueue_auth::{AccessToken, ScopeSet, TokenProvider, async_trait};

/// Hands out `at-1`, `at-2`, ... and moves to the next token only when the
/// current one is invalidated; counts both. Its tokens record `granted` as
/// their granted scopes, if set.
#[derive(Debug, Default)]
pub struct RotatingTokens {
    current: Mutex<usize>,
    granted: Option<ScopeSet>,
    issued: AtomicUsize,
    invalidated: AtomicUsize,
}

impl RotatingTokens {
    /// Tokens that the authorization server reports as granted `scopes`.
    pub fn granting(scopes: ScopeSet) -> Self {
        Self {
            granted: Some(scopes),
            ..Self::default()
        }
    }

    /// How many tokens were handed out.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// How many tokens were reported rejected.
    pub fn invalidated(&self) -> usize {
        self.invalidated.load(Ordering::SeqCst)
    }

    /// The number of the current token (0 for `at-1`).
    fn current(&self) -> usize {
        self.current
            .lock()
            .map_or_else(|poisoned| *poisoned.into_inner(), |current| *current)
    }
}

#[async_trait]
impl TokenProvider for RotatingTokens {
    async fn token(&self, _scopes: &ScopeSet) -> Result<AccessToken, taskqueue_auth::Error> {
        self.issued.fetch_add(1, Ordering::SeqCst);
        let token = AccessToken::new(format!("at-{}", self.current() + 1));
        Ok(match &self.granted {
            Some(scopes) => token.with_granted_scopes(scopes.clone()),
            None => token,
        })
    }

    fn invalidate(&self, rejected: &AccessToken) {
        self.invalidated.fetch_add(1, Ordering::SeqCst);
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rejected.secret() == format!("at-{}", *current + 1) {
            *current += 1;
        }
    }
}
