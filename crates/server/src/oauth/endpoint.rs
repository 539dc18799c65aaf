//! `POST /token`: reads the form (RFC 6749 §3.2), dispatches on `grant_type`, and answers a token (§5.1) or an
//! error (§5.2). The grants themselves live in `grants.rs`.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use taskqueue_auth::{OAuthErrorCode, ScopeSet, SecretString};

use super::error::OAuthError;
use super::grants::{self, GrantType};
use crate::state::AppState;

/// The largest form body read, in bytes: an assertion of `taskqueue_auth::MAX_JWT_LEN` (16 KiB) stays under it
/// even fully percent-encoded, and nothing else in a token request is large.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 64 * 1024;

/// The form parameters this endpoint reads; each may appear once (RFC 6749 §3.2). Others are ignored.
const KNOWN_PARAMETERS: [&str; 6] = [
    "grant_type",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "assertion",
];

/// A token request's form: the known parameters, each present at most once.
pub(crate) struct TokenForm {
    params: Vec<(&'static str, String)>,
}

impl TokenForm {
    /// Parses an `application/x-www-form-urlencoded` body.
    ///
    /// # Errors
    ///
    /// `invalid_request` if a known parameter is repeated.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            let Some(known) = KNOWN_PARAMETERS.iter().find(|known| **known == name) else {
                continue;
            };
            if params.iter().any(|(seen, _)| seen == known) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter {known} is repeated; each parameter may be sent once"
                )));
            }
            params.push((known, value.into_owned()));
        }
        Ok(Self { params })
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// The value of `name`, which must be present.
    ///
    /// # Errors
    ///
    /// `invalid_request` "Missing required parameter: {name}".
    pub(crate) fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::missing_parameter(name))
    }
}

/// How the client authenticated, for the refresh-token grant: its id and secret, from the form or from HTTP
/// Basic (RFC 6749 §2.3.1).
pub(crate) struct ClientCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    /// Whether they came in an `Authorization: Basic` header.
    pub(crate) basic: bool,
}

impl ClientCredentials {
    /// The client's credentials from `headers` or `form`.
    ///
    /// # Errors
    ///
    /// `invalid_request` if they are missing, if both methods are used, or if the Basic header is malformed.
    pub(crate) fn from_request(headers: &HeaderMap, form: &TokenForm) -> Result<Self, OAuthError> {
        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            let client_id = form.required("client_id")?;
            let client_secret = form.required("client_secret")?;
            return Ok(Self {
                client_id: client_id.to_owned(),
                client_secret: SecretString::from(client_secret),
                basic: false,
            });
        };
        let malformed = || {
            OAuthError::invalid_request(
                "the Authorization header is not HTTP Basic client authentication \
                 (Basic base64(client_id:client_secret))",
            )
        };
        let encoded = authorization
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, credentials) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("basic")
                    .then(|| credentials.trim())
            })
            .ok_or_else(malformed)?;
        let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
        // RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
        let client_id = form_decode(id);
        let client_secret = SecretString::from(form_decode(secret));
        if form.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request(
                "the client authenticated twice (Authorization header and client_secret); use one \
                 method",
            ));
        }
        if form.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "the client_id parameter differs from the Authorization header's",
            ));
        }
        if client_id.is_empty() {
            return Err(OAuthError::missing_parameter("client_id"));
        }
        Ok(Self {
            client_id,
            client_secret,
            basic: true,
        })
    }
}

/// One form-urlencoded value decoded: `+` read as a space, percent-escapes decoded, invalid UTF-8 replaced (as
/// `form_urlencoded::parse` decodes values). `&` and `=` are data here, not separators.
fn form_decode(value: &str) -> String {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// An access token granted: what the success response says.
pub(crate) struct Granted {
    pub(crate) access_token: SecretString,
    pub(crate) expires_in: u64,
    pub(crate) scopes: ScopeSet,
}

impl IntoResponse for Granted {
    fn into_response(self) -> Response {
        // Google's field order.
        let body = serde_json::json!({
            "access_token": self.access_token.expose(),
            "expires_in": self.expires_in,
            "scope": self.scopes.to_space_separated(),
            "token_type": "Bearer",
        });
        let mut response = super::json_body(&body).into_response();
        super::no_store(response.headers_mut());
        response
    }
}

/// `POST /token`.
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let now = state.now();
    let mut grant = "unknown";
    let outcome = match read_form(&headers, body).await {
        Ok(form) => {
            if let Some(Ok(grant_type)) = form.get("grant_type").map(GrantType::parse) {
                grant = grant_type.name();
            }
            dispatch(&state, &headers, &form, now).await
        }
        Err(error) => {
            trace_refused_before_grant(&error);
            Err(error)
        }
    };
    let outcome_label = match &outcome {
        Ok(_) => "granted",
        Err(error) => code_label(error.code()),
    };
    let mut response = match outcome {
        Ok(granted) => granted.into_response(),
        Err(error) => error.into_response(),
    };
    set_date(&mut response, now);
    response
        .extensions_mut()
        .insert(crate::metrics::TokenGrant {
            grant,
            outcome: outcome_label,
        });
    response
}

