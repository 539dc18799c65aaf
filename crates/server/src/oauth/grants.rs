//! The two grants of the token endpoint: `refresh_token` (RFC 6749 §6), for users, and
//! `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523), for service accounts.

use std::time::SystemTime;

use axum::http::HeaderMap;
use taskqueue_auth::{JwtValidation, JwtVerifyError, ScopeSet, UnverifiedJwt};

use super::endpoint::{ClientCredentials, Granted, TokenForm};
use super::error::OAuthError;
use crate::config::UserPrincipal;
use crate::state::AppState;

/// The `grant_type` of the JWT-bearer grant.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google's current token endpoint, which Google's Python library always puts in `aud`, whatever the key file's
/// `token_uri` says.
pub const GOOGLE_TOKEN_AUDIENCE: &str = taskqueue_auth::GOOGLE_TOKEN_URI;

/// Every URL of Google's token endpoint a JWT-bearer assertion may name in `aud`, accepted besides this
/// server's own token URI so that key files and libraries of any era work unmodified: the current endpoint,
/// the one key files of the v1beta2 era carry as `token_uri` (`accounts.google.com/o/oauth2/token`), and the
/// one some libraries use (`www.googleapis.com/oauth2/v4/token`). Google accepted all three.
pub const GOOGLE_TOKEN_AUDIENCES: [&str; 3] = [
    GOOGLE_TOKEN_AUDIENCE,
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
];

/// Google's description of a time-related assertion refusal, which clients recognise (our auth crate turns it
/// into a clock-skew hint).
const SHORT_LIVED: &str = "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe. Check \
                           your iat and exp values in the JWT claim.";

/// The grants this endpoint implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GrantType {
    /// `refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    JwtBearer,
}

impl GrantType {
    /// The grant named by a `grant_type` value.
    ///
    /// # Errors
    ///
    /// `unsupported_grant_type` for any other value (not quoted: it is the caller's input).
    pub(crate) fn parse(grant_type: &str) -> Result<Self, OAuthError> {
        match grant_type {
            "refresh_token" => Ok(Self::RefreshToken),
            JWT_BEARER_GRANT_TYPE => Ok(Self::JwtBearer),
            _ => Err(OAuthError::unsupported_grant_type(format!(
                "Invalid grant_type: this server implements refresh_token and {JWT_BEARER_GRANT_TYPE}"
            ))),
        }
    }

    /// A short name for traces.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::RefreshToken => "refresh_token",
            Self::JwtBearer => "jwt-bearer",
        }
    }
}

/// The refresh-token grant: authenticates the client, finds the user whose refresh token it is, and issues a
/// token with the consented scopes, or the narrower `scope` asked for. Sets `principal` once the user is known.
pub(crate) async fn refresh_token<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    form: &TokenForm,
    now: SystemTime,
    principal: &mut Option<&'a str>,
) -> Result<Granted, OAuthError> {
    let client = ClientCredentials::from_request(headers, form)?;
    let refresh_token = form.required("refresh_token")?;
    let users = &state.config.principals.users;
    let clients_users = || {
        users
            .iter()
            .filter(|user| user.client_id == client.client_id)
    };
    if clients_users().next().is_none() {
        return Err(
            OAuthError::invalid_client("The OAuth client was not found.")
                .with_basic_challenge(client.basic),
        );
    }
    let secret = client.client_secret.expose();
    if !clients_users().any(|user| user.client_secret.matches(secret)) {
        return Err(OAuthError::invalid_client(
            "Unauthorized: the client secret does not match the client_id",
        )
        .with_basic_challenge(client.basic));
    }
    let user: &UserPrincipal = clients_users()
        .find(|user| {
            user.client_secret.matches(secret) && user.refresh_token.matches(refresh_token)
        })
        .ok_or_else(|| {
            OAuthError::invalid_grant(
                "Token has been expired or revoked: this client has issued no such refresh token",
            )
        })?;
    *principal = Some(&user.email);

    let scopes = match form.get("scope").map(ScopeSet::parse_space_separated) {
        Some(requested) if !requested.is_empty() => {
            let beyond = requested
                .iter()
                .filter(|scope| !user.scopes.contains(scope))
                .count();
            if beyond > 0 {
                return Err(OAuthError::invalid_scope(format!(
                    "the requested scope includes {beyond} scope(s) the user did not consent to; the \
                     refresh token grants at most: {}",
                    user.scopes
                )));
            }
            requested
        }
        _ => user.scopes.clone(),
    };
    issue(state, &user.email, scopes, now).await
}

