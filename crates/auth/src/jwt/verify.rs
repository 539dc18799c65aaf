//! RS256 JWT verification, for the reference server's token endpoint (the
//! JWT-bearer grant, RFC 7523) and anything else that must accept the
//! assertions [`encode_rs256`](crate::encode_rs256) and Google's client
//! libraries sign.
//!
//! Like signing, this makes no HTTP request and is compiled without the
//! `http` feature. Keys are never fetched from the token: `jwk`, `jku`,
//! `x5u` and `x5c` header members are ignored, and only the keys of the
//! given [`JwtKeySet`] are tried.

mod public_key;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use public_key::RsaVerifyingKey;

use super::{JwtClaims, RS256};

/// The longest token [`verify_rs256`] reads, in bytes: 16 KiB. Anything
/// longer is [`MalformedJwt::TooLong`] before a byte of it is decoded.
///
/// An RS256 assertion is well under 2 KiB (its signature is 342 characters
/// with a 2048-bit key, 1366 with the largest, 8192-bit, key).
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// The longest value quoted from a token in an error message.
const MAX_QUOTED_LEN: usize = 64;

// ----------------------------------------------------------------- keys ----

/// The public keys a JWT may be signed with, by key id (`kid`): for the
/// JWT-bearer grant, one service account's keys by `private_key_id`.
///
/// A token whose header names a `kid` is verified with that key only; an
/// unknown `kid` is [`JwtVerifyError::UnknownKey`]. A token without a `kid`
/// is tried against every key of the set, in key id order, so each costs one
/// RSA verification per key: keep sets small (Google allows ten keys per
/// service account).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwtKeySet {
    keys: BTreeMap<String, RsaVerifyingKey>,
}

impl JwtKeySet {
    /// An empty set, which verifies nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same set with `key` under the id `kid` (replacing any key already
    /// there).
    pub fn with_key(mut self, kid: impl Into<String>, key: RsaVerifyingKey) -> Self {
        self.insert(kid, key);
        self
    }

    /// Adds `key` under the id `kid`, returning the key it replaces.
    pub fn insert(
        &mut self,
        kid: impl Into<String>,
        key: RsaVerifyingKey,
    ) -> Option<RsaVerifyingKey> {
        self.keys.insert(kid.into(), key)
    }

    /// Removes and returns the key with id `kid`.
    pub fn remove(&mut self, kid: &str) -> Option<RsaVerifyingKey> {
        self.keys.remove(kid)
    }

    /// The key with id `kid`.
    pub fn get(&self, kid: &str) -> Option<&RsaVerifyingKey> {
        self.keys.get(kid)
    }

    /// The key ids, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl<K: Into<String>> FromIterator<(K, RsaVerifyingKey)> for JwtKeySet {
    fn from_iter<I: IntoIterator<Item = (K, RsaVerifyingKey)>>(iter: I) -> Self {
        Self {
            keys: iter
                .into_iter()
                .map(|(kid, key)| (kid.into(), key))
                .collect(),
        }
    }
}

// ----------------------------------------------------------- validation ----

