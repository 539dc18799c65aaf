//! [`TokenSource`]: fetches a fresh token, uncached. A [`crate::TokenCache`]
//! turns a source into a [`crate::TokenProvider`].

use std::fmt;

use async_trait::async_trait;

use crate::{AccessToken, CredentialSource, Error, ScopeSet};

/// Something that mints a fresh access token on every call: a token
/// endpoint grant, the metadata server, a JWT signer.
///
/// Sources do not cache; wrap one in a [`crate::TokenCache`] for that. A
/// source must be cancellation safe: dropping its future leaves it usable.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A new token for `scopes`, with its expiry and granted scopes when the
    /// server said them.
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error>;

    /// Which kind of credential this is, for errors and reports.
    fn credential_source(&self) -> CredentialSource;
}
