//! The 8 methods, once the request is authenticated, the queue found and the ACL checked: parameters and body
//! checked with the model's validators, the store called, the result converted with [`wire`].
//!
//! # Choices (where production's behaviour is unknown or the sources disagree)
//!
//! - **taskqueues.get**: `id` is the long form `projects/{project as given}/taskqueues/{queue}` (docs/wire-format.md
//!   §3.3, §10); `maxLeases` is `task_retry_limit`, left out when the queue has none ("If unset we lease them out
//!   forever"); `acl` has `consumerEmails` (`user_email`) and `producerEmails` (`writer_email`), each left out
//!   when empty, never `adminEmails` (queue.yaml has no such role), and is left out for an open queue; `stats`
//!   only with `getStats=true`.
//! - **tasks.insert**: the body is required. `queueName` may be left out; if present, short or long form, it
//!   must name the URL's queue (and, in the long form, this project, with or without a partition prefix), else
//!   400 `invalid`. `payloadBase64` may be left out (an empty payload). An empty `id` is no `id`: the server
//!   names the task. `leaseTimestamp` is the ETA (0 or missing: now), at most 30 days ahead.
//!   `enqueueTimestamp`, `retry_count` and `kind` are ignored. A payload over 1 MiB decoded is 413
//!   `uploadTooLarge`, like a body over the limit. A name in use, or tombstoned: 409 `duplicate`
//!   "Task name already taken: {name}".
//! - **tasks.lease**: `numTasks` and `leaseSecs` are required (400 `required`); `tag` needs `groupByTag=true`;
//!   an empty `tag=` counts as no tag (as the SDK stub read it). A body, if any, is not read.
//! - **tasks.update / tasks.patch**: `newLeaseSeconds` is required, 0 to 604800 (0 releases). The body is
//!   required. A `leaseTimestamp` in it, the value the lease (or the last modification) returned, proves the caller
//!   holds the lease: 400 `invalid` "The task lease has expired." if it is not the current one or the lease has
//!   expired. An update (POST) must carry it (400 `required`); a patch without it, or with `0`, extends or
//!   releases any unexpired lease, the renewal real clients sent to production
//!   ([`PatchLeaseTimestamp`], `choices.patch_lease_timestamp: required` makes patch strict too). A lease is
//!   held up to and including its expiry instant. A body `id` other than the URL's task, or a `queueName` other
//!   than the URL's queue (short or long form), is 400 `invalid`: neither can be changed. A patch body must carry
//!   `queueName` ("GAE requires the queueName to be part of the PATCH", AppScale); an update body need not. Other
//!   fields (payload, tag, `retry_count`, `enqueueTimestamp`, `kind`: clients send back the whole leased task) are
//!   ignored: only the lease changes. A task that does not exist, or was deleted, gets the lease-expired answer
//!   too, as AppScale found App Engine answering ([`ModifyMissingTask`]).
//! - **tasks.delete**: 200 with an empty body, as production's docs say; deleting a leased task is allowed.
//!   Deleting a task whose name is still tombstoned is 200 as well ([`RepeatedDelete`]): a retried delete must not
//!   turn into an error that a retrying client repeats forever. A name never used is 404.
//! - **Store errors**, as [`StoreError`] documents: unknown or deleted task 404 `notFound` "Not Found" (except as
//!   above); `LeaseExpired` 400 `invalid`; a storage failure 500 `backendError`, its cause logged, never sent.

use axum::body::Body;
use taskqueue_model::{
    ApiMethod, QueuePath, Task, TaskQueue, TaskQueueAcl, Tasks, Tasks2, Timestamp, ValidationError,
    kind, validate,
};

use super::body;
use super::error::ApiError;
use super::params::{Params, quoted};
use super::respond::Reply;
use crate::config::{ModifyMissingTask, PatchLeaseTimestamp, QueueDef, RepeatedDelete};
use crate::state::AppState;
use crate::wire::{self, PayloadField};
use crate::{LIST_LIMIT, LeaseProof, LeaseRequest, StoreError, StoredTask};

