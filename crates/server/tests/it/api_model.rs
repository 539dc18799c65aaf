//! A state-machine property test of the lease semantics through HTTP: random sequences of insert, lease (with and
//! without `groupByTag`), update and patch (with the current or a stale `leaseTimestamp`, and patch renewals
//! without one), delete (repeated deletes included), get and clock advances (whole seconds, so lease expiries
//! are hit exactly, and single microseconds, to step just past them) go to the router and to a deliberately
//! simple model written here from the lease semantics, and every answer must agree: status, which tasks a lease
//! hands out and in what order, `retry_count`, `leaseTimestamp`. Advances also jump exactly to a task's ETA, so
//! the boundary instant is hit on purpose.
//!
//! The model's rules: a lease is held while its expiry is at or after now (the expiry instant itself is held), a
//! task is leasable once its ETA is reached and no lease holds it, a modification needs a held lease (and the
//! current `leaseTimestamp`, unless it is a patch without one), modifying an unknown or deleted task gets the
//! lease-expired answer, a repeated delete succeeds, and a task no lease holds shows `leaseTimestamp` 0.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Method;
use proptest::prelude::*;
use serde_json::Value;

use crate::api_support::{Api, EMPTY_QUEUE, FULL, ME, PROJECT, url_in};

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];
const TAGS: [&str; 2] = ["red", "blue"];

#[derive(Clone, Debug)]
enum Op {
    Insert {
        name: usize,
        tag: Option<usize>,
        delay: i64,
    },
    Lease {
        n: u32,
        secs: u32,
        group: bool,
        tag: Option<usize>,
    },
    Modify {
        name: usize,
        proof: Proof,
        patch: bool,
        secs: u32,
    },
    Delete {
        name: usize,
    },
    Get {
        name: usize,
    },
    Advance {
        secs: i64,
    },
    AdvanceMicro,
    /// Move the clock exactly to a task's ETA (its lease expiry, if leased), when that is still ahead: the
    /// boundary instant, hit on purpose rather than by chance.
    AdvanceToEta {
        name: usize,
    },
}

/// The `leaseTimestamp` a modification sends.
#[derive(Clone, Copy, Debug)]
enum Proof {
    /// The task's current ETA.
    Current,
    /// One microsecond before it.
    Stale,
    /// None at all (sent only by patches; an update without one is a 400 `required`).
    Missing,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..NAMES.len(), proptest::option::of(0..TAGS.len()), 0..90_i64)
            .prop_map(|(name, tag, delay)| Op::Insert { name, tag, delay }),
        3 => (1..4_u32, 0..120_u32, any::<bool>(), proptest::option::of(0..TAGS.len()))
            .prop_map(|(n, secs, group, tag)| Op::Lease { n, secs, group, tag: tag.filter(|_| group) }),
        3 => (
            0..NAMES.len(),
            prop_oneof![Just(Proof::Current), Just(Proof::Stale), Just(Proof::Missing)],
            any::<bool>(),
            0..120_u32,
        )
            .prop_map(|(name, proof, patch, secs)| {
                // Only a patch may leave the proof out.
                let patch = patch || matches!(proof, Proof::Missing);
                Op::Modify { name, proof, patch, secs }
            }),
        1 => (0..NAMES.len()).prop_map(|name| Op::Delete { name }),
        1 => (0..NAMES.len()).prop_map(|name| Op::Get { name }),
        2 => (0..100_i64).prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::AdvanceMicro),
        2 => (0..NAMES.len()).prop_map(|name| Op::AdvanceToEta { name }),
    ]
}

/// One task of the model. `eta` is in µs: the ETA, or the lease expiry while `leased`.
#[derive(Clone, Debug)]
struct ModelTask {
    eta: i64,
    leased: bool,
    retries: u32,
    tag: Option<&'static str>,
}

/// The queue as the spec describes it, with no cleverness: a map and a set.
#[derive(Debug, Default)]
struct Model {
    tasks: BTreeMap<&'static str, ModelTask>,
    tombstones: BTreeSet<&'static str>,
}

impl ModelTask {
    /// A lease is held up to and including its expiry instant.
    fn held(&self, now: i64) -> bool {
        self.leased && self.eta >= now
    }

    /// The `leaseTimestamp` the wire shows: the lease expiry, or 0 when no lease set the ETA.
    fn lease_timestamp(&self) -> i64 {
        if self.leased { self.eta } else { 0 }
    }
}

