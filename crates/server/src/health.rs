//! Health: `GET /healthz` (liveness) and `GET /readyz` (readiness).
//!
//! - `/healthz` answers 200 `{"status": "ok"}` whenever the process serves HTTP: it reads nothing, so a store in
//!   trouble never gets the process restarted (restarting does not free a disk).
//! - `/readyz` answers 200 `{"status": "ready"}` when the store accepts a write now, else 503
//!   `{"status": "unavailable", "reason": "…"}`. It is not ready while a probe write fails, or while a write of
//!   the API (or the purge timer) failed less than [`READINESS_WINDOW`] ago: a disk can be full for inserts that
//!   need new pages while a small probe still fits. The probe leases, for 0 seconds, one task kept in a reserved
//!   queue (`__readyz__`, a key no API request can name), inserting it the first time: a real transaction that
//!   changes a row, with nothing that piles up. Its result is reused for [`PROBE_REUSE`], so a flood of probes
//!   costs one write a second at most.
//!
//! Reasons name the kind of failure (`the store is out of space`, `the store failed a write`), never the store's
//! message, which may hold paths; the server's log has the details.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use taskqueue_model::Timestamp;

use crate::state::AppState;
use crate::{LeaseRequest, NewTask, StoreError};

/// The reserved queue key of the readiness probe: queue names have no underscore, so no API request reaches it.
pub(crate) const PROBE_QUEUE: &str = "__readyz__";

/// The probe task's name.
const PROBE_TASK: &str = "readiness-probe";

/// How long a failed write keeps the server unready, on the server's clock.
pub const READINESS_WINDOW: Duration = Duration::from_secs(10);

/// How long a probe's result is reused.
pub const PROBE_REUSE: Duration = Duration::from_secs(1);

/// `/healthz` and `/readyz`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let verdict = readiness(&state).await;
    state.metrics.ready.set(i64::from(verdict.is_ok()));
    match verdict {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": reason})),
        )
            .into_response(),
    }
}

/// Ready, or why not.
async fn readiness(state: &AppState) -> Result<(), String> {
    let now = state.clock.monotonic();
    if let Some(failure) = state.watch.last_failure() {
        let ago = now.saturating_sub(failure.at);
        if ago < READINESS_WINDOW {
            let what = if failure.full {
                "the store is out of space"
            } else {
                "the store failed a write"
            };
            return Err(format!(
                "{what}: a {} failed {} s ago",
                failure.operation,
                ago.as_secs()
            ));
        }
    }
    let cached = *state
        .probes
        .last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let outcome = match cached {
        Some((at, outcome)) if now.saturating_sub(at) < PROBE_REUSE => outcome,
        _ => {
            let outcome = probe(state).await.err();
            *state
                .probes
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((now, outcome));
            outcome
        }
    };
    match outcome {
        None => Ok(()),
        Some(reason) => Err(format!("{reason}: the readiness probe's write failed")),
    }
}

/// One probe write: lease the probe task for 0 seconds (inserting it when missing). `Err` says what kind of
/// failure it was.
async fn probe(state: &AppState) -> Result<(), &'static str> {
    let store = state.probe_store();
    let now: Timestamp = state.now_timestamp();
    let kind = |error: StoreError| {
        tracing::error!(%error, "readiness probe: the store refused a write");
        let full = error.is_storage_full();
        state
            .metrics
            .write_failures
            .with_label_values(&[if full { "full" } else { "failed" }])
            .inc();
        if full {
            "the store is out of space"
        } else {
            "the store failed a write"
        }
    };
    let leased = store
        .lease(PROBE_QUEUE, &LeaseRequest::new(1, 0), None, now)
        .await
        .map_err(kind)?;
    if leased.is_empty() {
        match store
            .insert(
                PROBE_QUEUE,
                NewTask::new(Vec::new()).with_name(PROBE_TASK),
                now,
            )
            .await
        {
            Ok(_) | Err(StoreError::AlreadyExists) => {}
            Err(error) => return Err(kind(error)),
        }
    }
    Ok(())
}
