//! The `service_account` credential: a service account's RSA key, used for
//! the JWT-bearer grant at the token endpoint (RFC 7523, [`ServiceAccountSource`])
//! or to sign JWTs sent directly as bearer tokens ([`SelfSignedJwtSource`]).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_clock::SharedClock;

use crate::GOOGLE_TOKEN_URI;
use crate::token_endpoint::key_file::{self, KeyFile, Origin};
use crate::token_endpoint::{Grant, TokenEndpoint, parse_endpoint};
use crate::{
    AccessToken, CredentialSource, Error, HttpOptions, JwtClaims, RsaSigningKey, ScopeSet,
    SecretString, TokenSource, encode_rs256,
};

const KIND: &str = "service_account";
const SOURCE: CredentialSource = CredentialSource::ServiceAccount;

/// How far `iat` is set back from the local clock, so that a token endpoint
/// whose clock is a little behind does not see a JWT from the future.
pub(crate) const IAT_BACKDATE: Duration = Duration::from_secs(10);

/// `exp - iat`: Google refuses JWTs that live longer than an hour.
pub(crate) const JWT_LIFETIME: Duration = Duration::from_secs(3600);

/// The contents of a `service_account` key file, as the Cloud console
/// downloads it:
///
/// ```json
/// {
///   "type": "service_account",
///   "project_id": "my-project",
///   "private_key_id": "…",
///   "private_key": "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n",
///   "client_email": "worker@my-project.iam.gserviceaccount.com",
///   "client_id": "…",
///   "token_uri": "https://oauth2.googleapis.com/token"
/// }
/// ```
///
/// `private_key_id`, `private_key` and `client_email` are required,
/// `token_uri` defaults to `https://oauth2.googleapis.com/token`, other
/// fields are ignored. The key is parsed when the file is read (PKCS#8 or
/// PKCS#1 PEM), so a broken key is reported then, naming the field. Cloning
/// is cheap; `Debug` never shows the key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    project_id: Option<String>,
    private_key_id: String,
    signing_key: Arc<RsaSigningKey>,
    client_email: String,
    client_id: Option<String>,
    token_uri: String,
}

impl ServiceAccountKey {
    /// Reads the key from the text of a key file.
    ///
    /// Errors name the missing or invalid field (an unparsable key is a
    /// `private_key` error saying why) and never quote a value; a file of
    /// another `type` gives "unsupported credential type".
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Self::parse(json).map_err(|why| key_file::invalid(KIND, Origin::Json, &why, SOURCE))
    }

    /// Reads the key from a key file; errors name the path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let json = key_file::read(path, KIND, SOURCE)?;
        Self::parse(&json).map_err(|why| key_file::invalid(KIND, Origin::File(path), &why, SOURCE))
    }

    fn parse(json: &str) -> Result<Self, String> {
        let file = KeyFile::parse(json, KIND)?;
        let client_email = file.required("client_email")?.to_owned();
        let private_key_id = file.required("private_key_id")?.to_owned();
        let signing_key = RsaSigningKey::from_pem(file.required("private_key")?)
            .map_err(|error| format!("field `private_key`: {error}"))?;
        let token_uri = match file.optional("token_uri")? {
            Some(uri) => {
                parse_endpoint(uri).map_err(|why| format!("field `token_uri`: {why}"))?;
                uri.trim().to_owned()
            }
            None => GOOGLE_TOKEN_URI.to_owned(),
        };
        Ok(Self {
            project_id: file.optional("project_id")?.map(str::to_owned),
            private_key_id,
            signing_key: Arc::new(signing_key),
            client_email,
            client_id: file.optional("client_id")?.map(str::to_owned),
            token_uri,
        })
    }

    /// The service account's email: the JWTs' issuer.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The key's ID: the JWTs' `kid` header.
    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// The project the service account belongs to, if the file says.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The service account's numeric client ID, if the file says (the ID to
    /// authorize for domain-wide delegation).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The token endpoint the file names (or Google's default).
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The parsed private key.
    pub fn signing_key(&self) -> &RsaSigningKey {
        &self.signing_key
    }

    /// Signs `claims` with the header `kid` set to this key's ID.
    fn sign(&self, claims: &JwtClaims, source: CredentialSource) -> Result<SecretString, Error> {
        encode_rs256(&self.signing_key, Some(&self.private_key_id), claims)
            .map_err(|error| error.with_credential_source(source))
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &self.signing_key)
            .field("project_id", &self.project_id)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

