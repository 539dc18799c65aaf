//! The reference server of taskqueue-rs: a faithful, self-hostable Task Queue v1beta2 endpoint.
//!
//! - [`api`] serves the 8 methods of the API on axum, [`oauth`] the token endpoint and the metadata-compatible
//!   endpoint, [`config`] reads the configuration, [`serve`] runs it all with a purge timer.
//! - Storage is the crate `taskqueue-store`, re-exported here: [`Store`], whose documentation is the
//!   specification of the lease semantics (a lease held up to its expiry instant, renewals proved by
//!   [`LeaseProof`]), and its backends [`MemoryStore`], [`SqliteStore`] (one server per
//!   file) and [`PostgresStore`] (any number of servers on one database).
//! - [`wire`] converts between the store's types and the model's JSON types (long-form `queueName`,
//!   `leaseTimestamp` the lease expiry, 0 for a task no lease holds).
//! - [`TokenStore`] issues access tokens and keeps their digests in the store, so that a restart signs nobody
//!   out and every instance on one database accepts them.
//!
//! # Example
//!
//! A server in virtual time on a memory store, serving on 127.0.0.1.
//!
//! ```
//! use taskqueue_server::config::QueueDef;
//! use taskqueue_server::serve::{ClockMode, start};
//! use taskqueue_server::ServerConfig;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ServerConfig::new("dev-project");
//! config.listen = ([127, 0, 0, 1], 0).into();
//! config.queues.insert(QueueDef::new("pull-queue"));
//! let start_time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
//! let server = start(config, ClockMode::Virtual { start: start_time }).await?;
//! assert!(server.api_base_url().ends_with("/taskqueue/v1beta2/projects/"));
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod access;
pub mod api;
pub mod app;
#[cfg(feature = "cli")]
pub mod commands;
pub mod config;
mod conn;
mod digest;
pub mod health;
pub mod metrics;
pub mod oauth;
mod ops;
mod scrape;
pub mod serve;
pub mod state;
mod tokens;
pub mod watch;
pub mod wire;

pub use access::{Caller, ScopePolicy, check_acl};
pub use app::router;
pub use config::{DEFAULT_MAX_BODY_BYTES, QueueAcl, QueueDef, ServerConfig};
pub use digest::SecretDigest;
pub use oauth::{TokenRefusal, TokenStore};
pub use state::AppState;
// The storage layer is its own crate; re-exported so that the server's users need one import.
pub use taskqueue_store::{
    DEFAULT_TOMBSTONE_TTL, IssuedToken, LIST_LIMIT, LeaseProof, LeaseRequest, MemoryStore, NewTask,
    OverLimit, PostgresOptions, PostgresStore, PurgeReport, QueueStats, SqliteOptions, SqliteStore,
    Store, StoreConfig, StoreError, StoredTask, Synchronous, TagFilter,
};
