//! OAuth 2.0: the token endpoint (`POST /token`), the access tokens it issues, the optional
//! metadata-server-compatible endpoint, and resource-side authentication.
//!
//! # The token endpoint
//!
//! `POST /token` takes an `application/x-www-form-urlencoded` body (anything else is 400 `invalid_request`) of at
//! most [`MAX_TOKEN_REQUEST_BYTES`] and answers RFC 6749 JSON with `Cache-Control: no-store`:
//!
//! - success: `{"access_token", "expires_in", "scope", "token_type": "Bearer"}`, `expires_in` the configured
//!   access-token lifetime and `scope` the granted scopes, space-separated;
//! - refusal: `{"error", "error_description"}`, 400, or 401 for `invalid_client`.
//!
//! Grants:
//!
//! - `refresh_token`, for the configured users: `client_id` and `client_secret` (in the form, or HTTP Basic per
//!   RFC 6749 §2.3.1), `refresh_token`, and an optional `scope` that may only narrow the consented scopes.
//!   Unknown client or wrong secret: 401 `invalid_client`; unknown refresh token: `invalid_grant`; a wider scope:
//!   `invalid_scope`.
//! - [`JWT_BEARER_GRANT_TYPE`] with an `assertion`, for the configured service accounts: an RS256 JWT whose `iss`
//!   names the service account, signed by one of its keys, with `aud` this server's token URI or any of
//!   [`GOOGLE_TOKEN_AUDIENCES`] (Google's token endpoints of every era: key files carry one as `token_uri`, and
//!   Google's Python library always sends the current one), `iat` and `exp` within the configured
//!   skew, a lifetime of at most the configured maximum, and a `scope`; `sub`, if present, must be `iss` (no
//!   domain-wide delegation). Any failure: `invalid_grant` (a foreign `sub`: `unauthorized_client`), described
//!   without quoting the assertion. The granted scopes are the assertion's.
//!
//! Any other `grant_type` is `unsupported_grant_type`; a missing or repeated parameter is `invalid_request`.
//! Responses carry a `Date` read from the server's clock. Each request is traced (grant, principal, outcome),
//! never with a secret.
//!
//! # The metadata endpoint
//!
//! See `metadata.rs`: `GET /computeMetadata/v1/instance/service-accounts/default/token` and its siblings, when
//! `ServerConfig::metadata` is set; 404 otherwise.

mod endpoint;
mod error;
mod grants;
mod metadata;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::post;

pub use crate::tokens::{ACCESS_TOKEN_PREFIX, TokenRefusal, TokenStore};
pub use endpoint::MAX_TOKEN_REQUEST_BYTES;
pub use grants::{GOOGLE_TOKEN_AUDIENCE, GOOGLE_TOKEN_AUDIENCES, JWT_BEARER_GRANT_TYPE};

use crate::state::AppState;

/// The OAuth routes: `POST /token` and the metadata routes under `/computeMetadata`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token", post(endpoint::token))
        .merge(metadata::routes())
}

/// A JSON body with its content type.
fn json_body(body: &serde_json::Value) -> ([(header::HeaderName, HeaderValue); 1], Vec<u8>) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

/// Marks a token response uncacheable (RFC 6749 §5.1).
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