/// One authorized call: everything a method needs.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// The server's state.
    pub(crate) state: &'a AppState,
    /// Which method.
    pub(crate) method: ApiMethod,
    /// The project as the request gave it (`s~dev-project`), for long-form names.
    pub(crate) project: &'a str,
    /// The queue.
    pub(crate) queue: &'a QueueDef,
    /// The task name of the URL (checked), for the methods on one task.
    pub(crate) task: Option<&'a str>,
    /// The query parameters.
    pub(crate) params: &'a Params,
    /// The time of the request, from the server's clock.
    pub(crate) now: Timestamp,
}

impl Call<'_> {
    /// The queue as long-form names give it.
    fn path(&self) -> QueuePath {
        QueuePath::new(self.project, self.queue.name.as_str())
    }

    /// The wire form of a task of this queue, with the configured `leaseTimestamp` of an unleased task.
    fn wire_task(&self, task: &StoredTask, payload: PayloadField) -> Task {
        let unleased = self.state.config.choices.unleased_lease_timestamp;
        wire::to_task(task, &self.path(), payload, unleased)
    }

    /// The URL's task name.
    fn task_name(&self) -> Result<&str, ApiError> {
        self.task
            .ok_or_else(|| ApiError::invalid("This method needs a task name in the URL."))
    }

    /// Maps a store error for this method.
    fn store_error(&self, error: StoreError, name: Option<&str>) -> ApiError {
        match error {
            StoreError::AlreadyExists | StoreError::Tombstoned
                if self.method == ApiMethod::TasksInsert =>
            {
                ApiError::duplicate(match name {
                    Some(name) => format!("Task name already taken: {name}"),
                    None => "Task name already taken".to_owned(),
                })
            }
            StoreError::NotFound | StoreError::Tombstoned
                if matches!(self.method, ApiMethod::TasksUpdate | ApiMethod::TasksPatch)
                    && self.state.config.choices.modify_missing_task
                        == ModifyMissingTask::LeaseExpired =>
            {
                lease_expired()
            }
            StoreError::NotFound | StoreError::Tombstoned => ApiError::not_found("Not Found"),
            StoreError::LeaseExpired => lease_expired(),
            StoreError::StorageFull(_) => {
                tracing::error!(
                    method = self.method.id(),
                    queue = %self.queue.name,
                    error = %error,
                    "the store is full"
                );
                ApiError::storage_full()
            }
            StoreError::AlreadyExists | StoreError::Storage(_) => {
                tracing::error!(
                    method = self.method.id(),
                    queue = %self.queue.name,
                    error = %error,
                    "the store failed"
                );
                ApiError::backend_error()
            }
        }
    }

    /// Reads the body as a task.
    async fn body_task(&self, body: Body) -> Result<Task, ApiError> {
        let bytes = body::read(body, self.state.config.limits.max_body_bytes).await?;
        body::task(&bytes)
    }

    /// Checks that a body's `queueName`, if any, names this queue (and this project).
    fn check_queue_name(&self, queue_name: Option<&str>) -> Result<(), ApiError> {
        let Some(queue_name) = queue_name else {
            return Ok(());
        };
        let same = match QueuePath::parse(queue_name) {
            Some(path) => {
                path.queue == self.queue.name
                    && project_matches(&path.project, &self.state.config.project)
            }
            None => queue_name == self.queue.name,
        };
        if same {
            Ok(())
        } else {
            Err(ApiError::invalid(format!(
                "The queueName in the body, {}, is not the queue of the URL, {}: a task cannot change queues.",
                quoted(queue_name),
                self.queue.name
            )))
        }
    }
}

/// Whether the project segment `given` names `configured`, bare or with a one-character partition prefix
/// (`s~app`, `b~app`).
pub(crate) fn project_matches(given: &str, configured: &str) -> bool {
    if given == configured {
        return true;
    }
    let mut chars = given.chars();
    chars.next().is_some() && chars.as_str().strip_prefix('~') == Some(configured)
}

/// 400 `invalid` "The task lease has expired.": the caller holds no lease it may modify.
fn lease_expired() -> ApiError {
    ApiError::invalid("The task lease has expired.")
}

