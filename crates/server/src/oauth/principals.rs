//! Constructors for the configuration types the OAuth endpoints serve, which are `#[non_exhaustive]`, so that
//! embedders and tests can build them.
//!
//! A stopgap: branch helper-config defines the same two constructors, with the same signatures, in `config/mod.rs`.
//! When both are merged, delete this file and its `mod principals;` line; nothing else changes.

use taskqueue_auth::ScopeSet;

use crate::config::{MetadataConfig, UserPrincipal};
use crate::digest::SecretDigest;

impl UserPrincipal {
    /// A user `email` whose OAuth client `client_id` (with the secret of digest `client_secret`) holds a refresh
    /// token of digest `refresh_token`, consented to `scopes`.
    ///
    /// ```
    /// use taskqueue_auth::{Scope, ScopeSet};
    /// use taskqueue_server::SecretDigest;
    /// use taskqueue_server::config::UserPrincipal;
    ///
    /// let user = UserPrincipal::new(
    ///     "dev@example.com",
    ///     "client-1.apps.example.com",
    ///     SecretDigest::of("client-secret"),
    ///     SecretDigest::of("1//refresh-token"),
    ///     ScopeSet::from([Scope::Taskqueue]),
    /// );
    /// assert!(user.refresh_token.matches("1//refresh-token"));
    /// ```
    #[must_use]
    pub fn new(
        email: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretDigest,
        refresh_token: SecretDigest,
        scopes: ScopeSet,
    ) -> Self {
        Self {
            email: email.into(),
            client_id: client_id.into(),
            client_secret,
            refresh_token,
            scopes,
        }
    }
}

impl MetadataConfig {
    /// A metadata endpoint serving tokens of `service_account` with at most `scopes`.
    #[must_use]
    pub fn new(service_account: impl Into<String>, scopes: ScopeSet) -> Self {
        Self {
            service_account: service_account.into(),
            scopes,
        }
    }
}
