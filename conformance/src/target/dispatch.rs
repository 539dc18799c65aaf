//! The one function table from a scenario's `call` to the client: method id
//! → handler, each parsing its `args` per `scenarios/README.md` and calling
//! one [`Client`] method.
//!
//! A handler returns the call's result as JSON: the model type's serde form
//! (`tasks.lease` and `tasks.list` as `{ items: [...] }`, even when empty;
//! `tasks.delete` as `{}`). Bad arguments never reach the client: they are
//! an [`ArgError`] naming the key.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};
use taskqueue_client::{
    Client, DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, LeasedTask, ListTasksRequest, ModifyLeaseRequest, QueueRef,
};
use taskqueue_model::{ApiMethod, Task, TaskName, Timestamp};

use crate::scenario::template;

/// A call in flight: the result's JSON form, or the client's error.
pub(crate) type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, Error>> + Send + 'a>>;

/// Parses the arguments and starts the call (nothing is sent before the
/// future is polled).
pub(crate) type Handler =
    for<'a> fn(&'a Client, &'a QueueRef, &Args<'_>) -> Result<CallFuture<'a>, ArgError>;

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// The method.
    pub method: ApiMethod,
    /// The `args` keys it accepts; any other is refused.
    pub keys: &'static [&'static str],
    /// Parses the arguments and calls the client.
    pub handler: Handler,
}

/// The table: one entry per method of the API.
pub(crate) const TABLE: [Entry; 8] = [
    Entry {
        method: ApiMethod::TaskqueuesGet,
        keys: &["get_stats"],
        handler: get_queue,
    },
    Entry {
        method: ApiMethod::TasksDelete,
        keys: &["task"],
        handler: delete_task,
    },
    Entry {
        method: ApiMethod::TasksGet,
        keys: &["task"],
        handler: get_task,
    },
    Entry {
        method: ApiMethod::TasksInsert,
        keys: &["task", "retry"],
        handler: insert_task,
    },
    Entry {
        method: ApiMethod::TasksLease,
        keys: &["num_tasks", "lease_secs", "group_by_tag", "tag", "retry"],
        handler: lease_tasks,
    },
    Entry {
        method: ApiMethod::TasksList,
        keys: &[],
        handler: list_tasks,
    },
    Entry {
        method: ApiMethod::TasksPatch,
        keys: MODIFY_KEYS,
        handler: patch_task,
    },
    Entry {
        method: ApiMethod::TasksUpdate,
        keys: MODIFY_KEYS,
        handler: update_task,
    },
];

const MODIFY_KEYS: &[&str] = &["task", "new_lease_seconds", "lease_timestamp", "queue_name"];

/// The method a `call` names: a discovery id (`taskqueue.tasks.lease`) or
/// its short form (`tasks.lease`).
pub(crate) fn method(name: &str) -> Option<ApiMethod> {
    let id = if name.starts_with("taskqueue.") {
        name.to_owned()
    } else {
        format!("taskqueue.{name}")
    };
    ApiMethod::from_id(&id)
}

/// The table's entry for `method`.
pub(crate) fn entry(method: ApiMethod) -> &'static Entry {
    TABLE
        .iter()
        .find(|entry| entry.method == method)
        .unwrap_or(&TABLE[0])
}

/// Arguments that cannot make a call, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgError {
    /// What is wrong, naming the key (`args.num_tasks: ...`).
    pub message: String,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ArgError {}

/// A call's `args`, with time templates already expanded.
#[derive(Debug, Clone)]
pub(crate) struct Args<'a> {
    method: ApiMethod,
    values: &'a BTreeMap<String, Value>,
}

impl<'a> Args<'a> {
    /// Checks the keys against the method's entry.
    pub(crate) fn new(
        method: ApiMethod,
        values: &'a BTreeMap<String, Value>,
    ) -> Result<Self, ArgError> {
        let keys = entry(method).keys;
        if let Some(unknown) = values.keys().find(|key| !keys.contains(&key.as_str())) {
            let accepted = if keys.is_empty() {
                "none".to_owned()
            } else {
                keys.join(", ")
            };
            return Err(ArgError {
                message: format!(
                    "args.{unknown}: unknown argument for {}; it takes: {accepted}",
                    method.short_name()
                ),
            });
        }
        Ok(Self { method, values })
    }

    fn error(&self, key: &str, what: impl fmt::Display) -> ArgError {
        ArgError {
            message: format!("args.{key}: {what} (for {})", self.method.short_name()),
        }
    }

