//! [`PostgresStore`]: the [`Store`] on a PostgreSQL database, which several server instances can share.
//!
//! The design is documented on [`PostgresStore`].

mod batch;
mod ops;
#[cfg(test)]
mod plan_tests;
mod schema;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use taskqueue_model::Timestamp;
use tokio_postgres::NoTls;

use crate::postgres::ops::PendingInsert;
use crate::store_config::NameGenerator;
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, PurgeReport, QueueStats, Store, StoreConfig,
    StoreError, StoredTask,
};

/// The server options the store's connections start with: see *Plans* on [`PostgresStore`].
const PLAN_SETTINGS: &str = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off";

/// PostgreSQL-specific options of [`PostgresStore::connect_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The most connections the store's pool opens. Default 16.
    pub max_connections: usize,
    /// The most inserts written by one statement (see [`PostgresStore`], *Insert batching*). Default 64; 1
    /// writes every insert alone.
    pub insert_batch: usize,
    /// The most insert statements running at once. Default 2: measured through the server on 2 cores with 16
    /// clients inserting (backlogs of 10k and 100k tasks, `pg_stat_statements` loaded), 1, 2, 3 and 4 statements
    /// at once wrote about 11.3k, 12.0k, 11.2k and 10.1k inserts/s (fewer statements make bigger batches, more
    /// keep the database busy while a batch travels).
    pub concurrent_inserts: usize,
    /// The most lease statements running at once on one queue, per store; the others wait their turn (see
    /// [`PostgresStore`], *Lease turns*). Default 4.
    pub concurrent_leases: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            insert_batch: 64,
            concurrent_inserts: 2,
            concurrent_leases: 4,
        }
    }
}

impl PostgresOptions {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`insert_batch`](Self::insert_batch) (at least 1).
    #[must_use]
    pub fn with_insert_batch(mut self, max: usize) -> Self {
        self.insert_batch = max.max(1);
        self
    }

    /// Sets [`concurrent_inserts`](Self::concurrent_inserts) (at least 1).
    #[must_use]
    pub fn with_concurrent_inserts(mut self, max: usize) -> Self {
        self.concurrent_inserts = max.max(1);
        self
    }

    /// Sets [`concurrent_leases`](Self::concurrent_leases) (at least 1).
    #[must_use]
    pub fn with_concurrent_leases(mut self, max: usize) -> Self {
        self.concurrent_leases = max.max(1);
        self
    }
}

