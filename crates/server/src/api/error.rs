//! [`ApiError`]: every refusal of the API, as Google's error envelope (docs/wire-format.md §4).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskqueue_auth::ScopeSet;
use taskqueue_model::ErrorEnvelope;

/// The realm Google's frontends named in `WWW-Authenticate` (docs/wire-format.md §4).
pub const REALM: &str = "https://accounts.google.com/";

/// An API error: a status, a `reason` in the `global` domain, a message, and for authentication errors the
/// `WWW-Authenticate` challenge and the `header`/`Authorization` location.
///
/// The fields live behind one box, so that `Result<T, ApiError>` stays small on the success path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    inner: Box<Inner>,
}

/// The fields of an [`ApiError`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    status: StatusCode,
    reason: &'static str,
    message: String,
    location: Option<(&'static str, String)>,
    www_authenticate: Option<String>,
    allow: Option<&'static str>,
}

impl ApiError {
    /// An error with this status, reason and message.
    #[must_use]
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                reason,
                message: message.into(),
                location: None,
                www_authenticate: None,
                allow: None,
            }),
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

    /// 400 `required`: a missing required body field, or a missing body (`locationType` is left out).
    #[must_use]
    pub fn required(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "required", message)
    }

    /// 409 `duplicate`: a task name already taken, by a live task or a tombstone
    /// (`Task name already taken: {name}`).
    #[must_use]
    pub fn duplicate(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "duplicate", message)
    }

    /// 405 `httpMethodNotAllowed`: the resource exists but not with this HTTP method; `allow` is the `Allow`
    /// header (`GET, POST`).
    #[must_use]
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "httpMethodNotAllowed",
            format!("HTTP method {method} is not supported by this resource: use {allow}."),
        );
        error.inner.allow = Some(allow);
        error
    }

    /// 413 `uploadTooLarge`: a request body over `limit` bytes.
    #[must_use]
    pub fn request_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "uploadTooLarge",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
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

    /// 507 `insufficientStorage`: the store is out of space and the write was not made. Clients do not retry a
    /// 507 (Google's libraries and taskqueue-transport retry 500 and 503), so a worker stops with this error
    /// instead of retrying until its budget runs out.
    #[must_use]
    pub fn storage_full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficientStorage",
            "The server's storage is full: the write was not made.",
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
        self.inner.location = Some((location_type, location.into()));
        self
    }

    /// Sets the `WWW-Authenticate` challenge.
    #[must_use]
    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.inner.www_authenticate = Some(challenge);
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The `reason` of `errors[0]`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.inner.reason
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The `WWW-Authenticate` challenge, if any.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&str> {
        self.inner.www_authenticate.as_deref()
    }

    /// The `Allow` header of a 405, if any.
    #[must_use]
    pub fn allow(&self) -> Option<&'static str> {
        self.inner.allow
    }

    /// The envelope: `{"error": {"errors": [{domain, reason, message, locationType?, location?}], code, message}}`.
    #[must_use]
    pub fn envelope(&self) -> ErrorEnvelope {
        let envelope = ErrorEnvelope::new(
            self.inner.status.as_u16(),
            self.inner.reason,
            &self.inner.message,
        );
        match &self.inner.location {
            Some((location_type, location)) => {
                envelope.with_location(*location_type, location.clone())
            }
            None => envelope,
        }
    }
}

impl ApiError {
    /// The response: status, `Content-Type: application/json; charset=UTF-8`, the envelope (indented with one
    /// space per level when `pretty`, as Google's `prettyPrint=true` output was, else compact), and the
    /// `WWW-Authenticate` and `Allow` headers if set.
    #[must_use]
    pub fn to_response(&self, pretty: bool) -> Response {
        let envelope = self.envelope();
        let body = if pretty {
            to_vec_google_pretty(&envelope)
        } else {
            serde_json::to_vec(&envelope)
        }
        .unwrap_or_default();
        let mut response = (
            self.inner.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            )],
            body,
        )
            .into_response();
        if let Some(challenge) = self
            .www_authenticate()
            .and_then(|value| HeaderValue::try_from(value).ok())
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(allow) = self.inner.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// `value` as JSON indented with one space per level, the layout of Google's `prettyPrint=true` responses.
pub(crate) fn to_vec_google_pretty<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

impl IntoResponse for ApiError {
    /// [`to_response`](Self::to_response) with a compact body.
    fn into_response(self) -> Response {
        self.to_response(false)
    }
}
