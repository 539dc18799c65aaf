//! The SQLite and PostgreSQL stores against the memory model: random sequences of operations (inserts, leases,
//! lease modifications with the right or a wrong `leaseTimestamp` or none, deletes, reads, purges, time moving on)
//! applied to all three give identical results, step by step.
//!
//! Names, tags and times come from small pools so that collisions, tombstones, expiries and lease limits happen
//! often. Generated names agree because every store gets the same seed.

use std::time::Duration;

use proptest::prelude::*;
use taskqueue_model::Timestamp;
use taskqueue_store::{
    LeaseProof, LeaseRequest, MemoryStore, NewTask, OverLimit, QueueStats, Store, StoreConfig,
    StoreError, StoredTask, Synchronous, TagFilter,
};

use crate::support::{at, postgres, sqlite_with};

const QUEUES: [&str; 2] = ["q1", "q2"];
const NAMES: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
const TAGS: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
enum Op {
    Insert {
        queue: usize,
        /// `None`: let the store name it.
        name: Option<usize>,
        tag: Option<usize>,
        /// Seconds from now.
        eta: Option<i64>,
        payload: Vec<u8>,
    },
    Lease {
        queue: usize,
        num_tasks: u32,
        lease_secs: u32,
        /// `None`: any; `Some(None)`: the oldest's tag; `Some(Some(i))`: `TAGS[i]`.
        tags: Option<Option<usize>>,
    },
    Modify {
        queue: usize,
        name: usize,
        /// Microseconds added to the task's current ETA (0: the right token); `None`: no proof, any unexpired
        /// lease may be modified.
        token_offset: Option<i64>,
        secs: u32,
    },
    Delete {
        queue: usize,
        name: usize,
    },
    Get {
        queue: usize,
        name: usize,
    },
    List {
        queue: usize,
        limit: u32,
    },
    Stats {
        queue: usize,
    },
    Purge {
        limit: u32,
    },
    Advance {
        secs: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let queue = 0..QUEUES.len();
    let name = 0..NAMES.len();
    prop_oneof![
        4 => (
            queue.clone(),
            prop::option::weighted(0.8, name.clone()),
            prop::option::of(0..TAGS.len()),
            prop::option::of(prop_oneof![Just(0_i64), -20_i64..60]),
            prop::collection::vec(any::<u8>(), 0..8),
        )
            .prop_map(|(queue, name, tag, eta, payload)| Op::Insert { queue, name, tag, eta, payload }),
        4 => (
            queue.clone(),
            0_u32..5,
            prop_oneof![Just(0_u32), 1_u32..120],
            prop::option::of(prop::option::of(0..TAGS.len())),
        )
            .prop_map(|(queue, num_tasks, lease_secs, tags)| Op::Lease { queue, num_tasks, lease_secs, tags }),
        3 => (
            queue.clone(),
            name.clone(),
            prop_oneof![
                3 => Just(Some(0_i64)),
                1 => (-2_000_000_i64..2_000_000).prop_map(Some),
                1 => Just(None),
            ],
            prop_oneof![Just(0_u32), 1_u32..120],
        )
            .prop_map(|(queue, name, token_offset, secs)| Op::Modify { queue, name, token_offset, secs }),
        2 => (queue.clone(), name.clone()).prop_map(|(queue, name)| Op::Delete { queue, name }),
        1 => (queue.clone(), name).prop_map(|(queue, name)| Op::Get { queue, name }),
        1 => (queue.clone(), 0_u32..7).prop_map(|(queue, limit)| Op::List { queue, limit }),
        1 => queue.prop_map(|queue| Op::Stats { queue }),
        1 => (0_u32..4).prop_map(|limit| Op::Purge { limit }),
        3 => prop_oneof![Just(0_u64), 1_u64..90, Just(300_u64), Just(3600_u64)]
            .prop_map(|secs| Op::Advance { secs }),
    ]
}

/// Each store's answer to one operation, comparable across stores.
#[derive(Debug, PartialEq)]
enum Outcome {
    Task(StoredTask),
    Tasks(Vec<StoredTask>),
    Deleted,
    Stats(QueueStats),
    /// Purge counts differ by design (SQLite also purges on the side); only success is compared.
    Purged,
    Advanced,
}

/// The lease limit and over-limit policy of one run.
#[derive(Debug, Clone)]
struct Setup {
    max_leases: Option<u32>,
    over_limit: OverLimit,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop::option::of(0_u32..4),
        prop_oneof![Just(OverLimit::Delete), Just(OverLimit::Skip)],
    )
        .prop_map(|(max_leases, over_limit)| Setup {
            max_leases,
            over_limit,
        })
}

