//! The HTTP side of [`Metrics`](crate::metrics::Metrics): `GET /metrics`, and the middleware that counts every request by method and
//! status and observes its latency. The registry itself lives below [`AppState`] and knows nothing of it.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use taskqueue_model::ApiMethod;

use crate::api::ApiError;
use crate::metrics::TokenGrant;
use crate::state::AppState;

/// `GET /metrics`: refreshes the queue gauges from the store, then answers every metric in the text format
/// (`text/plain; version=0.0.4`). Unauthenticated, like `/healthz`: it holds counts only, no names of tasks, no
/// tokens, no principals.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    let now = state.now_timestamp();
    for queue in state.config.queues.iter() {
        let name = queue.name.as_str();
        match state.store.stats(name, now).await {
            Ok(stats) => {
                let age = stats.oldest_eta.map_or(0, |eta| {
                    now.as_micros().saturating_sub(eta.as_micros()).max(0) / 1_000_000
                });
                let metrics = &state.metrics;
                metrics
                    .queue_tasks
                    .with_label_values(&[name])
                    .set(i64::try_from(stats.total_tasks).unwrap_or(i64::MAX));
                metrics.queue_oldest_age.with_label_values(&[name]).set(age);
            }
            Err(error) => {
                tracing::warn!(queue = name, %error, "metrics: the store's stats failed");
                return ApiError::backend_error().into_response();
            }
        }
    }
    state.watch.refresh_leases(now);
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus::TEXT_FORMAT),
    );
    response
}

/// The label of a request: the API method's discovery id when the API answered it, else its route, else
/// `unmatched`.
fn method_label(response: &Response, route: Option<&str>) -> &'static str {
    if let Some(method) = response.extensions().get::<ApiMethod>() {
        return method.id();
    }
    match route {
        Some("/token") => "oauth.token",
        Some("/healthz") => "ops.healthz",
        Some("/readyz") => "ops.readyz",
        Some("/metrics") => "ops.metrics",
        Some("/admin/clock") => "ops.admin_clock",
        Some(route) if route.starts_with("/computeMetadata") => "oauth.metadata",
        Some(route) if route.starts_with("/discovery") => "discovery",
        Some(route) if route.starts_with("/taskqueue") => "api.unknown",
        _ => "unmatched",
    }
}

/// Counts each request by method and status, observes its latency (on the server's clock), and counts token
/// grants by outcome.
pub(crate) async fn record_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let started = state.clock.monotonic();
    let response = next.run(request).await;
    let latency = state.clock.monotonic().saturating_sub(started);
    let method = method_label(&response, route.as_deref());
    let metrics = &state.metrics;
    metrics
        .requests
        .with_label_values(&[method, response.status().as_str()])
        .inc();
    metrics
        .latency
        .with_label_values(&[method])
        .observe(latency.as_secs_f64());
    if let Some(grant) = response.extensions().get::<TokenGrant>() {
        metrics
            .token_grants
            .with_label_values(&[grant.grant, grant.outcome])
            .inc();
    }
    response
}
