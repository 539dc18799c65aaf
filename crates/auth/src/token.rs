//! The OAuth 2.0 access token.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::{ScopeSet, SecretString};

/// An OAuth 2.0 bearer access token: the secret, when it expires and which
/// scopes it was granted, when known.
///
/// `Debug` prints `[censored]` in place of the secret, so a token can sit in
/// any struct that derives `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Option<SystemTime>,
    granted_scopes: Option<ScopeSet>,
}

impl AccessToken {
    /// A token with no known expiry and no known scopes.
    pub fn new(secret: impl Into<SecretString>) -> Self {
        Self {
            secret: secret.into(),
            expires_at: None,
            granted_scopes: None,
        }
    }

    /// The same token, expiring at `expires_at` (wall time).
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The same token, recording the scopes the authorization server granted.
    pub fn with_granted_scopes(mut self, scopes: ScopeSet) -> Self {
        self.granted_scopes = Some(scopes);
        self
    }

    /// The secret, for the `Authorization` header only. Never log it.
    pub fn secret(&self) -> &str {
        self.secret.expose()
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The scopes the server granted, if known.
    pub fn granted_scopes(&self) -> Option<&ScopeSet> {
        self.granted_scopes.as_ref()
    }

    /// How long the token stays valid after `now`; `None` if its expiry is
    /// unknown, zero if it has expired.
    pub fn remaining_lifetime(&self, now: SystemTime) -> Option<Duration> {
        self.expires_at
            .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// Whether the token has expired at `now`. A token with no known expiry
    /// never expires by this test.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &self.secret)
            .field("expires_at", &self.expires_at)
            .field("granted_scopes", &self.granted_scopes)
            .finish()
    }
}
