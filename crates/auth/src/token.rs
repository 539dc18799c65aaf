//! The OAuth 2.0 access token.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{ScopeSet, SecretString};

/// An OAuth 2.0 bearer access token: the secret, when it expires and which
/// scopes it was granted, when known.
///
/// `Debug` prints `[censored]` in place of the secret, so a token can sit in
/// any struct that derives `Debug`. Cloning is cheap (a reference count):
/// a cache hands out clones on every request.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    inner: Arc<Inner>,
}

#[derive(PartialEq, Eq)]
struct Inner {
    secret: SecretString,
    expires_at: Option<SystemTime>,
    granted_scopes: Option<ScopeSet>,
}

impl AccessToken {
    /// A token with no known expiry and no known scopes.
    pub fn new(secret: impl Into<SecretString>) -> Self {
        Self {
            inner: Arc::new(Inner {
                secret: secret.into(),
                expires_at: None,
                granted_scopes: None,
            }),
        }
    }

    /// The same token, expiring at `expires_at` (wall time).
    pub fn with_expires_at(self, expires_at: SystemTime) -> Self {
        self.map(|inner| inner.expires_at = Some(expires_at))
    }

    /// The same token, recording the scopes the authorization server granted.
    pub fn with_granted_scopes(self, scopes: ScopeSet) -> Self {
        self.map(|inner| inner.granted_scopes = Some(scopes))
    }

    /// Whether `self` and `other` are the very same token instance (a clone
    /// of one another), which is cheaper than comparing secrets.
    pub fn same_instance(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn map(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            secret: shared.secret.clone(),
            expires_at: shared.expires_at,
            granted_scopes: shared.granted_scopes.clone(),
        });
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The secret, for the `Authorization` header only. Never log it.
    pub fn secret(&self) -> &str {
        self.inner.secret.expose()
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// The scopes the server granted, if known.
    pub fn granted_scopes(&self) -> Option<&ScopeSet> {
        self.inner.granted_scopes.as_ref()
    }

    /// How long the token stays valid after `now`; `None` if its expiry is
    /// unknown, zero if it has expired.
    pub fn remaining_lifetime(&self, now: SystemTime) -> Option<Duration> {
        self.inner
            .expires_at
            .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// Whether the token has expired at `now`. A token with no known expiry
    /// never expires by this test.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.inner.expires_at.is_some_and(|at| at <= now)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &self.inner.secret)
            .field("expires_at", &self.inner.expires_at)
            .field("granted_scopes", &self.inner.granted_scopes)
            .finish()
    }
}
