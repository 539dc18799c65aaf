//! The lease semantics of docs/wire-format.md §5 as a table: each case is a sequence of steps with their expected
//! results, and one function runs every case against both stores.
//!
//! Times are seconds after `T0` on a virtual clock; every task's payload is its name, so a lease can check that
//! it returns the right bytes.

use std::collections::HashMap;
use std::time::Duration;

use taskqueue_clock::VirtualClock;
use taskqueue_model::Timestamp;
use taskqueue_store::{
    LIST_LIMIT, LeaseProof, LeaseRequest, NewTask, OverLimit, Store, StoreConfig, StoreError,
    TagFilter,
};

use crate::support::{T0_SECS, at, backends, clock, now};

/// The queue every case uses.
const Q: &str = "pull";

/// Which `leaseTimestamp` a `modify_lease` step presents.
#[derive(Debug, Clone, Copy)]
enum Token {
    /// The one the last lease or modification of the task returned.
    Held,
    /// The held one moved by this many microseconds.
    Off(i64),
    /// `T0` + this many seconds.
    At(i64),
    /// No `leaseTimestamp` at all ([`LeaseProof::AnyHolder`]): a PATCH renewal without proof.
    Unproven,
}

#[derive(Debug, Clone)]
enum Step {
    /// Insert a task (payload: its name) with an ETA this many seconds from now, if given.
    Insert {
        name: &'static str,
        tag: Option<&'static str>,
        eta: Option<i64>,
        expect: Result<(), StoreError>,
    },
    /// Move the clock forward by seconds.
    Advance(u64),
    /// Move the clock forward by microseconds, to step just past a boundary.
    AdvanceMicros(u64),
    /// Lease; expect these tasks, in this order, with these retry counts, and each with `eta = now + secs`.
    Lease {
        request: LeaseRequest,
        expect: Vec<(&'static str, u32)>,
    },
    /// Modify a lease; on success expect `eta = now + secs`.
    Modify {
        name: &'static str,
        token: Token,
        secs: u32,
        expect: Result<(), StoreError>,
    },
    Delete {
        name: &'static str,
        expect: Result<(), StoreError>,
    },
    /// Get; expect `(retry_count, eta as seconds after T0)` or an error.
    Get {
        name: &'static str,
        expect: Result<(u32, i64), StoreError>,
    },
    /// List; expect these names in this order.
    List(Vec<&'static str>),
    /// Stats; the oldest ETA in seconds after T0.
    Stats {
        total: u64,
        oldest: Option<i64>,
        minute: u64,
        hour: u64,
    },
}

fn insert(name: &'static str) -> Step {
    insert_with(name, None, None)
}

fn insert_with(name: &'static str, tag: Option<&'static str>, eta: Option<i64>) -> Step {
    Step::Insert {
        name,
        tag,
        eta,
        expect: Ok(()),
    }
}

fn insert_at(name: &'static str, eta: i64) -> Step {
    insert_with(name, None, Some(eta))
}

fn insert_err(name: &'static str, error: StoreError) -> Step {
    Step::Insert {
        name,
        tag: None,
        eta: None,
        expect: Err(error),
    }
}

fn advance(secs: u64) -> Step {
    Step::Advance(secs)
}

fn advance_micros(micros: u64) -> Step {
    Step::AdvanceMicros(micros)
}

fn lease(num_tasks: u32, secs: u32, expect: &[(&'static str, u32)]) -> Step {
    lease_with(LeaseRequest::new(num_tasks, secs), expect)
}

fn lease_tag(num_tasks: u32, secs: u32, tag: &str, expect: &[(&'static str, u32)]) -> Step {
    lease_with(
        LeaseRequest::new(num_tasks, secs).with_tags(TagFilter::Tag(tag.to_owned())),
        expect,
    )
}

fn lease_oldest(num_tasks: u32, secs: u32, expect: &[(&'static str, u32)]) -> Step {
    lease_with(
        LeaseRequest::new(num_tasks, secs).with_tags(TagFilter::OldestTag),
        expect,
    )
}

fn lease_with(request: LeaseRequest, expect: &[(&'static str, u32)]) -> Step {
    Step::Lease {
        request,
        expect: expect.to_vec(),
    }
}

fn modify(name: &'static str, token: Token, secs: u32, expect: Result<(), StoreError>) -> Step {
    Step::Modify {
        name,
        token,
        secs,
        expect,
    }
}

fn delete(name: &'static str, expect: Result<(), StoreError>) -> Step {
    Step::Delete { name, expect }
}

fn get(name: &'static str, retry_count: u32, eta: i64) -> Step {
    Step::Get {
        name,
        expect: Ok((retry_count, eta)),
    }
}

fn get_err(name: &'static str, error: StoreError) -> Step {
    Step::Get {
        name,
        expect: Err(error),
    }
}

fn list(names: &[&'static str]) -> Step {
    Step::List(names.to_vec())
}

fn stats(total: u64, oldest: Option<i64>, minute: u64, hour: u64) -> Step {
    Step::Stats {
        total,
        oldest,
        minute,
        hour,
    }
}

struct Case {
    name: &'static str,
    config: StoreConfig,
    max_leases: Option<u32>,
    steps: Vec<Step>,
}

fn case(name: &'static str, steps: Vec<Step>) -> Case {
    Case {
        name,
        config: StoreConfig::default(),
        max_leases: None,
        steps,
    }
}

impl Case {
    fn max_leases(mut self, max: u32) -> Self {
        self.max_leases = Some(max);
        self
    }

    fn config(mut self, config: StoreConfig) -> Self {
        self.config = config;
        self
    }
}

const DAY: u64 = 24 * 60 * 60;

fn cases() -> Vec<Case> {
    use StoreError::{AlreadyExists, LeaseExpired, NotFound, Tombstoned};
    vec![
        case(
            "leases take reached ETAs in (ETA, name) order; an ETA is reached when it equals now",
            vec![
                insert_at("b", 0),
                insert_at("a", 0),
                insert_at("c", -10),
                insert_at("d", 5),
                lease(10, 60, &[("c", 1), ("a", 1), ("b", 1)]),
                advance(5),
                lease(10, 60, &[("d", 1)]),
            ],
        ),
        case(
            "a held lease hides the task up to and including its expiry instant; after it, leased again with retry_count 2",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                lease(1, 60, &[]),
                advance(59),
                lease(1, 60, &[]),
                advance(1),
                lease(1, 60, &[]),
                advance(1),
                lease(1, 60, &[("t1", 2)]),
                get("t1", 2, 121),
            ],
        ),
        case(
            "the expiry instant: still held one microsecond before it and at it (modifiable, not leasable), free one after",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(59),
                advance_micros(999_999),
                lease(1, 60, &[]),
                advance_micros(1),
                lease(1, 60, &[]),
                list(&["t1"]),
                modify("t1", Token::Held, 30, Ok(())),
                get("t1", 1, 90),
                advance(30),
                lease(1, 60, &[]),
                modify("t1", Token::Unproven, 0, Ok(())),
                lease(1, 60, &[("t1", 2)]),
            ],
        ),
        case(
            "one microsecond after its expiry the lease cannot be modified, with or without proof",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(60),
                advance_micros(1),
                modify("t1", Token::Held, 60, Err(LeaseExpired)),
                modify("t1", Token::Unproven, 60, Err(LeaseExpired)),
                lease(1, 60, &[("t1", 2)]),
            ],
        ),
        case(
            "an unleased task is available from its ETA on, the ETA instant included",
            vec![
                insert_at("t1", 5),
                advance(4),
                advance_micros(999_999),
                lease(1, 60, &[]),
                advance_micros(1),
                lease(1, 60, &[("t1", 1)]),
            ],
        ),
        case(
            "an expired lease goes back in ETA order at its old expiry",
            vec![
                insert("t1"),
                insert("t2"),
                lease(1, 60, &[("t1", 1)]),
                advance(100),
                insert("t0"),
                lease(3, 60, &[("t2", 1), ("t1", 2), ("t0", 1)]),
            ],
        ),
        case(
            "num_tasks bounds the batch; fewer available gives fewer; none gives none",
            vec![
                insert("t1"),
                insert("t2"),
                insert("t3"),
                insert("t4"),
                insert("t5"),
                lease(2, 60, &[("t1", 1), ("t2", 1)]),
                lease(10, 60, &[("t3", 1), ("t4", 1), ("t5", 1)]),
                lease(10, 60, &[]),
            ],
        ),
        case(
            "groupByTag with a tag leases only that tag, in (ETA, name) order",
            vec![
                insert_with("a2", Some("a"), None),
                insert_with("b1", Some("b"), None),
                insert_with("a1", Some("a"), None),
                insert("u1"),
                lease_tag(10, 60, "a", &[("a1", 1), ("a2", 1)]),
                lease_tag(10, 60, "a", &[]),
                lease(10, 60, &[("b1", 1), ("u1", 1)]),
            ],
        ),
        case(
            "groupByTag without a tag leases the tag of the oldest available task",
            vec![
                insert_with("b1", Some("b"), Some(-10)),
                insert_with("a1", Some("a"), Some(-5)),
                insert_with("b2", Some("b"), Some(0)),
                insert_with("u1", None, Some(30)),
                lease_oldest(10, 60, &[("b1", 1), ("b2", 1)]),
                lease_oldest(10, 60, &[("a1", 1)]),
                lease_oldest(10, 60, &[]),
                advance(30),
                lease_oldest(10, 60, &[("u1", 1)]),
            ],
        ),
        case(
            "groupByTag without a tag, oldest untagged: the untagged among the first num_tasks (SDK stub)",
            vec![
                insert_with("u1", None, Some(-10)),
                insert_with("a1", Some("a"), Some(-5)),
                insert_with("u2", None, Some(-1)),
                insert_with("u3", None, Some(0)),
                lease_oldest(3, 60, &[("u1", 1), ("u2", 1)]),
                lease_oldest(3, 60, &[("a1", 1)]),
                lease_oldest(3, 60, &[("u3", 1)]),
            ],
        ),
        case(
            "groupByTag without a tag looks at available tasks only, not leased ones",
            vec![
                insert_with("a1", Some("a"), Some(-10)),
                insert_with("b1", Some("b"), Some(0)),
                lease_tag(1, 60, "a", &[("a1", 1)]),
                lease_oldest(10, 60, &[("b1", 1)]),
            ],
        ),
        case(
            "the empty tag is a tag of its own, apart from untagged tasks",
            vec![
                insert_with("e1", Some(""), None),
                insert("u1"),
                lease_tag(10, 60, "", &[("e1", 1)]),
                lease(10, 60, &[("u1", 1)]),
            ],
        ),
        case(
            "max_leases with Delete (default): the lease after the last allowed one deletes and tombstones the task",
            vec![
                insert("t1"),
                lease(1, 10, &[("t1", 1)]),
                advance(11),
                lease(1, 10, &[("t1", 2)]),
                advance(11),
                lease(1, 10, &[]),
                get_err("t1", Tombstoned),
                insert_err("t1", Tombstoned),
                stats(0, None, 2, 2),
            ],
        )
        .max_leases(2),
        case(
            "max_leases with Delete: deleted tasks use up num_tasks, as in the SDK stub",
            vec![
                insert_at("t1", -10),
                insert_at("t2", 20),
                lease(1, 10, &[("t1", 1)]),
                advance(20),
                lease(1, 10, &[]),
                get_err("t1", Tombstoned),
                lease(1, 10, &[("t2", 1)]),
            ],
        )
        .max_leases(1),
        case(
            "max_leases 0 deletes a task at its first lease",
            vec![insert("t1"), lease(1, 10, &[]), get_err("t1", Tombstoned)],
        )
        .max_leases(0),
        case(
            "max_leases with Skip (AppScale): over-limit tasks stay, are never leased, and use up nothing",
            vec![
                insert_at("t1", -10),
                insert_at("t2", 20),
                lease(1, 10, &[("t1", 1)]),
                advance(20),
                lease(1, 10, &[("t2", 1)]),
                advance(100),
                lease(10, 10, &[]),
                get("t1", 1, 10),
                list(&["t1", "t2"]),
                stats(2, Some(10), 0, 2),
            ],
        )
        .max_leases(1)
        .config(StoreConfig::default().with_over_limit(OverLimit::Skip)),
        case(
            "modify_lease extends a held lease from now, without counting a lease",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(30),
                modify("t1", Token::Held, 120, Ok(())),
                get("t1", 1, 150),
                advance(100),
                lease(1, 60, &[]),
                advance(21),
                lease(1, 60, &[("t1", 2)]),
            ],
        ),
        case(
            "after an extension the previous leaseTimestamp no longer proves ownership",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(10),
                modify("t1", Token::Held, 60, Ok(())),
                modify("t1", Token::At(60), 60, Err(LeaseExpired)),
                modify("t1", Token::Held, 60, Ok(())),
            ],
        ),
        case(
            "newLeaseSeconds 0 releases: available at once, retry_count unchanged until the next lease",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(10),
                modify("t1", Token::Held, 0, Ok(())),
                get("t1", 1, 10),
                modify("t1", Token::Held, 60, Err(LeaseExpired)),
                lease(1, 60, &[("t1", 2)]),
            ],
        ),
        case(
            "modify_lease refuses a leaseTimestamp that is not the current one",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                modify("t1", Token::Off(-1), 60, Err(LeaseExpired)),
                modify("t1", Token::Off(1), 60, Err(LeaseExpired)),
                modify("t1", Token::Held, 60, Ok(())),
            ],
        ),
        case(
            "modify_lease refuses an expired lease, even with the right leaseTimestamp",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(61),
                modify("t1", Token::Held, 60, Err(LeaseExpired)),
                get("t1", 1, 60),
            ],
        ),
        case(
            "modify_lease refuses a task that was never leased, even given its future ETA, and without proof",
            vec![
                insert_at("t1", 60),
                modify("t1", Token::At(60), 30, Err(LeaseExpired)),
                modify("t1", Token::Unproven, 30, Err(LeaseExpired)),
                get("t1", 0, 60),
            ],
        ),
        case(
            "modify_lease: a deleted task is Tombstoned, an unknown one NotFound, with or without proof",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                delete("t1", Ok(())),
                modify("t1", Token::Held, 60, Err(Tombstoned)),
                modify("t1", Token::Unproven, 60, Err(Tombstoned)),
                modify("nope", Token::At(0), 60, Err(NotFound)),
                modify("nope", Token::Unproven, 60, Err(NotFound)),
                get_err("t1", Tombstoned),
            ],
        ),
        case(
            "without proof, any unexpired lease is extended or released, whoever holds it",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                advance(30),
                modify("t1", Token::Unproven, 120, Ok(())),
                get("t1", 1, 150),
                advance(100),
                lease(1, 60, &[]),
                modify("t1", Token::Unproven, 0, Ok(())),
                get("t1", 1, 130),
                modify("t1", Token::Unproven, 60, Err(LeaseExpired)),
                lease(1, 60, &[("t1", 2)]),
            ],
        ),
        case(
            "leaseSecs 0 hands out a lease that ends at once: held only at that instant",
            vec![
                insert("t1"),
                lease(1, 0, &[("t1", 1)]),
                lease(1, 0, &[]),
                advance_micros(1),
                modify("t1", Token::Held, 60, Err(LeaseExpired)),
                lease(1, 0, &[("t1", 2)]),
            ],
        ),
        case(
            "a repeated delete keeps the first deletion's tombstone: it does not prolong it",
            vec![
                insert("t1"),
                delete("t1", Ok(())),
                advance(50),
                delete("t1", Err(Tombstoned)),
                advance(9),
                insert_err("t1", Tombstoned),
                advance(1),
                insert("t1"),
            ],
        )
        .config(StoreConfig::default().with_tombstone_ttl(Duration::from_secs(60))),
        case(
            "deleting a leased task is allowed and tombstones it; deleting twice or a stranger is refused",
            vec![
                insert("t1"),
                lease(1, 60, &[("t1", 1)]),
                delete("t1", Ok(())),
                get_err("t1", Tombstoned),
                lease(1, 60, &[]),
                delete("t1", Err(Tombstoned)),
                delete("nope", Err(NotFound)),
                list(&[]),
                stats(0, None, 1, 1),
            ],
        ),
        case(
            "a tombstone blocks its name for 7 days by default, then the name is free",
            vec![
                insert("t1"),
                delete("t1", Ok(())),
                insert_err("t1", Tombstoned),
                advance(7 * DAY - 1),
                insert_err("t1", Tombstoned),
                get_err("t1", Tombstoned),
                advance(1),
                get_err("t1", NotFound),
                delete("t1", Err(NotFound)),
                insert("t1"),
                get("t1", 0, 7 * 86_400),
            ],
        ),
        case(
            "a configured tombstone lifetime",
            vec![
                insert("t1"),
                delete("t1", Ok(())),
                advance(59),
                insert_err("t1", Tombstoned),
                advance(1),
                insert("t1"),
            ],
        )
        .config(StoreConfig::default().with_tombstone_ttl(Duration::from_secs(60))),
        case(
            "a live name is taken, leased or not",
            vec![
                insert("t1"),
                insert_err("t1", AlreadyExists),
                lease(1, 60, &[("t1", 1)]),
                insert_err("t1", AlreadyExists),
            ],
        ),
        case(
            "list shows every task, leased or not, in (ETA, name) order",
            vec![
                insert_at("b", 0),
                insert_at("a", 0),
                insert_at("c", -10),
                insert_at("f", 3600),
                lease(1, 30, &[("c", 1)]),
                list(&["a", "b", "c", "f"]),
            ],
        ),
        case(
            "stats: total, oldest ETA, and tasks leased in the last minute and hour, per second",
            vec![
                insert("t1"),
                insert("t2"),
                insert("t3"),
                insert_at("t4", 600),
                stats(4, Some(0), 0, 0),
                lease(2, 3600, &[("t1", 1), ("t2", 1)]),
                advance(30),
                lease(1, 3600, &[("t3", 1)]),
                stats(4, Some(600), 3, 3),
                advance(29),
                stats(4, Some(600), 3, 3),
                advance(1),
                stats(4, Some(600), 1, 3),
                advance(3539),
                stats(4, Some(600), 0, 3),
                advance(1),
                stats(4, Some(600), 0, 1),
                advance(30),
                stats(4, Some(600), 0, 0),
            ],
        ),
    ]
}

/// Seconds after T0 of `timestamp`, which must be whole seconds.
fn secs_after_t0(timestamp: Timestamp) -> i64 {
    let micros = timestamp.as_micros() - at(0).as_micros();
    assert_eq!(
        micros % 1_000_000,
        0,
        "{timestamp} is not on a whole second"
    );
    micros / 1_000_000
}

/// Runs one case against one store, panicking with the case, the step and the store on the first mismatch.
async fn run_case(store: &dyn Store, clock: &VirtualClock, case: &Case, backend: &str) {
    let mut held: HashMap<&'static str, Timestamp> = HashMap::new();
    for (index, step) in case.steps.iter().enumerate() {
        let context = format!("[{backend}] case `{}`, step {index}: {step:?}", case.name);
        let now = now(clock);
        match step {
            Step::Insert {
                name,
                tag,
                eta,
                expect,
            } => {
                let mut task = NewTask::new(name.as_bytes().to_vec()).with_name(*name);
                if let Some(tag) = tag {
                    task = task.with_tag(*tag);
                }
                if let Some(eta) = eta {
                    let eta = Timestamp::from_micros(now.as_micros() + eta * 1_000_000);
                    task = task.with_eta(eta);
                }
                let result = store.insert(Q, task, now).await;
                match (&result, expect) {
                    (Ok(stored), Ok(())) => {
                        assert_eq!(
                            (stored.name.as_str(), stored.retry_count, stored.leased),
                            (*name, 0, false),
                            "{context}"
                        );
                        assert_eq!(stored.enqueued_at, now, "{context}");
                    }
                    (Err(error), Err(expected)) => assert_eq!(error, expected, "{context}"),
                    _ => panic!("{context}: got {result:?}"),
                }
            }
            Step::Advance(secs) => clock.advance(Duration::from_secs(*secs)),
            Step::AdvanceMicros(micros) => clock.advance(Duration::from_micros(*micros)),
            Step::Lease { request, expect } => {
                let leased = store
                    .lease(Q, request, case.max_leases, now)
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
                let got: Vec<(&str, u32)> = leased
                    .iter()
                    .map(|task| (task.name.as_str(), task.retry_count))
                    .collect();
                assert_eq!(got, *expect, "{context}");
                let expiry = now.saturating_add(request.lease_duration());
                for task in &leased {
                    assert_eq!((task.eta, task.leased), (expiry, true), "{context}");
                    assert_eq!(task.payload, task.name.as_bytes(), "{context}");
                    assert_eq!(task.queue, Q, "{context}");
                    let name = expect
                        .iter()
                        .find(|(name, _)| *name == task.name)
                        .map(|(name, _)| *name)
                        .unwrap_or_else(|| panic!("{context}: unexpected {}", task.name));
                    held.insert(name, task.eta);
                }
            }
            Step::Modify {
                name,
                token,
                secs,
                expect,
            } => {
                let held_eta = held.get(name).copied().unwrap_or(Timestamp::ZERO);
                let proof = match token {
                    Token::Held => LeaseProof::Eta(held_eta),
                    Token::Off(micros) => {
                        LeaseProof::Eta(Timestamp::from_micros(held_eta.as_micros() + micros))
                    }
                    Token::At(secs) => LeaseProof::Eta(at(*secs)),
                    Token::Unproven => LeaseProof::AnyHolder,
                };
                let before = store.get(Q, name, now).await;
                let result = store.modify_lease(Q, name, proof, *secs, now).await;
                match (&result, expect) {
                    (Ok(task), Ok(())) => {
                        let eta = now.saturating_add(Duration::from_secs(u64::from(*secs)));
                        assert_eq!((task.eta, task.leased), (eta, *secs > 0), "{context}");
                        assert_eq!(task.payload, name.as_bytes(), "{context}");
                        held.insert(name, task.eta);
                    }
                    (Err(error), Err(expected)) => {
                        assert_eq!(error, expected, "{context}");
                        let after = store.get(Q, name, now).await;
                        assert_eq!(
                            after, before,
                            "{context}: a refused modification changes nothing"
                        );
                    }
                    _ => panic!("{context}: got {result:?}"),
                }
            }
            Step::Delete { name, expect } => {
                let result = store.delete(Q, name, now).await;
                assert_eq!(result, *expect, "{context}");
            }
            Step::Get { name, expect } => {
                let result = store.get(Q, name, now).await;
                let got = result.map(|task| {
                    assert_eq!(task.payload, name.as_bytes(), "{context}");
                    (task.retry_count, secs_after_t0(task.eta))
                });
                assert_eq!(got, *expect, "{context}");
            }
            Step::List(names) => {
                let listed = store
                    .list(Q, LIST_LIMIT, now)
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
                let got: Vec<&str> = listed.iter().map(|task| task.name.as_str()).collect();
                assert_eq!(got, *names, "{context}");
                assert!(
                    listed.iter().all(|task| task.payload.is_empty()),
                    "{context}: list returns no payloads"
                );
            }
            Step::Stats {
                total,
                oldest,
                minute,
                hour,
            } => {
                let stats = store
                    .stats(Q, now)
                    .await
                    .unwrap_or_else(|e| panic!("{context}: {e}"));
                let got = (
                    stats.total_tasks,
                    stats.oldest_eta.map(secs_after_t0),
                    stats.leased_last_minute,
                    stats.leased_last_hour,
                );
                assert_eq!(got, (*total, *oldest, *minute, *hour), "{context}");
            }
        }
    }
}

#[tokio::test]
async fn the_lease_semantics_table_holds_for_every_store() {
    let cases = cases();
    for case in &cases {
        for backend in backends(&case.config).await {
            let clock = clock();
            run_case(backend.store.as_ref(), &clock, case, backend.name).await;
        }
    }
    assert!(cases.len() >= 25, "the table lost cases: {}", cases.len());
}

#[tokio::test]
async fn list_returns_at_most_100_tasks_in_eta_then_name_order() {
    let t0 = at(0);
    for backend in backends(&StoreConfig::default()).await {
        let store = backend.store.as_ref();
        // 150 tasks over 7 distinct ETAs, inserted in a scrambled order.
        let mut expected = Vec::new();
        for i in 0..150_i64 {
            let scrambled = (i * 37) % 150;
            let name = format!("t{scrambled:03}");
            let eta = Timestamp::from_micros(t0.as_micros() + (scrambled % 7) * 1_000_000);
            let task = NewTask::new(b"x".to_vec()).with_name(&name).with_eta(eta);
            store.insert(Q, task, t0).await.expect("insert");
            expected.push((eta, name));
        }
        expected.sort();
        let listed = store.list(Q, LIST_LIMIT, t0).await.expect("list");
        let got: Vec<(Timestamp, String)> = listed
            .into_iter()
            .map(|task| (task.eta, task.name))
            .collect();
        assert_eq!(got.len(), 100, "[{}]", backend.name);
        assert_eq!(got, expected[..100], "[{}]", backend.name);
        let stats = store.stats(Q, t0).await.expect("stats");
        assert_eq!(stats.total_tasks, 150, "[{}]", backend.name);
    }
}

#[tokio::test]
async fn queues_are_independent_namespaces() {
    let t0 = at(0);
    for backend in backends(&StoreConfig::default()).await {
        let store = backend.store.as_ref();
        let context = backend.name;
        store
            .insert("a", NewTask::new(b"in a".to_vec()).with_name("t1"), t0)
            .await
            .expect("insert into a");
        store
            .insert("b", NewTask::new(b"in b".to_vec()).with_name("t1"), t0)
            .await
            .expect("the same name in b");
        store.delete("a", "t1", t0).await.expect("delete from a");
        assert_eq!(
            store.get("b", "t1", t0).await.map(|t| t.payload),
            Ok(b"in b".to_vec()),
            "{context}"
        );
        assert_eq!(
            store.get("a", "t1", t0).await,
            Err(StoreError::Tombstoned),
            "{context}"
        );
        assert_eq!(
            store.get("c", "t1", t0).await,
            Err(StoreError::NotFound),
            "{context}"
        );
        let leased = store
            .lease("a", &LeaseRequest::new(10, 60), None, t0)
            .await
            .expect("lease a");
        assert!(leased.is_empty(), "{context}");
        let stats = store.stats("b", t0).await.expect("stats b");
        assert_eq!(
            (stats.total_tasks, stats.leased_last_minute),
            (1, 0),
            "{context}"
        );
        assert_eq!(
            store.list("c", LIST_LIMIT, t0).await,
            Ok(Vec::new()),
            "{context}"
        );
    }
}

#[tokio::test]
async fn generated_names_are_16_lowercase_hex_digits_and_unique() {
    let t0 = at(0);
    for backend in backends(&StoreConfig::default()).await {
        let store = backend.store.as_ref();
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let task = store
                .insert(Q, NewTask::new(b"x".to_vec()), t0)
                .await
                .expect("insert");
            assert_eq!(task.name.len(), 16, "[{}] {}", backend.name, task.name);
            assert!(
                task.name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "[{}] {}",
                backend.name,
                task.name
            );
            names.insert(task.name);
        }
        assert_eq!(names.len(), 200, "[{}]", backend.name);
    }
}

