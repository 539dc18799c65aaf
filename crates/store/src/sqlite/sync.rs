//! The sync thread: makes committed batches durable by syncing the write-ahead log, then answers their callers.
//!
//! With [`Synchronous::Full`](crate::Synchronous::Full) the connection runs with `PRAGMA synchronous = NORMAL`, so
//! a commit only writes its WAL frames (into the OS page cache) and returns; the writer hands the committed batch
//! to this thread and goes on running operations in a new transaction. This thread syncs the WAL file
//! (`fdatasync` through its own handle on the same file), tells the writer it is free ([`Message::Synced`]: the
//! writer then commits what it ran meanwhile and hands it over), and only then answers the batches it holds. One
//! sync covers every frame written before it started, so it serves every batch handed over before it (group
//! sync), and a batch is never answered before all the batches committed before it are durable too: an answer
//! can depend only on durable data, reads included.
//!
//! Why this is as durable as `synchronous = FULL`: in WAL mode the two levels differ only in the sync at the end
//! of each commit. Checkpoints (which sync the WAL, copy it into the database and sync the database before the
//! WAL is reused) and the WAL header written when the log restarts are synced the same way at both levels. FULL
//! syncs the WAL before the commit returns; here the same file is synced before the commit is answered. A power
//! loss can therefore only lose unanswered commits; the checksums of the WAL frames make recovery stop at the
//! last complete commit. (On Linux SQLite pads nothing at the end of a commit under FULL either: its unix VFS
//! assumes power-safe overwrite.)
//!
//! A failed sync leaves the durability of every write since the last good sync unknown (the kernel may have
//! dropped the dirty pages), so the store stops: the batches held get the error, and so does every later
//! operation.

use std::fs::File;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, OnceLock};

use crate::StoreError;
use crate::sqlite::worker::{Job, Message, finish};

/// A committed batch waiting for its sync, and the commit's outcome.
pub(crate) struct Committed {
    pub(crate) jobs: Vec<Box<dyn Job>>,
    pub(crate) commit: Result<(), StoreError>,
    /// Whether the batch changed anything (a read-only batch needs a sync only behind unsynced writes).
    pub(crate) wrote: bool,
}

/// The first failed sync, shared with the writer, which then refuses further batches.
pub(crate) type Failure = Arc<OnceLock<StoreError>>;

/// The thread's body: until the writer hangs up, takes every committed batch waiting, syncs the WAL if one of
/// them wrote, tells the writer it is free, and answers them in order.
pub(crate) fn run(
    wal: &File,
    failure: &Failure,
    committed: &Receiver<Committed>,
    writer: &Sender<Message>,
) {
    while let Ok(first) = committed.recv() {
        let mut held = vec![first];
        held.extend(committed.try_iter());
        let synced = if failure.get().is_some() {
            Err(stopped(failure))
        } else if held.iter().any(|batch| batch.wrote && batch.commit.is_ok()) {
            wal.sync_data().map_err(|e| {
                let error = StoreError::storage(
                    "cannot sync the SQLite write-ahead log; the store has stopped",
                    e,
                );
                let _ = failure.set(error);
                stopped(failure)
            })
        } else {
            Ok(())
        };
        // The writer commits what it ran meanwhile as soon as it reads this; it is gone only when stopping.
        let _ = writer.send(Message::Synced);
        for batch in held {
            finish(batch.jobs, &batch.commit.and(synced.clone()));
        }
    }
}

/// The error of every operation after a failed sync.
pub(crate) fn stopped(failure: &Failure) -> StoreError {
    failure.get().cloned().unwrap_or_else(|| {
        StoreError::Storage("the SQLite store has stopped after a failed sync".to_owned())
    })
}
