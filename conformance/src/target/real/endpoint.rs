//! Setting a real endpoint up for one scenario, over the API itself: the
//! queue drained, the seed tasks inserted (their retry counts made by real
//! leases), the scenario's task names made unique for the run, and the
//! scripted 2030 instants rebased onto the real clock.
//!
//! # Isolation
//!
//! Each scenario runs on a queue of the pool (`--queues`), one scenario at
//! a time per queue, and the queue is drained before the scenario (every
//! task listed and deleted) and after it. A deleted name stays taken for a
//! while (a tombstone), so every task name a script uses is replaced by a
//! name unique to the run (`t1` becomes `t1-<run>-<n>`), in arguments,
//! paths, bodies, answers and `expect` alike, and mapped back in the
//! record's wire lines.
//!
//! # Seeds
//!
//! A seed with `retry_count: n` is inserted, then leased `n` times (each
//! lease but the last released at once with `newLeaseSeconds=0`), while the
//! seeds leased before it stay leased, so each lease takes the task it
//! means to (checked). A seed whose `leaseTimestamp` lies after
//! `clock.start` keeps its last lease for that many seconds; the others are
//! released at the end. Tasks without retries are inserted last, with their
//! `leaseTimestamp` (or `enqueueTimestamp`) rebased as their ETA.
//! `enqueueTimestamp` cannot be set over the API: the endpoint stamps the
//! insert, so a scripted `enqueueTimestamp` is not compared on a real
//! endpoint (its presence is).
//!
//! # Time
//!
//! The scenario's virtual start (`clock.start`, 2030 by default) stands for
//! the instant its setup ended on the real clock (or, with a seed whose
//! lease is still held, the instant that makes the held lease end where the
//! script says), so an update carrying the seeded task's `leaseTimestamp` proves
//! ownership. Absolute instants in a step's arguments are shifted by the
//! same amount; in scripted answers and `expect` they become time
//! templates relative to the call, compared within the tolerance.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use taskqueue_client::{Client, QueueRef};
use taskqueue_model::ApiMethod;

use crate::scenario::template::{micros_of, micros_since_epoch};
use crate::scenario::{Exchange, Scenario, SeedTask, Spanned, Step};
use crate::target::dispatch;

/// How far from `clock.start` a whole number counts as one of the
/// script's absolute instants (in microseconds): 30 days.
const ABSOLUTE_RANGE: i64 = 30 * 24 * 3600 * 1_000_000;

/// How many list-and-delete rounds a drain takes at most.
const DRAIN_ROUNDS: usize = 20;

/// The real instants of one scenario's virtual times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rebase {
    /// `clock.start`, in microseconds since the epoch.
    pub start: i64,
    /// What to add to a scripted instant to get the real one.
    pub shift: i64,
}

impl Rebase {
    /// `clock.start` standing for `origin`.
    pub(crate) fn new(start: SystemTime, origin: SystemTime) -> Rebase {
        let start = micros_since_epoch(start);
        Rebase {
            start,
            shift: micros_since_epoch(origin) - start,
        }
    }

    /// The real instant of the scripted instant `micros`: shifted when it
    /// lies within 30 days of `clock.start` (a time of the scenario), kept
    /// otherwise (a fixed instant, such as 2017's in the int64 quirks).
    pub(crate) fn real(&self, micros: i64) -> i64 {
        if (micros - self.start).abs() <= ABSOLUTE_RANGE {
            micros + self.shift
        } else {
            micros
        }
    }

