//! [`router`]: the whole HTTP surface, assembled from the API, OAuth and operations routes over an
//! [`AppState`].

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

pub use crate::state::AppState;

/// The whole HTTP surface for `state`: the API, the OAuth endpoints, `/healthz`, `/readyz`, `/metrics`, and in
/// virtual time the admin endpoint; any other path is 404 with the error envelope.
///
/// Every request is traced (without its query, which may hold a token) and counted in the metrics, answered 503
/// after [`HttpLimits::request_timeout`](crate::config::HttpLimits::request_timeout), refused with 413 when its
/// `Content-Length` is over [`HttpLimits::max_body_bytes`](crate::config::HttpLimits::max_body_bytes) before a byte
/// is read, read whole within
/// [`HttpLimits::body_read_timeout`](crate::config::HttpLimits::body_read_timeout) (else 408), gunzipped when it
/// is `Content-Encoding: gzip` (and still bounded by the limit once decoded), and gzipped in return when the
/// client accepts it. `HEAD` is answered as `GET` without the body, and every refusal, including those of the
/// HTTP layers (405, 413, 415), carries Google's error envelope (`ops::envelope_refusals`).
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .merge(crate::api::routes())
        .merge(crate::oauth::routes())
        .merge(crate::health::routes())
        .route("/metrics", axum::routing::get(crate::scrape::scrape));
    if let Some(clock) = &state.virtual_clock {
        routes = routes.merge(crate::ops::admin_routes(Arc::clone(clock)));
    }
    routes
        .fallback(crate::ops::not_found)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(RequestDecompressionLayer::new())
        .layer(from_fn_with_state(state.clone(), crate::ops::read_body))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::check_content_length,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::enforce_timeout,
        ))
        .layer(axum::middleware::from_fn(crate::ops::envelope_refusals))
        .layer(axum::middleware::from_fn(crate::ops::head_as_get))
        .layer(from_fn_with_state(
            state.clone(),
            crate::scrape::record_requests,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            crate::ops::trace_requests,
        ))
        .with_state(state)
}