/// What a verified JWT's claims must satisfy, beyond its signature.
///
/// Build it with [`JwtValidation::new`] and the `with_` methods. A token is
/// valid at `now` when `iat - max_skew <= now < exp + max_skew` (`exp` is
/// exclusive, as RFC 7519 §4.1.4 says), `exp - iat <= max_lifetime`, and,
/// if present, `nbf - max_skew <= now`.
///
/// ```
/// use std::time::Duration;
/// use taskqueue_auth::JwtValidation;
///
/// // What a token endpoint at http://127.0.0.1:8080/token accepts. Google's
/// // Python library always sends Google's own token URI as `aud`.
/// let validation = JwtValidation::new([
///     "http://127.0.0.1:8080/token",
///     "https://oauth2.googleapis.com/token",
/// ])
/// .with_issuer("worker@project.iam.gserviceaccount.com")
/// .with_max_skew(Duration::from_secs(300));
/// assert_eq!(validation.max_lifetime, Duration::from_secs(3600));
/// assert!(validation.require_scope);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtValidation {
    /// The `iss` the token must carry, exactly; `None` accepts any (the
    /// caller then knows the issuer from the key set it chose).
    pub issuer: Option<String>,
    /// The accepted audiences: the token's `aud` must be a string equal to
    /// one of them. Empty, no token is accepted.
    pub audience: Vec<String>,
    /// The clock difference tolerated between the signer and `now`, applied
    /// to `iat`, `nbf` and `exp`. Default [`Self::DEFAULT_MAX_SKEW`], 60 s.
    pub max_skew: Duration,
    /// The longest `exp - iat` accepted. Default
    /// [`Self::DEFAULT_MAX_LIFETIME`], 1 h, Google's limit for assertions.
    pub max_lifetime: Duration,
    /// Whether the token must carry a non-blank `scope`, as a JWT-bearer
    /// grant assertion must. Default `true`.
    pub require_scope: bool,
}

impl JwtValidation {
    /// The default [`Self::max_skew`]: 60 s, the common leeway of JWT
    /// libraries (jsonwebtoken's too). Google documents no figure for its
    /// own endpoint ("in a reasonable timeframe"); clients back-date `iat`
    /// by at most 10 s, so 60 s suffices on one host or with NTP. Raise it
    /// for clients with poor clocks.
    pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(60);

    /// The default [`Self::max_lifetime`]: 3600 s. Google refuses
    /// assertions that live longer ("Token must be a short-lived token (60
    /// minutes)"), and its libraries sign exactly 3600 s or a little less.
    pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(3600);

    /// Requirements accepting the audiences `audience`, any issuer, the
    /// default skew and lifetime, and requiring a scope.
    pub fn new<A: Into<String>>(audience: impl IntoIterator<Item = A>) -> Self {
        Self {
            issuer: None,
            audience: audience.into_iter().map(Into::into).collect(),
            max_skew: Self::DEFAULT_MAX_SKEW,
            max_lifetime: Self::DEFAULT_MAX_LIFETIME,
            require_scope: true,
        }
    }

    /// The same requirements with the exact issuer `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The same requirements accepting one more audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// The same requirements with another clock skew tolerance.
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }

    /// The same requirements with another longest lifetime.
    pub fn with_max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// The same requirements, requiring a scope or not.
    pub fn with_require_scope(mut self, require_scope: bool) -> Self {
        self.require_scope = require_scope;
        self
    }
}

// --------------------------------------------------------------- errors ----

/// Which of the three segments of a compact JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwtSegment {
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for JwtSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// How a token fails to be a well-formed RS256 compact JWS.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedJwt {
    /// Longer than [`MAX_JWT_LEN`] bytes.
    TooLong {
        /// The token's length in bytes.
        len: usize,
    },
    /// Not three dot-separated segments.
    SegmentCount {
        /// How many segments there are.
        count: usize,
    },
    /// A segment ends in `=` padding, which RFC 7515 §2 forbids.
    Padded(JwtSegment),
    /// A segment is not canonical unpadded base64url.
    NotBase64Url(JwtSegment),
    /// The header or payload is not a UTF-8 JSON object, or repeats a
    /// member this verifier reads (an ambiguity attackers exploit).
    NotJsonObject(JwtSegment),
    /// The header is a JSON object, but not a usable one.
    InvalidHeader(&'static str),
}

impl fmt::Display for MalformedJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "it is {len} bytes long, more than the {MAX_JWT_LEN} accepted"
            ),
            Self::SegmentCount { count } => {
                write!(f, "it has {count} dot-separated segments instead of 3")
            }
            Self::Padded(segment) => write!(
                f,
                "its {segment} ends in `=` padding, which a JWT's base64url must not have"
            ),
            Self::NotBase64Url(segment) => {
                write!(f, "its {segment} is not unpadded base64url")
            }
            Self::NotJsonObject(segment) => write!(
                f,
                "its {segment} is not a JSON object with each member at most once"
            ),
            Self::InvalidHeader(why) => write!(f, "its header {why}"),
        }
    }
}

