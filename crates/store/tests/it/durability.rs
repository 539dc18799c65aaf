//! Durability across reopening: what one `SqliteStore` wrote, a new one on the same file reads back, tasks,
//! leases, tombstones and lease counts alike. (The SIGKILL crash test needs the server binary and comes with
//! it.)

use std::time::Duration;

use taskqueue_store::{
    LIST_LIMIT, LeaseProof, LeaseRequest, NewTask, SqliteStore, Store, StoreConfig, StoreError,
    TagFilter,
};

use crate::support::at;

#[tokio::test]
async fn everything_written_is_there_after_reopening() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    let config = StoreConfig::default().with_name_seed(1);
    let (generated, leased_eta, payload) = {
        let store = SqliteStore::open(&path, config.clone()).expect("open");
        let payload: Vec<u8> = (0..=255).cycle().take(70_000).collect();
        store
            .insert(
                "q",
                NewTask::new(payload.clone()).with_name("big").with_tag("t"),
                at(0),
            )
            .await
            .expect("insert big");
        let generated = store
            .insert("q", NewTask::new(b"g".to_vec()).with_eta(at(30)), at(0))
            .await
            .expect("insert generated")
            .name;
        store
            .insert("q", NewTask::new(b"d".to_vec()).with_name("doomed"), at(0))
            .await
            .expect("insert doomed");
        let leased = store
            .lease(
                "q",
                &LeaseRequest::new(5, 60).with_tags(TagFilter::Tag("t".to_owned())),
                None,
                at(1),
            )
            .await
            .expect("lease");
        assert_eq!(leased.len(), 1);
        store.delete("q", "doomed", at(2)).await.expect("delete");
        (generated, leased[0].eta, payload)
    };

    let store = SqliteStore::open(&path, config).expect("reopen");
    let big = store
        .get("q", "big", at(3))
        .await
        .expect("the big task is back");
    assert_eq!(big.payload, payload);
    assert_eq!(big.tag.as_deref(), Some("t"));
    assert_eq!(
        (big.retry_count, big.leased, big.eta),
        (1, true, leased_eta)
    );
    assert_eq!(big.enqueued_at, at(0));
    // The lease survived: its holder can still extend it, and nobody else can lease the task.
    let extended = store
        .modify_lease("q", "big", LeaseProof::Eta(leased_eta), 120, at(3))
        .await
        .expect("the lease is still held");
    assert_eq!(extended.eta, at(123));
    assert_eq!(
        store.get("q", &generated, at(3)).await.map(|t| t.eta),
        Ok(at(30))
    );
    assert_eq!(
        store.get("q", "doomed", at(3)).await,
        Err(StoreError::Tombstoned)
    );
    let listed: Vec<String> = store
        .list("q", LIST_LIMIT, at(3))
        .await
        .expect("list")
        .into_iter()
        .map(|task| task.name)
        .collect();
    assert_eq!(listed, [generated.clone(), "big".to_owned()]);
    let stats = store.stats("q", at(3)).await.expect("stats");
    assert_eq!((stats.total_tasks, stats.leased_last_minute), (2, 1));
    // The generated name stays taken across the reopening.
    let again = NewTask::new(b"x".to_vec()).with_name(&generated);
    assert_eq!(
        store.insert("q", again, at(3)).await,
        Err(StoreError::AlreadyExists)
    );
}

#[tokio::test]
async fn a_store_drop_waits_for_submitted_writes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    {
        let store =
            std::sync::Arc::new(SqliteStore::open(&path, StoreConfig::default()).expect("open"));
        let mut inserts = Vec::new();
        for i in 0..50 {
            let store = std::sync::Arc::clone(&store);
            inserts.push(tokio::spawn(async move {
                let task = NewTask::new(b"x".to_vec()).with_name(format!("t{i:02}"));
                store.insert("q", task, at(0)).await
            }));
        }
        for insert in inserts {
            insert.await.expect("an insert finishes").expect("insert");
        }
    }
    let store = SqliteStore::open(&path, StoreConfig::default()).expect("reopen");
    let stats = store.stats("q", at(0)).await.expect("stats");
    assert_eq!(stats.total_tasks, 50);
}

#[tokio::test]
async fn tombstones_and_lease_counts_expire_by_the_clock_across_reopening() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    let config = StoreConfig::default().with_tombstone_ttl(Duration::from_secs(60));
    {
        let store = SqliteStore::open(&path, config.clone()).expect("open");
        store
            .insert("q", NewTask::new(b"x".to_vec()).with_name("t1"), at(0))
            .await
            .expect("insert");
        store.delete("q", "t1", at(0)).await.expect("delete");
    }
    let store = SqliteStore::open(&path, config).expect("reopen");
    assert_eq!(
        store.get("q", "t1", at(59)).await,
        Err(StoreError::Tombstoned)
    );
    assert_eq!(
        store.get("q", "t1", at(60)).await,
        Err(StoreError::NotFound)
    );
}
