//! The one public error type of `taskqueue-auth`.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where a token was to come from; every [`Error`] from a provider names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialSource {
    /// A fixed token ([`crate::StaticTokenProvider`]).
    Static,
    /// A user's refresh token (`authorized_user` key file).
    AuthorizedUser,
    /// A service account's JWT-bearer grant (`service_account` key file).
    ServiceAccount,
    /// A service account's self-signed JWT, used directly as the token.
    SelfSignedJwt,
    /// The Compute Engine metadata server.
    MetadataServer,
    /// Application Default Credentials discovery.
    ApplicationDefault,
    /// A provider written outside this crate.
    Custom,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialSource::Static => "static token",
            CredentialSource::AuthorizedUser => "authorized user",
            CredentialSource::ServiceAccount => "service account",
            CredentialSource::SelfSignedJwt => "self-signed JWT",
            CredentialSource::MetadataServer => "metadata server",
            CredentialSource::ApplicationDefault => "application default credentials",
            CredentialSource::Custom => "custom provider",
        })
    }
}

/// The `error` code of an OAuth 2.0 error response (RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`: revoked or expired refresh token, bad JWT timestamps.
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `temporarily_unavailable`: retry later.
    TemporarilyUnavailable,
    /// `server_error`
    ServerError,
    /// Any other code, verbatim.
    Other(String),
}

impl OAuthErrorCode {
    /// The code named by `code`.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "server_error" => Self::ServerError,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token could not be had.
///
/// Classify it with the predicates; the message says what to do. It never
/// contains a secret: not a token, a refresh token, a key or an assertion.
///
/// Cloning is cheap (a reference count): a token cache hands the same
/// failure to every caller that waited on it.
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    message: String,
    transient: bool,
    credential_source: Option<CredentialSource>,
    oauth_error: Option<OAuthErrorCode>,
    status: Option<u16>,
    clock_skew: Option<ClockSkew>,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

/// How far the local clock was from the token endpoint's `Date` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClockSkew {
    /// The absolute difference.
    pub difference: Duration,
    /// Whether the local clock is ahead of the server's.
    pub local_ahead: bool,
}

impl Error {
    /// A failure that may succeed if tried again later (a token endpoint
    /// outage, a timeout). Use it when writing your own provider.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(message.into(), true)
    }

    /// A failure that will not go away by retrying (revoked credentials, a
    /// broken key file). Use it when writing your own provider.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(message.into(), false)
    }

    /// The same error, recording the lower-level error that caused it.
    /// The source must not carry secrets in its `Display` or `Debug`.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.inner).source = Some(Arc::new(source));
        self
    }

    /// The same error, naming the credential source that produced it (kept
    /// if already set: the innermost source is the most precise).
    pub fn with_credential_source(mut self, source: CredentialSource) -> Self {
        Arc::make_mut(&mut self.inner)
            .credential_source
            .get_or_insert(source);
        self
    }

    /// The same error, recording the OAuth error code the server sent.
    pub fn with_oauth_error(mut self, code: OAuthErrorCode) -> Self {
        Arc::make_mut(&mut self.inner).oauth_error = Some(code);
        self
    }

    /// The same error, recording the HTTP status the server answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        Arc::make_mut(&mut self.inner).status = Some(status);
        self
    }

    /// The same error, recording the measured clock skew.
    pub fn with_clock_skew(mut self, skew: ClockSkew) -> Self {
        Arc::make_mut(&mut self.inner).clock_skew = Some(skew);
        self
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.inner.transient
    }

    /// The credential source that failed, if known.
    pub fn credential_source(&self) -> Option<CredentialSource> {
        self.inner.credential_source
    }

    /// The OAuth 2.0 error code of the token endpoint's answer, if any.
    pub fn oauth_error(&self) -> Option<&OAuthErrorCode> {
        self.inner.oauth_error.as_ref()
    }

    /// The HTTP status of the token endpoint's or metadata server's answer.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The difference between the local clock and the server's `Date`, when
    /// the server answered with one; a large skew explains `invalid_grant`
    /// errors about `iat`/`exp`.
    pub fn clock_skew(&self) -> Option<ClockSkew> {
        self.inner.clock_skew
    }

    fn new(message: String, transient: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                message,
                transient,
                credential_source: None,
                oauth_error: None,
                status: None,
                clock_skew: None,
                source: None,
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = self.inner.credential_source {
            write!(f, "{source}: ")?;
        }
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("message", &self.inner.message)
            .field("transient", &self.inner.transient)
            .field("credential_source", &self.inner.credential_source)
            .field("oauth_error", &self.inner.oauth_error)
            .field("status", &self.inner.status)
            .field("clock_skew", &self.inner.clock_skew)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|source| source.as_ref() as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_thread_safe_and_one_pointer_wide() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn predicates_and_source_follow_the_constructor() {
        let io = std::io::Error::other("connection reset");
        let error = Error::transient("token endpoint unreachable")
            .with_source(io)
            .with_credential_source(CredentialSource::AuthorizedUser)
            .with_credential_source(CredentialSource::ApplicationDefault)
            .with_status(503)
            .with_oauth_error(OAuthErrorCode::TemporarilyUnavailable);
        assert!(error.is_transient());
        assert_eq!(
            error.to_string(),
            "authorized user: token endpoint unreachable"
        );
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::AuthorizedUser)
        );
        assert_eq!(error.status(), Some(503));
        assert_eq!(
            error.oauth_error(),
            Some(&OAuthErrorCode::TemporarilyUnavailable)
        );
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        assert!(!Error::permanent("revoked").is_transient());
    }

    #[test]
    fn oauth_codes_round_trip_and_keep_unknown_ones() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
            "temporarily_unavailable",
            "server_error",
            "slow_down",
        ] {
            assert_eq!(OAuthErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(
            OAuthErrorCode::parse("slow_down"),
            OAuthErrorCode::Other("slow_down".to_owned())
        );
    }
}