/// Why a JWT was not accepted: one variant per check, in the order
/// [`verify_rs256`] makes them.
///
/// Every one means the assertion is refused; at an OAuth 2.0 token endpoint
/// they all map to `invalid_grant` (except perhaps [`Self::MissingScope`],
/// `invalid_scope`). The `Display` text is fit for an `error_description`
/// (RFC 6749 §5.2): printable ASCII without `"` or `\`. It never contains
/// the token; values quoted from it (`alg`, `kid`, `iss`, `aud`) are cut to
/// 64 characters, with any other character replaced by `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtVerifyError {
    /// Not a well-formed compact JWS: see the reason.
    Malformed(MalformedJwt),
    /// The header's `alg` is not `RS256`: `none`, every `HS*` (which would
    /// let a public key serve as an HMAC secret), and all others.
    UnsupportedAlgorithm {
        /// The `alg` of the header, sanitized.
        alg: String,
    },
    /// No key of the set may have signed it: the header's `kid` is not in
    /// the set, or the set is empty.
    UnknownKey {
        /// The `kid` of the header, sanitized.
        kid: Option<String>,
    },
    /// The signature is not the named key's (or, without a `kid`, any key's)
    /// signature of the header and payload: a forgery, a tampered token or
    /// the wrong key.
    BadSignature,
    /// A required claim (`iss`, `aud`, `iat` or `exp`) is absent or `null`.
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong type or value.
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `iss` is not [`JwtValidation::issuer`].
    IssuerMismatch {
        /// The issuer required.
        expected: String,
        /// The token's `iss`, sanitized.
        actual: String,
    },
    /// `aud` is none of [`JwtValidation::audience`].
    AudienceMismatch {
        /// The audiences accepted.
        expected: Vec<String>,
        /// The token's `aud`, sanitized.
        actual: String,
    },
    /// `exp - iat` exceeds [`JwtValidation::max_lifetime`].
    LifetimeTooLong {
        /// `exp - iat`, in seconds.
        lifetime_secs: u64,
        /// The longest lifetime accepted, in seconds.
        max_secs: u64,
    },
    /// `iat` is later than `now` plus the skew.
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// `now`, in whole seconds since the Unix epoch.
        now: u64,
        /// The skew tolerated, in whole seconds.
        max_skew_secs: u64,
    },
    /// `nbf` is later than `now` plus the skew.
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// `now`, in whole seconds since the Unix epoch.
        now: u64,
        /// The skew tolerated, in whole seconds.
        max_skew_secs: u64,
    },
    /// `exp` plus the skew is not after `now`.
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// `now`, in whole seconds since the Unix epoch.
        now: u64,
        /// The skew tolerated, in whole seconds.
        max_skew_secs: u64,
    },
    /// [`JwtValidation::require_scope`] is set and `scope` is absent or
    /// blank.
    MissingScope,
}

