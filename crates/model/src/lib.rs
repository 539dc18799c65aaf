//! Wire model of Google's App Engine Task Queue REST API v1beta2 (pull queues).
//!
//! This crate holds the serde types of the API's JSON bodies, the codecs its quirks need, and the validation rules
//! a client and a server share. It knows nothing about HTTP.
//!
//! # Getting started
//!
//! Parse the task that production returned from a lease (docs/wire-format.md §3.1; its payload is replaced here by a
//! complete base64 string of the same shape):
//!
//! ```
//! use taskqueue_model::{Task, Timestamp};
//!
//! let json = r#"{"kind": "taskqueues#task", "leaseTimestamp": "1498952638063392",
//!     "queueName": "projects/s~neuromancer-seung-import/taskqueues/wms-test-pull-queue",
//!     "retry_count": 3, "tag": "BossTransferTask", "payloadBase64": "eyJzcmNfcGF0aCI6ICJnczovL3gifQ==",
//!     "id": "f32a7aab42bdaf6f", "enqueueTimestamp": "1498510174000000"}"#;
//! let task: Task = serde_json::from_str(json)?;
//!
//! assert_eq!(task.id.as_deref(), Some("f32a7aab42bdaf6f"));
//! assert_eq!(task.retry_count, Some(3));
//! assert_eq!(task.lease_timestamp, Some(Timestamp::from_micros(1_498_952_638_063_392)));
//! assert_eq!(task.short_queue_name(), Some("wms-test-pull-queue"));
//! let path = task.queue_path().ok_or("long-form queueName")?;
//! assert_eq!(path.project, "s~neuromancer-seung-import");
//! let payload = task.payload.ok_or("payload")?;
//! assert_eq!(payload.as_bytes(), br#"{"src_path": "gs://x"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The wire format, and what this crate does about it
//!
//! - **int64 as strings.** [`Timestamp`] and the [`int64`] fields are written as JSON strings and read from strings
//!   or numbers. `retry_count`, `maxLeases` and `totalTasks` stay numbers.
//! - **Microseconds.** Timestamps count microseconds since the Unix epoch, as production did, whatever the
//!   discovery document says.
//! - **Base64.** [`Payload`] writes the URL-safe alphabet with padding and reads either alphabet, padded or not.
//! - **Long queue names.** Leases return `queueName` as `projects/s~app/taskqueues/q`: use
//!   [`Task::short_queue_name`], [`short_queue_name`] or [`QueuePath`].
//! - **Missing `items`.** [`Tasks`] and [`Tasks2`] read a missing `items` as empty, and ignore `kind`.
//! - **Forward compatibility.** Every resource keeps the fields it does not know in `unknown_fields` and writes them
//!   back unchanged.
//! - **Errors.** [`ErrorEnvelope`] parses Google's error body, with or without `errors[]` and `status`.
//!
//! # Validation
//!
//! [`validate`] checks names, lease parameters and tasks against the [`limits`], returning a [`ValidationError`]
//! that names the offending field. [`TaskName`], [`QueueName`] and [`ProjectId`] are strings checked on
//! construction.

// This crate's README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

mod discovery;
mod error_envelope;
pub mod int64;
pub mod kind;
pub mod limits;
mod method;
mod names;
mod null_as_empty;
mod payload;
mod queue;
mod setters;
mod task;
mod tasks;
mod timestamp;
pub mod validate;
mod validation_error;

pub use discovery::{API_PATH, DISCOVERY_DOCUMENT};
pub use error_envelope::{ErrorBody, ErrorDetail, ErrorEnvelope};
pub use method::ApiMethod;
pub use names::{ProjectId, QueueName, QueuePath, TaskName, short_queue_name};
pub use payload::{Payload, PayloadDecodeError};
pub use queue::{TaskQueue, TaskQueueAcl, TaskQueueStats};
pub use task::Task;
pub use tasks::{Tasks, Tasks2};
pub use timestamp::Timestamp;
pub use validation_error::ValidationError;
