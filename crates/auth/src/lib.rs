//! OAuth 2.0 for the Task Queue REST API: typed scopes, access tokens that
//! never print their secret, and the [`TokenProvider`] seam that the transport
//! asks for a token before every request.
//!
//! Every request to the Task Queue must carry an OAuth 2.0 access token with
//! one of four scopes. The scope table of docs/wire-format.md §7 is the spec:
//!
//! | scope | access |
//! |---|---|
//! | `https://www.googleapis.com/auth/taskqueue` | read/write |
//! | `https://www.googleapis.com/auth/taskqueue.consumer` | read-only |
//! | `https://www.googleapis.com/auth/cloud-taskqueue` | read/write |
//! | `https://www.googleapis.com/auth/cloud-taskqueue.consumer` | read-only |
//!
//! # Example
//!
//! ```
//! use taskqueue_auth::{AccessToken, Access, Scope, ScopeSet, StaticTokenProvider, TokenProvider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! let provider = StaticTokenProvider::new(AccessToken::new("ya29.secret"));
//! let scopes = ScopeSet::from([Scope::TaskqueueConsumer]);
//! let token = provider.token(&scopes).await?;
//! assert_eq!(token.secret(), "ya29.secret");
//! // The secret never reaches Debug output or logs.
//! assert!(!format!("{token:?}").contains("ya29"));
//! // The consumer scope is read-only, as the docs say (docs/wire-format.md §7).
//! assert!(scopes.grants(Access::Read));
//! assert!(!scopes.grants(Access::Write));
//! # Ok(())
//! # }
//! ```
//!
//! # Key files: users' refresh tokens and service accounts
//!
//! (Feature `http`.) Each credential type is a [`TokenSource`]: it mints a
//! fresh token per call, so wrap it in a [`TokenCache`] to serve requests.
//! Token endpoint errors carry the OAuth code, the HTTP status and a hint
//! ([`Error::oauth_error`], [`Error::status`], [`Error::clock_skew`]);
//! transient ones are retried per [`HttpOptions::retry`] on its clock.
//!
//! A user's refresh token, from an `authorized_user` key file (what
//! `gcloud auth application-default login` writes):
//!
//! ```no_run
//! use taskqueue_auth::{
//!     AuthorizedUserCredentials, AuthorizedUserSource, HttpOptions, Scope, ScopeSet, TokenSource,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! let credentials = AuthorizedUserCredentials::from_file(
//!     "/home/me/.config/gcloud/application_default_credentials.json",
//! )?;
//! let source = AuthorizedUserSource::new(credentials, HttpOptions::default())?;
//! // POST grant_type=refresh_token&client_id=...&scope=... to the file's token_uri.
//! let token = source.fetch(&ScopeSet::from([Scope::Taskqueue])).await?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! A service account key, traded at the token endpoint for an access token
//! (the JWT-bearer grant), here impersonating a Workspace user through
//! domain-wide delegation:
//!
//! ```no_run
//! use taskqueue_auth::{
//!     HttpOptions, Scope, ScopeSet, ServiceAccountKey, ServiceAccountSource, TokenSource,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! let key = ServiceAccountKey::from_file("/secrets/worker-key.json")?;
//! let source = ServiceAccountSource::new(key, HttpOptions::default())?
//!     .with_subject("admin@example.com");
//! let token = source.fetch(&ScopeSet::from([Scope::Taskqueue])).await?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! The same key signing its own JWTs, used directly as bearer tokens: no
//! request at all.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use taskqueue_auth::clock::VirtualClock;
//! use taskqueue_auth::{Scope, ScopeSet, SelfSignedJwtSource, ServiceAccountKey, TokenSource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! # let json = taskqueue_test_support::keys::SERVICE_ACCOUNT_JSON;
//! let key = ServiceAccountKey::from_json(json)?;
//! let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let source = SelfSignedJwtSource::new(key, std::sync::Arc::new(clock));
//! let token = source.fetch(&ScopeSet::from([Scope::Taskqueue])).await?;
//! // `exp` is `iat` + 1 h, and `iat` is 10 s before now.
//! assert_eq!(
//!     token.expires_at(),
//!     Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000 - 10 + 3600))
//! );
//! assert_eq!(token.secret().split('.').count(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! # The metadata server and Application Default Credentials
//!
//! (Feature `http`.) On Google Cloud, [`MetadataServerSource`] mints tokens
//! for the service account attached to the machine. Anywhere,
//! [`ApplicationDefaultCredentials::discover`] (or
//! [`application_default_credentials`]) finds credentials the way Google's
//! libraries do, and its [`DiscoveryReport`] says where it looked and why
//! each place was taken or not.
//!
//! The environment variables honoured, all read once, when a source is built
//! or discovery runs (an empty variable counts as unset):
//!
//! | variable | read by | meaning |
//! |---|---|---|
//! | `GOOGLE_APPLICATION_CREDENTIALS` | ADC, step 1 | path of a `service_account` or `authorized_user` key file; when set, the file must load (no fall-through) |
//! | `CLOUDSDK_CONFIG` | ADC, step 2 | gcloud's configuration directory, holding `application_default_credentials.json` |
//! | `HOME` | ADC, step 2 (not Windows) | `$HOME/.config/gcloud/application_default_credentials.json` unless `CLOUDSDK_CONFIG` is set |
//! | `APPDATA` | ADC, step 2 (Windows) | `%APPDATA%\gcloud\application_default_credentials.json` unless `CLOUDSDK_CONFIG` is set |
//! | `GCE_METADATA_HOST` | [`MetadataServerSource::new`], ADC step 3 | the metadata server's `host[:port]` instead of `metadata.google.internal` |
//!
//! Step 3 of ADC is a probe of the metadata server bounded by
//! [`AdcOptions::probe_timeout`] (default [`DEFAULT_PROBE_TIMEOUT`], 1 s).
//! Python's `GCE_METADATA_IP`, `GCE_METADATA_TIMEOUT` and `NO_GCE_CHECK` are
//! not read; set the probe timeout in code, or inject an [`AdcEnvironment`].
//!
//! The metadata server source on its own, cached:
//!
//! ```no_run
//! use taskqueue_auth::{MetadataServerSource, Scope, ScopeSet, TokenCache, TokenProvider, clock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! // Host from GCE_METADATA_HOST, else metadata.google.internal; short timeouts.
//! let source = MetadataServerSource::new(MetadataServerSource::default_options())?
//!     .with_account("robot@my-project.iam.gserviceaccount.com");
//! let provider = TokenCache::new(source, clock::system());
//! // Compute Engine ignores these scopes: tokens carry the VM's access scopes.
//! let token = provider.token(&ScopeSet::from([Scope::CloudTaskqueue])).await?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! Application Default Credentials from the process environment:
//!
//! ```no_run
//! use taskqueue_auth::{Scope, ScopeSet, application_default_credentials};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! let adc = application_default_credentials().await?;
//! // "GOOGLE_APPLICATION_CREDENTIALS: not set", ..., "chosen: authorized_user from ..."
//! tracing::info!(report = %adc.report(), "credentials found");
//! let provider = adc.provider(); // a SharedTokenProvider, cached
//! let token = provider.token(&ScopeSet::from([Scope::Taskqueue])).await?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! With an injected environment, as tests do; when nothing is found, the
//! error holds the whole report:
//!
//! ```
//! use std::time::Duration;
//! use taskqueue_auth::{AdcEnvironment, AdcOptions, ApplicationDefaultCredentials};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // No key file anywhere, and no metadata server on this port.
//! let env = AdcEnvironment::default().with_gce_metadata_host("127.0.0.1:9");
//! let options = AdcOptions::default().with_probe_timeout(Duration::from_millis(200));
//! let error = ApplicationDefaultCredentials::discover(&options, &env)
//!     .await
//!     .expect_err("nothing to find");
//! let message = error.to_string();
//! assert!(message.contains("GOOGLE_APPLICATION_CREDENTIALS: not set"));
//! assert!(message.contains("metadata server 127.0.0.1:9: not detected"));
//! # }
//! ```