    fn missing(&self, key: &str) -> ArgError {
        self.error(key, "missing; this method needs it")
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|value| !value.is_null())
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ArgError> {
        self.get(key)
            .map(|value| {
                value
                    .as_bool()
                    .ok_or_else(|| self.error(key, format!("expected true or false, got {value}")))
            })
            .transpose()
    }

    fn string(&self, key: &str) -> Result<Option<String>, ArgError> {
        self.get(key)
            .map(|value| match value {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number.to_string()),
                other => Err(self.error(key, format!("expected a string, got {other}"))),
            })
            .transpose()
    }

    fn required_string(&self, key: &str) -> Result<String, ArgError> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    fn required_u32(&self, key: &str) -> Result<u32, ArgError> {
        let value = self.get(key).ok_or_else(|| self.missing(key))?;
        value
            .as_u64()
            .and_then(|number| u32::try_from(number).ok())
            .ok_or_else(|| {
                self.error(
                    key,
                    format!(
                        "expected a whole number from 0 to {}, got {value}",
                        u32::MAX
                    ),
                )
            })
    }

    fn required_i64(&self, key: &str) -> Result<i64, ArgError> {
        let value = self.get(key).ok_or_else(|| self.missing(key))?;
        let parsed = match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.error(
                key,
                format!("expected microseconds since the epoch (a number or `{{{{now+60s}}}}`), got {value}"),
            )
        })
    }

    /// A task name: the client's validation error (as the call's result)
    /// for a string it refuses.
    fn task_name(&self, key: &str) -> Result<Result<TaskName, Error>, ArgError> {
        Ok(TaskName::new(self.required_string(key)?).map_err(Error::from))
    }

    fn task(&self, key: &str) -> Result<Task, ArgError> {
        let value = self.get(key).ok_or_else(|| self.missing(key))?;
        serde_json::from_value(value.clone())
            .map_err(|error| self.error(key, format!("not a Task in wire form: {error}")))
    }
}

/// Expands the time templates of `args` at `now`, checks them against
/// `method`'s table entry, and starts the call.
pub(crate) fn start<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    method: ApiMethod,
    args: &BTreeMap<String, Value>,
    now: SystemTime,
) -> Result<CallFuture<'a>, ArgError> {
    let mut expanded = BTreeMap::new();
    for (key, value) in args {
        let value = template::expand(value, now).map_err(|why| ArgError {
            message: format!("args.{key}: {why}"),
        })?;
        expanded.insert(key.clone(), value);
    }
    let args = Args::new(method, &expanded)?;
    (entry(method).handler)(client, queue, &args)
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value)
        .unwrap_or_else(|error| Value::String(format!("<result not serializable: {error}>")))
}

/// `{ items: [...] }` (plus the other fields of the list type), `items`
/// present even when empty.
fn items_json(value: &impl Serialize) -> Value {
    let mut json = to_json(value);
    if let Value::Object(fields) = &mut json {
        fields
            .entry("items")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    json
}

fn get_queue<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let request =
        GetQueueRequest::new(queue.clone()).with_stats(args.bool("get_stats")?.unwrap_or(false));
    Ok(Box::pin(async move {
        client.get_queue(request).await.map(|queue| to_json(&queue))
    }))
}

fn insert_task<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let mut request = InsertTaskRequest::new(queue.clone(), args.task("task")?);
    if let Some(retry) = args.bool("retry")? {
        request = request.with_retry(retry);
    }
    Ok(Box::pin(async move {
        client.insert_task(request).await.map(|task| to_json(&task))
    }))
}

fn get_task<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let task = match args.task_name("task")? {
        Ok(task) => task,
        Err(refused) => return Ok(refused_call(refused)),
    };
    let request = GetTaskRequest::new(queue.clone(), task);
    Ok(Box::pin(async move {
        client.get_task(request).await.map(|task| to_json(&task))
    }))
}

fn list_tasks<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    _args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let request = ListTasksRequest::new(queue.clone());
    Ok(Box::pin(async move {
        client
            .list_tasks(request)
            .await
            .map(|tasks| items_json(&tasks))
    }))
}

fn lease_tasks<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let mut request = LeaseTasksRequest::new(
        queue.clone(),
        args.required_u32("num_tasks")?,
        Duration::from_secs(u64::from(args.required_u32("lease_secs")?)),
    );
    // Set as given (not through `with_tag`), so a scenario can show the
    // client refusing `tag` without `group_by_tag`.
    request.group_by_tag = args.bool("group_by_tag")?.unwrap_or(false);
    request.tag = args.string("tag")?;
    if let Some(retry) = args.bool("retry")? {
        request = request.with_retry(retry);
    }
    Ok(Box::pin(async move {
        client
            .lease_tasks(request)
            .await
            .map(|tasks| items_json(&tasks))
    }))
}

