//! Typed client for the 8 methods of Google's App Engine Task Queue REST API
//! v1beta2 (pull queues over REST).
//!
//! [`Client`] implements [`TaskQueueApi`], one method per call. Arguments are
//! checked before anything is sent (names, tag and payload sizes, lease
//! limits, ETA), with the shared validators of `taskqueue-model`, and so are
//! the requested scopes, against the method table ([`accepted_scopes`]; see
//! [`Client::check_scopes`]). Calls go through `taskqueue-transport`: bearer
//! token, one refresh after a 401, safe retries (never for `lease` and
//! `insert` unless asked), precise errors. A scope or ACL denial comes with a
//! hint ([`Error::hint`]).
//!
//! The project path segment is sent verbatim, so the App Engine partition
//! prefix works: `QueueRef::new("s~my-app", "pull-queue")`.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use taskqueue_client::{
//!     AccessToken, Client, DeleteTaskRequest, InsertTaskRequest, LeaseTasksRequest, LeasedTask,
//!     QueueRef, StaticTokenProvider, Task,
//! };
//!
//! # async fn run() -> Result<(), taskqueue_client::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080/taskqueue/v1beta2/projects/")
//!     .token_provider(StaticTokenProvider::new(AccessToken::new("ya29.token")))
//!     .build()?;
//! let queue = QueueRef::new("s~my-app", "pull-queue");
//!
//! client
//!     .insert_task(InsertTaskRequest::new(queue.clone(), Task::new("resize photo 42")))
//!     .await?;
//! let leased = client
//!     .lease_tasks(LeaseTasksRequest::new(queue.clone(), 10, Duration::from_secs(60)))
//!     .await?;
//! for task in &leased {
//!     // ... do the work, then delete the task.
//!     if let Some(leased) = LeasedTask::from_task(task) {
//!         client
//!             .delete_task(DeleteTaskRequest::new(queue.clone(), leased.id))
//!             .await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

// This crate's README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

mod api;
mod client;
mod error;
mod paths;
mod requests;

pub use api::TaskQueueApi;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, EMULATOR_HOST_VAR};
pub use error::{Error, ScopeDenied};
pub use requests::{
    DeleteTaskRequest, GetQueueRequest, GetTaskRequest, InsertTaskRequest, LeaseTasksRequest,
    LeasedTask, ListTasksRequest, ModifyLeaseRequest, PatchTaskRequest, QueueRef,
    UpdateTaskRequest,
};
// The method table lives in auth, shared with the reference server.
pub use taskqueue_auth::{accepted_scopes, required_access};

// What a caller needs besides the client, so that one dependency is enough:
// the wire types, the credentials, the clock and the retry policy. The whole
// crates are re-exported too, for everything else.
/// The attribute for implementing [`TaskQueueApi`] (a fake in tests) and
/// [`TokenProvider`], re-exported so that an implementation needs no
/// dependency of its own.
pub use async_trait::async_trait;
/// The credentials: scopes, token providers, Application Default Credentials.
pub use taskqueue_auth as auth;
pub use taskqueue_auth::{
    AccessToken, ApplicationDefaultCredentials, CertificateDer, NetworkOptions, ProxySetting,
    RootStore, Scope, ScopeSet, SharedTokenProvider, StaticTokenProvider, TokenCache,
    TokenProvider,
};
/// The clock every timer reads, and the retry policy.
pub use taskqueue_clock as clock;
pub use taskqueue_clock::{Clock, RetryPolicy, SharedClock, SystemClock};
/// The wire model: resources, names, validation.
pub use taskqueue_model as model;
pub use taskqueue_model::{
    ApiMethod, Payload, Task, TaskName, TaskQueue, Tasks, Tasks2, Timestamp, ValidationError,
};
