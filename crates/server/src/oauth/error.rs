//! [`OAuthError`]: the token endpoint's refusals, as RFC 6749 §5.2 error responses
//! (`{"error": "...", "error_description": "..."}`), with the statuses Google's endpoint used.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use taskqueue_auth::OAuthErrorCode;

/// A refusal of the token endpoint: a code, a description for humans, and the status.
///
/// The description never holds a secret of the request (client secret, refresh token, assertion): it is built
/// from fixed text, configured values and sanitized excerpts of the assertion's claims only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    status: StatusCode,
    code: OAuthErrorCode,
    description: Cow<'static, str>,
    /// Whether the client authenticated with HTTP Basic: a 401 then carries a `WWW-Authenticate: Basic`
    /// challenge (RFC 6749 §5.2).
    basic_challenge: bool,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        code: OAuthErrorCode,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// 503 `temporarily_unavailable`: the server could not save the token it would issue.
    pub(crate) fn temporarily_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthErrorCode::TemporarilyUnavailable,
            "the token store is unavailable; try again later",
        )
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidRequest,
            description,
        )
    }

    /// 400 `invalid_request` "Missing required parameter: {name}", Google's wording.
    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::invalid_request(format!("Missing required parameter: {name}"))
    }

    /// 401 `invalid_client`, as Google answered a wrong client secret or an unknown client.
    pub(crate) fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            OAuthErrorCode::InvalidClient,
            description,
        )
    }

    /// 400 `invalid_grant`.
    pub(crate) fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidGrant,
            description,
        )
    }

    /// 400 `unauthorized_client`.
    pub(crate) fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::UnauthorizedClient,
            description,
        )
    }

    /// 400 `unsupported_grant_type`.
    pub(crate) fn unsupported_grant_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::UnsupportedGrantType,
            description,
        )
    }

    /// 400 `invalid_scope`.
    pub(crate) fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OAuthErrorCode::InvalidScope,
            description,
        )
    }

    /// The same error, challenging HTTP Basic client authentication if it is a 401.
    pub(crate) fn with_basic_challenge(mut self, basic: bool) -> Self {
        self.basic_challenge = basic;
        self
    }

    /// The `error` code.
    pub(crate) fn code(&self) -> &OAuthErrorCode {
        &self.code
    }

    /// The `error_description`.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let mut response = (self.status, super::json_body(&body)).into_response();
        super::no_store(response.headers_mut());
        if self.basic_challenge && self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}