/// The request, or the client's error for a task name it refuses.
fn modify_request(
    queue: &QueueRef,
    args: &Args<'_>,
) -> Result<Result<ModifyLeaseRequest, Error>, ArgError> {
    let id = match args.task_name("task")? {
        Ok(id) => id,
        Err(refused) => return Ok(Err(refused)),
    };
    let mut task = LeasedTask::new(
        id,
        Timestamp::from_micros(args.required_i64("lease_timestamp")?),
    );
    task.queue_name = args.string("queue_name")?;
    Ok(Ok(ModifyLeaseRequest::new(
        queue.clone(),
        task,
        Duration::from_secs(u64::from(args.required_u32("new_lease_seconds")?)),
    )))
}

/// A call the client refuses before sending: a task name is checked when
/// it is made, so the refusal comes before the request exists.
fn refused_call<'a>(error: Error) -> CallFuture<'a> {
    Box::pin(async move { Err(error) })
}

fn update_task<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let request = match modify_request(queue, args)? {
        Ok(request) => request,
        Err(refused) => return Ok(refused_call(refused)),
    };
    Ok(Box::pin(async move {
        client.update_task(request).await.map(|task| to_json(&task))
    }))
}

fn patch_task<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let request = match modify_request(queue, args)? {
        Ok(request) => request,
        Err(refused) => return Ok(refused_call(refused)),
    };
    Ok(Box::pin(async move {
        client.patch_task(request).await.map(|task| to_json(&task))
    }))
}

fn delete_task<'a>(
    client: &'a Client,
    queue: &'a QueueRef,
    args: &Args<'_>,
) -> Result<CallFuture<'a>, ArgError> {
    let task = match args.task_name("task")? {
        Ok(task) => task,
        Err(refused) => return Ok(refused_call(refused)),
    };
    let request = DeleteTaskRequest::new(queue.clone(), task);
    Ok(Box::pin(async move {
        client
            .delete_task(request)
            .await
            .map(|()| Value::Object(Map::new()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_has_one_entry_per_method_and_names_resolve() {
        for method in ApiMethod::ALL {
            assert_eq!(entry(method).method, method);
            assert_eq!(TABLE.iter().filter(|e| e.method == method).count(), 1);
            assert_eq!(super::method(method.short_name()), Some(method));
            assert_eq!(super::method(method.id()), Some(method));
        }
        assert_eq!(super::method("tasks.nope"), None);
    }

    fn args(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn bad_args_name_the_key() {
        let values = args(json!({"num_tasks": "many", "lease_secs": 60}));
        let parsed = Args::new(ApiMethod::TasksLease, &values).expect("known keys");
        let error = parsed.required_u32("num_tasks").expect_err("not a number");
        assert!(
            error
                .message
                .starts_with("args.num_tasks: expected a whole number"),
            "{error}"
        );

        let values = args(json!({"tsk": "t1"}));
        let error = Args::new(ApiMethod::TasksGet, &values).expect_err("unknown key");
        assert_eq!(
            error.message,
            "args.tsk: unknown argument for tasks.get; it takes: task"
        );

        let values = args(json!({}));
        let parsed = Args::new(ApiMethod::TasksUpdate, &values).expect("no keys");
        let error = modify_request(&QueueRef::new("p", "q"), &parsed).expect_err("missing");
        assert_eq!(
            error.message,
            "args.task: missing; this method needs it (for tasks.update)"
        );
    }

    #[test]
    fn lease_timestamps_take_numbers_strings_and_templates() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(100);
        let mut expanded = BTreeMap::new();
        for (key, value) in args(json!({
            "task": "t1", "new_lease_seconds": 60, "lease_timestamp": "{{now+60s}}"
        })) {
            expanded.insert(key, template::expand(&value, now).expect("template"));
        }
        let parsed = Args::new(ApiMethod::TasksPatch, &expanded).expect("keys");
        let request = modify_request(&QueueRef::new("p", "q"), &parsed)
            .expect("valid")
            .expect("a valid task name");
        assert_eq!(request.task.lease_timestamp.as_micros(), 160_000_000);
        let values = args(json!({"task": "t1", "new_lease_seconds": 60, "lease_timestamp": 5}));
        let parsed = Args::new(ApiMethod::TasksPatch, &values).expect("keys");
        let request = modify_request(&QueueRef::new("p", "q"), &parsed)
            .expect("valid")
            .expect("a valid task name");
        assert_eq!(request.task.lease_timestamp.as_micros(), 5);
    }
}