    fn absolute(&self, value: &Value) -> Option<i64> {
        let micros = match value {
            Value::Number(number) => number.as_i64()?,
            Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().ok()?
            }
            _ => return None,
        };
        ((micros - self.start).abs() <= ABSOLUTE_RANGE).then_some(micros)
    }

    /// `value` with every absolute instant shifted onto the real clock, in
    /// the form it had (number or string): for call arguments.
    pub(crate) fn shift_args(&self, value: &Value) -> Value {
        self.map(value, &|micros, original| match original {
            Value::Number(_) => json!(micros + self.shift),
            _ => Value::String((micros + self.shift).to_string()),
        })
    }

    /// `value` with every absolute instant made a time template relative to
    /// `call` (the call's start on the real clock): for scripted answers and
    /// `expect`, which are compared within the tolerance.
    pub(crate) fn relative_to(&self, value: &Value, call: SystemTime) -> Value {
        let call = micros_since_epoch(call);
        self.map(value, &|micros, _| {
            let offset_ms = (micros + self.shift - call) / 1000;
            let sign = if offset_ms < 0 { '-' } else { '+' };
            Value::String(format!("{{{{now{sign}{}ms}}}}", offset_ms.abs()))
        })
    }

    fn map(&self, value: &Value, to: &dyn Fn(i64, &Value) -> Value) -> Value {
        if let Some(micros) = self.absolute(value) {
            return to(micros, value);
        }
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.map(v, to)).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, v)| (key.clone(), self.map(v, to)))
                    .collect(),
            ),
            _ => value.clone(),
        }
    }

    /// `step` with its arguments shifted and the absolute instants of its
    /// scripted answers and `expect` made relative to `call`.
    pub(crate) fn apply_step(&self, step: &Step, call: SystemTime) -> Step {
        let mut step = step.clone();
        for value in step.args.values_mut() {
            *value = self.shift_args(value);
        }
        for exchange in &mut step.exchanges {
            if let Exchange::Api(api) = &mut exchange.value {
                if let Some(json) = &mut api.response.json {
                    *json = self.relative_to(json, call);
                }
                if let Some(body) = &mut api.request.body {
                    *body = self.shift_args(body);
                }
                for value in api.request.query.values_mut() {
                    if let Value::String(shifted) = self.shift_args(&Value::String(value.clone())) {
                        *value = shifted;
                    }
                }
            }
        }
        if let Some(expect) = &mut step.expect
            && let Some(ok) = &mut expect.ok
        {
            *ok = self.relative_to(ok, call);
        }
        step
    }
}

/// Scripted `enqueueTimestamp` values replaced by what the endpoint
/// answered (the API cannot set a task's enqueue time), recursively.
pub(crate) fn relax_enqueue_times(want: &Value, have: &Value) -> Value {
    match (want, have) {
        (Value::Object(fields), Value::Object(actual)) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let relaxed = match (key.as_str(), value, actual.get(key)) {
                        ("enqueueTimestamp", _, Some(got)) => got.clone(),
                        (_, value, Some(got)) => relax_enqueue_times(value, got),
                        (_, value, None) => value.clone(),
                    };
                    (key.clone(), relaxed)
                })
                .collect(),
        ),
        (Value::Array(items), Value::Array(actual)) => Value::Array(
            items
                .iter()
                .zip(actual.iter().map(Some).chain(std::iter::repeat(None)))
                .map(|(value, got)| match got {
                    Some(got) => relax_enqueue_times(value, got),
                    None => value.clone(),
                })
                .collect(),
        ),
        _ => want.clone(),
    }
}

/// The task names a scenario's requests use: seed ids, the names in
/// scripted request paths (`tasks/t1`, but not `tasks/lease`) and bodies
/// (`id`), in order of first appearance. Names only validated client-side
/// (a step with no exchange) are left alone.
pub(crate) fn task_names(scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !name.is_empty() && !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    };
    if let Some(server) = &scenario.server {
        for seed in &server.value.seed {
            add(&seed.value.id);
        }
    }
    for step in &scenario.steps {
        for exchange in &step.value.exchanges {
            if let Exchange::Api(api) = &exchange.value {
                if let Some(name) = api.request.path.trim_matches('/').strip_prefix("tasks/")
                    && name != "lease"
                {
                    add(name);
                }
                if let Some(Value::String(id)) = api.request.body.as_ref().and_then(|b| b.get("id"))
                {
                    add(id);
                }
            }
        }
        if !step.value.exchanges.is_empty()
            && let Some(Value::String(id)) = step.value.args.get("task").and_then(|t| t.get("id"))
        {
            add(id);
        }
    }
    names
}

