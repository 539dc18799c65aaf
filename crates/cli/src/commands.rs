//! The one-call commands: insert, lease, get, list, delete, renew, stats.

use std::io::Read as _;
use std::path::Path;

use taskqueue_client::{
    Client, DeleteTaskRequest, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, LeasedTask, ListTasksRequest, QueueRef, UpdateTaskRequest,
};
use taskqueue_clock::Clock as _;
use taskqueue_model::{Task, TaskName, Timestamp};

use crate::args::{InsertArgs, LeaseArgs, RenewArgs};
use crate::eta;
use crate::failure::Failure;
use crate::output::{self, Out, TASK_HEADER};

/// A task name from the command line, checked.
fn task_name(name: &str) -> Result<TaskName, Failure> {
    TaskName::new(name).map_err(|error| Failure::usage(error.to_string()))
}

fn io_failure(error: std::io::Error) -> Failure {
    Failure::other(
        crate::failure::code::API,
        format!("cannot write the output: {error}"),
    )
}

/// The payload of `insert`: the argument, the file (`-`: stdin), or stdin.
fn payload(args: &InsertArgs) -> Result<Vec<u8>, Failure> {
    if let Some(payload) = &args.payload {
        return Ok(payload.clone().into_bytes());
    }
    match args.file.as_deref() {
        Some(path) if path != Path::new("-") => std::fs::read(path).map_err(|error| {
            Failure::usage(format!(
                "cannot read the payload file {}: {error}",
                path.display()
            ))
        }),
        _ => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|error| {
                Failure::usage(format!(
                    "cannot read the payload from standard input: {error}"
                ))
            })?;
            Ok(bytes)
        }
    }
}

pub(crate) async fn insert(
    client: &Client,
    queue: QueueRef,
    args: &InsertArgs,
    out: &Out,
) -> Result<(), Failure> {
    let mut task = Task::new(payload(args)?);
    task.tag.clone_from(&args.tag);
    task.id.clone_from(&args.name);
    if let Some(text) = &args.eta {
        task = task.with_eta(eta::parse(text, taskqueue_clock::SystemClock::new().now())?);
    }
    // Named tasks are safe to retry: a duplicate is refused, never inserted twice.
    let retry = args.name.is_some();
    let inserted = client
        .insert_task(InsertTaskRequest::new(queue.clone(), task).with_retry(retry))
        .await
        .map_err(|error| Failure::api(&format!("insert into {}", queue.queue), &error))?;
    if out.is_json() {
        return out.json(&inserted).map_err(io_failure);
    }
    out.line(&format!(
        "inserted task {} into {}",
        inserted.id.as_deref().unwrap_or("?"),
        queue.queue
    ))
    .map_err(io_failure)
}

pub(crate) async fn lease(
    client: &Client,
    queue: QueueRef,
    args: &LeaseArgs,
    out: &Out,
) -> Result<(), Failure> {
    let mut request = LeaseTasksRequest::new(queue.clone(), args.num, args.lease);
    if let Some(tag) = &args.tag {
        request = request.with_tag(tag.clone());
    } else if args.group_by_tag {
        request = request.group_by_tag();
    }
    let leased = client
        .lease_tasks(request)
        .await
        .map_err(|error| Failure::api(&format!("lease from {}", queue.queue), &error))?;
    if out.is_json() {
        return out.json(&leased).map_err(io_failure);
    }
    if leased.items.is_empty() {
        return out.line("no task available").map_err(io_failure);
    }
    let rows: Vec<_> = leased.items.iter().map(output::task_row).collect();
    out.table(TASK_HEADER, &rows).map_err(io_failure)
}

