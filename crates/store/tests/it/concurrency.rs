//! Concurrent leases: many workers leasing at once never get the same task while its lease is live, and no
//! task is lost, with producers inserting at the same time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Barrier;

use taskqueue_store::{
    LeaseProof, LeaseRequest, MemoryStore, NewTask, PostgresStore, SqliteOptions, SqliteStore,
    Store, StoreConfig, StoreError,
};

use crate::support::{at, backends, multi_thread_runtime as runtime, postgres};

const PRODUCERS: usize = 4;
const TASKS_PER_PRODUCER: usize = 100;
const CONSUMERS: usize = 6;
/// Stops a consumer that never sees the end (a bug), so the test fails instead of hanging.
const MAX_POLLS: usize = 100_000;

/// How many tasks each producer inserts before the consumers start, so that every consumer's first lease finds
/// a full batch.
const PRELOADED_PER_PRODUCER: usize = 50;

/// Producers insert, consumers lease (for an hour, at one instant, so nothing is released), all at once; returns
/// every task name each consumer got.
///
/// Each consumer's first lease is followed by a barrier, so none can drain the queue before all have leased
/// once: every consumer gets tasks, and the leases demonstrably overlap.
async fn produce_and_consume(stores: Vec<Arc<dyn Store>>) -> Vec<Vec<String>> {
    let now = at(0);
    let insert = |store: Arc<dyn Store>, producer: usize, range: std::ops::Range<usize>| async move {
        for i in range {
            let task = NewTask::new(vec![0_u8; 16]).with_name(format!("p{producer}-{i:03}"));
            store.insert("work", task, now).await.expect("insert");
        }
    };
    for producer in 0..PRODUCERS {
        let store = Arc::clone(&stores[producer % stores.len()]);
        insert(store, producer, 0..PRELOADED_PER_PRODUCER).await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let first_leases = Arc::new(Barrier::new(CONSUMERS));
    let mut consumers = Vec::new();
    for index in 0..CONSUMERS {
        let store = Arc::clone(&stores[index % stores.len()]);
        let done = Arc::clone(&done);
        let first_leases = Arc::clone(&first_leases);
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let request = LeaseRequest::new(7, 3600);
            for poll in 0..MAX_POLLS {
                // Read the flag before leasing: an empty lease after every insert was acknowledged means the
                // queue is drained.
                let finished = done.load(Ordering::SeqCst);
                let batch = store
                    .lease("work", &request, None, now)
                    .await
                    .expect("lease");
                if poll == 0 {
                    first_leases.wait().await;
                }
                if batch.is_empty() {
                    if finished {
                        return got;
                    }
                    tokio::task::yield_now().await;
                }
                got.extend(batch.into_iter().map(|task| task.name));
            }
            panic!("consumer {index} polled {MAX_POLLS} times without seeing the end");
        }));
    }
    let mut producers = Vec::new();
    for producer in 0..PRODUCERS {
        let store = Arc::clone(&stores[producer % stores.len()]);
        producers.push(tokio::spawn(insert(
            store,
            producer,
            PRELOADED_PER_PRODUCER..TASKS_PER_PRODUCER,
        )));
    }
    for producer in producers {
        producer.await.expect("a producer finishes");
    }
    done.store(true, Ordering::SeqCst);
    let mut results = Vec::new();
    for consumer in consumers {
        results.push(consumer.await.expect("a consumer finishes"));
    }
    results
}

/// Every inserted task was leased exactly once.
fn assert_each_leased_once(results: &[Vec<String>]) {
    let all: Vec<&String> = results.iter().flatten().collect();
    let distinct: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "a task was handed to two holders at once"
    );
    assert_eq!(
        distinct.len(),
        PRODUCERS * TASKS_PER_PRODUCER,
        "a task was lost"
    );
    assert!(
        results.iter().all(|got| !got.is_empty()),
        "every consumer leased before any could drain the queue: {:?}",
        results.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn concurrent_leases_on_one_sqlite_store_hand_out_each_task_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store =
        SqliteStore::open(dir.path().join("tasks.db"), StoreConfig::default()).expect("open");
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(store)];
    let results = runtime().block_on(produce_and_consume(stores));
    assert_each_leased_once(&results);
}

