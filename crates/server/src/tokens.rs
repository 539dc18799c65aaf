//! [`TokenStore`]: the access tokens the server issued, kept as digests in the task [`Store`], with their caller
//! and expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use taskqueue_auth::{Scope, ScopeSet, SecretString};
use taskqueue_model::Timestamp;

use crate::access::Caller;
use crate::digest::SecretDigest;
use crate::{IssuedToken, Store, StoreError};

/// The prefix of every access token this server issues (Google's began `ya29.`). It tells a token of this server
/// apart in a support request; it is not a secret.
pub const ACCESS_TOKEN_PREFIX: &str = "tqs.";

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// The server never issued it (no instance on this store did).
    #[error("unknown access token")]
    Unknown,
    /// It expired.
    #[error("expired access token")]
    Expired,
    /// The store could not be asked (the failure is logged): the token may well be valid.
    #[error("the token store is unavailable")]
    Unavailable,
}

/// The tokens this process has seen, by digest: issued here or found in the store once.
type Seen = HashMap<SecretDigest, (Caller, SystemTime)>;

/// The access tokens the server issued: opaque, 256 random bits each, kept only as SHA-256 digests with the
/// caller they stand for and their expiry.
///
/// Tokens are saved in the task [`Store`] before they are handed out, so every server instance sharing the store
/// accepts a token any of them issued, and a restart signs nobody out (with the memory store they live as long as
/// the process). A token is looked up in the store once per process and then remembered until it expires: issued
/// tokens are never changed or revoked, only expired. Expired tokens are refused at once; [`purge`](Self::purge)
/// forgets them here and [`Store::purge`] removes them from the store.
#[derive(Debug)]
pub struct TokenStore {
    store: Arc<dyn Store>,
    seen: Mutex<Seen>,
    random: SystemRandom,
}

impl TokenStore {
    /// Tokens kept in `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            seen: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }

    /// Issues a token for `email` with `scopes`, valid for `lifetime` from `now`, and saves it in the store.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use taskqueue_auth::{Scope, ScopeSet};
    /// use taskqueue_server::{MemoryStore, StoreConfig, TokenRefusal, TokenStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Arc::new(MemoryStore::new(StoreConfig::default()));
    /// let tokens = TokenStore::new(store.clone());
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let token = tokens
    ///     .issue("dev@example.com", ScopeSet::from([Scope::Taskqueue]), Duration::from_secs(3600), now)
    ///     .await?;
    /// let caller = tokens.authenticate(token.expose(), now + Duration::from_secs(10)).await?;
    /// assert_eq!(caller.email, "dev@example.com");
    /// let expired = tokens.authenticate(token.expose(), now + Duration::from_secs(3600)).await;
    /// assert_eq!(expired, Err(TokenRefusal::Expired));
    /// // Another instance on the same store accepts it.
    /// let other = TokenStore::new(store);
    /// assert!(other.authenticate(token.expose(), now).await.is_ok());
    /// assert_eq!(other.authenticate("tqs.forged", now).await, Err(TokenRefusal::Unknown));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`] if the token cannot be saved; it is then not handed out.
    pub async fn issue(
        &self,
        email: &str,
        scopes: ScopeSet,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<SecretString, StoreError> {
        let mut bytes = [0_u8; 32];
        if self.random.fill(&mut bytes).is_err() {
            // The system generator does not fail on supported platforms; should it, fall back to fastrand
            // seeded from the OS rather than issue a predictable token.
            for byte in &mut bytes {
                *byte = fastrand::u8(..);
            }
        }
        let token = format!("{ACCESS_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let digest = SecretDigest::of(&token);
        let expires_at = now + lifetime;
        self.store
            .save_token(IssuedToken {
                digest: digest.to_bytes(),
                principal: email.to_owned(),
                scopes: scopes
                    .iter()
                    .map(|scope| scope.as_str().to_owned())
                    .collect(),
                expires_at: Timestamp::from_system_time(expires_at),
            })
            .await?;
        let caller = Caller {
            email: email.to_owned(),
            scopes,
        };
        self.lock().insert(digest, (caller, expires_at));
        Ok(SecretString::from(token))
    }

    /// The caller `token` stands for, if this server (or another on the same store) issued it and it has not
    /// expired at `now`.
    ///
    /// # Errors
    ///
    /// [`TokenRefusal::Unknown`], [`TokenRefusal::Expired`], or [`TokenRefusal::Unavailable`] if the store
    /// failed.
    pub async fn authenticate(&self, token: &str, now: SystemTime) -> Result<Caller, TokenRefusal> {
        let digest = SecretDigest::of(token);
        let known = self.lock().get(&digest).cloned();
        let (caller, expires_at) = match known {
            Some(found) => found,
            None => {
                let found = self
                    .store
                    .find_token(digest.to_bytes())
                    .await
                    .map_err(|error| {
                        tracing::warn!(%error, "cannot look up an access token");
                        TokenRefusal::Unavailable
                    })?
                    .ok_or(TokenRefusal::Unknown)?;
                let caller = Caller {
                    email: found.principal,
                    scopes: found
                        .scopes
                        .iter()
                        .map(|scope| Scope::parse(scope))
                        .collect(),
                };
                let expires_at = found.expires_at.to_system_time();
                if now < expires_at {
                    self.lock().insert(digest, (caller.clone(), expires_at));
                }
                (caller, expires_at)
            }
        };
        if now >= expires_at {
            return Err(TokenRefusal::Expired);
        }
        Ok(caller)
    }

    /// Forgets the tokens of this process expired at `now` (the store's own are removed by [`Store::purge`]);
    /// returns how many.
    pub fn purge(&self, now: SystemTime) -> usize {
        let mut seen = self.lock();
        let before = seen.len();
        seen.retain(|_, (_, expires_at)| now < *expires_at);
        before - seen.len()
    }

    /// How many tokens this process remembers (expired ones included until purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it remembers none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
