//! [`TokenStore`]: the access tokens the server issued, kept as digests with their caller and expiry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use taskqueue_auth::{ScopeSet, SecretString};

use crate::access::Caller;
use crate::digest::SecretDigest;

/// The prefix of every access token this server issues (Google's began `ya29.`). It tells a token of this server
/// apart in a support request; it is not a secret.
pub const ACCESS_TOKEN_PREFIX: &str = "tqs.";

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// The server never issued it (or forgot it: tokens do not survive a restart).
    #[error("unknown access token")]
    Unknown,
    /// It expired.
    #[error("expired access token")]
    Expired,
}

#[derive(Clone, Debug)]
struct Issued {
    caller: Caller,
    expires_at: SystemTime,
}

/// The access tokens the server issued: opaque, 256 random bits each, stored only as SHA-256 digests, with the
/// caller they stand for and their expiry.
///
/// Tokens live in memory: a restart revokes them all, and clients get a 401 and fetch new ones, as they would
/// after a token expired. Expired tokens are refused at once and dropped by [`purge`](Self::purge).
#[derive(Debug)]
pub struct TokenStore {
    issued: Mutex<HashMap<SecretDigest, Issued>>,
    random: SystemRandom,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            issued: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }

    /// Issues a token for `email` with `scopes`, valid for `lifetime` from `now`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use taskqueue_auth::{Scope, ScopeSet};
    /// use taskqueue_server::{TokenRefusal, TokenStore};
    ///
    /// let store = TokenStore::new();
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let token = store.issue("dev@example.com", ScopeSet::from([Scope::Taskqueue]), Duration::from_secs(3600), now);
    /// let caller = store.authenticate(token.expose(), now + Duration::from_secs(10))?;
    /// assert_eq!(caller.email, "dev@example.com");
    /// assert_eq!(store.authenticate(token.expose(), now + Duration::from_secs(3600)), Err(TokenRefusal::Expired));
    /// assert_eq!(store.authenticate("tqs.forged", now), Err(TokenRefusal::Unknown));
    /// # Ok::<(), TokenRefusal>(())
    /// ```
    pub fn issue(
        &self,
        email: &str,
        scopes: ScopeSet,
        lifetime: Duration,
        now: SystemTime,
    ) -> SecretString {
        let mut bytes = [0_u8; 32];
        if self.random.fill(&mut bytes).is_err() {
            // The system generator does not fail on supported platforms; should it, fall back to fastrand
            // seeded from the OS rather than issue a predictable token.
            for byte in &mut bytes {
                *byte = fastrand::u8(..);
            }
        }
        let token = format!("{ACCESS_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let issued = Issued {
            caller: Caller {
                email: email.to_owned(),
                scopes,
            },
            expires_at: now + lifetime,
        };
        self.lock().insert(SecretDigest::of(&token), issued);
        SecretString::from(token)
    }

    /// The caller `token` stands for, if it was issued here and has not expired at `now`.
    ///
    /// # Errors
    ///
    /// [`TokenRefusal::Unknown`] or [`TokenRefusal::Expired`].
    pub fn authenticate(&self, token: &str, now: SystemTime) -> Result<Caller, TokenRefusal> {
        let issued = self.lock();
        let found = issued
            .get(&SecretDigest::of(token))
            .ok_or(TokenRefusal::Unknown)?;
        if now >= found.expires_at {
            return Err(TokenRefusal::Expired);
        }
        Ok(found.caller.clone())
    }

    /// Forgets the tokens expired at `now`; returns how many.
    pub fn purge(&self, now: SystemTime) -> usize {
        let mut issued = self.lock();
        let before = issued.len();
        issued.retain(|_, token| now < token.expires_at);
        before - issued.len()
    }

    /// How many tokens are held (expired ones included until purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SecretDigest, Issued>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
