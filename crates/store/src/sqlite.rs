//! [`SqliteStore`]: the durable [`Store`], one SQLite file.
//!
//! The design is documented on [`SqliteStore`].

mod ops;
mod purge_hints;
mod schema;
mod sync;
#[cfg(test)]
mod tests;
mod worker;

use std::fmt;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use taskqueue_model::Timestamp;
use tokio::sync::oneshot;

use crate::sqlite::purge_hints::PurgeHints;
use crate::store_config::NameGenerator;
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, PurgeReport, QueueStats, Store, StoreConfig,
    StoreError, StoredTask,
};
use worker::{Call, Context, Durability, Message};

/// How often SQLite syncs the write-ahead log (`PRAGMA synchronous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is fsynced before it is answered: survives process kills and power loss. The default. (The
    /// fsync runs on a second thread while the writer goes on with the next batch; see [`SqliteStore`].)
    #[default]
    Full,
    /// Commits reach the OS before they are answered, and the disk at checkpoints: survives process kills, may
    /// lose the last commits on power loss. Faster; fine for tests and throwaway setups.
    Normal,
}

/// SQLite-specific options of [`SqliteStore::open_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// `PRAGMA synchronous`. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long a transaction waits for another process holding the file's write lock. Default 5 s.
    pub busy_timeout: Duration,
    /// How long opening waits for the store's lock file (`{path}.lock`) before refusing, should another store
    /// hold it. Default 1 s: a store closed a moment ago can leave its lock held briefly (by a previous server
    /// still exiting, or by a child process forked from the one that held it, until that child starts its
    /// program), and a store still open elsewhere is refused after the wait.
    pub lock_wait: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            lock_wait: Duration::from_secs(1),
        }
    }
}

impl SqliteOptions {
    /// Sets [`synchronous`](Self::synchronous).
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets [`busy_timeout`](Self::busy_timeout).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`lock_wait`](Self::lock_wait).
    #[must_use]
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }
}

