//! [`GcpAuthProvider`]: a token provider of the `gcp_auth` crate used as a
//! [`TokenProvider`] (feature `gcp-auth`).

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::{AccessToken, CredentialSource, Error, ScopeSet, TokenProvider};

/// Any `gcp_auth` token provider (what `gcp_auth::provider()` discovers,
/// a `CustomServiceAccount`, the metadata server's) as a [`TokenProvider`],
/// for a program that already authenticates with gcp_auth.
///
/// gcp_auth caches tokens itself, per scope list, until 20 seconds before
/// they expire; each [`token`](TokenProvider::token) call asks it, with the
/// scopes' URLs, and hands on its token and expiry. gcp_auth cannot drop a
/// token the server refused, so [`invalidate`](TokenProvider::invalidate)
/// does nothing: after a 401 the next call gets the same token until it
/// expires.
///
/// Its errors become ours: transient for gcp_auth's HTTP and I/O failures,
/// permanent otherwise (no credentials found, a malformed key or answer).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use taskqueue_auth::{GcpAuthProvider, Scope, ScopeSet, TokenProvider};
///
/// let provider = GcpAuthProvider::new(gcp_auth::provider().await?);
/// let token = provider.token(&ScopeSet::from([Scope::Taskqueue])).await?;
/// # let _ = token;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct GcpAuthProvider {
    inner: Arc<dyn gcp_auth::TokenProvider>,
}

impl GcpAuthProvider {
    /// Wraps `provider`.
    pub fn new(provider: Arc<dyn gcp_auth::TokenProvider>) -> Self {
        Self { inner: provider }
    }
}

impl fmt::Debug for GcpAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpAuthProvider").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenProvider for GcpAuthProvider {
    async fn token(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let urls: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
        let token = self.inner.token(&urls).await.map_err(from_gcp_auth)?;
        let expires_at = SystemTime::from(token.expires_at());
        Ok(AccessToken::new(token.as_str()).with_expires_at(expires_at))
    }
}

/// A gcp_auth error as ours: its message, and its cause kept as the source.
fn from_gcp_auth(error: gcp_auth::Error) -> Error {
    let transient = matches!(error, gcp_auth::Error::Http(..) | gcp_auth::Error::Io(..));
    let message = format!("gcp_auth: {error}");
    let ours = if transient {
        Error::transient(message)
    } else {
        Error::permanent(message)
    };
    ours.with_credential_source(CredentialSource::Custom)
        .with_source(error)
}