/// A [`Store`] on a PostgreSQL database (version 12 or later), shared safely by any number of server instances.
///
/// # Design
///
/// - **One statement per operation** where the semantics allow: an insert checks the tombstone and inserts in one
///   `INSERT … WHERE NOT EXISTS … ON CONFLICT DO NOTHING`; a delete removes the task and writes its tombstone in
///   one statement; a lease picks its tasks with `SELECT … ORDER BY eta, name LIMIT n FOR UPDATE SKIP LOCKED`
///   and, in the same statement, deletes those over the lease limit, leases the others and logs the count.
///   Each statement runs in its own transaction (autocommit), so every operation is atomic, and no two leases,
///   on one instance or many, ever hand out the same task: a row locked by one lease is skipped by the others,
///   and a row another lease has just taken no longer matches `eta <= now` when it is re-checked.
/// - **Insert batching.** Inserts arriving while others are being written share one statement (`INSERT … SELECT
///   FROM unnest(…)`, up to [`PostgresOptions::insert_batch`] tasks, at most
///   [`PostgresOptions::concurrent_inserts`] such statements at once): a row costs the database a fraction of a
///   statement. Nothing waits on purpose, so an insert on an idle store is written at once. Each insert keeps its
///   own answer: one the shared statement did not insert is retried alone, which names what blocks it.
/// - **Lease turns.** Concurrent leases on one queue all scan the head of the same index, and each skips the rows
///   the others have locked, so their cost grows with their number: at most [`PostgresOptions::concurrent_leases`]
///   lease statements per queue run at once on a store, the others wait their turn. Measured through the server
///   on 2 cores with 16 clients leasing 100 tasks at a time, 1, 2, 4, 6 and 8 turns leased about 38k, 44k,
///   49–53k, 49k and 43k tasks/s, and no limit (16 at once) about 31k: hence 4.
/// - **Plans.** The connections run with `plan_cache_mode = force_generic_plan`: every statement is prepared once
///   per connection and planned once, instead of re-planned for each batch size. A pooled connection keeps its
///   plans, made from the tables' statistics when it first ran each statement: on tables that were small then,
///   PostgreSQL picks sequential scans (or walks a whole index) for every statement, and they stay as the tables
///   grow. So the connections also run with `enable_seqscan = off`, and each statement is written so that the
///   only cheap plan reads just the rows it needs: key lookups by the primary key alone (scalar subqueries, the
///   ETA kept out of a renewal's index conditions), updates and deletes by the `ctid`s of the rows a statement
///   locked, leases and lists as `LIMIT` over an ordered index scan. A unit test plans every statement on tiny
///   analyzed tables and checks the index each one uses. A `plan_cache_mode` or `enable_seqscan` given in the
///   URL's `options` overrides the store's.
/// - **Lease modifications** are compare-and-set: `UPDATE … WHERE leased AND eta = expected AND eta > now`.
/// - **Durability** is PostgreSQL's: an operation is answered after its commit (with the server's default
///   `synchronous_commit = on`, after the WAL flush). Replication and backups are the database's.
/// - **Schema.** Versioned migrations recorded in `taskqueue_schema`, applied at connect in one transaction under
///   an advisory lock (instances starting together migrate once); a newer schema is refused. Tables are created
///   in the connection's `search_path`, so one database can hold several stores in separate schemas
///   (`?options=-c%20search_path%3Dname`).
/// - **Tokens.** Issued access tokens are kept as SHA-256 digests in `access_tokens`, shared by the instances.
/// - **Purging** deletes through the time indexes with `FOR UPDATE SKIP LOCKED`, so instances purging at once
///   neither block each other nor remove a row twice.
/// - **Connections** come from a pool (16 by default); a broken connection is replaced. The connection is
///   unencrypted (`NoTls`): run PostgreSQL on the same host, a private network or a Unix socket.
///
/// # Example
///
/// ```no_run
/// use taskqueue_model::Timestamp;
/// use taskqueue_store::{NewTask, PostgresStore, Store, StoreConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), taskqueue_store::StoreError> {
/// let store = PostgresStore::connect("postgres://taskqueue@localhost/taskqueue", StoreConfig::default()).await?;
/// let now = Timestamp::from_micros(1_700_000_000_000_000);
/// store.insert("pull", NewTask::new(b"work".to_vec()).with_name("t1"), now).await?;
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    pool: Pool,
    config: StoreConfig,
    inserts: batch::InsertBatcher,
    /// Per queue, the turns of its lease statements ([`PostgresOptions::concurrent_leases`] each). Queues are
    /// never forgotten: the server only serves the queues of its configuration.
    lease_turns: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    concurrent_leases: usize,
    names: Mutex<NameGenerator>,
    /// The database, host and user, without the password: what errors and `Debug` may name.
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL failure as a [`StoreError::Storage`], or [`StoreError::StorageFull`] when the database server
/// is out of disk space (SQLSTATE class 53: insufficient resources, `disk_full`).
pub(crate) fn pg(error: tokio_postgres::Error) -> StoreError {
    if error.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
        return StoreError::StorageFull(format!("PostgreSQL: {error}"));
    }
    StoreError::storage("PostgreSQL", error)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or the key-value form
    /// `host=… dbname=…`) with the default [`PostgresOptions`], and migrates its schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`], naming the database but never the password: the URL is malformed, the database
    /// cannot be reached, refuses the login, or holds a newer schema.
    pub async fn connect(url: &str, config: StoreConfig) -> Result<Self, StoreError> {
        Self::connect_with(url, config, PostgresOptions::default()).await
    }

    /// [`connect`](Self::connect) with explicit [`PostgresOptions`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        url: &str,
        config: StoreConfig,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        let mut pg_config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::storage("cannot use the PostgreSQL URL", e))?;
        // Generic plans, sequential scans off (see the design notes); the URL's own options come after, so a
        // `plan_cache_mode` or `enable_seqscan` given there wins.
        let server_options = match pg_config.get_options() {
            Some(own) => format!("{PLAN_SETTINGS} {own}"),
            None => PLAN_SETTINGS.to_owned(),
        };
        pg_config.options(&server_options);
        let target = describe(&pg_config);
        let fail = |what: &str, cause: &dyn fmt::Display| {
            StoreError::Storage(format!(
                "cannot open the task store {target}: {what}: {cause}"
            ))
        };
        let manager = Manager::from_config(
            pg_config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .build()
            .map_err(|e| fail("cannot build the connection pool", &e))?;
        let mut client = pool.get().await.map_err(|e| fail("cannot connect", &e))?;
        schema::migrate(&mut client).await.map_err(|e| match e {
            StoreError::Storage(message) => fail("schema", &message),
            other => other,
        })?;
        drop(client);
        Ok(Self {
            inserts: batch::InsertBatcher::start(pool.clone(), config.clone(), &options),
            lease_turns: Mutex::new(HashMap::new()),
            concurrent_leases: options
                .concurrent_leases
                .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            pool,
            names: Mutex::new(NameGenerator::new(config.name_seed)),
            config,
            target,
        })
    }

    /// Checks that `url` is a connection string [`connect`](Self::connect) can use, without connecting.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`] saying what is wrong; the message never repeats the URL (it may hold a password).
    pub fn check_url(url: &str) -> Result<(), StoreError> {
        url.parse::<tokio_postgres::Config>()
            .map(drop)
            .map_err(|e| StoreError::storage("not a PostgreSQL URL", e))
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            StoreError::Storage(format!("cannot reach the task store {}: {e}", self.target))
        })
    }

    /// The semaphore whose permits are `queue`'s lease turns.
    fn lease_turns(&self, queue: &str) -> Arc<tokio::sync::Semaphore> {
        let mut turns = self
            .lease_turns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            turns
                .entry(queue.to_owned())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.concurrent_leases))),
        )
    }

    fn next_name(&self, now: Timestamp) -> String {
        self.names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next_name(now)
    }
}

