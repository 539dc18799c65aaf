//! RS256 JSON Web Tokens (RFC 7519, RFC 7515), as Google's token endpoint
//! and APIs expect them: the assertion of the JWT-bearer grant and the
//! self-signed JWT used directly as a bearer token.
//!
//! This module makes no HTTP request and is compiled without the `http`
//! feature, so the reference server can share it. Signing lives in
//! `jwt/key.rs`; verification (`verify_rs256`, for a token endpoint that
//! accepts JWT-bearer assertions) in `jwt/verify.rs`, reusing `JwtClaims`
//! and the base64url helpers below.
//!
//! The wire form follows RFC 7515 exactly, which several Google auth
//! libraries get wrong: every segment is base64url **without padding**, the
//! header is `{"alg":"RS256","typ":"JWT","kid":...}` with `kid` the key's
//! `private_key_id`, and the signature is RSASSA-PKCS1-v1_5 with SHA-256.

mod key;
mod verify;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

pub use key::RsaSigningKey;
pub use verify::{
    JwtKeySet, JwtSegment, JwtValidation, JwtVerifyError, MAX_JWT_LEN, MalformedJwt,
    RsaVerifyingKey, UnverifiedJwt, VerifiedJwt, verify_rs256,
};

use crate::{Error, SecretString};

/// The only algorithm this module signs with.
pub(crate) const RS256: &str = "RS256";

/// The JOSE header of a JWT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JwtHeader {
    /// The signature algorithm: always `RS256` here.
    pub(crate) alg: String,
    /// The media type: `JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) typ: Option<String>,
    /// Which key signed: a service account's `private_key_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
}

impl JwtHeader {
    /// The header of an RS256 JWT signed by the key `kid`.
    pub(crate) fn rs256(kid: Option<&str>) -> Self {
        Self {
            alg: RS256.to_owned(),
            typ: Some("JWT".to_owned()),
            kid: kid.map(str::to_owned),
        }
    }
}

/// The claims of the JWTs Google accepts from a service account.
///
/// Timestamps are whole seconds since the Unix epoch, as RFC 7519 says.
/// Absent optional claims are left out of the JSON, not sent as `null`.
///
/// - JWT-bearer grant assertion: `iss` = the service account's email,
///   `aud` = the token endpoint, `scope` = the space-separated scopes, `sub`
///   = the user to impersonate (domain-wide delegation) if any, and
///   `exp - iat` at most 3600.
/// - Self-signed JWT: `iss` = `sub` = the service account's email, and
///   either `scope` or `aud` = the API's audience
///   (`https://SERVICE.googleapis.com/`).
///
/// It stays exhaustive on purpose: the claims of Google's two JWT flows are
/// fixed, and tests build variants with `..claims` updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// The issuer: the service account's email address.
    pub iss: String,
    /// The subject: the impersonated user (JWT-bearer grant with domain-wide
    /// delegation), or the service account itself (self-signed JWT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audience: the token endpoint (JWT-bearer grant) or an API
    /// (self-signed JWT); absent from a self-signed JWT that has `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The space-separated scopes requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: u64,
}

impl JwtClaims {
    /// Claims issued by `iss`, valid from `iat` to `exp` (seconds since the
    /// Unix epoch), with no `sub`, `aud` or `scope`.
    pub fn new(iss: impl Into<String>, iat: u64, exp: u64) -> Self {
        Self {
            iss: iss.into(),
            sub: None,
            aud: None,
            scope: None,
            iat,
            exp,
        }
    }

    /// Sets `sub`.
    #[must_use]
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `aud`.
    #[must_use]
    pub fn with_aud(mut self, aud: impl Into<String>) -> Self {
        self.aud = Some(aud.into());
        self
    }

    /// Sets `scope` (space-separated).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }
}

/// Encodes and signs `claims` as an RS256 JWT with the header
/// `{"alg":"RS256","typ":"JWT","kid":kid}` (`kid` left out when `None`).
///
/// The result is a secret: it is a bearer credential (a self-signed JWT) or
/// trades for one (a JWT-bearer assertion), so it comes as a [`SecretString`].
///
/// ```
/// use taskqueue_auth::{JwtClaims, RsaSigningKey, encode_rs256};
///
/// # fn main() -> Result<(), taskqueue_auth::Error> {
/// # let pem = taskqueue_test_support::keys::RSA_PKCS8_PEM;
/// let key = RsaSigningKey::from_pem(pem)?;
/// let claims = JwtClaims {
///     iss: "worker@project.iam.gserviceaccount.com".to_owned(),
///     sub: None,
///     aud: Some("https://oauth2.googleapis.com/token".to_owned()),
///     scope: Some("https://www.googleapis.com/auth/taskqueue".to_owned()),
///     iat: 1_700_000_000,
///     exp: 1_700_003_600,
/// };
/// let jwt = encode_rs256(&key, Some("key-id"), &claims)?;
/// assert_eq!(jwt.expose().split('.').count(), 3);
/// assert!(!jwt.expose().contains('='));
/// # Ok(())
/// # }
/// ```
pub fn encode_rs256(
    key: &RsaSigningKey,
    kid: Option<&str>,
    claims: &JwtClaims,
) -> Result<SecretString, Error> {
    let header = to_segment(&JwtHeader::rs256(kid), "header")?;
    let payload = to_segment(claims, "claims")?;
    let mut jwt =
        String::with_capacity(header.len() + payload.len() + 2 + 4 * key.signature_len() / 3 + 2);
    jwt.push_str(&header);
    jwt.push('.');
    jwt.push_str(&payload);
    let signature = key.sign_rs256(jwt.as_bytes())?;
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
    Ok(SecretString::new(jwt))
}

/// `value` as JSON, base64url-encoded without padding.
fn to_segment(value: &impl Serialize, what: &str) -> Result<String, Error> {
    let json = serde_json::to_vec(value).map_err(|source| {
        Error::permanent(format!("the JWT {what} could not be encoded as JSON")).with_source(source)
    })?;
    Ok(base64url_encode(&json))
}

/// base64url without padding (RFC 7515 §2).
pub(crate) fn base64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests;
