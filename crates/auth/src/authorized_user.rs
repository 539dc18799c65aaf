//! The `authorized_user` credential: a user's OAuth client and refresh token
//! (what `gcloud auth application-default login` writes), traded for access
//! tokens with the refresh-token grant (RFC 6749 §6).

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::GOOGLE_TOKEN_URI;
use crate::token_endpoint::key_file::{self, KeyFile, Origin};
use crate::token_endpoint::{Grant, TokenEndpoint, parse_endpoint};
use crate::{
    AccessToken, CredentialSource, Error, HttpOptions, ScopeSet, SecretString, TokenSource,
};

const KIND: &str = "authorized_user";
const SOURCE: CredentialSource = CredentialSource::AuthorizedUser;

/// The contents of an `authorized_user` key file:
///
/// ```json
/// {
///   "type": "authorized_user",
///   "client_id": "…apps.googleusercontent.com",
///   "client_secret": "…",
///   "refresh_token": "…",
///   "quota_project_id": "my-project",
///   "token_uri": "https://oauth2.googleapis.com/token"
/// }
/// ```
///
/// `token_uri` defaults to `https://oauth2.googleapis.com/token` and
/// `quota_project_id` is optional; other fields are ignored. `Debug` shows
/// the client ID and URIs, never the client secret or refresh token.
#[derive(Clone)]
pub struct AuthorizedUserCredentials {
    client_id: String,
    client_secret: SecretString,
    refresh_token: SecretString,
    token_uri: String,
    quota_project_id: Option<String>,
}

impl AuthorizedUserCredentials {
    /// Reads the credentials from the text of a key file.
    ///
    /// Errors name the missing or invalid field and never quote a value; a
    /// file of another `type` gives "unsupported credential type".
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Self::parse(json).map_err(|why| key_file::invalid(KIND, Origin::Json, &why, SOURCE))
    }

    /// Reads the credentials from a key file; errors name the path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let json = key_file::read(path, KIND, SOURCE)?;
        Self::parse(&json).map_err(|why| key_file::invalid(KIND, Origin::File(path), &why, SOURCE))
    }

    fn parse(json: &str) -> Result<Self, String> {
        let file = KeyFile::parse(json, KIND)?;
        let token_uri = match file.optional("token_uri")? {
            Some(uri) => {
                parse_endpoint(uri).map_err(|why| format!("field `token_uri`: {why}"))?;
                uri.trim().to_owned()
            }
            None => GOOGLE_TOKEN_URI.to_owned(),
        };
        Ok(Self {
            client_id: file.required("client_id")?.to_owned(),
            client_secret: file.required("client_secret")?.into(),
            refresh_token: file.required("refresh_token")?.into(),
            token_uri,
            quota_project_id: file.optional("quota_project_id")?.map(str::to_owned),
        })
    }

    /// The OAuth client ID (not a secret).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The token endpoint the file names (or Google's default).
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The project billed for quota, if the file names one; send it as the
    /// `x-goog-user-project` header.
    pub fn quota_project_id(&self) -> Option<&str> {
        self.quota_project_id.as_deref()
    }
}

impl fmt::Debug for AuthorizedUserCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedUserCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("refresh_token", &self.refresh_token)
            .field("token_uri", &self.token_uri)
            .field("quota_project_id", &self.quota_project_id)
            .finish()
    }
}

/// A [`TokenSource`] that trades a user's refresh token for access tokens at
/// the token endpoint (`grant_type=refresh_token`, form-encoded, with the
/// requested scopes space-joined in `scope`).
///
/// Transient failures are retried per [`HttpOptions::retry`] on its clock;
/// `invalid_grant` (a revoked or expired refresh token) never is, and its
/// error says to sign in again. When the server rotates the refresh token
/// (its answer holds a new one), the new one is kept and used from then on.
pub struct AuthorizedUserSource {
    client_id: String,
    client_secret: SecretString,
    refresh_token: Mutex<SecretString>,
    quota_project_id: Option<String>,
    endpoint: TokenEndpoint,
}

impl AuthorizedUserSource {
    /// A source for `credentials`, reaching the token URI they name with
    /// `options` (timeouts, retries, clock). Builds its HTTP client once;
    /// nothing is sent until the first fetch.
    pub fn new(
        credentials: AuthorizedUserCredentials,
        options: HttpOptions,
    ) -> Result<Self, Error> {
        let endpoint = TokenEndpoint::new(&credentials.token_uri, &options, SOURCE)?;
        Ok(Self {
            client_id: credentials.client_id,
            client_secret: credentials.client_secret,
            refresh_token: Mutex::new(credentials.refresh_token),
            quota_project_id: credentials.quota_project_id,
            endpoint,
        })
    }

    /// The same source, sending its requests to `token_uri` instead (an
    /// absolute `http` or `https` URL) — a test server, a private endpoint.
    pub fn with_token_uri(self, token_uri: impl AsRef<str>) -> Result<Self, Error> {
        Ok(Self {
            endpoint: self.endpoint.with_uri(token_uri.as_ref())?,
            ..self
        })
    }

    /// Where the requests go.
    pub fn token_uri(&self) -> &str {
        self.endpoint.uri()
    }

    /// The project billed for quota, from the credentials.
    pub fn quota_project_id(&self) -> Option<&str> {
        self.quota_project_id.as_deref()
    }

    fn current_refresh_token(&self) -> SecretString {
        self.refresh_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl TokenSource for AuthorizedUserSource {
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let refresh_token = self.current_refresh_token();
        let scope = scopes.to_space_separated();
        let mut form = vec![
            ("grant_type", Grant::RefreshToken.grant_type()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let response = self
            .endpoint
            .exchange(Grant::RefreshToken, &form, scopes)
            .await?;
        if let Some(rotated) = response.refresh_token {
            let mut current = self
                .refresh_token
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Keep a newer rotation made by a concurrent fetch.
            if *current == refresh_token && rotated != refresh_token {
                *current = rotated;
                tracing::debug!(
                    "the token endpoint rotated the refresh token; keeping the new one"
                );
            }
        }
        Ok(response.token)
    }

    fn credential_source(&self) -> CredentialSource {
        SOURCE
    }
}

impl fmt::Debug for AuthorizedUserSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedUserSource")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("refresh_token", &format_args!("[censored]"))
            .field("quota_project_id", &self.quota_project_id)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}
