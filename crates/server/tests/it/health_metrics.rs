//! `/healthz`, `/readyz` and `/metrics` through the router, in virtual time:
//!
//! - a store whose writes fail as a full disk does (injected): the API answers 507 `insufficientStorage`,
//!   readiness fails with a reason while writes fail and recovers after they succeed again, liveness stays up;
//! - `/metrics` parsed with a Prometheus text-format parser, its counters and gauges following inserts, leases,
//!   deletes, a lease expiry and a token request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::Value;
use taskqueue_model::Timestamp;
use taskqueue_server::{
    IssuedToken, LeaseProof, LeaseRequest, MemoryStore, NewTask, PurgeReport, QueueStats, Store,
    StoreConfig, StoreError, StoredTask,
};

use crate::api_support::{Api, QUEUE, url};

/// A memory store whose writes fail with [`StoreError::StorageFull`] while `full` is set.
#[derive(Debug)]
struct FillableStore {
    inner: MemoryStore,
    full: AtomicBool,
}

impl FillableStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.full.load(Ordering::SeqCst) {
            Err(StoreError::StorageFull(
                "database or disk is full (injected)".to_owned(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FillableStore {
    async fn insert(
        &self,
        queue: &str,
        task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        self.check()?;
        self.inner.insert(queue, task, now).await
    }
    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError> {
        self.inner.get(queue, name, now).await
    }
    async fn list(
        &self,
        queue: &str,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        self.inner.list(queue, limit, now).await
    }
    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(queue, name, now).await
    }
    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        self.check()?;
        self.inner.lease(queue, request, max_leases, now).await
    }
    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        self.check()?;
        self.inner
            .modify_lease(queue, name, proof, new_lease_secs, now)
            .await
    }
    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError> {
        self.inner.stats(queue, now).await
    }
    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError> {
        self.check()?;
        self.inner.purge(now, limit).await
    }
    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_token(token).await
    }
    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError> {
        self.inner.find_token(digest).await
    }
}

async fn get_json(api: &Api, path: &str) -> (u16, Value) {
    let reply = api.call(Method::GET, path, None, None).await;
    (reply.status.as_u16(), reply.json())
}

async fn insert(api: &Api, token: &str, id: &str) -> u16 {
    let body = format!(r#"{{"id": "{id}", "payloadBase64": "aGk="}}"#);
    api.call(Method::POST, &url("/tasks"), Some(token), Some(&body))
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn readiness_fails_with_a_reason_while_writes_fail_and_recovers() {
    let store = Arc::new(FillableStore {
        inner: MemoryStore::new(StoreConfig::default()),
        full: AtomicBool::new(false),
    });
    let api = Api::with_store(Arc::clone(&store) as Arc<dyn Store>);
    let token = api.full_token().await;
    assert_eq!(
        get_json(&api, "/readyz").await,
        (200, serde_json::json!({"status": "ready"}))
    );
    assert_eq!(insert(&api, &token, "before").await, 200);

    // The disk fills: writes are refused with a status clients do not retry, reads go on.
    store.full.store(true, Ordering::SeqCst);
    let body = r#"{"id": "during", "payloadBase64": "aGk="}"#;
    let reply = api
        .call(Method::POST, &url("/tasks"), Some(&token), Some(body))
        .await;
    reply.assert_error(507, "insufficientStorage");
    assert!(
        !String::from_utf8_lossy(&reply.body).contains("injected"),
        "the store's message stays in the log"
    );
    assert_eq!(
        api.call(Method::GET, &url("/tasks/before"), Some(&token), None)
            .await
            .status,
        200
    );
    let (status, ready) = get_json(&api, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(ready["status"], "unavailable");
    let reason = ready["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("out of space") && reason.contains("insert"),
        "{reason}"
    );
    assert_eq!(
        get_json(&api, "/healthz").await,
        (200, serde_json::json!({"status": "ok"}))
    );

    // Still full, and no API write for a while: the probe's own write fails.
    api.advance(11);
    let (status, ready) = get_json(&api, "/readyz").await;
    assert_eq!(status, 503);
    let reason = ready["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("probe") && reason.contains("out of space"),
        "{reason}"
    );

    // Space is freed: the next probe passes.
    store.full.store(false, Ordering::SeqCst);
    api.advance(2);
    assert_eq!(
        get_json(&api, "/readyz").await,
        (200, serde_json::json!({"status": "ready"}))
    );
    assert_eq!(insert(&api, &token, "after").await, 200);

    let metrics = scrape(&api).await;
    assert_eq!(
        value(
            &metrics,
            "taskqueue_store_write_failures_total",
            &[("kind", "full")]
        ),
        2.0
    );
    assert_eq!(value(&metrics, "taskqueue_ready", &[]), 1.0);
}

/// `/metrics`, parsed.
async fn scrape(api: &Api) -> prometheus_parse::Scrape {
    let reply = api.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type()
            .unwrap_or_default()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        reply.content_type()
    );
    let text = String::from_utf8(reply.body).expect("UTF-8");
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))
        .expect("the Prometheus text format")
}