/// Deletes every task of `queue` through `client` (which talks to the
/// endpoint directly). `Err` names what failed.
pub(crate) async fn drain(client: &Client, queue: &QueueRef) -> Result<usize, String> {
    let mut deleted = 0;
    for _ in 0..DRAIN_ROUNDS {
        let listed = call(client, queue, ApiMethod::TasksList, BTreeMap::new()).await?;
        let names: Vec<String> = listed
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|task| task.get("id")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if names.is_empty() {
            return Ok(deleted);
        }
        for name in names {
            match call(
                client,
                queue,
                ApiMethod::TasksDelete,
                BTreeMap::from([("task".to_owned(), json!(name))]),
            )
            .await
            {
                Ok(_) => deleted += 1,
                Err(why) if why.contains("404") => {}
                Err(why) => return Err(why),
            }
        }
    }
    Err(format!(
        "the queue still holds tasks after {DRAIN_ROUNDS} rounds of deletes"
    ))
}

/// One call through the dispatch table, its error as text.
async fn call(
    client: &Client,
    queue: &QueueRef,
    method: ApiMethod,
    args: BTreeMap<String, Value>,
) -> Result<Value, String> {
    let now = SystemTime::UNIX_EPOCH;
    let future = dispatch::start(client, queue, method, &args, now)
        .map_err(|error| format!("{}: {error}", method.id()))?;
    future
        .await
        .map_err(|error| format!("{}: {error}", method.id()))
}

/// Inserts the seeds due before step `step` (see the module documentation)
/// and returns the rebase of the scenario's times: `origin` as given, or
/// moved so a seeded task's held lease ends where the script says. `rename` maps
/// a seeded task's id to the name used on the endpoint.
pub(crate) async fn seed(
    client: &Client,
    queue: &QueueRef,
    seeds: &[Spanned<SeedTask>],
    step: usize,
    start: SystemTime,
    mut rebase: Rebase,
    rename: &dyn Fn(&str) -> String,
) -> Result<Rebase, String> {
    let due: Vec<&SeedTask> = seeds
        .iter()
        .map(|seed| &seed.value)
        .filter(|seed| seed.before() == step)
        .collect();
    let start_micros = micros_since_epoch(start);
    let instant = |seed: &SeedTask, value: Option<&Value>| -> Result<Option<i64>, String> {
        value
            .map(|value| {
                micros_of(value, start).map_err(|why| format!("seed `{}`: {why}", seed.id))
            })
            .transpose()
    };
    // (name, lease timestamp to release with), for the leases that end now.
    let mut to_release: Vec<(String, Value)> = Vec::new();
    for seed in due.iter().filter(|seed| seed.retry_count > 0) {
        let name = rename(&seed.id);
        insert(client, queue, seed, &name, None).await?;
        let held = instant(seed, seed.lease_timestamp.as_ref())?
            .filter(|lease| *lease > start_micros)
            .map(|lease| (lease - start_micros + 999_999) / 1_000_000);
        for count in 1..=seed.retry_count {
            let last = count == seed.retry_count;
            let seconds = match held {
                Some(seconds) if last => seconds,
                _ => 3600,
            };
            let leased = call(
                client,
                queue,
                ApiMethod::TasksLease,
                BTreeMap::from([
                    ("num_tasks".to_owned(), json!(1)),
                    ("lease_secs".to_owned(), json!(seconds)),
                ]),
            )
            .await?;
            let task = leased
                .get("items")
                .and_then(Value::as_array)
                .and_then(|items| items.first())
                .cloned()
                .unwrap_or(Value::Null);
            if task.get("id").and_then(Value::as_str) != Some(name.as_str()) {
                return Err(format!(
                    "seed `{}`: lease {count} of {} took {} instead",
                    seed.id,
                    seed.retry_count,
                    task.get("id")
                        .map_or("nothing".to_owned(), Value::to_string)
                ));
            }
            let lease_timestamp = task.get("leaseTimestamp").cloned().unwrap_or(Value::Null);
            if !last {
                release(client, queue, &name, &lease_timestamp).await?;
            } else if let Some(seconds) = held {
                // The held lease ends at the seeded task's leaseTimestamp: the
                // scenario's start stands for `seconds` before its end.
                let ends = micros_of(&lease_timestamp, start).map_err(|why| {
                    format!("seed `{}`: the lease's leaseTimestamp: {why}", seed.id)
                })?;
                let scripted = start_micros + seconds * 1_000_000;
                rebase.shift = ends - scripted;
            } else {
                to_release.push((name.clone(), lease_timestamp));
            }
        }
    }
    for (name, lease_timestamp) in &to_release {
        release(client, queue, name, lease_timestamp).await?;
    }
    for seed in due.iter().filter(|seed| seed.retry_count == 0) {
        let eta = match instant(seed, seed.lease_timestamp.as_ref())? {
            Some(eta) => Some(eta),
            None => instant(seed, seed.enqueue_timestamp.as_ref())?,
        };
        insert(
            client,
            queue,
            seed,
            &rename(&seed.id),
            eta.map(|eta| rebase.real(eta)),
        )
        .await?;
    }
    Ok(rebase)
}

