//! [`ApiError`]: every refusal of the API, as Google's error envelope (taskqueue-api.md §4).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskqueue_auth::ScopeSet;
use taskqueue_model::ErrorEnvelope;

/// The realm Google's frontends named in `WWW-Authenticate` (taskqueue-api.md §4).
pub const REALM: &str = "https://accounts.google.com/";

/// An API error: a status, a `reason` in the `global` domain, a message, and for authentication errors the
/// `WWW-Authenticate` challenge and the `header`/`Authorization` location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    reason: &'static str,
    message: String,
    location: Option<(&'static str, String)>,
    www_authenticate: Option<String>,
}

impl ApiError {
    /// An error with this status, reason and message.
    #[must_use]
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            location: None,
            www_authenticate: None,
        }
    }

    /// 400 `invalid`: a value the API refuses.
    #[must_use]
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 400 `required`: a missing required parameter (`Required parameter: numTasks`).
    #[must_use]
    pub fn required_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "required",
            format!("Required parameter: {name}"),
        )
        .with_location("parameter", name)
    }

    /// 400 `parseError`: a body that is not JSON, or not the expected shape.
    #[must_use]
    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "parseError", message)
    }

    /// 404 `notFound`.
    #[must_use]
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "notFound", message)
    }

    /// 401 `required` "Login Required": no credentials.
    #[must_use]
    pub fn login_required() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "required", "Login Required")
            .with_location("header", "Authorization")
            .with_challenge(format!("Bearer realm=\"{REALM}\""))
    }

    /// 401 `authError` "Invalid Credentials": an unknown or expired token.
    #[must_use]
    pub fn invalid_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials")
            .with_location("header", "Authorization")
            .with_challenge(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""))
    }

    /// 403 `insufficientPermissions` "Insufficient Permission": the token has none of the `accepted` scopes.
    #[must_use]
    pub fn insufficient_scope(accepted: &ScopeSet) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficientPermissions",
            "Insufficient Permission",
        )
        .with_challenge(format!(
            "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
            accepted.to_space_separated()
        ))
    }

    /// 403 `forbidden`: the caller's email is not in the queue's ACL.
    #[must_use]
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The caller does not have permission",
        )
    }

    /// 500 `backendError` "Backend Error", never with the cause's text (it may name paths).
    #[must_use]
    pub fn backend_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "backendError",
            "Backend Error",
        )
    }

    /// Sets `locationType` and `location`.
    #[must_use]
    pub fn with_location(
        mut self,
        location_type: &'static str,
        location: impl Into<String>,
    ) -> Self {
        self.location = Some((location_type, location.into()));
        self
    }

    /// Sets the `WWW-Authenticate` challenge.
    #[must_use]
    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `reason` of `errors[0]`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `WWW-Authenticate` challenge, if any.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&str> {
        self.www_authenticate.as_deref()
    }

    /// The envelope: `{"error": {"errors": [{domain, reason, message, locationType?, location?}], code, message}}`.
    #[must_use]
    pub fn envelope(&self) -> ErrorEnvelope {
        let envelope = ErrorEnvelope::new(self.status.as_u16(), self.reason, &self.message);
        match &self.location {
            Some((location_type, location)) => {
                envelope.with_location(*location_type, location.clone())
            }
            None => envelope,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.envelope()).unwrap_or_default();
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            )],
            body,
        )
            .into_response();
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|value| HeaderValue::try_from(value).ok())
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
