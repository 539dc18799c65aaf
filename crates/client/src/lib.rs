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
//! use std::sync::Arc;
//! use taskqueue_auth::{AccessToken, StaticTokenProvider};
//! use taskqueue_client::{
//!     Client, DeleteTaskRequest, InsertTaskRequest, LeaseTasksRequest, QueueRef, TaskQueueApi,
//! };
//! use taskqueue_model::Task;
//!
//! # async fn run() -> Result<(), taskqueue_client::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080/taskqueue/v1beta2/projects/")
//!     .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new("ya29.token"))))
//!     .build()?;
//! let queue = QueueRef::new("s~my-app", "pull-queue");
//!
//! client
//!     .insert_task(InsertTaskRequest::new(queue.clone(), Task::new("resize photo 42")))
//!     .await?;
//! let leased = client
//!     .lease_tasks(LeaseTasksRequest::new(queue.clone(), 10, 60))
//!     .await?;
//! for task in &leased {
//!     // ... do the work, then delete the task.
//!     if let Some(id) = &task.id {
//!         client
//!             .delete_task(DeleteTaskRequest::new(queue.clone(), id.clone()))
//!             .await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod api;
mod client;
mod error;
mod paths;
mod requests;

pub use api::TaskQueueApi;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL};
pub use error::{Error, ScopeDenied};
pub use requests::{
    DeleteTaskRequest, GetQueueRequest, GetTaskRequest, InsertTaskRequest, LeaseTasksRequest,
    LeasedTask, ListTasksRequest, ModifyLeaseRequest, PatchTaskRequest, QueueRef,
    UpdateTaskRequest,
};
// The method table lives in auth, shared with the reference server.
pub use taskqueue_auth::{accepted_scopes, required_access};
