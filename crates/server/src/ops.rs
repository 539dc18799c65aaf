//! Operations: `/healthz`, the virtual-time admin endpoint (only when the server was started in virtual time), and
//! the middleware every request goes through (tracing without secrets, a body-size check before buffering, a
//! request timeout).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use taskqueue_clock::{Clock as _, VirtualClock};
use taskqueue_model::Timestamp;

use crate::api::ApiError;
use crate::state::AppState;

/// The queue key `/healthz` reads stats of: it checks the store answers, and no API request can name it (queue
/// names have no underscore).
const HEALTH_PROBE_QUEUE: &str = "__healthz__";

/// `GET /healthz`: 200 `{"status": "ok"}` when the store answers, else 503 `{"status": "unavailable"}`.
pub(crate) fn health_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state
        .store
        .stats(HEALTH_PROBE_QUEUE, state.now_timestamp())
        .await
    {
        Ok(_) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: the store failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

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