/// A validation error of a query parameter: 400 `invalid` at that parameter.
pub(crate) fn invalid_parameter(error: &ValidationError) -> ApiError {
    ApiError::invalid(error.to_string()).with_location("parameter", error.field())
}

/// A validation error of the body: 413 `uploadTooLarge` for the payload, else 400 `invalid`.
fn invalid_body(error: &ValidationError) -> ApiError {
    match error {
        ValidationError::PayloadTooLarge { .. } => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "uploadTooLarge",
            error.to_string(),
        ),
        _ => ApiError::invalid(error.to_string()),
    }
}

/// Runs `call`.
pub(crate) async fn run(call: &Call<'_>, body: Body) -> Result<Reply, ApiError> {
    match call.method {
        ApiMethod::TaskqueuesGet => taskqueues_get(call).await,
        ApiMethod::TasksGet => get(call).await,
        ApiMethod::TasksList => list(call).await,
        ApiMethod::TasksInsert => insert(call, body).await,
        ApiMethod::TasksLease => lease(call).await,
        ApiMethod::TasksUpdate | ApiMethod::TasksPatch => modify(call, body).await,
        ApiMethod::TasksDelete => delete(call).await,
    }
}

async fn taskqueues_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let get_stats = call.params.boolean("getStats")?.unwrap_or(false);
    let queue = call.queue;
    let non_empty = |emails: &Vec<String>| (!emails.is_empty()).then(|| emails.clone());
    let acl = (!queue.acl.is_open()).then(|| {
        let mut acl = TaskQueueAcl::default();
        acl.consumer_emails = non_empty(&queue.acl.user_emails);
        acl.producer_emails = non_empty(&queue.acl.writer_emails);
        acl
    });
    let stats = if get_stats {
        let stats = call
            .state
            .store
            .stats(&queue.name, call.now)
            .await
            .map_err(|error| call.store_error(error, None))?;
        Some(wire::to_stats(&stats))
    } else {
        None
    };
    let mut reply = TaskQueue::default()
        .with_kind(kind::TASK_QUEUE)
        .with_id(call.path().to_string());
    reply.max_leases = queue
        .max_leases
        .map(|limit| i32::try_from(limit).unwrap_or(i32::MAX));
    reply.stats = stats;
    reply.acl = acl;
    Ok(Reply::Queue(Box::new(reply)))
}

async fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.task_name()?;
    let task = call
        .state
        .store
        .get(&call.queue.name, name, call.now)
        .await
        .map_err(|error| call.store_error(error, Some(name)))?;
    Ok(Reply::Task(Box::new(
        call.wire_task(&task, PayloadField::Include),
    )))
}

async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let tasks = call
        .state
        .store
        .list(&call.queue.name, LIST_LIMIT, call.now)
        .await
        .map_err(|error| call.store_error(error, None))?;
    let items = tasks
        .iter()
        .map(|task| call.wire_task(task, PayloadField::Omit))
        .collect();
    Ok(Reply::Listed(Tasks2::new(items)))
}

async fn insert(call: &Call<'_>, body: Body) -> Result<Reply, ApiError> {
    let mut task = call.body_task(body).await?;
    call.check_queue_name(task.queue_name.as_deref())?;
    if task.id.as_deref() == Some("") {
        task.id = None;
    }
    validate::task_for_insert(&task, call.now).map_err(|error| invalid_body(&error))?;
    let new_task = wire::to_new_task(task);
    let name = new_task.name.clone();
    let stored = call
        .state
        .store
        .insert(&call.queue.name, new_task, call.now)
        .await
        .map_err(|error| call.store_error(error, name.as_deref()))?;
    Ok(Reply::Task(Box::new(
        call.wire_task(&stored, PayloadField::Include),
    )))
}