// This crate's README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

mod cache;
mod error;
mod google;
mod jwt;
mod method_scopes;
mod provider;
mod scope;
mod secret;
mod source;
mod token;

#[cfg(feature = "http")]
mod adc;
#[cfg(feature = "http")]
mod authorized_user;
#[cfg(feature = "gcp-auth")]
mod gcp_auth_provider;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
mod metadata;
#[cfg(feature = "http")]
mod network;
#[cfg(feature = "http")]
mod options;
#[cfg(feature = "http")]
mod service_account;
#[cfg(feature = "http")]
mod token_endpoint;

// Re-exports, one line per module; providers behind the `http` feature.
#[cfg(feature = "http")]
pub use adc::{
    AdcEnvironment, AdcOptions, AdcOutcome, AdcStep, ApplicationDefaultCredentials,
    CLOUDSDK_CONFIG, DiscoveryAttempt, DiscoveryReport, GOOGLE_APPLICATION_CREDENTIALS,
    application_default_credentials,
};
#[cfg(feature = "http")]
pub use authorized_user::{AuthorizedUserCredentials, AuthorizedUserSource};
pub use cache::{CacheConfig, TokenCache};
pub use error::{ClockSkew, CredentialSource, Error, OAuthErrorCode};
#[cfg(feature = "gcp-auth")]
pub use gcp_auth_provider::GcpAuthProvider;
pub use google::{GOOGLE_TOKEN_URI, METADATA_FLAVOR, METADATA_FLAVOR_HEADER};
pub use jwt::{JwtClaims, RsaSigningKey, encode_rs256};
pub use jwt::{
    JwtKeySet, JwtSegment, JwtValidation, JwtVerifyError, MAX_JWT_LEN, MalformedJwt,
    RsaVerifyingKey, UnverifiedJwt, VerifiedJwt, verify_rs256,
};
#[cfg(feature = "http")]
pub use metadata::{
    DEFAULT_METADATA_HOST, DEFAULT_PROBE_TIMEOUT, GCE_METADATA_HOST, MetadataServerSource,
    probe_metadata_server,
};
pub use method_scopes::{accepted_scopes, allows, required_access};
#[cfg(feature = "http")]
pub use network::{NetworkOptions, ProxySetting, RootStore};
#[cfg(feature = "http")]
pub use options::HttpOptions;
pub use provider::{SharedTokenProvider, StaticTokenProvider, TokenProvider};
/// A DER certificate, as [`NetworkOptions::with_root_certificate`] takes it.
#[cfg(feature = "http")]
pub use rustls_pki_types::CertificateDer;
pub use scope::{Access, Scope, ScopeSet};
pub use secret::SecretString;
#[cfg(feature = "http")]
pub use service_account::{SelfSignedJwtSource, ServiceAccountKey, ServiceAccountSource};
pub use source::TokenSource;
pub use token::AccessToken;

/// The attribute for implementing [`TokenProvider`] and [`TokenSource`]
/// (see ARCHITECTURE.md, "Async traits"), re-exported so that an
/// implementation needs no dependency of its own.
pub use async_trait::async_trait;
/// The clock abstraction every time computation goes through, re-exported so
/// users of this crate need not name `taskqueue-clock` themselves.
pub use taskqueue_clock as clock;