/// An error code as a metrics label (a fixed set of values).
fn code_label(code: &OAuthErrorCode) -> &'static str {
    match code {
        OAuthErrorCode::InvalidRequest => "invalid_request",
        OAuthErrorCode::InvalidClient => "invalid_client",
        OAuthErrorCode::InvalidGrant => "invalid_grant",
        OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
        OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
        OAuthErrorCode::InvalidScope => "invalid_scope",
        OAuthErrorCode::AccessDenied => "access_denied",
        OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        OAuthErrorCode::ServerError => "server_error",
        _ => "other",
    }
}

/// Traces a token request refused before its grant was known (not a form, or no usable `grant_type`).
fn trace_refused_before_grant(error: &OAuthError) {
    tracing::info!(
        grant = "unknown",
        outcome = error.code().as_str(),
        reason = error.description(),
        "token request refused"
    );
}

/// The form of a token request, checked to be one.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<TokenForm, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim());
    let is_form = content_type
        .is_some_and(|mime| mime.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the token request must be a form: Content-Type application/x-www-form-urlencoded \
             (RFC 6749 §4.1.3)",
        ));
    }
    let body = axum::body::to_bytes(body, MAX_TOKEN_REQUEST_BYTES)
        .await
        .map_err(|_| {
            OAuthError::invalid_request(format!(
                "the token request body could not be read, or is larger than \
                 {MAX_TOKEN_REQUEST_BYTES} bytes"
            ))
        })?;
    TokenForm::parse(&body)
}

/// Runs the grant the form asks for, and traces the outcome.
async fn dispatch(
    state: &AppState,
    headers: &HeaderMap,
    form: &TokenForm,
    now: SystemTime,
) -> Result<Granted, OAuthError> {
    let grant_type = match form.required("grant_type").and_then(GrantType::parse) {
        Ok(grant_type) => grant_type,
        Err(error) => {
            trace_refused_before_grant(&error);
            return Err(error);
        }
    };
    let mut principal = None;
    let outcome = match grant_type {
        GrantType::RefreshToken => {
            grants::refresh_token(state, headers, form, now, &mut principal).await
        }
        GrantType::JwtBearer => grants::jwt_bearer(state, form, now, &mut principal).await,
    };
    let principal = principal.unwrap_or("unknown");
    match &outcome {
        Ok(granted) => tracing::info!(
            grant = grant_type.name(),
            principal,
            outcome = "granted",
            scopes = %granted.scopes,
            expires_in = granted.expires_in,
            "access token issued"
        ),
        Err(error) => tracing::info!(
            grant = grant_type.name(),
            principal,
            outcome = error.code().as_str(),
            reason = error.description(),
            "token request refused"
        ),
    }
    outcome
}

/// Sets `Date` from the server's clock, so that a client comparing it with its own clock (to explain a refused
/// assertion) sees the time the server judged the assertion by, virtual or not. hyper keeps a `Date` it finds.
fn set_date(response: &mut Response, now: SystemTime) {
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(header::DATE, date);
    }
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn basic_credentials_are_form_decoded_whole() {
        let cases = [
            ("plain", "plain"),
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("100%25", "100%"),
            ("a&b=c", "a&b=c"),
            ("%26%3D", "&="),
            ("caf%C3%A9", "café"),
            ("bad%FF", "bad\u{FFFD}"),
            ("trailing%", "trailing%"),
            ("", ""),
        ];
        for (encoded, decoded) in cases {
            assert_eq!(form_decode(encoded), decoded, "{encoded:?}");
        }
    }
}