async fn lease(call: &Call<'_>) -> Result<Reply, ApiError> {
    let params = call.params;
    let num_tasks = params.required_integer("numTasks")?;
    let lease_secs = params.required_integer("leaseSecs")?;
    let group_by_tag = params.boolean("groupByTag")?.unwrap_or(false);
    let tag = params.single("tag")?.filter(|tag| !tag.is_empty());
    let request = LeaseRequest::from_query(num_tasks, lease_secs, group_by_tag, tag)
        .map_err(|error| invalid_parameter(&error))?;
    let leased = call
        .state
        .store
        .lease(&call.queue.name, &request, call.queue.max_leases, call.now)
        .await
        .map_err(|error| call.store_error(error, None))?;
    let items = leased
        .iter()
        .map(|task| call.wire_task(task, PayloadField::Include))
        .collect();
    Ok(Reply::Leased(Tasks::new(items)))
}

async fn modify(call: &Call<'_>, body: Body) -> Result<Reply, ApiError> {
    let name = call.task_name()?;
    let seconds = call.params.required_integer("newLeaseSeconds")?;
    validate::lease_seconds("newLeaseSeconds", seconds)
        .map_err(|error| invalid_parameter(&error))?;
    let seconds = u32::try_from(seconds).map_err(|_| {
        invalid_parameter(&ValidationError::LeaseSecondsOutOfRange {
            parameter: "newLeaseSeconds",
            value: seconds,
        })
    })?;
    let task = call.body_task(body).await?;
    if let Some(id) = task.id.as_deref().filter(|id| !id.is_empty())
        && id != name
    {
        return Err(ApiError::invalid(format!(
            "The id in the body, {}, is not the task of the URL, {name}: a task's id cannot be updated.",
            quoted(id)
        )));
    }
    if call.method == ApiMethod::TasksPatch && task.queue_name.is_none() {
        return Err(ApiError::required(
            "A patch body must carry the task's queueName.",
        ));
    }
    call.check_queue_name(task.queue_name.as_deref())?;
    let proof = lease_proof(call, task.lease_timestamp)?;
    let modified = call
        .state
        .store
        .modify_lease(&call.queue.name, name, proof, seconds, call.now)
        .await
        .map_err(|error| call.store_error(error, Some(name)))?;
    Ok(Reply::Task(Box::new(
        call.wire_task(&modified, PayloadField::Include),
    )))
}

/// How a modification proves lease ownership: with the body's `leaseTimestamp`, required on update (POST), and
/// on patch when the configuration says so; a patch without one, or with `0`, proves nothing beyond the lease
/// being unexpired (the renewals real clients sent).
fn lease_proof(
    call: &Call<'_>,
    lease_timestamp: Option<Timestamp>,
) -> Result<LeaseProof, ApiError> {
    let proof_optional = call.method == ApiMethod::TasksPatch
        && call.state.config.choices.patch_lease_timestamp == PatchLeaseTimestamp::Optional;
    match lease_timestamp {
        Some(eta) if !(proof_optional && eta == Timestamp::ZERO) => Ok(LeaseProof::Eta(eta)),
        _ if proof_optional => Ok(LeaseProof::AnyHolder),
        _ => Err(ApiError::required(
            "The body must carry leaseTimestamp, the value the lease returned: it proves the caller holds the lease.",
        )),
    }
}

async fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.task_name()?;
    match call
        .state
        .store
        .delete(&call.queue.name, name, call.now)
        .await
    {
        Ok(()) => Ok(Reply::Empty),
        Err(StoreError::Tombstoned)
            if call.state.config.choices.repeated_delete == RepeatedDelete::Ok =>
        {
            Ok(Reply::Empty)
        }
        Err(error) => Err(call.store_error(error, Some(name))),
    }
}

#[cfg(test)]
mod tests {
    use super::project_matches;

    #[test]
    fn partition_prefixes() {
        for (given, expected) in [
            ("dev-project", true),
            ("s~dev-project", true),
            ("b~dev-project", true),
            ("e~dev-project", true),
            ("~dev-project", false),
            ("ss~dev-project", false),
            ("s~other", false),
            ("dev-project2", false),
            ("s~", false),
            ("", false),
        ] {
            assert_eq!(project_matches(given, "dev-project"), expected, "{given}");
        }
    }
}