impl fmt::Display for JwtVerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(reason) => write!(f, "malformed JWT: {reason}"),
            Self::UnsupportedAlgorithm { alg } => write!(
                f,
                "the JWT algorithm `{alg}` is not accepted: only RS256 is"
            ),
            Self::UnknownKey { kid: Some(kid) } => {
                write!(f, "the JWT key id (kid) `{kid}` names no registered key")
            }
            Self::UnknownKey { kid: None } => {
                f.write_str("the JWT names no key id (kid) and no key is registered")
            }
            Self::BadSignature => f.write_str("the JWT signature is invalid"),
            Self::MissingClaim { claim } => write!(f, "the JWT has no `{claim}` claim"),
            Self::InvalidClaim { claim, reason } => {
                write!(f, "the JWT `{claim}` claim {reason}")
            }
            Self::IssuerMismatch { expected, actual } => write!(
                f,
                "the JWT issuer (iss) `{actual}` is not the expected `{}`",
                sanitize(expected)
            ),
            Self::AudienceMismatch { expected, actual } => {
                write!(f, "the JWT audience (aud) `{actual}` is not ")?;
                if expected.is_empty() {
                    return f.write_str("accepted: no audience is");
                }
                f.write_str("the expected ")?;
                for (index, audience) in expected.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "`{}`", sanitize(audience))?;
                }
                Ok(())
            }
            Self::LifetimeTooLong {
                lifetime_secs,
                max_secs,
            } => write!(
                f,
                "the JWT lives {lifetime_secs} s (exp - iat), longer than the {max_secs} s \
                 accepted"
            ),
            Self::IssuedInFuture {
                iat,
                now,
                max_skew_secs,
            } => write!(
                f,
                "the JWT was issued in the future: iat {iat} is more than {max_skew_secs} s \
                 after now ({now}); check the signer's clock"
            ),
            Self::NotYetValid {
                nbf,
                now,
                max_skew_secs,
            } => write!(
                f,
                "the JWT is not valid yet: nbf {nbf} is more than {max_skew_secs} s after now \
                 ({now}); check the signer's clock"
            ),
            Self::Expired {
                exp,
                now,
                max_skew_secs,
            } => write!(
                f,
                "the JWT has expired: exp {exp} plus {max_skew_secs} s is not after now ({now})"
            ),
            Self::MissingScope => {
                f.write_str("the JWT has no `scope` claim (or a blank one), and one is required")
            }
        }
    }
}

impl std::error::Error for JwtVerifyError {}

impl From<MalformedJwt> for JwtVerifyError {
    fn from(reason: MalformedJwt) -> Self {
        Self::Malformed(reason)
    }
}

// -------------------------------------------------------------- results ----

/// A JWT whose signature and claims were verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedJwt {
    kid: Option<String>,
    claims: JwtClaims,
}

impl VerifiedJwt {
    /// The header's `alg`: always `RS256`.
    pub fn alg(&self) -> &'static str {
        RS256
    }

    /// The header's `kid`, if any: the id of the key that verified it.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The claims.
    pub fn claims(&self) -> &JwtClaims {
        &self.claims
    }

    /// The claims, by value.
    pub fn into_claims(self) -> JwtClaims {
        self.claims
    }

    /// The scopes of the `scope` claim (split on whitespace), if any.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.claims
            .scope
            .iter()
            .flat_map(|scope| scope.split_whitespace())
    }
}

/// A well-formed RS256 JWT whose signature and claims are **not yet**
/// verified: parse, look at the unverified `kid` and `iss` to choose the
/// keys, then [`verify`](Self::verify).
///
/// [`UnverifiedJwt::parse`] checks the length, the segments, their base64url,
/// the header (`alg` must be `RS256`) and that the payload is a JSON object.
/// `Debug` shows the unverified `kid` and `iss` only.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use taskqueue_auth::{
///     JwtClaims, JwtKeySet, JwtValidation, RsaSigningKey, RsaVerifyingKey, UnverifiedJwt,
///     encode_rs256,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let private = taskqueue_test_support::keys::RSA_PKCS8_PEM;
/// # let public = taskqueue_test_support::keys::RSA_PUBLIC_PEM;
/// let claims = JwtClaims {
///     iss: "worker@project.iam.gserviceaccount.com".to_owned(),
///     sub: None,
///     aud: Some("https://oauth2.googleapis.com/token".to_owned()),
///     scope: Some("https://www.googleapis.com/auth/taskqueue".to_owned()),
///     iat: 1_700_000_000,
///     exp: 1_700_003_600,
/// };
/// let assertion = encode_rs256(&RsaSigningKey::from_pem(private)?, Some("key-1"), &claims)?;
///
/// // The server's registry: service accounts by email, each with its keys.
/// let keys = JwtKeySet::new().with_key("key-1", RsaVerifyingKey::from_pem(public)?);
/// let registry = [("worker@project.iam.gserviceaccount.com", keys)];
///
/// let jwt = UnverifiedJwt::parse(assertion.expose())?;
/// let (_, keys) = registry
///     .iter()
///     .find(|(email, _)| Some(*email) == jwt.issuer())
///     .ok_or("unknown service account")?;
/// let validation = JwtValidation::new(["https://oauth2.googleapis.com/token"]);
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
/// let verified = jwt.verify(keys, &validation, now)?;
/// assert_eq!(verified.kid(), Some("key-1"));
/// assert_eq!(verified.claims(), &claims);
/// # Ok(())
/// # }
/// ```
pub struct UnverifiedJwt<'a> {
    /// `header.payload`, what the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
    kid: Option<String>,
    claims: RawClaims,
}

