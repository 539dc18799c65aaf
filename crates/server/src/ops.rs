//! Operations: the virtual-time admin endpoint (only when the server was started in virtual time), and the
//! middleware every request goes through: tracing without secrets, a body-size check before buffering, the body
//! read whole within its timeout, a request timeout, `HEAD` answered as `GET`, and Google's error envelope on
//! every refusal the HTTP layers make. Health lives in [`crate::health`], metrics in [`crate::metrics`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::json;
use taskqueue_clock::{Clock as _, VirtualClock};
use taskqueue_model::Timestamp;

use crate::api::ApiError;
use crate::state::AppState;

/// The admin routes of virtual-time mode, on `clock`:
///
/// - `GET /admin/clock` → `{"now_micros": …, "elapsed_micros": …}`;
/// - `POST /admin/clock` with `{"advance_micros": N}` or `{"set_micros": T}` moves time forward (never back: a
///   `set_micros` in the past is 400) and answers like `GET`.
///
/// Only [`crate::serve`] in [`ClockMode::Virtual`](crate::serve::ClockMode::Virtual) merges them: a server in the
/// default mode answers 404 on these paths.
pub(crate) fn admin_routes(clock: Arc<VirtualClock>) -> Router<AppState> {
    Router::new().route(
        "/admin/clock",
        get({
            let clock = Arc::clone(&clock);
            move || async move { clock_reading(&clock) }
        })
        .post(move |body: Bytes| async move { move_clock(&clock, &body) }),
    )
}

/// A request to move the virtual clock.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    #[serde(default)]
    advance_micros: Option<u64>,
    #[serde(default)]
    set_micros: Option<i64>,
}

fn clock_reading(clock: &VirtualClock) -> Response {
    let now = Timestamp::from_system_time(clock.now()).as_micros();
    let elapsed = i64::try_from(clock.elapsed().as_micros()).unwrap_or(i64::MAX);
    axum::Json(json!({"now_micros": now, "elapsed_micros": elapsed})).into_response()
}

fn move_clock(clock: &VirtualClock, body: &[u8]) -> Response {
    let request: ClockMove = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => {
            return ApiError::parse_error(format!("Invalid clock move: {error}")).into_response();
        }
    };
    let step = match (request.advance_micros, request.set_micros) {
        (Some(micros), None) => Duration::from_micros(micros),
        (None, Some(target)) => {
            let now = Timestamp::from_system_time(clock.now()).as_micros();
            match u64::try_from(target.saturating_sub(now)) {
                Ok(micros) => Duration::from_micros(micros),
                Err(_) => {
                    return ApiError::invalid("The virtual clock only moves forward.")
                        .into_response();
                }
            }
        }
        _ => {
            return ApiError::invalid("Give exactly one of advance_micros and set_micros.")
                .into_response();
        }
    };
    clock.advance(step);
    tracing::info!(advanced_micros = step.as_micros(), "virtual clock moved");
    clock_reading(clock)
}

/// Traces each request: method, path (never the query, which may hold `oauth_token`), status and latency.
pub(crate) async fn trace_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = state.clock.monotonic();
    let response = next.run(request).await;
    let latency = state.clock.monotonic().saturating_sub(started);
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::warn!(%method, %path, status, latency_us = latency.as_micros(), "request failed");
    } else {
        tracing::info!(%method, %path, status, latency_us = latency.as_micros(), "request");
    }
    response
}