async fn apply(
    store: &dyn Store,
    op: &Op,
    now: Timestamp,
    max_leases: Option<u32>,
    token: LeaseProof,
) -> Result<Outcome, StoreError> {
    match op {
        Op::Insert {
            queue,
            name,
            tag,
            eta,
            payload,
        } => {
            let mut task = NewTask::new(payload.clone());
            if let Some(name) = name {
                task = task.with_name(NAMES[*name]);
            }
            if let Some(tag) = tag {
                task = task.with_tag(TAGS[*tag]);
            }
            if let Some(eta) = eta {
                task = task.with_eta(Timestamp::from_micros(now.as_micros() + eta * 1_000_000));
            }
            store
                .insert(QUEUES[*queue], task, now)
                .await
                .map(Outcome::Task)
        }
        Op::Lease {
            queue,
            num_tasks,
            lease_secs,
            tags,
        } => {
            let tags = match tags {
                None => TagFilter::Any,
                Some(None) => TagFilter::OldestTag,
                Some(Some(tag)) => TagFilter::Tag(TAGS[*tag].to_owned()),
            };
            let request = LeaseRequest::new(*num_tasks, *lease_secs).with_tags(tags);
            store
                .lease(QUEUES[*queue], &request, max_leases, now)
                .await
                .map(Outcome::Tasks)
        }
        Op::Modify {
            queue, name, secs, ..
        } => store
            .modify_lease(QUEUES[*queue], NAMES[*name], token, *secs, now)
            .await
            .map(Outcome::Task),
        Op::Delete { queue, name } => store
            .delete(QUEUES[*queue], NAMES[*name], now)
            .await
            .map(|()| Outcome::Deleted),
        Op::Get { queue, name } => store
            .get(QUEUES[*queue], NAMES[*name], now)
            .await
            .map(Outcome::Task),
        Op::List { queue, limit } => store
            .list(QUEUES[*queue], *limit, now)
            .await
            .map(Outcome::Tasks),
        Op::Stats { queue } => store.stats(QUEUES[*queue], now).await.map(Outcome::Stats),
        Op::Purge { limit } => store.purge(now, *limit).await.map(|_| Outcome::Purged),
        Op::Advance { .. } => Ok(Outcome::Advanced),
    }
}

