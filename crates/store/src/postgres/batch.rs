//! Insert batching: the inserts that arrive while earlier ones are being written share one statement.
//!
//! An insert costs PostgreSQL far more as a statement of its own (a round trip, an executor start, a commit) than
//! as one row among several: concurrent inserts therefore go through one background task, which takes every
//! insert waiting when a statement slot frees up (up to [`PostgresOptions::insert_batch`] of them) and writes them
//! with one `INSERT … SELECT FROM unnest(…)`; at most [`PostgresOptions::concurrent_inserts`] such statements run
//! at once. Nothing waits on purpose: an insert arriving on an idle store is written at once, alone, so batching
//! adds no latency; under load the batches grow by themselves.
//!
//! Each insert keeps its own answer. One that the shared statement did not insert (a live task or tombstone has
//! its name, or it repeats a name of the same batch) is retried alone on the same connection, which says which
//! error applies, exactly as an unbatched insert would; if the shared statement fails as a whole (a deadlock with
//! another instance's batch, a lost connection), every insert of the batch is retried alone. A batch is written by
//! a task of its own, so it completes even if its callers stop waiting.

use std::collections::HashSet;
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::postgres::ops::{self, PendingInsert};
use crate::{PostgresOptions, StoreConfig, StoreError, StoredTask};

/// An insert waiting for its batch, and where its answer goes.
struct Job {
    insert: PendingInsert,
    reply: oneshot::Sender<Result<StoredTask, StoreError>>,
}

/// The handle of the batching task; the task stops once the handle is dropped and the inserts handed to it are
/// written.
#[derive(Debug)]
pub(crate) struct InsertBatcher {
    jobs: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("queue", &self.insert.queue)
            .field("name", &self.insert.name)
            .finish_non_exhaustive()
    }
}

impl InsertBatcher {
    /// Starts the batching task on the current tokio runtime.
    pub(crate) fn start(pool: Pool, config: StoreConfig, options: &PostgresOptions) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        let limits = Limits {
            batch: options.insert_batch.max(1),
            statements: Arc::new(Semaphore::new(
                options.concurrent_inserts.clamp(1, Semaphore::MAX_PERMITS),
            )),
        };
        tokio::spawn(run(pool, config, receiver, limits));
        Self { jobs }
    }

    /// Inserts `insert` in the next batch and waits for its answer.
    pub(crate) async fn insert(&self, insert: PendingInsert) -> Result<StoredTask, StoreError> {
        let stopped =
            || StoreError::Storage("the PostgreSQL insert batching task has stopped".to_owned());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { insert, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// How big a batch may be, and how many statements may run at once.
struct Limits {
    batch: usize,
    statements: Arc<Semaphore>,
}

/// The batching loop: waits for an insert, then for a free statement slot (while more inserts arrive), takes what
/// is waiting, and writes it on a task of its own.
async fn run(
    pool: Pool,
    config: StoreConfig,
    mut receiver: mpsc::UnboundedReceiver<Job>,
    limits: Limits,
) {
    while let Some(first) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&limits.statements).acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < limits.batch {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        let config = config.clone();
        tokio::spawn(async move {
            write(&pool, &config, batch).await;
            drop(slot);
        });
    }
}

/// Writes one batch and answers each of its inserts.
async fn write(pool: &Pool, config: &StoreConfig, batch: Vec<Job>) {
    let client = match pool.get().await {
        Ok(client) => client,
        Err(error) => {
            let message = format!("cannot reach the task store: {error}");
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Storage(message.clone())));
            }
            return;
        }
    };
    // A name twice in one statement would be ambiguous in its result: the repeats go alone, after it.
    let mut seen = HashSet::with_capacity(batch.len());
    let (mut shared, repeats): (Vec<Job>, Vec<Job>) = batch
        .into_iter()
        .partition(|job| seen.insert((job.insert.queue.clone(), job.insert.name.clone())));
    let mut alone = Vec::new();
    if shared.len() == 1 {
        alone.append(&mut shared);
    } else {
        let pending: Vec<&PendingInsert> = shared.iter().map(|job| &job.insert).collect();
        match ops::insert_many(&client, config, &pending).await {
            Ok(inserted) => {
                for (job, inserted) in shared.into_iter().zip(inserted) {
                    if inserted {
                        let _ = job.reply.send(Ok(job.insert.into_stored()));
                    } else {
                        alone.push(job);
                    }
                }
            }
            Err(_) => alone = shared,
        }
    }
    alone.extend(repeats);
    for job in alone {
        let answer = job.insert.insert_alone(&client, config).await;
        let _ = job.reply.send(answer);
    }
}
