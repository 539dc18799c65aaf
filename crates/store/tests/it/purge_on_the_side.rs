//! The SQLite store's purge on the side of deletes: it removes expired tombstones a few at a time, skips the
//! work while its bound on the oldest tombstone says nothing can have expired, and lowers that bound when a
//! tombstone older than it is written (a clock set back), so such a tombstone is still purged once expired.

use std::time::Duration;

use taskqueue_model::Timestamp;
use taskqueue_store::{NewTask, Store, StoreConfig};

use crate::support::{at, sqlite};

const Q: &str = "q";

/// Inserts `name` at `at` and deletes it at `deleted`: one tombstone written at `deleted`.
async fn tombstone(store: &dyn Store, name: &str, deleted: Timestamp) {
    store
        .insert(Q, NewTask::new(b"x".to_vec()).with_name(name), deleted)
        .await
        .expect("insert");
    store.delete(Q, name, deleted).await.expect("delete");
}

#[tokio::test]
async fn deletes_purge_expired_tombstones_on_the_side_including_ones_written_in_the_past() {
    // A 60 s tombstone lifetime; 8 expired tombstones purged on the side of each delete.
    let backend = sqlite(StoreConfig::default().with_tombstone_ttl(Duration::from_secs(60)));
    let store = backend.store.as_ref();
    for n in 0..20 {
        tombstone(store, &format!("old-{n}"), at(0)).await;
    }
    // At T0+30 nothing has expired: the delete's purge finds nothing.
    tombstone(store, "mid", at(30)).await;
    // At T0+61 the 20 tombstones of T0 have expired: two deletes purge 8 each on the side.
    tombstone(store, "late-1", at(61)).await;
    tombstone(store, "late-2", at(61)).await;
    let report = store.purge(at(61), 100).await.expect("purge");
    assert_eq!(
        report.tombstones, 4,
        "20 expired tombstones, 16 of them purged on the side of two deletes"
    );

    // The oldest tombstone is now T0+30's. One written at T0+10 (the caller's clock set back) is older: the
    // purge on the side of a delete at T0+75 (cutoff T0+15) must still find it.
    tombstone(store, "back-in-time", at(10)).await;
    tombstone(store, "after", at(75)).await;
    let report = store.purge(at(75), 100).await.expect("purge");
    assert_eq!(
        report.tombstones, 0,
        "the tombstone of T0+10 was purged on the side of the delete at T0+75"
    );
    // What has not expired is kept: T0+30's and the later ones still block their names.
    for name in ["mid", "late-1", "after"] {
        assert_eq!(
            store
                .insert(Q, NewTask::new(b"x".to_vec()).with_name(name), at(75))
                .await,
            Err(taskqueue_store::StoreError::Tombstoned),
            "{name}"
        );
    }
}