impl<'a> UnverifiedJwt<'a> {
    /// Parses a compact RS256 JWT without verifying it. Segments must be
    /// unpadded base64url, as RFC 7515 §2 says.
    pub fn parse(token: &'a str) -> Result<Self, JwtVerifyError> {
        Self::parse_with(token, false)
    }

    /// Parses like [`parse`](Self::parse), but also accepts segments with
    /// correct `=` padding (the length a multiple of 4, at most two `=`):
    /// yup-oauth2 and gcp_auth sign padded assertions, and Google's token
    /// endpoint accepted them (docs/oauth-interop.md §2 in the repository).
    /// A server that must serve those clients unmodified uses this; the
    /// signature still covers the segments exactly as sent. Wrong padding is
    /// [`MalformedJwt::Padded`].
    ///
    /// ```
    /// use taskqueue_auth::{JwtVerifyError, UnverifiedJwt};
    ///
    /// // `{"alg":"RS256"}` and `{}` padded, with a one-byte signature.
    /// let padded = "eyJhbGciOiJSUzI1NiJ9.e30=.AA==";
    /// assert!(UnverifiedJwt::parse(padded).is_err());
    /// assert!(UnverifiedJwt::parse_allowing_padding(padded).is_ok());
    /// assert!(UnverifiedJwt::parse_allowing_padding("eyJhbGciOiJSUzI1NiJ9.e30==.AA==").is_err());
    /// ```
    pub fn parse_allowing_padding(token: &'a str) -> Result<Self, JwtVerifyError> {
        Self::parse_with(token, true)
    }

    fn parse_with(token: &'a str, allow_padding: bool) -> Result<Self, JwtVerifyError> {
        if token.len() > MAX_JWT_LEN {
            return Err(MalformedJwt::TooLong { len: token.len() }.into());
        }
        let count = token.bytes().filter(|byte| *byte == b'.').count() + 1;
        if count != 3 {
            return Err(MalformedJwt::SegmentCount { count }.into());
        }
        // Two dots: `signing_input` is everything before the last one.
        let (signing_input, signature) = token.rsplit_once('.').unwrap_or_default();
        let (header, payload) = signing_input.split_once('.').unwrap_or_default();
        let decode = |segment: &str, which| {
            if allow_padding {
                decode_padded_segment(segment, which)
            } else {
                decode_segment(segment, which)
            }
        };
        let header_json = decode(header, JwtSegment::Header)?;
        let payload_json = decode(payload, JwtSegment::Payload)?;
        let signature = decode(signature, JwtSegment::Signature)?;

        let header: RawHeader = parse_object(&header_json, JwtSegment::Header)?;
        let kid = header.check()?;
        let claims: RawClaims = parse_object(&payload_json, JwtSegment::Payload)?;
        Ok(Self {
            signing_input,
            signature,
            kid,
            claims,
        })
    }