/// `iat` and `exp` for a JWT minted at `now`: `iat` is set back by 10 s
/// (a server clock slightly behind must not see a JWT from the future) and
/// `exp` is an hour after `iat`, the longest Google accepts.
fn jwt_times(now: SystemTime) -> (u64, u64) {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let iat = now.saturating_sub(IAT_BACKDATE.as_secs());
    (iat, iat + JWT_LIFETIME.as_secs())
}

/// A [`TokenSource`] that trades a service account's signed JWT for an
/// access token at the token endpoint (the JWT-bearer grant:
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`).
///
/// The assertion is signed with RS256 and the header `kid` = the key's
/// `private_key_id`, and claims `iss` = the service account's email,
/// `scope` = the requested scopes space-joined, `aud` = the token URI,
/// `iat` = now − 10 s and `exp` = `iat` + 3600 s, read from the
/// [`HttpOptions`] clock; `sub` = the impersonated user when
/// [`ServiceAccountSource::with_subject`] set one (domain-wide delegation).
///
/// Transient failures are retried per [`HttpOptions::retry`]; an
/// `invalid_grant` about `iat`/`exp` reports how far the local clock is
/// from the server's ([`Error::clock_skew`]).
pub struct ServiceAccountSource {
    key: ServiceAccountKey,
    subject: Option<String>,
    endpoint: TokenEndpoint,
}

impl ServiceAccountSource {
    /// A source for `key`, reaching the token URI it names with `options`
    /// (timeouts, retries, clock). Builds its HTTP client once; nothing is
    /// sent until the first fetch.
    pub fn new(key: ServiceAccountKey, options: HttpOptions) -> Result<Self, Error> {
        let endpoint = TokenEndpoint::new(&key.token_uri, &options, SOURCE)?;
        Ok(Self {
            key,
            subject: None,
            endpoint,
        })
    }

    /// The same source, impersonating `subject` (a Workspace user's email)
    /// through domain-wide delegation: the JWT's `sub` claim.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The same source, sending its requests to `token_uri` instead (an
    /// absolute `http` or `https` URL); it is also the JWT's `aud`.
    pub fn with_token_uri(self, token_uri: impl AsRef<str>) -> Result<Self, Error> {
        Ok(Self {
            endpoint: self.endpoint.with_uri(token_uri.as_ref())?,
            ..self
        })
    }

    /// The impersonated user, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Where the requests go (and the JWT's `aud`).
    pub fn token_uri(&self) -> &str {
        self.endpoint.uri()
    }

    /// The key this source signs with.
    pub fn key(&self) -> &ServiceAccountKey {
        &self.key
    }

    /// A [`SelfSignedJwtSource`] with the same key and clock, which needs no
    /// token endpoint. Refused when a subject is set: a self-signed JWT
    /// cannot impersonate a user.
    pub fn self_signed(&self) -> Result<SelfSignedJwtSource, Error> {
        if self.subject.is_some() {
            return Err(Error::permanent(
                "a self-signed JWT cannot impersonate a user (domain-wide delegation needs the \
                 JWT-bearer grant): use the service account source, or drop the subject",
            )
            .with_credential_source(CredentialSource::SelfSignedJwt));
        }
        Ok(SelfSignedJwtSource::new(
            self.key.clone(),
            self.endpoint.clock().clone(),
        ))
    }
}

#[async_trait]
impl TokenSource for ServiceAccountSource {
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        if scopes.is_empty() {
            return Err(Error::permanent(
                "the JWT-bearer grant needs at least one scope, and none was requested",
            )
            .with_credential_source(SOURCE));
        }
        let (iat, exp) = jwt_times(self.endpoint.clock().now());
        let claims = JwtClaims {
            iss: self.key.client_email.clone(),
            sub: self.subject.clone(),
            aud: Some(self.endpoint.uri().to_owned()),
            scope: Some(scopes.to_space_separated()),
            iat,
            exp,
        };
        let assertion = self.key.sign(&claims, SOURCE)?;
        let form = [
            ("grant_type", Grant::JwtBearer.grant_type()),
            ("assertion", assertion.expose()),
        ];
        let response = self
            .endpoint
            .exchange(Grant::JwtBearer, &form, scopes)
            .await?;
        Ok(response.token)
    }

    fn credential_source(&self) -> CredentialSource {
        SOURCE
    }
}

impl fmt::Debug for ServiceAccountSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountSource")
            .field("key", &self.key)
            .field("subject", &self.subject)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// A [`TokenSource`] that needs no network: the token is a JWT the service
/// account signs itself, which Google APIs accept as a bearer token
/// ([AIP-4111](https://google.aip.dev/auth/4111)).
///
/// The JWT is RS256 with the header `kid` = the key's `private_key_id`, and
/// claims `iss` = `sub` = the service account's email, `iat` = now − 10 s,
/// `exp` = `iat` + 3600 s (read from the given clock), and either
///
/// - `scope` = the requested scopes space-joined (the default; the token's
///   granted scopes are then the requested ones), or
/// - `aud` = the API's audience, such as `https://www.googleapis.com/` or
///   `https://SERVICE.googleapis.com/`, when
///   [`SelfSignedJwtSource::with_audience`] set one (the scopes asked for
///   are then not sent, and the token's granted scopes are unknown).
///
/// The token expires at `exp`. There is no subject to set: self-signed JWTs
/// cannot do domain-wide delegation ([`ServiceAccountSource::self_signed`]
/// refuses a source that has one).
pub struct SelfSignedJwtSource {
    key: ServiceAccountKey,
    audience: Option<String>,
    clock: SharedClock,
}

