//! The writer thread: it owns the connection and commits the operations waiting at the same time in one
//! transaction (group commit), answering each caller only after that commit.
//!
//! Each operation runs in its own savepoint, so one that fails leaves no trace while the others of its batch still
//! commit. With `synchronous = FULL` a batch costs one fsync of the write-ahead log, whatever its size.

use std::sync::mpsc::{Receiver, TryRecvError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::StoreConfig;
use crate::StoreError;
use crate::sqlite::ops::sql;
use crate::store_config::NameGenerator;

/// The most operations one transaction takes: bounds the latency a batch adds to its first operation.
const MAX_BATCH: usize = 256;

/// What the operations need besides the connection.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: StoreConfig,
    pub(crate) names: NameGenerator,
}

/// One submitted operation, type-erased.
pub(crate) trait Job: Send {
    /// Runs the operation in a savepoint of the open transaction of `conn`, keeping its result.
    fn run(&mut self, conn: &Connection, context: &mut Context);

    /// Answers the caller: the kept result if the batch committed, else the commit's error.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

/// An operation returning `T`, its result once run, and where to send it.
pub(crate) struct Call<T, F> {
    op: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Call<T, F> {
    pub(crate) fn new(op: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Self {
        Self {
            op: Some(op),
            result: None,
            reply,
        }
    }
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection, &mut Context) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection, context: &mut Context) {
        if let Some(op) = self.op.take() {
            self.result = Some(in_savepoint(conn, |conn| op(conn, context)));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let outcome = match (commit, self.result) {
            (Err(error), _) => Err(error),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Storage("the operation was not run".to_owned())),
        };
        // The caller may have stopped waiting; the operation took effect all the same.
        let _ = self.reply.send(outcome);
    }
}

/// Runs one cached statement without parameters.
///
/// The transaction and savepoint statements are prepared once and cached: parsing them for every batch and
/// operation was a measurable part of the writer's time per insert.
fn execute(conn: &Connection, statement: &str) -> Result<(), StoreError> {
    conn.prepare_cached(statement)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(sql)
}

/// Runs `op` in a savepoint, released if it succeeds and rolled back if it fails.
fn in_savepoint<T>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let run = |statement: &str| execute(conn, statement);
    run("SAVEPOINT operation")?;
    let result = op(conn);
    if result.is_err() {
        run("ROLLBACK TO operation")?;
    }
    run("RELEASE operation")?;
    result
}

/// The thread's body: batches jobs until every sender is gone, then closes the connection.
pub(crate) fn run(connection: Connection, mut context: Context, jobs: &Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let commit = run_batch(&connection, &mut context, &mut batch);
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

/// Runs `batch` in one immediate transaction and commits it; rolls it back if the commit fails.
fn run_batch(
    connection: &Connection,
    context: &mut Context,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    execute(connection, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        job.run(connection, context);
    }
    execute(connection, "COMMIT").inspect_err(|_| {
        // A failed commit (a full disk, an I/O error) can leave the transaction open; the batch is answered with
        // the commit's error either way.
        if !connection.is_autocommit() {
            let _ = execute(connection, "ROLLBACK");
        }
    })
}
