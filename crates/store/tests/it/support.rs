//! Shared fixtures: the instants the tests use, and both stores behind `dyn Store`.

use std::time::{Duration, UNIX_EPOCH};

use taskqueue_clock::{Clock, VirtualClock};
use taskqueue_model::Timestamp;
use taskqueue_store::{
    MemoryStore, PostgresStore, SqliteOptions, SqliteStore, Store, StoreConfig, Synchronous,
};
use tempfile::TempDir;

/// The tests' epoch, 2030-01-01T00:00:00Z, as in the conformance scenarios.
pub(crate) const T0_SECS: u64 = 1_893_456_000;

/// A virtual clock reading [`T0_SECS`].
pub(crate) fn clock() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(T0_SECS))
}

/// The clock's time as a store timestamp.
pub(crate) fn now(clock: &VirtualClock) -> Timestamp {
    Timestamp::from_system_time(clock.now())
}

/// `T0 + secs` (negative: before T0).
pub(crate) fn at(secs: i64) -> Timestamp {
    let t0 = i64::try_from(T0_SECS).expect("T0 fits") * 1_000_000;
    Timestamp::from_micros(t0 + secs * 1_000_000)
}

/// A store under test, with what keeps its file alive.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    pub(crate) store: Box<dyn Store>,
    /// The SQLite file's directory, removed when the backend is dropped.
    pub(crate) _dir: Option<TempDir>,
}

/// A memory store.
pub(crate) fn memory(config: StoreConfig) -> Backend {
    Backend {
        name: "memory",
        store: Box::new(MemoryStore::new(config)),
        _dir: None,
    }
}

/// A SQLite store in a new temporary directory.
pub(crate) fn sqlite_with(config: StoreConfig, synchronous: Synchronous) -> Backend {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::default().with_synchronous(synchronous);
    let store = SqliteStore::open_with(dir.path().join("tasks.db"), config, options)
        .expect("a new SQLite store opens");
    Backend {
        name: "sqlite",
        store: Box::new(store),
        _dir: Some(dir),
    }
}

/// A SQLite store with the default (durable) options.
pub(crate) fn sqlite(config: StoreConfig) -> Backend {
    sqlite_with(config, Synchronous::Full)
}

/// A PostgreSQL store in a new schema of the test database ([`crate::pg_cluster`]).
pub(crate) async fn postgres(config: StoreConfig) -> Backend {
    let url = crate::pg_cluster::fresh_url().await;
    let store = PostgresStore::connect(&url, config)
        .await
        .unwrap_or_else(|e| panic!("a new PostgreSQL store opens: {e}"));
    Backend {
        name: "postgres",
        store: Box::new(store),
        _dir: None,
    }
}

/// Every store, configured alike.
pub(crate) async fn backends(config: &StoreConfig) -> Vec<Backend> {
    vec![
        memory(config.clone()),
        sqlite(config.clone()),
        postgres(config.clone()).await,
    ]
}

/// A runtime with 4 worker threads, for tests of concurrent operations.
pub(crate) fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
}