/// Runs `ops` on both stores and returns the first divergence, if any.
async fn run(setup: &Setup, ops: &[Op]) -> Result<(), String> {
    let config = StoreConfig::default()
        .with_tombstone_ttl(Duration::from_secs(300))
        .with_over_limit(setup.over_limit)
        .with_name_seed(7);
    let model = MemoryStore::new(config.clone());
    // NORMAL is as crash-safe for a killed process and keeps the run fast; durability has its own tests.
    let sqlite = sqlite_with(config.clone(), Synchronous::Normal);
    let postgres = postgres(config).await;
    let backends = [&sqlite, &postgres];
    let mut now = at(0);
    for (index, op) in ops.iter().enumerate() {
        if let Op::Advance { secs } = op {
            now = now.saturating_add(Duration::from_secs(*secs));
        }
        // The token a modification presents: the task's current ETA in the model, moved by the offset.
        let token = match op {
            Op::Modify {
                token_offset: None, ..
            } => LeaseProof::AnyHolder,
            Op::Modify {
                queue,
                name,
                token_offset: Some(token_offset),
                ..
            } => {
                let current = model
                    .get(QUEUES[*queue], NAMES[*name], now)
                    .await
                    .map_or(at(0), |task| task.eta);
                LeaseProof::Eta(Timestamp::from_micros(current.as_micros() + token_offset))
            }
            _ => LeaseProof::AnyHolder,
        };
        let expected = apply(&model, op, now, setup.max_leases, token).await;
        for backend in backends {
            let actual = apply(backend.store.as_ref(), op, now, setup.max_leases, token).await;
            if expected != actual {
                return Err(format!(
                    "step {index} {op:?} at {now}:\n  model:  {expected:?}\n  {}: {actual:?}",
                    backend.name
                ));
            }
        }
        if matches!(expected, Err(StoreError::Storage(_))) {
            return Err(format!("step {index} {op:?}: storage error {expected:?}"));
        }
    }
    // The final states agree too.
    for queue in QUEUES {
        let model_state = (
            model.list(queue, 1000, now).await,
            model.stats(queue, now).await,
        );
        for backend in backends {
            let state = (
                backend.store.list(queue, 1000, now).await,
                backend.store.stats(queue, now).await,
            );
            if model_state != state {
                return Err(format!(
                    "final state of {queue}:\n  model:  {model_state:?}\n  {}: {state:?}",
                    backend.name
                ));
            }
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

proptest! {
    // 64 cases by default; PROPTEST_CASES asks for more (or fewer).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sqlite_and_postgres_agree_with_the_memory_model(setup in setup(), ops in prop::collection::vec(op(), 1..60)) {
        let outcome = runtime().block_on(run(&setup, &ops));
        prop_assert!(outcome.is_ok(), "{setup:?}\n{}", outcome.err().unwrap_or_default());
    }
}

/// A fixed sequence through every operation, so the comparison is known to see real work even if the random
/// cases were to shrink to trivial ones.
#[test]
fn a_fixed_sequence_agrees() {
    use Op::{Advance, Delete, Get, Insert, Lease, List, Modify, Purge, Stats};
    let ops = vec![
        Insert {
            queue: 0,
            name: Some(0),
            tag: Some(0),
            eta: None,
            payload: b"x".to_vec(),
        },
        Insert {
            queue: 0,
            name: None,
            tag: None,
            eta: Some(-5),
            payload: b"y".to_vec(),
        },
        Insert {
            queue: 0,
            name: Some(1),
            tag: Some(1),
            eta: Some(10),
            payload: Vec::new(),
        },
        Lease {
            queue: 0,
            num_tasks: 2,
            lease_secs: 30,
            tags: None,
        },
        Modify {
            queue: 0,
            name: 0,
            token_offset: Some(0),
            secs: 60,
        },
        Modify {
            queue: 0,
            name: 0,
            token_offset: Some(1),
            secs: 60,
        },
        Advance { secs: 10 },
        Lease {
            queue: 0,
            num_tasks: 3,
            lease_secs: 30,
            tags: Some(None),
        },
        Delete { queue: 0, name: 0 },
        Insert {
            queue: 0,
            name: Some(0),
            tag: None,
            eta: None,
            payload: Vec::new(),
        },
        Advance { secs: 300 },
        Insert {
            queue: 0,
            name: Some(0),
            tag: None,
            eta: None,
            payload: Vec::new(),
        },
        Get { queue: 0, name: 0 },
        List { queue: 0, limit: 5 },
        Stats { queue: 0 },
        Purge { limit: 3 },
    ];
    let setup = Setup {
        max_leases: Some(2),
        over_limit: OverLimit::Delete,
    };
    runtime()
        .block_on(run(&setup, &ops))
        .unwrap_or_else(|divergence| panic!("{divergence}"));
}