impl Model {
    /// Available tasks in (ETA, name) order: the ETA reached, no lease holding them.
    fn available(&self, now: i64) -> Vec<&'static str> {
        let mut available: Vec<_> = self
            .tasks
            .iter()
            .filter(|(_, task)| task.eta <= now && !task.held(now))
            .collect();
        available.sort_by_key(|(name, task)| (task.eta, **name));
        available.into_iter().map(|(name, _)| *name).collect()
    }

    /// Which tasks a lease takes.
    fn lease(
        &mut self,
        n: usize,
        secs: u32,
        group: bool,
        tag: Option<&'static str>,
        now: i64,
    ) -> Vec<&'static str> {
        let available = self.available(now);
        let chosen: Vec<&'static str> = match (group, tag) {
            (false, _) => available.into_iter().take(n).collect(),
            (true, Some(tag)) => available
                .into_iter()
                .filter(|name| self.tasks[name].tag == Some(tag))
                .take(n)
                .collect(),
            (true, None) => match available.first().map(|name| self.tasks[name].tag) {
                None => Vec::new(),
                Some(Some(tag)) => available
                    .into_iter()
                    .filter(|name| self.tasks[name].tag == Some(tag))
                    .take(n)
                    .collect(),
                // The oldest is untagged: the untagged among the first n available.
                Some(None) => available
                    .into_iter()
                    .take(n)
                    .filter(|name| self.tasks[name].tag.is_none())
                    .collect(),
            },
        };
        for name in &chosen {
            let task = self.tasks.get_mut(name).expect("chosen from the map");
            task.eta = now + i64::from(secs) * 1_000_000;
            task.leased = true;
            task.retries += 1;
        }
        chosen
    }
}