/// Reads the request body whole before anything else sees it: at most
/// [`HttpLimits::max_body_bytes`](crate::config::HttpLimits::max_body_bytes) as sent (413 `uploadTooLarge` past
/// it, for bodies without a `Content-Length`), within
/// [`HttpLimits::body_read_timeout`](crate::config::HttpLimits::body_read_timeout) from the end of the headers
/// (408 `requestTimeout`, and the connection is closed). A client sending its body one byte every few seconds is
/// thus refused after the timeout, whatever the pace; handlers then read a body already in memory.
pub(crate) async fn read_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limits = &state.config.limits;
    let reading = Limited::new(body, limits.max_body_bytes).collect();
    match tokio::time::timeout(limits.body_read_timeout, reading).await {
        Ok(Ok(collected)) => {
            let body = Body::from(collected.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(error)) => {
            if error.downcast_ref::<LengthLimitError>().is_some() {
                ApiError::request_too_large(limits.max_body_bytes).into_response()
            } else {
                ApiError::invalid("The request body could not be read completely.").into_response()
            }
        }
        Err(_) => {
            tracing::info!(
                timeout_ms = limits.body_read_timeout.as_millis(),
                "request body not received in time"
            );
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "requestTimeout",
                format!(
                    "The request body was not received within {} ms.",
                    limits.body_read_timeout.as_millis()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Answers `HEAD` as `GET` without the body (keeping its `Content-Length`), wherever `GET` is served: the API's
/// resources dispatch on the method themselves, so this runs before them.
pub(crate) async fn head_as_get(mut request: Request, next: Next) -> Response {
    if request.method() != Method::HEAD {
        return next.run(request).await;
    }
    *request.method_mut() = Method::GET;
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    if let Some(length) = body.size_hint().exact() {
        parts.headers.insert(header::CONTENT_LENGTH, length.into());
    }
    Response::from_parts(parts, Body::empty())
}

/// Gives Google's error envelope to every refusal that lacks one: the bare 405 (with `Allow`) of a route
/// without that method, 415 for a `Content-Encoding` other than gzip (with `Accept-Encoding: gzip`), 413 and 400
/// from axum's extractors, 404, any 5xx. Responses that already carry JSON (the API's envelopes, the token
/// endpoint's RFC 6749 errors) and the metadata endpoint's text answers (`Metadata-Flavor: Google`, as GCE's
/// metadata server writes them) are left as they are.
pub(crate) async fn envelope_refusals(request: Request, next: Next) -> Response {
    let encoding = request.headers().get(header::CONTENT_ENCODING).cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || response.headers().contains_key("metadata-flavor")
    {
        return response;
    }
    let (parts, _) = response.into_parts();
    let error = refusal(status, &parts.headers, &method, encoding.as_ref());
    let mut enveloped = error.into_response();
    for name in [
        header::ALLOW,
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
        header::CONNECTION,
    ] {
        if let Some(value) = parts.headers.get(&name) {
            enveloped.headers_mut().insert(name, value.clone());
        }
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        enveloped
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    }
    enveloped
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"))
}

/// The envelope for a bare refusal of `status`.
fn refusal(
    status: StatusCode,
    headers: &HeaderMap,
    method: &Method,
    encoding: Option<&HeaderValue>,
) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = headers
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            ApiError::new(
                status,
                "httpMethodNotAllowed",
                format!("HTTP method {method} is not supported by this resource: use {allow}."),
            )
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            let encoding = encoding
                .and_then(|value| value.to_str().ok())
                .unwrap_or("this");
            ApiError::new(
                status,
                "unsupportedMediaType",
                format!(
                    "Content-Encoding {encoding} is not supported: send the body with gzip or no encoding."
                ),
            )
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "uploadTooLarge",
            "The request body is larger than the server accepts.",
        ),
        StatusCode::NOT_FOUND => ApiError::not_found("Not Found"),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            "requestTimeout",
            "The request took too long to arrive.",
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            ApiError::new(status, "rateLimitExceeded", "Too many requests.")
        }
        status if status.is_server_error() => {
            ApiError::new(status, "backendError", "Backend Error")
        }
        status => ApiError::new(
            status,
            "invalid",
            status.canonical_reason().unwrap_or("Bad Request"),
        ),
    }
}

/// Refuses a request whose `Content-Length` exceeds the limit before its body is read: 413 with the error envelope.
/// Bodies without a length (chunked, or gzip-encoded) are bounded while they are read, by the body limit.
pub(crate) async fn check_content_length(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.config.limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::request_too_large(limit).into_response();
    }
    next.run(request).await
}

/// Answers 503 `backendError` when a request takes longer than the configured timeout. This is a real-time bound on
/// the work of one request (like the client's per-attempt I/O timeout), not a protocol timer, so it does not read
/// the injected clock.
pub(crate) async fn enforce_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let timeout = state.config.limits.request_timeout;
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = timeout.as_millis(), "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backendError",
                "Backend Error",
            )
            .into_response()
        }
    }
}

/// The fallback of the whole router: 404 with the envelope.
pub(crate) async fn not_found() -> Response {
    ApiError::not_found("Not Found").into_response()
}