/// The value of the sample `name` with `labels` (0 when absent: Prometheus's counters start there); a
/// histogram's total count.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| {
            labels
                .iter()
                .all(|(label, value)| sample.labels.get(label) == Some(value))
        })
        .map(|sample| match &sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.last().map_or(0.0, |bucket| bucket.count)
            }
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn metrics_follow_inserts_leases_deletes_expiries_and_token_requests() {
    let api = Api::new();
    let token = api.full_token().await;
    let queue = [("queue", QUEUE)];
    let before = scrape(&api).await;
    assert_eq!(
        value(&before, "taskqueue_tasks_inserted_total", &queue),
        0.0
    );
    assert_eq!(value(&before, "taskqueue_queue_tasks", &queue), 0.0);

    for id in ["task-alpha", "task-bravo", "task-charlie"] {
        assert_eq!(insert(&api, &token, id).await, 200);
    }
    api.advance(5);
    let leased = api
        .call(
            Method::POST,
            &url("/tasks/lease?numTasks=2&leaseSecs=60"),
            Some(&token),
            None,
        )
        .await
        .ok_json();
    assert_eq!(leased["items"].as_array().map(Vec::len), Some(2));
    let first = leased["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reply = api
        .call(
            Method::DELETE,
            &url(&format!("/tasks/{first}")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);

    let during = scrape(&api).await;
    assert_eq!(
        value(&during, "taskqueue_tasks_inserted_total", &queue),
        3.0
    );
    assert_eq!(value(&during, "taskqueue_tasks_leased_total", &queue), 2.0);
    assert_eq!(value(&during, "taskqueue_tasks_deleted_total", &queue), 1.0);
    assert_eq!(value(&during, "taskqueue_queue_tasks", &queue), 2.0);
    assert_eq!(value(&during, "taskqueue_queue_leased_tasks", &queue), 1.0);
    assert_eq!(
        value(&during, "taskqueue_queue_oldest_task_age_seconds", &queue),
        5.0
    );
    assert_eq!(
        value(&during, "taskqueue_lease_expiries_total", &queue),
        0.0
    );
    let insert_ok = [("method", "taskqueue.tasks.insert"), ("status", "200")];
    assert_eq!(
        value(&during, "taskqueue_http_requests_total", &insert_ok),
        3.0
    );
    assert_eq!(
        value(
            &during,
            "taskqueue_http_request_duration_seconds",
            &[("method", "taskqueue.tasks.lease")]
        ),
        1.0
    );

    // The lease of the task not deleted runs out.
    api.advance(61);
    let after = scrape(&api).await;
    assert_eq!(value(&after, "taskqueue_lease_expiries_total", &queue), 1.0);
    assert_eq!(value(&after, "taskqueue_queue_leased_tasks", &queue), 0.0);

    // A token request with an unknown refresh token, and an API refusal.
    let form = "grant_type=refresh_token&client_id=nobody&client_secret=x&refresh_token=y";
    let token_request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    assert!(api.send(token_request).await.status.is_client_error());
    let refused = api
        .call(Method::GET, &url("/tasks/missing"), Some(&token), None)
        .await;
    assert_eq!(refused.status, 404);
    let last = scrape(&api).await;
    let refused_grants: f64 = last
        .samples
        .iter()
        .filter(|s| s.metric == "taskqueue_token_grants_total")
        .filter(|s| s.labels.get("grant") == Some("refresh_token"))
        .filter(|s| s.labels.get("outcome") != Some("granted"))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(refused_grants, 1.0);
    assert_eq!(
        value(
            &last,
            "taskqueue_http_requests_total",
            &[("method", "taskqueue.tasks.get"), ("status", "404")]
        ),
        1.0
    );

    // No secret and no task name in the text.
    let text =
        String::from_utf8(api.call(Method::GET, "/metrics", None, None).await.body).expect("UTF-8");
    assert!(!text.contains(&token));
    assert!(!text.contains(&first), "no task name");
}