impl SelfSignedJwtSource {
    /// A source signing with `key`, reading `iat`/`exp` from `clock`.
    pub fn new(key: ServiceAccountKey, clock: SharedClock) -> Self {
        Self {
            key,
            audience: None,
            clock,
        }
    }

    /// The same source, minting JWTs for the API `audience` (an `aud` claim)
    /// instead of for the requested scopes.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The audience, if one was set.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

#[async_trait]
impl TokenSource for SelfSignedJwtSource {
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let source = CredentialSource::SelfSignedJwt;
        let (iat, exp) = jwt_times(self.clock.now());
        let (aud, scope) = match &self.audience {
            Some(audience) => (Some(audience.clone()), None),
            None if scopes.is_empty() => {
                return Err(Error::permanent(
                    "a self-signed JWT needs scopes or an audience, and neither was given",
                )
                .with_credential_source(source));
            }
            None => (None, Some(scopes.to_space_separated())),
        };
        let claims = JwtClaims {
            iss: self.key.client_email.clone(),
            sub: Some(self.key.client_email.clone()),
            aud,
            scope,
            iat,
            exp,
        };
        let jwt = self.key.sign(&claims, source)?;
        tracing::debug!(
            audience = self.audience.as_deref(),
            scopes = scopes.len(),
            lifetime_s = exp - iat,
            "minted a self-signed JWT"
        );
        let token = AccessToken::new(jwt).with_expires_at(UNIX_EPOCH + Duration::from_secs(exp));
        Ok(match &self.audience {
            Some(_) => token,
            None => token.with_granted_scopes(scopes.clone()),
        })
    }

    fn credential_source(&self) -> CredentialSource {
        CredentialSource::SelfSignedJwt
    }
}

impl fmt::Debug for SelfSignedJwtSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSignedJwtSource")
            .field("key", &self.key)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}
