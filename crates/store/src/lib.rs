//! The task store of taskqueue-rs: the storage and lease semantics of the Task Queue v1beta2 reference server,
//! without HTTP.
//!
//! - [`Store`], the storage seam, whose documentation is the specification of the lease semantics of
//!   docs/wire-format.md §5: leases in (ETA, name) order, `retry_count` incremented and returned incremented,
//!   `groupByTag` with and without a tag, lease limits ([`OverLimit`]), extensions and releases proved with the
//!   current ETA, deletes while leased, tombstones, lists of at most [`LIST_LIMIT`], statistics.
//! - [`MemoryStore`], simple and obviously correct: for tests, and the model the durable store is checked against.
//! - [`SqliteStore`], durable in one file: WAL, group commit on a writer thread, each commit's log synced (as
//!   with `synchronous = FULL`) before it is answered, a versioned schema, indexes for every query, and a lock
//!   file so that one server at a time uses the file.
//! - [`PostgresStore`], on a PostgreSQL database that several server instances share: one statement per
//!   operation, leases with `FOR UPDATE SKIP LOCKED`, versioned migrations.
//! - [`IssuedToken`]: the digests of the access tokens a server issued, kept by every backend so that restarts
//!   and other instances accept them.
//!
//! The store never reads a clock: every operation takes `now`, read by the caller from its
//! `taskqueue_clock::Clock`, so virtual time drives leases and tombstones. Its types are plain Rust, without
//! serde, and it knows nothing about HTTP; [`StoreError`] documents the statuses the HTTP layer is meant to map
//! its variants to.
//!
//! # Example
//!
//! A worker leases a task, extends its lease with the `leaseTimestamp` it was given, and deletes it; the name
//! stays tombstoned.
//!
//! ```
//! use std::time::Duration;
//! use taskqueue_model::Timestamp;
//! use taskqueue_store::{LeaseProof, LeaseRequest, MemoryStore, NewTask, Store, StoreConfig, StoreError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), StoreError> {
//! let store = MemoryStore::new(StoreConfig::default());
//! let t0 = Timestamp::from_micros(1_700_000_000_000_000);
//! let at = |secs: u64| t0.saturating_add(Duration::from_secs(secs));
//!
//! store.insert("pull", NewTask::new(b"resize cat.png".to_vec()).with_name("t1"), t0).await?;
//! let leased = store.lease("pull", &LeaseRequest::new(10, 60), None, at(1)).await?;
//! assert_eq!((leased[0].retry_count, leased[0].eta), (1, at(61)));
//!
//! // Only the holder's leaseTimestamp extends the lease.
//! let proof = LeaseProof::Eta(leased[0].eta);
//! let extended = store.modify_lease("pull", "t1", proof, 120, at(30)).await?;
//! assert_eq!(extended.eta, at(150));
//! assert_eq!(
//!     store.modify_lease("pull", "t1", proof, 120, at(31)).await,
//!     Err(StoreError::LeaseExpired)
//! );
//!
//! store.delete("pull", "t1", at(40)).await?;
//! let again = NewTask::new(b"again".to_vec()).with_name("t1");
//! assert_eq!(store.insert("pull", again, at(41)).await, Err(StoreError::Tombstoned));
//! # Ok(())
//! # }
//! ```

mod error;
mod memory;
mod postgres;
mod sqlite;
mod store;
mod store_config;
mod task;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use store::Store;
pub use store_config::{DEFAULT_TOMBSTONE_TTL, StoreConfig};
pub use task::{
    IssuedToken, LIST_LIMIT, LeaseProof, LeaseRequest, NewTask, OverLimit, PurgeReport, QueueStats,
    StoredTask, TagFilter,
};
