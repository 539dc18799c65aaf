//! The queue state a scenario presumes (`server.seed`), written straight
//! into the server's store before the first step, with each operation's
//! `now` taken from the seed: a task `enqueueTimestamp: "{{now-1h}}"` is
//! inserted an hour before `clock.start`, as if it had been.
//!
//! A task is inserted at its `enqueueTimestamp` with its `leaseTimestamp`
//! as the ETA (default: the enqueue time). A task with `retry_count: n`
//! is then leased `n` times for 0 seconds at its `leaseTimestamp`, so it
//! ends with that count, an expired lease and that ETA, as the wire shows a
//! task whose last lease ran out. Such a lease takes the first available
//! task in (ETA, name) order: seeding fails, naming the task, if that is
//! not the one meant.

use std::time::SystemTime;

use taskqueue_model::{Payload, Timestamp};
use taskqueue_server::{LeaseRequest, NewTask, Store};

use crate::scenario::{SeedTask, Spanned};
use crate::template::micros_of;

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

/// Writes `seeds` into `store` under the queue key `queue`, with times read
/// at `start`.
pub async fn apply(
    store: &dyn Store,
    queue: &str,
    seeds: &[Spanned<SeedTask>],
    start: SystemTime,
) -> Result<(), String> {
    let mut tasks = seeds
        .iter()
        .map(|seed| resolve(seed, start))
        .collect::<Result<Vec<_>, _>>()?;
    tasks.sort_by_key(|task| task.enqueued);
    for task in &tasks {
        let mut new = NewTask::new(task.payload.clone())
            .with_name(task.name.clone())
            .with_eta(if task.retry_count > 0 {
                task.enqueued
            } else {
                task.eta
            });
        if let Some(tag) = &task.tag {
            new = new.with_tag(tag.clone());
        }
        store
            .insert(queue, new, task.enqueued)
            .await
            .map_err(|error| format!("seed `{}`: insert: {error}", task.name))?;
    }
    let mut leased: Vec<&Resolved> = tasks.iter().filter(|task| task.retry_count > 0).collect();
    leased.sort_by_key(|task| task.eta);
    for task in leased {
        for _ in 0..task.retry_count {
            let got = store
                .lease(queue, &LeaseRequest::new(1, 0), None, task.eta)
                .await
                .map_err(|error| format!("seed `{}`: lease: {error}", task.name))?;
            match got.first() {
                Some(first) if first.name == task.name => {}
                other => {
                    return Err(format!(
                        "seed `{}`: cannot give it retry_count {}: a lease at its leaseTimestamp \
                         takes {} first (the first available task in (ETA, name) order)",
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
