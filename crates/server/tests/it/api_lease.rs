//! Lease semantics (docs/wire-format.md §5) through HTTP, on a virtual clock: ordering, `retry_count`,
//! `groupByTag`, lease expiry, ownership on update and patch, releases, deletes while leased, tombstones, the
//! lease limit, `tasks.list` and `getStats`.

use axum::http::Method;
use serde_json::{Value, json};
use taskqueue_server::QueueDef;

use crate::api_support::{Api, QUEUE, micros, seconds, url};

/// A client of one server with one token.
struct Worker {
    api: Api,
    token: String,
}

impl Worker {
    async fn new() -> Self {
        Self::on(Api::new()).await
    }

    async fn on(api: Api) -> Self {
        let token = api.full_token().await;
        Self { api, token }
    }

    async fn insert(&self, body: Value) -> Value {
        self.api
            .call(
                Method::POST,
                &url("/tasks"),
                Some(&self.token),
                Some(&body.to_string()),
            )
            .await
            .ok_json()
    }

    /// Inserts `id` with payload `id` and an optional tag and ETA (seconds after T0).
    async fn put(&self, id: &str, tag: Option<&str>, eta: Option<i64>) {
        let mut body = json!({"id": id, "queueName": QUEUE, "payloadBase64": base64(id)});
        if let Some(tag) = tag {
            body["tag"] = json!(tag);
        }
        if let Some(eta) = eta {
            body["leaseTimestamp"] = json!(micros(eta));
        }
        self.insert(body).await;
    }

    async fn lease(&self, query: &str) -> Vec<Value> {
        let reply = self
            .api
            .call(
                Method::POST,
                &url(&format!("/tasks/lease?{query}")),
                Some(&self.token),
                None,
            )
            .await
            .ok_json();
        assert_eq!(reply["kind"], "taskqueue#tasks");
        reply["items"].as_array().cloned().unwrap_or_default()
    }