pub(crate) async fn get(
    client: &Client,
    queue: QueueRef,
    task: &str,
    out: &Out,
) -> Result<(), Failure> {
    let task = client
        .get_task(GetTaskRequest::new(queue.clone(), task_name(task)?))
        .await
        .map_err(|error| Failure::api(&format!("get task {task} of {}", queue.queue), &error))?;
    if out.is_json() {
        return out.json(&task).map_err(io_failure);
    }
    out.table(&["FIELD", "VALUE"], &output::task_fields(&task))
        .map_err(io_failure)
}

pub(crate) async fn list(client: &Client, queue: QueueRef, out: &Out) -> Result<(), Failure> {
    let tasks = client
        .list_tasks(ListTasksRequest::new(queue.clone()))
        .await
        .map_err(|error| Failure::api(&format!("list {}", queue.queue), &error))?;
    if out.is_json() {
        return out.json(&tasks).map_err(io_failure);
    }
    if tasks.items.is_empty() {
        return out.line("no task").map_err(io_failure);
    }
    let rows: Vec<_> = tasks.items.iter().map(output::task_row).collect();
    out.table(TASK_HEADER, &rows).map_err(io_failure)
}

pub(crate) async fn delete(
    client: &Client,
    queue: QueueRef,
    task: &str,
    out: &Out,
) -> Result<(), Failure> {
    client
        .delete_task(DeleteTaskRequest::new(queue.clone(), task_name(task)?))
        .await
        .map_err(|error| Failure::api(&format!("delete task {task} of {}", queue.queue), &error))?;
    if out.is_json() {
        return out
            .json(&serde_json::json!({ "deleted": task }))
            .map_err(io_failure);
    }
    out.line(&format!("deleted task {task}"))
        .map_err(io_failure)
}

pub(crate) async fn renew(
    client: &Client,
    queue: QueueRef,
    args: &RenewArgs,
    out: &Out,
) -> Result<(), Failure> {
    let lease = LeasedTask::new(
        task_name(&args.task)?,
        Timestamp::from_micros(args.lease_timestamp),
    )
    .with_queue_name(queue.queue.clone());
    let secs = args.lease.as_secs();
    let task = client
        .update_task(UpdateTaskRequest::new(queue.clone(), lease, args.lease))
        .await
        .map_err(|error| Failure::api(&format!("renew the lease of task {}", args.task), &error))?;
    if out.is_json() {
        return out.json(&task).map_err(io_failure);
    }
    let message = if secs == 0 {
        format!("released task {}", args.task)
    } else {
        format!(
            "task {} leased until {} (leaseTimestamp {})",
            args.task,
            task.lease_timestamp
                .map_or_else(|| "?".to_owned(), eta::format),
            task.lease_timestamp
                .map_or_else(|| "?".to_owned(), |t| t.as_micros().to_string()),
        )
    };
    out.line(&message).map_err(io_failure)
}

pub(crate) async fn stats(client: &Client, queue: QueueRef, out: &Out) -> Result<(), Failure> {
    let found = client
        .get_queue(GetQueueRequest::new(queue.clone()).with_stats(true))
        .await
        .map_err(|error| Failure::api(&format!("get queue {}", queue.queue), &error))?;
    if out.is_json() {
        return out.json(&found).map_err(io_failure);
    }
    let stats = found.stats.clone().unwrap_or_default();
    let show = |value: Option<i64>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let rows = vec![
        vec![
            "queue".to_owned(),
            found.id.clone().unwrap_or_else(|| queue.queue.clone()),
        ],
        vec![
            "maxLeases".to_owned(),
            show(found.max_leases.map(i64::from)),
        ],
        vec![
            "totalTasks".to_owned(),
            show(stats.total_tasks.map(i64::from)),
        ],
        vec!["oldestTask".to_owned(), show(stats.oldest_task)],
        vec![
            "leasedLastMinute".to_owned(),
            show(stats.leased_last_minute),
        ],
        vec!["leasedLastHour".to_owned(), show(stats.leased_last_hour)],
    ];
    out.table(&["FIELD", "VALUE"], &rows).map_err(io_failure)
}