/// `user@host:port/dbname` of a connection configuration, without its password.
fn describe(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = config
        .get_hosts()
        .first()
        .map_or_else(String::new, |host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        });
    let port = config
        .get_ports()
        .first()
        .map_or_else(String::new, |port| format!(":{port}"));
    let user = config
        .get_user()
        .map_or_else(String::new, |user| format!("{user}@"));
    let dbname = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}{port}/{dbname}")
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert(
        &self,
        queue: &str,
        task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let pending = |name: String, task: NewTask| PendingInsert {
            queue: queue.to_owned(),
            name,
            task,
            now,
        };
        match task.name.clone() {
            Some(name) => self.inserts.insert(pending(name, task)).await,
            None => loop {
                let name = self.next_name(now);
                match self.inserts.insert(pending(name, task.clone())).await {
                    Err(StoreError::AlreadyExists | StoreError::Tombstoned) => {}
                    outcome => break outcome,
                }
            },
        }
    }

    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError> {
        let client = self.client().await?;
        ops::get(&client, &self.config, queue, name, now).await
    }

    async fn list(
        &self,
        queue: &str,
        limit: u32,
        _now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let client = self.client().await?;
        ops::list(&client, queue, limit).await
    }

    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError> {
        let client = self.client().await?;
        ops::delete(&client, &self.config, queue, name, now).await
    }

    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let turns = self.lease_turns(queue);
        let _turn = turns
            .acquire()
            .await
            .map_err(|_| StoreError::Storage("the lease turns were closed".to_owned()))?;
        let client = self.client().await?;
        ops::lease(&client, &self.config, queue, request, max_leases, now).await
    }

    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let client = self.client().await?;
        ops::modify_lease(
            &client,
            &self.config,
            queue,
            name,
            proof,
            new_lease_secs,
            now,
        )
        .await
    }

    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError> {
        let client = self.client().await?;
        ops::stats(&client, queue, now).await
    }

    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError> {
        let client = self.client().await?;
        ops::purge(&client, &self.config, now, limit).await
    }

    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        let client = self.client().await?;
        ops::save_token(&client, &token).await
    }

    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError> {
        let client = self.client().await?;
        ops::find_token(&client, digest).await
    }
}
