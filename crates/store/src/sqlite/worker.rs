//! The writer thread: it owns the connection and runs the operations in one open transaction, committed as a
//! batch (group commit); each caller is answered only after that commit is durable.
//!
//! Each operation runs in its own savepoint, so one that fails leaves no trace while the others of its batch still
//! commit. With [`Synchronous::Full`](crate::Synchronous::Full) the commit is made durable by the sync thread
//! ([`super::sync`]), and the writer commits only when that thread is free (or the batch holds [`MAX_BATCH`]
//! operations): while one batch's sync runs, the operations arriving meanwhile run in the next transaction, and one
//! sync of the write-ahead log serves them all. With [`Synchronous::Normal`](crate::Synchronous::Normal) there is
//! no sync thread: the writer commits the operations waiting at once and answers them itself.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::StoreConfig;
use crate::StoreError;
use crate::sqlite::ops::sql;
use crate::sqlite::purge_hints::PurgeHints;
use crate::sqlite::sync::{Committed, Failure};
use crate::store_config::NameGenerator;

/// The most operations one transaction takes: bounds the latency a batch adds to its first operation.
const MAX_BATCH: usize = 256;

/// What the operations need besides the connection.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: StoreConfig,
    pub(crate) names: NameGenerator,
    /// What the purge on the side may skip; forgotten when a commit fails.
    pub(crate) purge_hints: PurgeHints,
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
            // A failed operation is rolled back: what its purges removed is back, so the bounds before it hold.
            let hints = context.purge_hints;
            let result = in_savepoint(conn, |conn| op(conn, context));
            if result.is_err() {
                context.purge_hints = hints;
            }
            self.result = Some(result);
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

/// What the writer thread receives.
pub(crate) enum Message {
    /// An operation to run.
    Job(Box<dyn Job>),
    /// From the sync thread: it has synced what it was given and is free.
    Synced,
    /// From the store being dropped: commit what is open and stop.
    Stop,
}

/// Where the writer sends committed batches: to the sync thread, or nowhere (answered at once).
pub(crate) struct Durability {
    /// The sync thread's queue; `None` answers each batch right after its commit.
    pub(crate) syncer: Option<Sender<Committed>>,
    /// Set by the sync thread when a sync fails; the writer then refuses every operation.
    pub(crate) failure: Failure,
}

/// The open transaction and the jobs run in it.
struct Open {
    jobs: Vec<Box<dyn Job>>,
    /// `BEGIN`'s outcome; after a failed one the jobs are not run and get its error.
    begun: Result<(), StoreError>,
    /// `total_changes` before `BEGIN`.
    changes: u64,
}

/// The thread's body: runs jobs in an open transaction, and commits it when the sync thread is free (at once
/// without one), when it holds [`MAX_BATCH`] jobs, or when told to stop; stops after that.
pub(crate) fn run(
    connection: Connection,
    mut context: Context,
    messages: &Receiver<Message>,
    durability: Durability,
) {
    let mut open: Option<Open> = None;
    let mut syncing = false;
    let mut stopping = false;
    loop {
        if let Some(held) =
            open.take_if(|held| !syncing || stopping || held.jobs.len() >= MAX_BATCH)
        {
            let mut held = held;
            // Everything already waiting joins this commit.
            while held.jobs.len() < MAX_BATCH && !stopping {
                match messages.try_recv() {
                    Ok(Message::Job(job)) => run_job(&connection, &mut context, &mut held, job),
                    // The sync thread is free: it gets this commit next.
                    Ok(Message::Synced) => {}
                    Ok(Message::Stop) | Err(TryRecvError::Disconnected) => stopping = true,
                    Err(TryRecvError::Empty) => break,
                }
            }
            syncing = commit(&connection, held, &durability, &mut context);
            continue;
        }
        if stopping {
            break;
        }
        match messages.recv() {
            Ok(Message::Job(job)) => {
                if let Some(failure) = durability.failure.get() {
                    job.finish(Err(failure.clone()));
                    continue;
                }
                let held = open.get_or_insert_with(|| Open {
                    changes: connection.total_changes(),
                    begun: execute(&connection, "BEGIN IMMEDIATE"),
                    jobs: Vec::new(),
                });
                run_job(&connection, &mut context, held, job);
            }
            Ok(Message::Synced) => syncing = false,
            Ok(Message::Stop) | Err(_) => stopping = true,
        }
    }
}

/// Runs `job` in the open transaction (unless `BEGIN` failed) and keeps it for the commit.
fn run_job(connection: &Connection, context: &mut Context, held: &mut Open, mut job: Box<dyn Job>) {
    if held.begun.is_ok() {
        job.run(connection, context);
    }
    held.jobs.push(job);
}

/// Commits the open transaction and hands its jobs to the sync thread, or answers them without one. Returns
/// whether the sync thread is now busy.
fn commit(
    connection: &Connection,
    held: Open,
    durability: &Durability,
    context: &mut Context,
) -> bool {
    let outcome = held.begun.clone().and_then(|()| {
        execute(connection, "COMMIT").inspect_err(|_| {
            // What the batch's purges removed is back: their bounds no longer hold.
            context.purge_hints.forget();
            // A failed commit (a full disk, an I/O error) can leave the transaction open; the batch is answered
            // with the commit's error either way.
            if !connection.is_autocommit() {
                let _ = execute(connection, "ROLLBACK");
            }
        })
    });
    let wrote = connection.total_changes() != held.changes;
    match &durability.syncer {
        Some(syncer) => {
            let committed = Committed {
                jobs: held.jobs,
                commit: outcome,
                wrote,
            };
            match syncer.send(committed) {
                Ok(()) => true,
                Err(unsent) => {
                    // The sync thread is gone (it does not panic, so this should not happen): the batch cannot
                    // be made durable.
                    let gone = StoreError::Storage("the SQLite sync thread has stopped".to_owned());
                    finish(unsent.0.jobs, &Err(gone));
                    false
                }
            }
        }
        None => {
            finish(held.jobs, &outcome);
            false
        }
    }
}

/// Answers every job of a batch with the batch's outcome.
pub(crate) fn finish(jobs: Vec<Box<dyn Job>>, outcome: &Result<(), StoreError>) {
    for job in jobs {
        job.finish(outcome.clone());
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use tokio::sync::oneshot;

    use super::{Call, Context, Job};
    use crate::sqlite::purge_hints::PurgeHints;
    use crate::store_config::NameGenerator;
    use crate::{StoreConfig, StoreError};

    #[test]
    fn a_failed_operation_leaves_the_purge_bounds_as_they_were_before_it() {
        let before = PurgeHints {
            tombstones: Some(10),
            lease_log: None,
            tokens: Some(30),
        };
        let raised = PurgeHints {
            tombstones: Some(50),
            lease_log: Some(60),
            tokens: Some(70),
        };
        // (the operation's result, the bounds after it)
        let cases = [(Ok(()), raised), (Err(StoreError::NotFound), before)];
        for (result, expected) in cases {
            let connection = Connection::open_in_memory().expect("an in-memory database");
            let mut context = Context {
                config: StoreConfig::default(),
                names: NameGenerator::new(None),
                purge_hints: before,
            };
            let (reply, _answer) = oneshot::channel();
            let outcome = result.clone();
            let mut call = Call::new(
                move |_: &Connection, cx: &mut Context| {
                    cx.purge_hints = raised;
                    outcome
                },
                reply,
            );
            call.run(&connection, &mut context);
            assert_eq!(context.purge_hints, expected, "{result:?}");
        }
    }
}