/// What the server answered, reduced to what the model predicts.
fn tasks_of(json: &Value) -> Vec<(String, i64, i64)> {
    json["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    (
                        item["id"].as_str().unwrap_or_default().to_owned(),
                        item["retry_count"].as_i64().unwrap_or(-1),
                        item["leaseTimestamp"]
                            .as_str()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let api = Api::new();
    let token = api.token(ME, FULL).await;
    let url = |rest: &str| url_in(PROJECT, EMPTY_QUEUE, rest);
    let mut model = Model::default();
    for (step, op) in ops.into_iter().enumerate() {
        let now = api.now().as_micros();
        match op {
            Op::Insert { name, tag, delay } => {
                let name = NAMES[name];
                let tag = tag.map(|tag| TAGS[tag]);
                let eta = now + delay * 1_000_000;
                let mut body = serde_json::json!({"id": name, "payloadBase64": "eA==", "leaseTimestamp": eta.to_string()});
                if let Some(tag) = tag {
                    body["tag"] = Value::from(tag);
                }
                let reply = api
                    .call(
                        Method::POST,
                        &url("/tasks"),
                        Some(&token),
                        Some(&body.to_string()),
                    )
                    .await;
                let taken = model.tasks.contains_key(name) || model.tombstones.contains(name);
                if taken {
                    prop_assert_eq!(
                        reply.status.as_u16(),
                        409,
                        "step {}: insert {} over a taken name",
                        step,
                        name
                    );
                } else {
                    prop_assert_eq!(reply.status.as_u16(), 200, "step {}: insert {}", step, name);
                    model.tasks.insert(
                        name,
                        ModelTask {
                            eta,
                            leased: false,
                            retries: 0,
                            tag,
                        },
                    );
                }
            }
            Op::Lease {
                n,
                secs,
                group,
                tag,
            } => {
                let tag = tag.map(|tag| TAGS[tag]);
                let mut query = format!("/tasks/lease?numTasks={n}&leaseSecs={secs}");
                if group {
                    query.push_str("&groupByTag=true");
                }
                if let Some(tag) = tag {
                    query.push_str(&format!("&tag={tag}"));
                }
                let reply = api
                    .call(Method::POST, &url(&query), Some(&token), None)
                    .await;
                prop_assert_eq!(reply.status.as_u16(), 200, "step {}: lease", step);
                let expected: Vec<(String, i64, i64)> = model
                    .lease(n as usize, secs, group, tag, now)
                    .into_iter()
                    .map(|name| {
                        let task = &model.tasks[name];
                        (name.to_owned(), i64::from(task.retries), task.eta)
                    })
                    .collect();
                prop_assert_eq!(
                    tasks_of(&reply.json()),
                    expected,
                    "step {}: {}",
                    step,
                    query
                );
            }
            Op::Modify {
                name,
                proof,
                patch,
                secs,
            } => {
                let name = NAMES[name];
                let task = model.tasks.get(name);
                let mut body = serde_json::json!({"id": name, "queueName": EMPTY_QUEUE});
                let sent = match (proof, task) {
                    (Proof::Missing, _) => None,
                    (Proof::Current, Some(task)) => Some(task.eta),
                    (Proof::Stale, Some(task)) => Some(task.eta - 1),
                    (_, None) => Some(now),
                };
                if let Some(sent) = sent {
                    body["leaseTimestamp"] = Value::from(sent.to_string());
                }
                let method = if patch { Method::PATCH } else { Method::POST };
                let reply = api
                    .call(
                        method.clone(),
                        &url(&format!("/tasks/{name}?newLeaseSeconds={secs}")),
                        Some(&token),
                        Some(&body.to_string()),
                    )
                    .await;
                let admitted = task
                    .is_some_and(|task| task.held(now) && sent.is_none_or(|sent| sent == task.eta));
                // Unknown and deleted tasks get the lease-expired answer too.
                let expected_status = if admitted { 200 } else { 400 };
                prop_assert_eq!(
                    reply.status.as_u16(),
                    expected_status,
                    "step {}: {} {} with {:?}",
                    step,
                    method,
                    name,
                    proof
                );
                if admitted {
                    let task = model.tasks.get_mut(name).expect("checked");
                    task.eta = now + i64::from(secs) * 1_000_000;
                    task.leased = secs > 0;
                    let json = reply.json();
                    prop_assert_eq!(
                        json["leaseTimestamp"]
                            .as_str()
                            .and_then(|t| t.parse::<i64>().ok()),
                        Some(task.lease_timestamp())
                    );
                    prop_assert_eq!(json["retry_count"].as_i64(), Some(i64::from(task.retries)));
                } else {
                    let json = reply.json();
                    prop_assert_eq!(
                        json["error"]["message"].as_str(),
                        Some("The task lease has expired.")
                    );
                }
            }
            Op::Delete { name } => {
                let name = NAMES[name];
                let reply = api
                    .call(
                        Method::DELETE,
                        &url(&format!("/tasks/{name}")),
                        Some(&token),
                        None,
                    )
                    .await;
                if model.tasks.remove(name).is_some() {
                    prop_assert_eq!(reply.status.as_u16(), 200, "step {}: delete {}", step, name);
                    model.tombstones.insert(name);
                } else if model.tombstones.contains(name) {
                    // A repeated delete succeeds again, so a retrying client stops.
                    prop_assert_eq!(
                        reply.status.as_u16(),
                        200,
                        "step {}: delete {} again",
                        step,
                        name
                    );
                    prop_assert!(reply.body.is_empty());
                } else {
                    prop_assert_eq!(reply.status.as_u16(), 404, "step {}: delete {}", step, name);
                }
            }
            Op::Get { name } => {
                let name = NAMES[name];
                let reply = api
                    .call(
                        Method::GET,
                        &url(&format!("/tasks/{name}")),
                        Some(&token),
                        None,
                    )
                    .await;
                match model.tasks.get(name) {
                    Some(task) => {
                        prop_assert_eq!(reply.status.as_u16(), 200, "step {}: get {}", step, name);
                        let json = reply.json();
                        prop_assert_eq!(
                            json["retry_count"].as_i64(),
                            Some(i64::from(task.retries))
                        );
                        prop_assert_eq!(
                            json["leaseTimestamp"]
                                .as_str()
                                .and_then(|t| t.parse::<i64>().ok()),
                            Some(task.lease_timestamp())
                        );
                    }
                    None => {
                        prop_assert_eq!(reply.status.as_u16(), 404, "step {}: get {}", step, name)
                    }
                }
            }
            Op::Advance { secs } => api.advance(u64::try_from(secs).unwrap_or(0)),
            Op::AdvanceMicro => api.advance_micros(1),
            Op::AdvanceToEta { name } => {
                if let Some(task) = model.tasks.get(NAMES[name])
                    && task.eta > now
                {
                    api.advance_micros(u64::try_from(task.eta - now).unwrap_or(0));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn http_answers_agree_with_the_simple_model(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        runtime.block_on(run(ops))?;
    }
}
