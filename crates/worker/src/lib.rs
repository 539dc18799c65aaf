//! A worker runtime for Task Queue REST API v1beta2 pull queues: the loop every pull-queue consumer writes, done
//! once.
//!
//! A [`Worker`] leases tasks from one queue (never more than it has room for), runs a [`Handler`] on each with at
//! most `concurrency` running at once, and settles what the handler returns ([`Outcome`]):
//!
//! - **done**: the task is deleted;
//! - **retry**: the lease is released (`newLeaseSeconds = 0`), or set to end after a delay; once the task has
//!   been leased `max_attempts` times (its `retry_count`) it is dead-lettered instead;
//! - **give up**: the task is dead-lettered: stored in a dead-letter queue (or handed to a callback), and only
//!   then deleted.
//!
//! While a handler runs, the worker renews its lease each time a fraction of it has passed (half, by default),
//! retrying transient failures within the time the lease has left. If the lease is lost, [`LeaseGuard::lost`]
//! completes and the handler's future is dropped, since another worker may hold the task by then. A handler that
//! blocks its thread past the lease (blocking work inside a poll) leaves no chance to renew: when it returns, the
//! lease counts as lost and its outcome is not applied. Run blocking work with `tokio::task::spawn_blocking`.
//! Empty leases and failed lease calls back off (capped exponential, jittered), lease calls stay under a rate
//! ceiling, and a [`ShutdownHandle`] stops the worker cleanly: no new leases, running handlers finish within a
//! deadline, tasks leased but not started are released, and a second request stops the rest.
//!
//! Every wait reads the injected [`taskqueue_clock::Clock`], so tests run in virtual time. Each task runs in a
//! `task` tracing span (queue, id, `retry_count`, outcome, duration), and [`Worker::stats`] reads the counters.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use taskqueue_auth::{AccessToken, StaticTokenProvider};
//! use taskqueue_client::{Client, QueueRef};
//! use taskqueue_worker::{DeadLetterFormat, Outcome, Worker};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080/taskqueue/v1beta2/projects/")
//!     .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new("ya29.token"))))
//!     .build()?;
//! let worker = Worker::builder(client, QueueRef::new("s~my-app", "pull-queue"))
//!     .lease_duration(Duration::from_secs(60))
//!     .concurrency(16)
//!     .max_attempts(5)
//!     .dead_letter_queue(QueueRef::new("s~my-app", "dead-letters"), DeadLetterFormat::Envelope)
//!     .handler(|task: taskqueue_model::Task, _lease| async move {
//!         match task.payload.map(|p| p.into_bytes()) {
//!             Some(bytes) if !bytes.is_empty() => Outcome::done(),
//!             _ => Outcome::give_up("empty payload"),
//!         }
//!     })
//!     .build()?;
//! let stop = worker.shutdown_handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     stop.shutdown();
//! });
//! let report = worker.run().await?;
//! println!("{} done, {} dead-lettered", report.stats.done, report.stats.dead_lettered);
//! # Ok(())
//! # }
//! ```

// The workspace README's examples (the client's quick start, the worker) compile as doctests here, in the one
// crate that sees every crate they use. This runs in the repository only: the published package holds no
// workspace README (cargo's packaging builds the library, never its doctests).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

// This crate's own README compiles as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

mod builder;
mod dead_letter;
mod error;
mod guard;
mod outcome;
mod pacing;
mod settle;
mod stats;
mod worker;

pub use builder::WorkerBuilder;
pub use dead_letter::{DeadLetter, DeadLetterError, DeadLetterFormat, DeadLetterHandler};
pub use error::Error;
pub use guard::LeaseGuard;
pub use outcome::{Handler, Outcome};
pub use pacing::{BackoffPolicy, LeaseRateLimit};
pub use stats::WorkerStats;
pub use worker::{RunReport, ShutdownHandle, StopReason, Worker};