    /// The header's `kid`, **unverified**.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `iss` claim if it is a string, **unverified**: use it only to
    /// choose the keys to verify with.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.iss.as_ref().and_then(Value::as_str)
    }

    /// Verifies the signature with `keys`, then the claims against
    /// `validation` at `now`, in this order, reporting the first failure:
    /// key, signature, claim types, `iss`, `aud`, lifetime, `iat`, `nbf`,
    /// `exp`, `scope`.
    pub fn verify(
        &self,
        keys: &JwtKeySet,
        validation: &JwtValidation,
        now: SystemTime,
    ) -> Result<VerifiedJwt, JwtVerifyError> {
        self.verify_signature(keys)?;
        let claims = self.claims.to_claims()?;
        check_claims(&claims, self.claims.nbf()?, validation, now)?;
        Ok(VerifiedJwt {
            kid: self.kid.clone(),
            claims,
        })
    }

    fn verify_signature(&self, keys: &JwtKeySet) -> Result<(), JwtVerifyError> {
        let message = self.signing_input.as_bytes();
        let verified = match &self.kid {
            Some(kid) => keys
                .get(kid)
                .ok_or_else(|| JwtVerifyError::UnknownKey {
                    kid: Some(sanitize(kid)),
                })?
                .verifies_rs256(message, &self.signature),
            None if keys.is_empty() => return Err(JwtVerifyError::UnknownKey { kid: None }),
            None => keys
                .keys
                .values()
                .any(|key| key.verifies_rs256(message, &self.signature)),
        };
        if verified {
            Ok(())
        } else {
            Err(JwtVerifyError::BadSignature)
        }
    }
}

impl fmt::Debug for UnverifiedJwt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedJwt")
            .field("kid", &self.kid.as_deref().map(sanitize))
            .field("iss", &self.issuer().map(sanitize))
            .finish_non_exhaustive()
    }
}

/// Verifies a compact RS256 JWT: its form, its header (`alg` must be
/// `RS256`), its signature by a key of `keys`, and its claims against
/// `validation` at `now` (take it from the server's
/// [`Clock`](crate::clock::Clock), so tests run in virtual time).
///
/// Never panics, whatever `token` holds; a token longer than
/// [`MAX_JWT_LEN`] is refused before it is read. To choose the keys by the
/// token's issuer, use [`UnverifiedJwt`].
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use taskqueue_auth::{
///     JwtClaims, JwtKeySet, JwtValidation, JwtVerifyError, RsaSigningKey, RsaVerifyingKey,
///     encode_rs256, verify_rs256,
/// };
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let private = taskqueue_test_support::keys::RSA_PKCS8_PEM;
/// # let public = taskqueue_test_support::keys::RSA_PUBLIC_PEM;
/// let claims = JwtClaims {
///     iss: "worker@project.iam.gserviceaccount.com".to_owned(),
///     sub: None,
///     aud: Some("https://oauth2.googleapis.com/token".to_owned()),
///     scope: Some("https://www.googleapis.com/auth/taskqueue".to_owned()),
///     iat: 1_700_000_000,
///     exp: 1_700_003_600,
/// };
/// let assertion = encode_rs256(&RsaSigningKey::from_pem(private)?, Some("key-1"), &claims)?;
/// let keys = JwtKeySet::new().with_key("key-1", RsaVerifyingKey::from_pem(public)?);
/// let validation = JwtValidation::new(["https://oauth2.googleapis.com/token"])
///     .with_issuer("worker@project.iam.gserviceaccount.com");
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
/// let verified = verify_rs256(assertion.expose(), &keys, &validation, now)?;
/// assert_eq!(verified.claims(), &claims);
///
/// // An hour and a minute later (the default skew), it has expired.
/// let later = UNIX_EPOCH + Duration::from_secs(1_700_003_660);
/// let error = verify_rs256(assertion.expose(), &keys, &validation, later).unwrap_err();
/// assert!(matches!(error, JwtVerifyError::Expired { exp: 1_700_003_600, .. }));
/// # Ok(())
/// # }
/// ```
pub fn verify_rs256(
    token: &str,
    keys: &JwtKeySet,
    validation: &JwtValidation,
    now: SystemTime,
) -> Result<VerifiedJwt, JwtVerifyError> {
    UnverifiedJwt::parse(token)?.verify(keys, validation, now)
}

// ------------------------------------------------------------- decoding ----

/// The JOSE header members this verifier reads. Each is a `Value` so that a
/// wrong type is told apart from a missing member; serde refuses repeated
/// members.
#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Option<Value>,
    #[serde(default)]
    typ: Option<Value>,
    #[serde(default)]
    kid: Option<Value>,
    #[serde(default)]
    crit: Option<Value>,
}

