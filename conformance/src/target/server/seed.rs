//! The queue state a scenario presumes (`server.seed`), written straight
//! into the server's store before the first step, with each operation's
//! `now` taken from the seed: a task `enqueueTimestamp: "{{now-1h}}"` is
//! inserted an hour before `clock.start`, as if it had been.
//!
//! A task is inserted at its `enqueueTimestamp` with its `leaseTimestamp`
//! as the ETA (default: the enqueue time). A task with `retry_count: n`
//! above 0 is leased `n` times instead, so the wire shows it as a task
//! leased `n` times whose current lease ends at its `leaseTimestamp`:
//!
//! - a `leaseTimestamp` at or before `clock.start` is a lease that ran out
//!   then: the last lease is taken at that instant for 0 seconds;
//! - a later one is a lease still held: the last lease is taken at
//!   `clock.start` for the seconds up to it (a whole number, at most 7
//!   days), so an update carrying that `leaseTimestamp` proves ownership.
//!
//! The earlier leases are taken for 0 seconds in 1970, the task inserted
//! with an ETA in 1970 too: a lease takes the first available task in
//! (ETA, name) order, and that puts the seeded task first whatever else is
//! in the queue. Seeding checks each lease took the task it meant to.

use std::time::SystemTime;

use taskqueue_model::{Payload, Timestamp};
use taskqueue_server::{LeaseRequest, NewTask, Store};

use crate::scenario::template::micros_of;
use crate::scenario::{SeedTask, Spanned};

/// One seed task, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    name: String,
    payload: Vec<u8>,
    tag: Option<String>,
    enqueued: Timestamp,
    eta: Timestamp,
    retry_count: u32,
}

fn resolve(seed: &Spanned<SeedTask>, start: SystemTime) -> Result<Resolved, String> {
    let task = &seed.value;
    let place = format!("seed `{}` (line {})", task.id, seed.referenced.line());
    let payload = match &task.payload_base64 {
        Some(text) => Payload::from_base64(text)
            .map_err(|error| format!("{place}: payloadBase64: {error}"))?
            .into_bytes(),
        None => Vec::new(),
    };
    let instant =
        |value: Option<&serde_json::Value>, key: &str| -> Result<Option<Timestamp>, String> {
            value
                .map(|value| {
                    micros_of(value, start)
                        .map(Timestamp::from_micros)
                        .map_err(|why| format!("{place}: {key}: {why}"))
                })
                .transpose()
        };
    let enqueued = instant(task.enqueue_timestamp.as_ref(), "enqueueTimestamp")?
        .unwrap_or_else(|| Timestamp::from_system_time(start));
    let eta = instant(task.lease_timestamp.as_ref(), "leaseTimestamp")?.unwrap_or(enqueued);
    Ok(Resolved {
        name: task.id.clone(),
        payload,
        tag: task.tag.clone(),
        enqueued,
        eta,
        retry_count: task.retry_count,
    })
}

/// Writes the `seeds` due before step `step` into `store` under the queue
/// key `queue`, with times read at `start`.
pub(super) async fn apply(
    store: &dyn Store,
    queue: &str,
    seeds: &[Spanned<SeedTask>],
    step: usize,
    start: SystemTime,
) -> Result<(), String> {
    let mut tasks = seeds
        .iter()
        .filter(|seed| seed.value.before() == step)
        .map(|seed| resolve(seed, start))
        .collect::<Result<Vec<_>, _>>()?;
    // Leased seeds last: each is inserted and leased while it is the first
    // available task (see the module documentation).
    tasks.sort_by_key(|task| (task.retry_count > 0, task.enqueued));
    let epoch = Timestamp::from_micros(0);
    let start = Timestamp::from_system_time(start);
    for task in &tasks {
        let leased = task.retry_count > 0;
        let mut new = NewTask::new(task.payload.clone())
            .with_name(task.name.clone())
            .with_eta(if leased { epoch } else { task.eta });
        if let Some(tag) = &task.tag {
            new = new.with_tag(tag.clone());
        }
        store
            .insert(queue, new, task.enqueued)
            .await
            .map_err(|error| format!("seed `{}`: insert: {error}", task.name))?;
        if !leased {
            continue;
        }
        let mut leases: Vec<(Timestamp, u32)> = (1..task.retry_count)
            .map(|n| (Timestamp::from_micros(i64::from(n)), 0))
            .collect();
        if task.eta <= start {
            leases.push((task.eta, 0));
        } else {
            let micros = task.eta.as_micros() - start.as_micros();
            let secs = u32::try_from(micros / 1_000_000)
                .ok()
                .filter(|secs| micros % 1_000_000 == 0 && *secs <= 604_800)
                .ok_or_else(|| {
                    format!(
                        "seed `{}`: a lease held at clock.start must end a whole number of \
                         seconds, at most 7 days, later (leaseTimestamp is {micros} µs after it)",
                        task.name
                    )
                })?;
            leases.push((start, secs));
        }
        for (now, secs) in leases {
            let got = store
                .lease(queue, &LeaseRequest::new(1, secs), None, now)
                .await
                .map_err(|error| format!("seed `{}`: lease: {error}", task.name))?;
            match got.first() {
                Some(first) if first.name == task.name => {}
                other => {
                    return Err(format!(
                        "seed `{}`: cannot give it retry_count {}: its lease took {}",
                        task.name,
                        task.retry_count,
                        other.map_or("nothing".to_owned(), |t| format!("`{}`", t.name))
                    ));
                }
            }
        }
    }
    Ok(())
}