#[tokio::test]
async fn seeded_stores_generate_the_same_names() {
    let t0 = at(0);
    let config = StoreConfig::default().with_name_seed(42);
    let mut sequences = Vec::new();
    for backend in backends(&config).await {
        let mut names = Vec::new();
        for _ in 0..5 {
            let task = backend
                .store
                .insert(Q, NewTask::new(b"x".to_vec()), t0)
                .await
                .expect("insert");
            names.push(task.name);
        }
        sequences.push(names);
    }
    assert_eq!(sequences[0], sequences[1]);
}

#[tokio::test]
async fn purge_removes_expired_tombstones_and_old_lease_counts_without_changing_results() {
    let config = StoreConfig::default().with_tombstone_ttl(Duration::from_secs(60));
    for backend in backends(&config).await {
        let store = backend.store.as_ref();
        let context = backend.name;
        let t0 = at(0);
        for name in ["t1", "t2", "t3"] {
            store
                .insert(Q, NewTask::new(b"x".to_vec()).with_name(name), t0)
                .await
                .expect("insert");
        }
        let leased = store
            .lease(Q, &LeaseRequest::new(1, 10), None, t0)
            .await
            .expect("lease");
        assert_eq!(leased.len(), 1, "{context}");
        store.delete(Q, "t1", t0).await.expect("delete t1");
        store.delete(Q, "t2", t0).await.expect("delete t2");

        // Nothing has expired yet.
        let report = store.purge(at(59), 100).await.expect("purge");
        assert!(report.is_empty(), "{context}: {report:?}");
        assert_eq!(
            store.get(Q, "t1", at(59)).await,
            Err(StoreError::Tombstoned),
            "{context}"
        );

        // At T0+3600 both tombstones and the lease count of T0 have expired. The store may have purged some on
        // the side already; one call with a limit of 1 removes at most 1 of each, and the rest follow.
        let later = at(3600);
        let first = store.purge(later, 1).await.expect("purge");
        assert!(
            first.tombstones <= 1 && first.lease_log <= 1,
            "{context}: {first:?}"
        );
        let rest = store.purge(later, 100).await.expect("purge");
        assert!(first.tombstones + rest.tombstones <= 2, "{context}");
        assert!(
            store.purge(later, 100).await.expect("purge").is_empty(),
            "{context}"
        );

        assert_eq!(
            store.get(Q, "t1", later).await,
            Err(StoreError::NotFound),
            "{context}"
        );
        let stats = store.stats(Q, later).await.expect("stats");
        assert_eq!(
            (stats.total_tasks, stats.leased_last_hour),
            (1, 0),
            "{context}"
        );
        store
            .insert(Q, NewTask::new(b"x".to_vec()).with_name("t1"), later)
            .await
            .expect("the name is free again");
    }
    // The memory store purges only when asked: its counts are exact.
    let backend = crate::support::memory(config);
    let store = backend.store.as_ref();
    store
        .insert(Q, NewTask::new(b"x".to_vec()).with_name("t1"), at(0))
        .await
        .expect("insert");
    store
        .lease(Q, &LeaseRequest::new(1, 10), None, at(0))
        .await
        .expect("lease");
    store.delete(Q, "t1", at(0)).await.expect("delete");
    let report = store.purge(at(3600), 100).await.expect("purge");
    assert_eq!((report.tombstones, report.lease_log), (1, 1));
}

#[test]
fn the_test_epoch_is_whole_seconds() {
    assert_eq!(secs_after_t0(at(5)), 5);
    assert_eq!(
        at(0).as_micros(),
        i64::try_from(T0_SECS).expect("fits") * 1_000_000
    );
}