async fn insert(
    client: &Client,
    queue: &QueueRef,
    seed: &SeedTask,
    name: &str,
    eta: Option<i64>,
) -> Result<(), String> {
    let mut task = json!({ "id": name });
    if let Some(payload) = &seed.payload_base64 {
        task["payloadBase64"] = json!(payload);
    }
    if let Some(tag) = &seed.tag {
        task["tag"] = json!(tag);
    }
    if let Some(eta) = eta {
        task["leaseTimestamp"] = json!(eta.to_string());
    }
    call(
        client,
        queue,
        ApiMethod::TasksInsert,
        BTreeMap::from([("task".to_owned(), task)]),
    )
    .await
    .map(|_| ())
    .map_err(|why| format!("seed `{}`: {why}", seed.id))
}

async fn release(
    client: &Client,
    queue: &QueueRef,
    name: &str,
    lease_timestamp: &Value,
) -> Result<(), String> {
    call(
        client,
        queue,
        ApiMethod::TasksUpdate,
        BTreeMap::from([
            ("task".to_owned(), json!(name)),
            ("new_lease_seconds".to_owned(), json!(0)),
            ("lease_timestamp".to_owned(), lease_timestamp.clone()),
        ]),
    )
    .await
    .map(|_| ())
    .map_err(|why| format!("releasing `{name}`: {why}"))
}

/// The longest `advance` of `scenario` and the step it is in, if any.
pub(crate) fn longest_advance(scenario: &Scenario) -> Option<(usize, Duration)> {
    scenario
        .steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| {
            let by = step.value.advance.as_ref()?.value.get();
            Some((index + 1, by))
        })
        .max_by_key(|(_, by)| *by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::template;

    #[test]
    fn absolute_instants_shift_in_arguments_and_become_relative_in_answers() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
        let origin = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let rebase = Rebase::new(start, origin);
        assert_eq!(
            rebase.shift_args(
                &json!({ "a": 1_893_456_060_000_000_i64, "b": "1893456060000000", "n": 60 })
            ),
            json!({ "a": 1_700_000_060_000_000_i64, "b": "1700000060000000", "n": 60 })
        );
        let call = origin + Duration::from_secs(2);
        assert_eq!(
            rebase.relative_to(
                &json!({ "leaseTimestamp": "1893456005000000", "retry_count": 1 }),
                call
            ),
            json!({ "leaseTimestamp": "{{now+3000ms}}", "retry_count": 1 })
        );
        assert_eq!(
            template::expand(&json!("{{now+3000ms}}"), call),
            Ok(json!("1700000005000000"))
        );
        assert_eq!(
            rebase.relative_to(&json!("1893455999000000"), call),
            json!("{{now-3000ms}}")
        );
    }

    #[test]
    fn scripted_enqueue_times_give_way_to_the_endpoints() {
        let want = json!({ "items": [{ "id": "t1", "enqueueTimestamp": "{{now-1h}}" }], "enqueueTimestamp": "5" });
        let have =
            json!({ "items": [{ "id": "t1", "enqueueTimestamp": "17" }], "enqueueTimestamp": "6" });
        assert_eq!(
            relax_enqueue_times(&want, &have),
            json!({ "items": [{ "id": "t1", "enqueueTimestamp": "17" }], "enqueueTimestamp": "6" })
        );
        assert_eq!(
            relax_enqueue_times(
                &json!({ "id": "t1", "retry_count": 1 }),
                &json!({ "id": "t2" })
            ),
            json!({ "id": "t1", "retry_count": 1 }),
            "only enqueueTimestamp"
        );
    }
}
