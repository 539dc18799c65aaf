//! The token-provider seam and the static-token provider.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{AccessToken, Error, ScopeSet};

/// Something that hands out access tokens for a set of scopes.
///
/// The transport calls [`TokenProvider::token`] before every attempt, so
/// implementations should cache. It is object safe (`Arc<dyn TokenProvider>`).
///
/// # Cancellation safety
///
/// Callers may drop the future returned by `token` at any await point (a
/// request timeout, a `select!`). Implementations must leave their state
/// consistent when that happens: no half-written cache entry, no lock held,
/// and other callers waiting on the same refresh must still get a result.
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token valid for `scopes`.
    async fn token(&self, scopes: &ScopeSet) -> Result<AccessToken, Error>;

    /// Tells the provider that the server rejected `rejected` (an HTTP 401),
    /// so the next [`TokenProvider::token`] call must not return it again.
    ///
    /// The default does nothing, which suits providers that cannot refresh.
    fn invalidate(&self, rejected: &AccessToken) {
        let _ = rejected;
    }
}

/// A token provider shared by every clone of a client.
pub type SharedTokenProvider = Arc<dyn TokenProvider>;

/// A shared provider is a provider, so builders that take
/// `impl TokenProvider` accept an `Arc` (a [`SharedTokenProvider`], or an
/// `Arc<TokenCache<_>>` kept elsewhere too) as well as an owned provider.
#[async_trait]
impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    async fn token(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        (**self).token(scopes).await
    }

    fn invalidate(&self, rejected: &AccessToken) {
        (**self).invalidate(rejected);
    }
}

/// Hands out one fixed token, whatever the scopes asked for.
///
/// Useful for tokens minted elsewhere (`gcloud auth print-access-token`) and
/// for tests. It cannot refresh: after a 401 the same token comes back.
#[derive(Debug, Clone)]
pub struct StaticTokenProvider {
    token: AccessToken,
}

impl StaticTokenProvider {
    /// A provider that always returns `token`.
    pub fn new(token: AccessToken) -> Self {
        Self { token }
    }
}

#[async_trait]
impl TokenProvider for StaticTokenProvider {
    async fn token(&self, _scopes: &ScopeSet) -> Result<AccessToken, Error> {
        Ok(self.token.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::Scope;

    #[tokio::test(flavor = "current_thread")]
    async fn static_provider_returns_its_token_through_dyn() {
        let expiry = UNIX_EPOCH + Duration::from_secs(3600);
        let provider: SharedTokenProvider = Arc::new(StaticTokenProvider::new(
            AccessToken::new("ya29.static").with_expires_at(expiry),
        ));
        let token = provider
            .token(&ScopeSet::from([Scope::Taskqueue]))
            .await
            .expect("static token");
        assert_eq!(token.secret(), "ya29.static");
        assert_eq!(token.expires_at(), Some(expiry));
        provider.invalidate(&token);
        let again = provider
            .token(&ScopeSet::new())
            .await
            .expect("static token");
        assert_eq!(again, token);
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let token = AccessToken::new("ya29.very-secret")
            .with_granted_scopes(ScopeSet::from([Scope::Taskqueue]));
        let provider = StaticTokenProvider::new(token.clone());
        for printed in [
            format!("{token:?}"),
            format!("{token:#?}"),
            format!("{provider:?}"),
            format!("{}", crate::SecretString::new("ya29.very-secret")),
        ] {
            assert!(!printed.contains("very-secret"), "{printed}");
            assert!(printed.contains("[censored]"), "{printed}");
        }
    }

    #[test]
    fn remaining_lifetime_and_expiry_read_the_given_time() {
        let token = AccessToken::new("t").with_expires_at(UNIX_EPOCH + Duration::from_secs(100));
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(
            token.remaining_lifetime(at(40)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(token.remaining_lifetime(at(140)), Some(Duration::ZERO));
        assert!(!token.is_expired_at(at(99)));
        assert!(token.is_expired_at(at(100)));
        assert!(!AccessToken::new("t").is_expired_at(at(u64::from(u32::MAX))));
    }
}