impl RawHeader {
    /// Checks the header, returning its `kid`.
    fn check(self) -> Result<Option<String>, JwtVerifyError> {
        let alg = match self.alg {
            None => return Err(MalformedJwt::InvalidHeader("has no `alg`").into()),
            Some(Value::String(alg)) => alg,
            Some(_) => {
                return Err(
                    MalformedJwt::InvalidHeader("has an `alg` that is not a string").into(),
                );
            }
        };
        if alg != RS256 {
            return Err(JwtVerifyError::UnsupportedAlgorithm {
                alg: sanitize(&alg),
            });
        }
        if self.crit.is_some() {
            return Err(MalformedJwt::InvalidHeader(
                "has `crit`, naming extensions this verifier does not implement",
            )
            .into());
        }
        match &self.typ {
            None => {}
            Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
            Some(_) => {
                return Err(MalformedJwt::InvalidHeader("has a `typ` other than `JWT`").into());
            }
        }
        match self.kid {
            None => Ok(None),
            Some(Value::String(kid)) => Ok(Some(kid)),
            Some(_) => Err(MalformedJwt::InvalidHeader("has a `kid` that is not a string").into()),
        }
    }
}

/// The claims this verifier reads, as in [`RawHeader`]; others (`jti`, ...)
/// are ignored.
#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
}

impl RawClaims {
    /// The claims as [`JwtClaims`], or which one is missing or mistyped.
    fn to_claims(&self) -> Result<JwtClaims, JwtVerifyError> {
        Ok(JwtClaims {
            iss: required(string_claim(&self.iss, "iss")?, "iss")?,
            sub: string_claim(&self.sub, "sub")?,
            aud: match &self.aud {
                Some(Value::Array(_)) => {
                    return Err(JwtVerifyError::InvalidClaim {
                        claim: "aud",
                        reason: "is an array: it must be one string",
                    });
                }
                aud => Some(required(string_claim(aud, "aud")?, "aud")?),
            },
            scope: string_claim(&self.scope, "scope")?,
            iat: required(time_claim(&self.iat, "iat")?, "iat")?,
            exp: required(time_claim(&self.exp, "exp")?, "exp")?,
        })
    }

    fn nbf(&self) -> Result<Option<u64>, JwtVerifyError> {
        time_claim(&self.nbf, "nbf")
    }
}

fn required<T>(value: Option<T>, claim: &'static str) -> Result<T, JwtVerifyError> {
    value.ok_or(JwtVerifyError::MissingClaim { claim })
}

fn string_claim(
    value: &Option<Value>,
    claim: &'static str,
) -> Result<Option<String>, JwtVerifyError> {
    match value {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(JwtVerifyError::InvalidClaim {
            claim,
            reason: "is not a string",
        }),
    }
}

/// A NumericDate (RFC 7519 §2), restricted to whole non-negative seconds
/// as every Google library writes it.
fn time_claim(value: &Option<Value>, claim: &'static str) -> Result<Option<u64>, JwtVerifyError> {
    match value {
        None => Ok(None),
        Some(Value::Number(number)) => {
            number
                .as_u64()
                .map(Some)
                .ok_or(JwtVerifyError::InvalidClaim {
                    claim,
                    reason: "is not a whole, non-negative number of seconds",
                })
        }
        Some(_) => Err(JwtVerifyError::InvalidClaim {
            claim,
            reason: "is not a number",
        }),
    }
}

/// Decodes a segment, which must be canonical unpadded base64url.
fn decode_segment(segment: &str, which: JwtSegment) -> Result<Vec<u8>, MalformedJwt> {
    if segment.ends_with('=') {
        return Err(MalformedJwt::Padded(which));
    }
    // The engine refuses padding and non-zero trailing bits, so each byte
    // string has exactly one encoding.
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| MalformedJwt::NotBase64Url(which))
}

