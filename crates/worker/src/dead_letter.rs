//! Dead letters: where a task goes when it gives up or runs out of attempts. The task is deleted only after its
//! dead letter is stored (inserted into the dead-letter queue, or accepted by the callback).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Serialize;
use taskqueue_client::{InsertTaskRequest, QueueRef, TaskQueueApi};
use taskqueue_model::{Payload, Task, limits};

/// A task that will not be tried again, and why.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The queue it came from.
    pub queue: QueueRef,
    /// The task as it was leased (payload, tag, `retry_count`, timestamps).
    pub task: Task,
    /// Why it was given up: the handler's reason, or the attempts it ran out of.
    pub reason: String,
}

/// What a callback returns when it could not store a dead letter; the task is then left to come back.
pub type DeadLetterError = Box<dyn StdError + Send + Sync + 'static>;

/// Stores dead letters somewhere of the caller's choosing.
///
/// Any `Fn(DeadLetter) -> impl Future<Output = Result<(), DeadLetterError>>` will do. Return `Ok` only once the
/// dead letter is safe: the worker deletes the task right after.
#[async_trait]
pub trait DeadLetterHandler: Send + Sync + 'static {
    /// Stores `letter`.
    async fn store(&self, letter: DeadLetter) -> Result<(), DeadLetterError>;
}

#[async_trait]
impl<F, Fut> DeadLetterHandler for F
where
    F: Fn(DeadLetter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), DeadLetterError>> + Send + 'static,
{
    async fn store(&self, letter: DeadLetter) -> Result<(), DeadLetterError> {
        (self)(letter).await
    }
}

/// How a dead letter is written into a dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeadLetterFormat {
    /// The default: the payload is a JSON object (`reason`, `project`, `queue`, `taskId`, `retryCount`, `tag`,
    /// `enqueueTimestamp` in µs, and the original payload as `payloadBase64`, URL-safe with padding), and the
    /// dead letter keeps the original tag. If that would pass the 1 MiB payload limit, the dead letter is
    /// written [`DeadLetterFormat::Verbatim`] instead, and the reason goes to the log only.
    #[default]
    Envelope,
    /// The original payload and tag, unchanged, so the dead letters can be moved back as they are; the reason goes
    /// to the log only.
    Verbatim,
}

/// Where dead letters go.
#[derive(Clone)]
pub(crate) enum DeadLetterSink {
    /// Inserted into this queue (of the same API).
    Queue {
        queue: QueueRef,
        format: DeadLetterFormat,
    },
    /// Handed to a callback.
    Callback(Arc<dyn DeadLetterHandler>),
    /// Logged at error level and deleted: explicitly asked for.
    Discard,
}

impl fmt::Debug for DeadLetterSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Queue { queue, format } => f
                .debug_struct("Queue")
                .field("queue", queue)
                .field("format", format)
                .finish(),
            Self::Callback(_) => f.write_str("Callback"),
            Self::Discard => f.write_str("Discard"),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    reason: &'a str,
    project: &'a str,
    queue: &'a str,
    task_id: Option<&'a str>,
    retry_count: Option<i32>,
    tag: Option<&'a str>,
    enqueue_timestamp: Option<i64>,
    payload_base64: String,
}

/// The task written into the dead-letter queue for `letter`.
pub(crate) fn dead_letter_task(letter: &DeadLetter, format: DeadLetterFormat) -> Task {
    let original = letter.task.payload.clone().unwrap_or_default();
    let payload = match format {
        DeadLetterFormat::Verbatim => original,
        DeadLetterFormat::Envelope => {
            let envelope = Envelope {
                reason: &letter.reason,
                project: &letter.queue.project,
                queue: &letter.queue.queue,
                task_id: letter.task.id.as_deref(),
                retry_count: letter.task.retry_count,
                tag: letter.task.tag.as_deref(),
                enqueue_timestamp: letter.task.enqueue_timestamp.map(|t| t.as_micros()),
                payload_base64: base64::engine::general_purpose::URL_SAFE
                    .encode(original.as_bytes()),
            };
            match serde_json::to_vec(&envelope) {
                Ok(json) if json.len() <= limits::MAX_PAYLOAD_BYTES => Payload::new(json),
                _ => {
                    tracing::warn!(
                        task = letter.task.id.as_deref().unwrap_or(""),
                        "the dead letter's envelope would pass the payload limit; storing the payload verbatim"
                    );
                    original
                }
            }
        }
    };
    let mut task = Task::new(payload);
    task.tag.clone_from(&letter.task.tag);
    task
}

/// Stores `letter` in `sink`. `Ok` means the task may be deleted.
pub(crate) async fn store(
    api: &dyn TaskQueueApi,
    sink: &DeadLetterSink,
    letter: DeadLetter,
) -> Result<(), DeadLetterError> {
    match sink {
        DeadLetterSink::Queue { queue, format } => {
            let task = dead_letter_task(&letter, *format);
            // Retried on transient failures: a lost answer may store the dead letter twice, which is better than
            // not at all (the dead letters are unnamed, so no tombstone can refuse a later one).
            api.insert_task(InsertTaskRequest::new(queue.clone(), task).with_retry(true))
                .await?;
            Ok(())
        }
        DeadLetterSink::Callback(handler) => handler.store(letter).await,
        DeadLetterSink::Discard => {
            tracing::error!(
                queue = %letter.queue.queue,
                task = letter.task.id.as_deref().unwrap_or(""),
                reason = %letter.reason,
                "dead letter discarded, as configured"
            );
            Ok(())
        }
    }
}