    /// Leases and returns `(id, retry_count)` pairs.
    async fn lease_ids(&self, query: &str) -> Vec<(String, i64)> {
        self.lease(query)
            .await
            .iter()
            .map(|task| {
                (
                    task["id"].as_str().unwrap_or_default().to_owned(),
                    task["retry_count"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    }

    /// Updates (POST) or patches `id` with the `leaseTimestamp` `token`.
    async fn modify(
        &self,
        method: Method,
        id: &str,
        token: &str,
        secs: i64,
    ) -> crate::api_support::Reply {
        let body = json!({"id": id, "queueName": QUEUE, "leaseTimestamp": token}).to_string();
        self.api
            .call(
                method,
                &url(&format!("/tasks/{id}?newLeaseSeconds={secs}")),
                Some(&self.token),
                Some(&body),
            )
            .await
    }

    async fn get(&self, id: &str) -> crate::api_support::Reply {
        self.api
            .call(
                Method::GET,
                &url(&format!("/tasks/{id}")),
                Some(&self.token),
                None,
            )
            .await
    }

    async fn delete(&self, id: &str) -> crate::api_support::Reply {
        self.api
            .call(
                Method::DELETE,
                &url(&format!("/tasks/{id}")),
                Some(&self.token),
                None,
            )
            .await
    }
}

fn base64(text: &str) -> String {
    taskqueue_model::Payload::new(text.as_bytes().to_vec()).to_base64()
}

fn ids(pairs: &[(String, i64)]) -> Vec<&str> {
    pairs.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn leases_go_in_eta_then_name_order_and_skip_tasks_not_yet_due() {
    let worker = Worker::new().await;
    worker.put("c", None, None).await;
    worker.put("a", None, None).await;
    worker.put("early", None, Some(-100)).await;
    worker.put("future", None, Some(30)).await;
    worker.put("b", None, None).await;
    let leased = worker.lease_ids("numTasks=3&leaseSecs=60").await;
    assert_eq!(ids(&leased), ["early", "a", "b"]);
    assert_eq!(
        ids(&worker.lease_ids("numTasks=10&leaseSecs=60").await),
        ["c"]
    );
    assert!(
        worker
            .lease_ids("numTasks=10&leaseSecs=60")
            .await
            .is_empty()
    );
    worker.api.advance(30);
    assert_eq!(
        ids(&worker.lease_ids("numTasks=10&leaseSecs=60").await),
        ["future"]
    );
}

#[tokio::test]
async fn each_lease_increments_retry_count_and_an_expired_lease_relets_the_task() {
    let worker = Worker::new().await;
    worker.put("t1", None, None).await;
    let first = worker.lease("numTasks=1&leaseSecs=60").await;
    assert_eq!(first[0]["retry_count"], 1);
    assert_eq!(first[0]["leaseTimestamp"], micros(60));
    worker.api.advance(59);
    assert!(
        worker.lease("numTasks=1&leaseSecs=60").await.is_empty(),
        "still held"
    );
    worker.api.advance(1);
    assert!(
        worker.lease("numTasks=1&leaseSecs=60").await.is_empty(),
        "still held at the instant its leaseTimestamp names"
    );
    worker.api.advance(1);
    let second = worker.lease("numTasks=1&leaseSecs=30").await;
    assert_eq!(second[0]["retry_count"], 2);
    assert_eq!(second[0]["leaseTimestamp"], micros(91));
    // The first holder's lease is gone: its leaseTimestamp no longer proves anything.
    let stale = worker
        .modify(
            Method::POST,
            "t1",
            first[0]["leaseTimestamp"].as_str().unwrap_or_default(),
            60,
        )
        .await;
    assert_eq!(
        stale.assert_error(400, "invalid"),
        "The task lease has expired."
    );
    // A zero-second lease is held only at the instant it was taken.
    worker.api.advance(31);
    assert_eq!(
        worker.lease("numTasks=1&leaseSecs=0").await[0]["retry_count"],
        3
    );
    assert!(worker.lease("numTasks=1&leaseSecs=0").await.is_empty());
    worker.api.advance_micros(1);
    assert_eq!(
        worker.lease("numTasks=1&leaseSecs=0").await[0]["retry_count"],
        4
    );
}

#[tokio::test]
async fn group_by_tag_with_and_without_a_tag() {
    let worker = Worker::new().await;
    worker.put("x1", Some("x"), Some(-30)).await;
    worker.put("y1", Some("y"), Some(-20)).await;
    worker.put("x2", Some("x"), Some(-10)).await;
    worker.put("y2", Some("y"), None).await;
    worker.put("plain", None, None).await;
    assert_eq!(
        ids(&worker
            .lease_ids("numTasks=10&leaseSecs=60&groupByTag=true&tag=y")
            .await),
        ["y1", "y2"]
    );
    // Without a tag: the oldest available task's tag, here x.
    assert_eq!(
        ids(&worker
            .lease_ids("numTasks=10&leaseSecs=60&groupByTag=true")
            .await),
        ["x1", "x2"]
    );
    // groupByTag=false ignores tags.
    assert_eq!(
        ids(&worker
            .lease_ids("numTasks=10&leaseSecs=60&groupByTag=false")
            .await),
        ["plain"]
    );
    // tag without groupByTag is refused, and so is tag with groupByTag=false.
    for query in [
        "numTasks=1&leaseSecs=60&tag=x",
        "numTasks=1&leaseSecs=60&groupByTag=false&tag=x",
    ] {
        let reply = worker
            .api
            .call(
                Method::POST,
                &url(&format!("/tasks/lease?{query}")),
                Some(&worker.token),
                None,
            )
            .await;
        reply.assert_error(400, "invalid");
        assert_eq!(reply.json()["error"]["errors"][0]["location"], "tag");
    }
}

#[tokio::test]
async fn update_and_patch_prove_ownership_with_the_current_lease_timestamp() {
    for method in [Method::POST, Method::PATCH] {
        let worker = Worker::new().await;
        worker.put("t1", None, None).await;
        let leased = worker.lease("numTasks=1&leaseSecs=60").await;
        let held = leased[0]["leaseTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        worker.api.advance(10);

        // A foreign or made-up leaseTimestamp is refused, and changes nothing. (On a patch, 0 is no proof at
        // all: the renewal without leaseTimestamp that `patch_renewals_without_lease_timestamp` covers.)
        let mut wrongs = vec![micros(61), micros(0)];
        if method == Method::POST {
            wrongs.push("0".to_owned());
        }
        for wrong in wrongs {
            let refused = worker.modify(method.clone(), "t1", &wrong, 600).await;
            assert_eq!(
                refused.assert_error(400, "invalid"),
                "The task lease has expired."
            );
        }
        assert_eq!(worker.get("t1").await.ok_json()["leaseTimestamp"], held);

        // The holder extends from now; retry_count does not move.
        let extended = worker
            .modify(method.clone(), "t1", &held, 120)
            .await
            .ok_json();
        assert_eq!(extended["leaseTimestamp"], micros(130));
        assert_eq!(extended["retry_count"], 1);
        assert_eq!(extended["payloadBase64"], base64("t1"));
        // The old token is now stale; the new one works.
        worker
            .modify(method.clone(), "t1", &held, 120)
            .await
            .assert_error(400, "invalid");
        let renewed = worker
            .modify(method.clone(), "t1", &micros(130), 60)
            .await
            .ok_json();
        assert_eq!(renewed["leaseTimestamp"], micros(70));

        // After expiry even the holder's token is refused.
        worker.api.advance(61);
        worker
            .modify(method.clone(), "t1", &micros(70), 60)
            .await
            .assert_error(400, "invalid");

        // Unknown and deleted tasks get the lease-expired answer, as App Engine gave it.
        for name in ["nope", "t1"] {
            if name == "t1" {
                worker.delete("t1").await;
            }
            assert_eq!(
                worker
                    .modify(method.clone(), name, &held, 60)
                    .await
                    .assert_error(400, "invalid"),
                "The task lease has expired.",
                "{method} {name}"
            );
        }
    }
}

#[tokio::test]
async fn new_lease_seconds_zero_releases_the_task_at_once() {
    let worker = Worker::new().await;
    worker.put("t1", None, None).await;
    worker.put("t2", None, Some(5)).await;
    let leased = worker.lease("numTasks=1&leaseSecs=300").await;
    worker.api.advance(10);
    let released = worker
        .modify(
            Method::PATCH,
            "t1",
            leased[0]["leaseTimestamp"].as_str().unwrap_or_default(),
            0,
        )
        .await
        .ok_json();
    // A released task holds no lease: its leaseTimestamp is 0, as for a task never leased.
    assert_eq!(released["leaseTimestamp"], "0");
    // Released at now = T0+10, it goes after t2 (due at T0+5) in ETA order, and the next lease takes both.
    let again = worker.lease_ids("numTasks=10&leaseSecs=60").await;
    assert_eq!(again, [("t2".to_owned(), 1), ("t1".to_owned(), 2)]);
}

#[tokio::test]
async fn deleting_a_leased_task_works_and_its_name_stays_tombstoned_for_seven_days() {
    let worker = Worker::new().await;
    worker.put("t1", None, None).await;
    worker.lease("numTasks=1&leaseSecs=300").await;
    let deleted = worker.delete("t1").await;
    assert_eq!(deleted.status, 200);
    assert!(deleted.body.is_empty());
    worker.get("t1").await.assert_error(404, "notFound");
    // A repeated delete succeeds again, with the same empty answer: a retrying client stops.
    let repeated = worker.delete("t1").await;
    assert_eq!((repeated.status.as_u16(), repeated.body.len()), (200, 0));
    assert!(worker.lease("numTasks=10&leaseSecs=60").await.is_empty());

    let again = json!({"id": "t1", "payloadBase64": base64("again")}).to_string();
    let taken = worker
        .api
        .call(
            Method::POST,
            &url("/tasks"),
            Some(&worker.token),
            Some(&again),
        )
        .await;
    assert_eq!(
        taken.assert_error(409, "duplicate"),
        "Task name already taken: t1"
    );
    worker.api.advance(7 * 24 * 3600 - 1);
    let worker = Worker::on(worker.api).await;
    worker
        .api
        .call(
            Method::POST,
            &url("/tasks"),
            Some(&worker.token),
            Some(&again),
        )
        .await
        .assert_error(409, "duplicate");
    worker.api.advance(1);
    let reused = worker
        .api
        .call(
            Method::POST,
            &url("/tasks"),
            Some(&worker.token),
            Some(&again),
        )
        .await
        .ok_json();
    assert_eq!(reused["id"], "t1");
}

#[tokio::test]
async fn a_live_name_is_taken_too() {
    let worker = Worker::new().await;
    worker.put("t1", None, None).await;
    let body = json!({"id": "t1", "payloadBase64": "aGk="}).to_string();
    let reply = worker
        .api
        .call(
            Method::POST,
            &url("/tasks"),
            Some(&worker.token),
            Some(&body),
        )
        .await;
    assert_eq!(
        reply.assert_error(409, "duplicate"),
        "Task name already taken: t1"
    );
}

#[tokio::test]
async fn the_lease_limit_comes_from_the_queue() {
    let api = Api::with(|config| {
        config
            .queues
            .insert(QueueDef::new(QUEUE).with_max_leases(Some(2)));
    });
    let worker = Worker::on(api).await;
    let queue = worker
        .api
        .call(Method::GET, &url(""), Some(&worker.token), None)
        .await
        .ok_json();
    assert_eq!(queue["maxLeases"], 2);
    worker.put("t1", None, None).await;
    assert_eq!(
        worker.lease_ids("numTasks=1&leaseSecs=0").await,
        [("t1".to_owned(), 1)]
    );
    worker.api.advance_micros(1);
    assert_eq!(
        worker.lease_ids("numTasks=1&leaseSecs=0").await,
        [("t1".to_owned(), 2)]
    );
    worker.api.advance_micros(1);
    // A third lease would be one too many: the task is deleted instead (the SDK stub's behaviour).
    assert!(worker.lease_ids("numTasks=1&leaseSecs=0").await.is_empty());
    worker.get("t1").await.assert_error(404, "notFound");
}

#[tokio::test]
async fn list_returns_at_most_100_tasks_without_payloads() {
    let worker = Worker::new().await;
    for n in 0..120 {
        worker.put(&format!("t{n:03}"), None, None).await;
    }
    worker.lease("numTasks=5&leaseSecs=60").await;
    let listed = worker
        .api
        .call(Method::GET, &url("/tasks"), Some(&worker.token), None)
        .await
        .ok_json();
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 100);
    assert!(items.iter().all(|task| task.get("payloadBase64").is_none()));
    // Leased tasks are listed too, at their lease expiry: the first 100 by (ETA, name) are t005..t104.
    assert_eq!(items[0]["id"], "t005");
    assert_eq!(items[99]["id"], "t104");
}

async fn stats(worker: &Worker) -> Value {
    worker
        .api
        .call(
            Method::GET,
            &url("?getStats=true"),
            Some(&worker.token),
            None,
        )
        .await
        .ok_json()["stats"]
        .clone()
}

#[tokio::test]
async fn get_stats_counts_tasks_and_recent_leases() {
    let worker = Worker::new().await;
    assert_eq!(
        stats(&worker).await,
        json!({"totalTasks": 0, "leasedLastMinute": "0", "leasedLastHour": "0"})
    );
    worker.put("old", None, Some(-50)).await;
    worker.put("t1", None, None).await;
    worker.put("t2", None, None).await;
    worker.lease("numTasks=2&leaseSecs=600").await;
    worker.api.advance(61);
    worker.lease("numTasks=1&leaseSecs=600").await;
    assert_eq!(
        stats(&worker).await,
        json!({
            "totalTasks": 3,
            "oldestTask": seconds(600),
            "leasedLastMinute": "1",
            "leasedLastHour": "3"
        })
    );
    worker.api.advance(3600);
    // A new token: the first one expired with the hour.
    let worker = Worker::on(worker.api).await;
    assert_eq!(stats(&worker).await["leasedLastHour"], "0");
}