#[test]
fn a_second_sqlite_store_on_one_file_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    let first = SqliteStore::open(&path, StoreConfig::default()).expect("open");
    let short_wait = SqliteOptions::default().with_lock_wait(Duration::from_millis(50));
    let refused = SqliteStore::open_with(&path, StoreConfig::default(), short_wait)
        .expect_err("a second store");
    let message = refused.to_string();
    assert!(refused.is_storage(), "{message}");
    for part in [
        path.display().to_string(),
        "in use by another taskqueue-server".to_owned(),
        "PostgreSQL".to_owned(),
    ] {
        assert!(message.contains(&part), "`{part}` in: {message}");
    }
    drop(first);
    // The default wait covers a child process forked by another test holding the lock file for a moment.
    SqliteStore::open(&path, StoreConfig::default())
        .expect("the file is free once the first store closed");
}

#[test]
fn opening_waits_for_a_store_closed_within_the_lock_wait() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    let first = SqliteStore::open(&path, StoreConfig::default()).expect("open");
    let second = {
        let path = path.clone();
        let long_wait = SqliteOptions::default().with_lock_wait(Duration::from_secs(30));
        std::thread::spawn(move || SqliteStore::open_with(&path, StoreConfig::default(), long_wait))
    };
    drop(first);
    let opened = second.join().expect("the opening thread");
    assert!(
        opened.is_ok(),
        "the second store opens once the first closes: {opened:?}"
    );
}

#[test]
fn concurrent_leases_on_one_postgres_store_hand_out_each_task_once() {
    let runtime = runtime();
    let store = runtime.block_on(async { postgres(StoreConfig::default()).await });
    let stores: Vec<Arc<dyn Store>> = vec![Arc::from(store.store)];
    let results = runtime.block_on(produce_and_consume(stores));
    assert_each_leased_once(&results);
}

#[test]
fn concurrent_leases_through_three_postgres_stores_on_one_database_hand_out_each_task_once() {
    // Three pools, as three server instances would have.
    let runtime = runtime();
    let stores: Vec<Arc<dyn Store>> = runtime.block_on(async {
        let url = crate::pg_cluster::fresh_url().await;
        let mut stores: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..3 {
            let store = PostgresStore::connect(&url, StoreConfig::default())
                .await
                .expect("connect");
            stores.push(Arc::new(store));
        }
        stores
    });
    let results = runtime.block_on(produce_and_consume(stores));
    assert_each_leased_once(&results);
}

#[test]
fn concurrent_leases_on_the_memory_store_hand_out_each_task_once() {
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(MemoryStore::new(StoreConfig::default()))];
    let results = runtime().block_on(produce_and_consume(stores));
    assert_each_leased_once(&results);
}

#[test]
fn of_many_holders_presenting_the_same_lease_timestamp_at_once_exactly_one_extends() {
    let runtime = runtime();
    for backend in runtime.block_on(backends(&StoreConfig::default())) {
        let store: Arc<dyn Store> = Arc::from(backend.store);
        one_of_many_holders_extends(&runtime, &store, backend.name);
    }
}

fn one_of_many_holders_extends(
    runtime: &tokio::runtime::Runtime,
    store: &Arc<dyn Store>,
    backend: &str,
) {
    let outcomes = runtime.block_on(async {
        let now = at(0);
        store
            .insert("work", NewTask::new(b"x".to_vec()).with_name("t1"), now)
            .await
            .expect("insert");
        let leased = store
            .lease("work", &LeaseRequest::new(1, 60), None, now)
            .await
            .expect("lease");
        let token = leased[0].eta;
        let later = at(10);
        let mut holders = Vec::new();
        for secs in 1..=8 {
            let store = Arc::clone(store);
            holders.push(tokio::spawn(async move {
                store
                    .modify_lease("work", "t1", LeaseProof::Eta(token), 100 + secs, later)
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for holder in holders {
            outcomes.push(holder.await.expect("a holder finishes"));
        }
        outcomes
    });
    let extended = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(extended, 1, "[{backend}] {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|outcome| outcome.is_ok() || *outcome == Err(StoreError::LeaseExpired)),
        "[{backend}] {outcomes:?}"
    );
}
