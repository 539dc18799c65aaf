//! [`Metrics`]: the server's Prometheus metrics, one registry per server (no global recorder, so servers in one
//! process never mix their counts), served at `GET /metrics` in the Prometheus text format (version 0.0.4) by
//! [`crate::scrape`], which also counts the requests. This module imports nothing else of the crate.
//!
//! - Per queue: `taskqueue_queue_tasks`, `taskqueue_queue_leased_tasks`, `taskqueue_queue_oldest_task_age_seconds`
//!   (gauges, read from the store when scraped), and the counters `taskqueue_tasks_inserted_total`,
//!   `taskqueue_tasks_leased_total`, `taskqueue_lease_expiries_total`, `taskqueue_lease_releases_total`,
//!   `taskqueue_tasks_deleted_total` (counted by [`WatchedStore`](crate::watch::WatchedStore)).
//! - Per API method (its discovery id, or the route for the other endpoints): `taskqueue_http_requests_total` by
//!   status and the latency histogram `taskqueue_http_request_duration_seconds`.
//! - `taskqueue_token_grants_total` by grant type and outcome (`granted` or the RFC 6749 error code).
//! - Connections: `taskqueue_connections_open`, `taskqueue_connections_accepted_total`,
//!   `taskqueue_connections_refused_total` (over the cap), `taskqueue_connections_timed_out_total` by phase.
//! - `taskqueue_store_write_failures_total` by kind (`full`, `failed`) and `taskqueue_ready` (1 when the last
//!   readiness check passed).
//!
//! Labels are bounded: queues come from the configuration, methods and routes from a fixed list, statuses are
//! numbers. Nothing in a label comes from a request's text, and no token, query or body is ever a label.

use std::fmt;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// The latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A token request's outcome, put in the token endpoint's response extensions for the request metrics to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    /// The grant type's short name (`refresh_token`, `jwt_bearer`), or `unknown`.
    pub grant: &'static str,
    /// `granted`, or the RFC 6749 error code.
    pub outcome: &'static str,
}

/// The server's metrics. Cheap to share behind an `Arc`; every update is lock-free.
pub struct Metrics {
    registry: Registry,
    pub(crate) requests: IntCounterVec,
    pub(crate) latency: HistogramVec,
    pub(crate) token_grants: IntCounterVec,
    pub(crate) inserted: IntCounterVec,
    pub(crate) leased: IntCounterVec,
    pub(crate) expired: IntCounterVec,
    pub(crate) released: IntCounterVec,
    pub(crate) deleted: IntCounterVec,
    pub(crate) queue_tasks: IntGaugeVec,
    pub(crate) queue_leased: IntGaugeVec,
    pub(crate) queue_oldest_age: IntGaugeVec,
    pub(crate) connections_open: IntGauge,
    pub(crate) connections_accepted: IntCounter,
    pub(crate) connections_refused: IntCounter,
    pub(crate) connections_timed_out: IntCounterVec,
    pub(crate) write_failures: IntCounterVec,
    pub(crate) ready: IntGauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered at zero.
    ///
    /// # Panics
    ///
    /// Never: the names and labels below are fixed and valid, and each is registered once.
    #[must_use]
    #[allow(clippy::expect_used)] // Fixed, valid metric definitions: a failure is a bug caught by every test.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let requests = counter(
            "taskqueue_http_requests_total",
            "HTTP requests answered, by API method (or route) and status.",
            &["method", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "taskqueue_http_request_duration_seconds",
                "Time to answer a request, by API method (or route).",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method"],
        )
        .expect("valid histogram");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        let token_grants = counter(
            "taskqueue_token_grants_total",
            "Token endpoint requests, by grant type and outcome (granted, or the RFC 6749 error code).",
            &["grant", "outcome"],
        );
        let inserted = counter(
            "taskqueue_tasks_inserted_total",
            "Tasks inserted.",
            &["queue"],
        );
        let leased = counter(
            "taskqueue_tasks_leased_total",
            "Tasks handed out by leases.",
            &["queue"],
        );
        let expired = counter(
            "taskqueue_lease_expiries_total",
            "Leases that ran out before their task was deleted, extended or released (seen for leases made since \
             the server started).",
            &["queue"],
        );
        let released = counter(
            "taskqueue_lease_releases_total",
            "Leases released early (newLeaseSeconds=0).",
            &["queue"],
        );
        let deleted = counter(
            "taskqueue_tasks_deleted_total",
            "Tasks deleted.",
            &["queue"],
        );
        let queue_tasks = gauge(
            "taskqueue_queue_tasks",
            "Tasks in the queue, leased or not.",
            &["queue"],
        );
        let queue_leased = gauge(
            "taskqueue_queue_leased_tasks",
            "Tasks whose lease is held now (leases made since the server started).",
            &["queue"],
        );
        let queue_oldest_age = gauge(
            "taskqueue_queue_oldest_task_age_seconds",
            "Seconds since the smallest ETA in the queue (0 when empty or when every task is in the future).",
            &["queue"],
        );
        let single = |name: &str, help: &str| {
            let metric = IntGauge::new(name, help).expect("valid gauge");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let connections_open = single("taskqueue_connections_open", "HTTP connections open now.");
        let ready = single(
            "taskqueue_ready",
            "1 when the last readiness check found the store accepting writes, else 0.",
        );
        let single_counter = |name: &str, help: &str| {
            let metric = IntCounter::new(name, help).expect("valid counter");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let connections_accepted = single_counter(
            "taskqueue_connections_accepted_total",
            "HTTP connections accepted and served.",
        );
        let connections_refused = single_counter(
            "taskqueue_connections_refused_total",
            "HTTP connections refused because the connection cap was reached.",
        );
        let connections_timed_out = counter(
            "taskqueue_connections_timed_out_total",
            "HTTP connections closed by a timeout, by phase (idle, header, write).",
            &["phase"],
        );
        let write_failures = counter(
            "taskqueue_store_write_failures_total",
            "Store writes that failed, by kind (full: out of space; failed: any other storage failure).",
            &["kind"],
        );
        ready.set(1);
        Self {
            registry,
            requests,
            latency,
            token_grants,
            inserted,
            leased,
            expired,
            released,
            deleted,
            queue_tasks,
            queue_leased,
            queue_oldest_age,
            connections_open,
            connections_accepted,
            connections_refused,
            connections_timed_out,
            write_failures,
            ready,
        }
    }

    /// Every metric in the Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec cannot fail, and the text format needs no particular metric to be present.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8_lossy(&text).into_owned()
    }
}