/// A [`Store`] in one SQLite file.
///
/// # Design
///
/// - **One writer thread owns the one connection.** Operations are sent to it over a channel; it runs each in its
///   own savepoint of one open `BEGIN IMMEDIATE` transaction, commits the transaction as a batch (up to 256
///   operations), and the callers are answered only once that commit is durable. Operations are therefore
///   serialized: two leases can never take the same task. Reads go through the same thread; a batch without writes
///   commits without touching the disk.
/// - **Durability.** The file is in WAL mode. With [`Synchronous::Full`] (the default) an answered operation has
///   been fsynced, so it survives SIGKILL and power loss alike, as with SQLite's `synchronous = FULL` — but the
///   fsync is not done inside the commit: the connection runs with `synchronous = NORMAL` and a second thread
///   syncs the write-ahead log after each commit, then answers that batch's callers. The writer meanwhile runs
///   the operations arriving in the next transaction and commits it when the sync thread is free, so one fsync
///   serves every operation that arrived during the previous one, and the writer never waits for the disk. (In WAL
///   mode `FULL` and `NORMAL` differ only in the sync at each commit; checkpoints and the log's restart are synced
///   alike. A power loss loses only unanswered commits. A failed fsync stops the store: every later operation
///   fails.) [`Synchronous::Normal`] answers right after the commit: still safe against a killed process (the WAL
///   is in the OS page cache) but may lose the last commits on power loss or an OS crash.
/// - **Schema.** Versioned with `PRAGMA user_version`, created and upgraded by migrations in one transaction;
///   the file is marked with `PRAGMA application_id` so that a foreign database is refused, as is a newer schema.
/// - **No full scans.** Every statement goes through an index (checked by a unit test on the query plans);
///   deletes and leases purge a few expired tombstones, old lease-log entries and expired tokens on the side,
///   and [`Store::purge`] removes more. The writer keeps a lower bound on each table's oldest key (refreshed by
///   each purge, lowered by each write, forgotten when a commit fails), so the purge on the side runs only when
///   something may have expired: run on every delete, it made deletes about a third dearer.
/// - **Errors.** Opening a file that is not SQLite, a foreign or newer database, or an unreadable path gives a
///   [`StoreError::Storage`] naming the file; later SQLite failures (I/O, a full disk, a damaged page) are
///   [`StoreError::Storage`] too, for that operation's batch. Nothing panics.
///
/// The threads are started by [`SqliteStore::open`] and joined when the store is dropped, after the operations
/// already submitted; they run nothing on their own (no timers).
///
/// # Example
///
/// ```
/// use taskqueue_model::Timestamp;
/// use taskqueue_store::{NewTask, SqliteStore, Store, StoreConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("tasks.db");
/// let now = Timestamp::from_micros(1_700_000_000_000_000);
/// {
///     let store = SqliteStore::open(&path, StoreConfig::default())?;
///     store.insert("pull", NewTask::new(b"work".to_vec()).with_name("t1"), now).await?;
/// } // Dropping the store stops its writer thread.
/// let store = SqliteStore::open(&path, StoreConfig::default())?;
/// assert_eq!(store.get("pull", "t1", now).await?.payload, b"work");
/// # Ok(())
/// # }
/// ```
pub struct SqliteStore {
    path: PathBuf,
    /// The lock file, locked while the store is open (released when the process ends, however it ends).
    _lock: std::fs::File,
    jobs: Option<Sender<Message>>,
    worker: Option<JoinHandle<()>>,
    syncer: Option<JoinHandle<()>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path` with the default [`SqliteOptions`], creating the file if it does not exist.
    ///
    /// Opening does blocking file I/O on the calling thread; do it at startup.
    ///
    /// # Errors
    ///
    /// [`StoreError::Storage`], naming the file: it cannot be opened or created, is not a SQLite database, belongs
    /// to another application, has a newer schema, or cannot be put in WAL mode.
    pub fn open(path: impl AsRef<Path>, config: StoreConfig) -> Result<Self, StoreError> {
        Self::open_with(path, config, SqliteOptions::default())
    }

    /// Opens the store at `path` with explicit [`SqliteOptions`].
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); also if the writer thread cannot be started.
    pub fn open_with(
        path: impl AsRef<Path>,
        config: StoreConfig,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = lock(&path, options.lock_wait)?;
        let connection = schema::open(&path, &options)?;
        let context = Context {
            names: NameGenerator::new(config.name_seed),
            config,
            purge_hints: PurgeHints::default(),
        };
        let failure = Arc::new(OnceLock::new());
        let (sender, receiver) = mpsc::channel::<Message>();
        let (syncer_queue, syncer) = match options.synchronous {
            Synchronous::Normal => (None, None),
            Synchronous::Full => {
                let (queue, syncer) = start_syncer(&connection, &path, &failure, &sender)?;
                (Some(queue), Some(syncer))
            }
        };
        let durability = Durability {
            syncer: syncer_queue,
            failure,
        };
        let worker = std::thread::Builder::new()
            .name("taskqueue-sqlite-writer".to_owned())
            .spawn(move || worker::run(connection, context, &receiver, durability))
            .map_err(|e| StoreError::storage("cannot start the SQLite writer thread", e))?;
        Ok(Self {
            path,
            _lock: lock,
            jobs: Some(sender),
            worker: Some(worker),
            syncer,
        })
    }

    /// The file the store was opened at.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the writer thread, in the next batch, and waits for its committed result.
    async fn call<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut Context) -> Result<T, StoreError> + Send + 'static,
    {
        let stopped = || StoreError::Storage("the SQLite writer thread has stopped".to_owned());
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(Message::Job(Box::new(Call::new(op, reply))))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for SqliteStore {
    /// Closes the channel, lets the writer finish the operations already submitted, and joins it.
    fn drop(&mut self) {
        // The sync thread holds a sender too, so the channel does not close by itself.
        if let Some(jobs) = self.jobs.take() {
            let _ = jobs.send(Message::Stop);
        }
        if let Some(worker) = self.worker.take() {
            // A panicked writer has nothing left to clean up.
            let _ = worker.join();
        }
        // The writer dropped its end of the sync queue when it stopped: the sync thread answers what it holds
        // and stops too.
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}

/// Takes the exclusive lock of `{path}.lock`, creating it if needed: one store per file, whichever process opens it.
///
/// Leases are serialized by the one writer thread of a store; two stores on one file (two server instances, or
/// one process opening the file twice) would each hand out tasks the other already leased in the same instant,
/// so the second is refused, after waiting up to `wait` for the lock (polled every 10 ms; see
/// [`SqliteOptions::lock_wait`]). The operating system releases the lock when the file is closed or the process
/// dies, even by SIGKILL, so a crashed server never leaves a stale lock behind.
fn lock(path: &Path, wait: Duration) -> Result<std::fs::File, StoreError> {
    const POLL: Duration = Duration::from_millis(10);
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            StoreError::Storage(format!(
                "cannot open the task store {}: cannot create its lock file {}: {e}",
                path.display(),
                lock_path.display()
            ))
        })?;
    // Counted polls rather than a deadline: opening happens before any clock is handed to the store.
    let polls = wait.as_millis() / POLL.as_millis();
    let mut attempt = file.try_lock();
    for _ in 0..polls {
        if !matches!(attempt, Err(std::fs::TryLockError::WouldBlock)) {
            break;
        }
        std::thread::sleep(POLL);
        attempt = file.try_lock();
    }
    match attempt {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Storage(format!(
            "the task store {} is in use by another taskqueue-server (it holds {}): SQLite cannot share \
             leases between servers, so stop the other one, or use PostgreSQL (`storage: {{ postgres: URL }}`) \
             to run several",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Storage(format!(
            "cannot open the task store {}: cannot lock {}: {e}",
            path.display(),
            lock_path.display()
        ))),
    }
}

/// Switches `connection` to `synchronous = NORMAL` and starts the sync thread, which syncs the write-ahead log
/// through its own handle before answering each committed batch ([`sync`] explains why this is as durable as
/// `synchronous = FULL`).
fn start_syncer(
    connection: &Connection,
    path: &Path,
    failure: &sync::Failure,
    writer: &Sender<Message>,
) -> Result<(Sender<sync::Committed>, JoinHandle<()>), StoreError> {
    let fail = |what: &str, cause: &dyn fmt::Display| {
        StoreError::Storage(format!(
            "cannot open the task store {}: {what}: {cause}",
            path.display()
        ))
    };
    // The write-ahead log exists from the schema check's transaction on, and stays (the same file) while the
    // connection is open: SQLite removes it only when the last connection closes.
    let database = connection
        .path()
        .filter(|database| !database.is_empty())
        .map_or_else(|| path.to_path_buf(), PathBuf::from);
    let mut wal_path = database.into_os_string();
    wal_path.push("-wal");
    let wal = OpenOptions::new()
        .write(true)
        .open(&wal_path)
        .map_err(|e| fail("cannot open the write-ahead log", &e))?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| fail("cannot set `synchronous`", &e))?;
    let (queue, committed) = mpsc::channel();
    let failure = Arc::clone(failure);
    let writer = writer.clone();
    let syncer = std::thread::Builder::new()
        .name("taskqueue-sqlite-sync".to_owned())
        .spawn(move || sync::run(&wal, &failure, &committed, &writer))
        .map_err(|e| StoreError::storage("cannot start the SQLite sync thread", e))?;
    Ok((queue, syncer))
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(
        &self,
        queue: &str,
        task: NewTask,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let queue = queue.to_owned();
        self.call(move |conn, cx| ops::insert(conn, cx, &queue, task, now))
            .await
    }

    async fn get(&self, queue: &str, name: &str, now: Timestamp) -> Result<StoredTask, StoreError> {
        let (queue, name) = (queue.to_owned(), name.to_owned());
        self.call(move |conn, cx| ops::get(conn, cx, &queue, &name, now))
            .await
    }

    async fn list(
        &self,
        queue: &str,
        limit: u32,
        _now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let queue = queue.to_owned();
        self.call(move |conn, _| ops::list(conn, &queue, limit))
            .await
    }

    async fn delete(&self, queue: &str, name: &str, now: Timestamp) -> Result<(), StoreError> {
        let (queue, name) = (queue.to_owned(), name.to_owned());
        self.call(move |conn, cx| ops::delete(conn, cx, &queue, &name, now))
            .await
    }

    async fn lease(
        &self,
        queue: &str,
        request: &LeaseRequest,
        max_leases: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<StoredTask>, StoreError> {
        let (queue, request) = (queue.to_owned(), request.clone());
        self.call(move |conn, cx| ops::lease(conn, cx, &queue, &request, max_leases, now))
            .await
    }

    async fn modify_lease(
        &self,
        queue: &str,
        name: &str,
        proof: LeaseProof,
        new_lease_secs: u32,
        now: Timestamp,
    ) -> Result<StoredTask, StoreError> {
        let (queue, name) = (queue.to_owned(), name.to_owned());
        self.call(move |conn, cx| {
            ops::modify_lease(conn, cx, &queue, &name, proof, new_lease_secs, now)
        })
        .await
    }

    async fn stats(&self, queue: &str, now: Timestamp) -> Result<QueueStats, StoreError> {
        let queue = queue.to_owned();
        self.call(move |conn, _| ops::stats(conn, &queue, now))
            .await
    }

    async fn purge(&self, now: Timestamp, limit: u32) -> Result<PurgeReport, StoreError> {
        self.call(move |conn, cx| ops::purge(conn, cx, now, limit))
            .await
    }

    async fn save_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        self.call(move |conn, cx| ops::save_token(conn, cx, &token))
            .await
    }

    async fn find_token(&self, digest: [u8; 32]) -> Result<Option<IssuedToken>, StoreError> {
        self.call(move |conn, _| ops::find_token(conn, digest))
            .await
    }
}