/// The JWT-bearer grant: reads the assertion's unverified `iss` to find the service account, verifies the
/// assertion with its keys, and issues a token with the assertion's `scope`. Sets `principal` once the service
/// account is known.
pub(crate) async fn jwt_bearer<'a>(
    state: &'a AppState,
    form: &TokenForm,
    now: SystemTime,
    principal: &mut Option<&'a str>,
) -> Result<Granted, OAuthError> {
    let assertion = form.required("assertion")?;
    let jwt = UnverifiedJwt::parse_allowing_padding(assertion).map_err(|error| refused(&error))?;
    let issuer = jwt.issuer().ok_or_else(|| {
        OAuthError::invalid_grant("Invalid JWT: the assertion has no `iss` claim")
    })?;
    let account = state
        .config
        .principals
        .service_account(issuer)
        .ok_or_else(|| {
            OAuthError::invalid_grant(
                "Invalid email or User ID: the assertion's issuer (iss) is not a service account \
                 registered with this server",
            )
        })?;
    *principal = Some(&account.email);

    let policy = &state.config.tokens;
    let audiences = std::iter::once(state.token_uri())
        .chain(GOOGLE_TOKEN_AUDIENCES.into_iter().map(str::to_owned));
    let validation = JwtValidation::new(audiences)
        .with_issuer(account.email.as_str())
        .with_max_skew(policy.max_assertion_skew)
        .with_max_lifetime(policy.max_assertion_lifetime)
        .with_require_scope(true);
    let verified = jwt
        .verify(&account.keys, &validation, now)
        .map_err(|error| refused(&error))?;
    let claims = verified.claims();
    if claims
        .sub
        .as_deref()
        .is_some_and(|sub| sub != account.email)
    {
        return Err(OAuthError::unauthorized_client(
            "Client is unauthorized to retrieve access tokens using this method: this server \
             implements no domain-wide delegation, so an assertion's `sub` may only be its `iss`",
        ));
    }
    let scopes = ScopeSet::parse_space_separated(claims.scope.as_deref().unwrap_or_default());
    issue(state, &account.email, scopes, now).await
}

/// `invalid_grant` for an assertion that failed verification, with Google's wording where clients look for it.
/// The verifier's messages quote claims only sanitized and cut short, never the assertion itself.
fn refused(error: &JwtVerifyError) -> OAuthError {
    let description = match error {
        JwtVerifyError::BadSignature => format!("Invalid JWT Signature. ({error})"),
        JwtVerifyError::LifetimeTooLong { .. }
        | JwtVerifyError::IssuedInFuture { .. }
        | JwtVerifyError::NotYetValid { .. }
        | JwtVerifyError::Expired { .. }
        | JwtVerifyError::InvalidClaim { claim: "exp", .. } => format!("{SHORT_LIVED} ({error})"),
        _ => format!("Invalid JWT: {error}"),
    };
    OAuthError::invalid_grant(description)
}

/// Issues a token for `email` with `scopes` under the configured lifetime.
///
/// # Errors
///
/// `temporarily_unavailable` if the token cannot be saved in the store.
async fn issue(
    state: &AppState,
    email: &str,
    scopes: ScopeSet,
    now: SystemTime,
) -> Result<Granted, OAuthError> {
    let lifetime = state.config.tokens.access_token_lifetime;
    let access_token = state
        .tokens
        .issue(email, scopes.clone(), lifetime, now)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "cannot save an access token");
            OAuthError::temporarily_unavailable()
        })?;
    Ok(Granted {
        access_token,
        expires_in: lifetime.as_secs(),
        scopes,
    })
}
