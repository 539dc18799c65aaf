//! Request bodies: read with a size limit, and parsed as a `Task` with serde_json, every failure a Google
//! envelope.
//!
//! - A `Content-Length` over the limit is refused before anything is read, for every route, by the router's
//!   middleware (`ops::check_content_length`): 413 `uploadTooLarge`. A body without a length (chunked, or
//!   gzip-encoded) is read here up to the limit and refused the same way when it goes over.
//! - The limit is [`HttpLimits::max_body_bytes`](crate::config::HttpLimits::max_body_bytes) (1,402,200
//!   bytes by default: a 1 MiB payload in base64 plus 4 KiB for the rest of a task). A payload of at most that size but over 1 MiB
//!   decoded is refused after parsing, by the model's validator: 413 too (see
//!   [`methods`](super::methods)).
//! - `Content-Type` is not checked: the body is parsed as JSON whatever it says.
//! - An empty (or all-whitespace) body where a task is needed: 400 `required` "The request body must contain a
//!   task." (AppScale's text).
//! - Not JSON (a syntax error or a truncated document): 400 `parseError`, with serde_json's description and
//!   position.
//! - JSON of the wrong shape (not an object, a field of the wrong type, an int64 string that is not a number,
//!   base64 that does not decode): 400 `invalid`, with the model's error text.

use axum::body::{Body, Bytes};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::error::Category;
use taskqueue_model::Task;

use super::error::ApiError;

/// Reads `body`, refusing more than `limit` bytes.
///
/// # Errors
///
/// 413 `uploadTooLarge` when the body goes over the limit while it is read; 400 `invalid` if the body cannot be
/// read (a broken upload or bad gzip).
pub(crate) async fn read(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
            while let Some(current) = cause {
                if current.is::<LengthLimitError>() {
                    return Err(ApiError::request_too_large(limit));
                }
                cause = current.source();
            }
            Err(ApiError::invalid(
                "The request body could not be read completely.",
            ))
        }
    }
}

/// Parses `bytes` as a [`Task`].
///
/// # Errors
///
/// 400 `required` for an empty body, `parseError` for text that is not JSON, `invalid` for JSON that is not a
/// task.
pub(crate) fn task(bytes: &[u8]) -> Result<Task, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::required("The request body must contain a task."));
    }
    serde_json::from_slice::<Task>(bytes).map_err(|error| match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::parse_error(format!(
            "Parse Error: the request body is not JSON: {error}"
        )),
        Category::Data => ApiError::invalid(format!("Invalid task in the request body: {error}")),
    })
}

#[cfg(test)]
mod tests {
    use super::task;

    #[test]
    fn bodies_and_their_refusals() {
        let cases: [(&str, Result<(), &str>); 10] = [
            (r#"{"payloadBase64": "aGk="}"#, Ok(())),
            (r#"{"payloadBase64": "aGk", "unknown": [1]}"#, Ok(())),
            ("", Err("required")),
            (" \n", Err("required")),
            ("{", Err("parseError")),
            ("not json", Err("parseError")),
            ("[]", Err("invalid")),
            (r#"{"payloadBase64": "!!"}"#, Err("invalid")),
            (r#"{"retry_count": "three"}"#, Err("invalid")),
            (r#"{"leaseTimestamp": "soon"}"#, Err("invalid")),
        ];
        for (body, expected) in cases {
            assert_eq!(
                task(body.as_bytes()).map(|_| ()).map_err(|e| e.reason()),
                expected,
                "{body}"
            );
        }
        let error = task(br#"{"payloadBase64": "a!b="}"#).err();
        let message = error.as_ref().map(|e| e.message()).unwrap_or_default();
        assert!(message.contains("payloadBase64"), "{message}");
    }
}