/// Decodes a segment that may carry correct `=` padding: the padded length a
/// multiple of 4 and at most two `=`, or no padding at all; the rest must be
/// canonical base64url.
fn decode_padded_segment(segment: &str, which: JwtSegment) -> Result<Vec<u8>, MalformedJwt> {
    let unpadded = segment.trim_end_matches('=');
    let pads = segment.len() - unpadded.len();
    // Each group of 4 characters holds 3 bytes; a last group of 2 or 3
    // characters takes 2 or 1 `=`.
    let expected_pads = (4 - unpadded.len() % 4) % 4;
    if pads != 0 && (pads != expected_pads || pads > 2) {
        return Err(MalformedJwt::Padded(which));
    }
    decode_segment(unpadded, which)
}

/// Parses a JSON object into `T`; a top-level array or other value, which
/// serde would read into a struct too, is refused.
fn parse_object<T: DeserializeOwned>(json: &[u8], which: JwtSegment) -> Result<T, MalformedJwt> {
    let first = json
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return Err(MalformedJwt::NotJsonObject(which));
    }
    serde_json::from_slice(json).map_err(|_| MalformedJwt::NotJsonObject(which))
}

// --------------------------------------------------------------- checks ----

fn check_claims(
    claims: &JwtClaims,
    nbf: Option<u64>,
    validation: &JwtValidation,
    now: SystemTime,
) -> Result<(), JwtVerifyError> {
    if let Some(expected) = &validation.issuer
        && claims.iss != *expected
    {
        return Err(JwtVerifyError::IssuerMismatch {
            expected: expected.clone(),
            actual: sanitize(&claims.iss),
        });
    }
    let aud = claims.aud.as_deref().unwrap_or_default();
    if !validation.audience.iter().any(|expected| expected == aud) {
        return Err(JwtVerifyError::AudienceMismatch {
            expected: validation.audience.clone(),
            actual: sanitize(aud),
        });
    }

    if claims.exp <= claims.iat {
        return Err(JwtVerifyError::InvalidClaim {
            claim: "exp",
            reason: "is not after `iat`",
        });
    }
    let lifetime = Duration::from_secs(claims.exp - claims.iat);
    if lifetime > validation.max_lifetime {
        return Err(JwtVerifyError::LifetimeTooLong {
            lifetime_secs: lifetime.as_secs(),
            max_secs: validation.max_lifetime.as_secs(),
        });
    }

    // A clock before 1970 is broken; reading it as 1970 refuses every token.
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let skew = validation.max_skew;
    let now_secs = now.as_secs();
    let max_skew_secs = skew.as_secs();
    if Duration::from_secs(claims.iat) > now.saturating_add(skew) {
        return Err(JwtVerifyError::IssuedInFuture {
            iat: claims.iat,
            now: now_secs,
            max_skew_secs,
        });
    }
    if let Some(nbf) = nbf
        && Duration::from_secs(nbf) > now.saturating_add(skew)
    {
        return Err(JwtVerifyError::NotYetValid {
            nbf,
            now: now_secs,
            max_skew_secs,
        });
    }
    if Duration::from_secs(claims.exp).saturating_add(skew) <= now {
        return Err(JwtVerifyError::Expired {
            exp: claims.exp,
            now: now_secs,
            max_skew_secs,
        });
    }

    let has_scope = claims
        .scope
        .as_deref()
        .is_some_and(|scope| !scope.trim().is_empty());
    if validation.require_scope && !has_scope {
        return Err(JwtVerifyError::MissingScope);
    }
    Ok(())
}

/// A value from a token, fit to quote in a message: at most 64 characters
/// of printable ASCII other than `"`, `\` and `` ` ``, others replaced by
/// `?`, and `...` when cut.
fn sanitize(value: &str) -> String {
    let mut quoted: String = value
        .chars()
        .take(MAX_QUOTED_LEN)
        .map(|c| match c {
            '"' | '\\' | '`' => '?',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    if value.chars().nth(MAX_QUOTED_LEN).is_some() {
        quoted.push_str("...");
    }
    quoted
}

#[cfg(test)]
mod tests;
