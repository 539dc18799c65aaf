//! [`ErrorEnvelope`]: Google's JSON error body, `{"error": {"code", "message", "errors": [...]}}`.
//!
//! The format is the global one of that era (docs/wire-format.md §4). Everything inside `error` is optional, so the
//! simplified `{"error": {"code": 500, "message": "x"}}` of AppScale parses too, and the later `status` field is
//! kept when present.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Google JSON error body.
///
/// ```
/// use taskqueue_model::ErrorEnvelope;
///
/// let envelope = ErrorEnvelope::new(401, "authError", "Invalid Credentials")
///     .with_location("header", "Authorization");
/// let parsed: ErrorEnvelope = serde_json::from_str(&serde_json::to_string(&envelope)?)?;
/// assert_eq!(parsed.code(), Some(401));
/// assert_eq!(parsed.reason(), Some("authError"));
/// assert_eq!(parsed.message(), Some("Invalid Credentials"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Fields beside `error` are ignored when reading.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorEnvelope {
    /// `error`: the error itself.
    pub error: ErrorBody,
}

/// The `error` object of an [`ErrorEnvelope`].
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// `code`: the HTTP status. Go's client falls back to the response status when it is missing or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// `message`: a human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `errors`: the details; the first one's `reason` classifies the error. Missing or `null` reads as empty.
    #[serde(
        default,
        deserialize_with = "crate::null_as_empty::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<ErrorDetail>,
    /// `status`: a later Google field such as `"PERMISSION_DENIED"`, not seen from this API; tolerated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

/// One entry of `error.errors`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorDetail {
    /// `domain`: `global` for the errors of this API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `reason`: the machine-readable cause, such as `invalid`, `notFound` or `rateLimitExceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `message`: a human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `locationType`: what `location` refers to, such as `header` or `parameter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_type: Option<String>,
    /// `location`: where the problem is, such as `Authorization` or `numTasks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Fields this crate does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub unknown_fields: Map<String, Value>,
}

impl ErrorEnvelope {
    /// An envelope with `code`, `message`, and one detail in the `global` domain with `reason` and `message`.
    #[must_use]
    pub fn new(code: u16, reason: &str, message: &str) -> Self {
        let detail = ErrorDetail {
            domain: Some("global".to_owned()),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            ..ErrorDetail::default()
        };
        Self {
            error: ErrorBody {
                code: Some(code),
                message: Some(message.to_owned()),
                errors: vec![detail],
                ..ErrorBody::default()
            },
        }
    }

    /// Sets `locationType` and `location` on the first detail, adding a detail if there is none.
    #[must_use]
    pub fn with_location(
        mut self,
        location_type: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        if self.error.errors.is_empty() {
            self.error.errors.push(ErrorDetail::default());
        }
        if let Some(detail) = self.error.errors.first_mut() {
            detail.location_type = Some(location_type.into());
            detail.location = Some(location.into());
        }
        self
    }

    /// `error.code`, the HTTP status the server reported.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        self.error.code
    }

    /// The first detail's `reason`.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.error.errors.first()?.reason.as_deref()
    }

    /// `error.message`, or else the first detail's `message`.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.error
            .message
            .as_deref()
            .or_else(|| self.error.errors.first()?.message.as_deref())
    }
}
