//! The arguments of the 8 calls, one struct each.
//!
//! Constructors never fail: task names come as [`TaskName`] (checked when
//! made), and the client validates every other argument before sending,
//! reporting the first problem as a typed error.
//!
//! Every struct is `#[non_exhaustive]`: build it with its `new` and the
//! `with_*` setters, so that options added later break no caller.

use std::time::Duration;

use taskqueue_model::{Task, TaskName, Timestamp};

/// The queue a call addresses: the project path segment, sent verbatim (so
/// `s~app` works), and the short queue name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueRef {
    /// The project path segment, for example `my-app` or `s~my-app`.
    pub project: String,
    /// The queue's short name, as in `queue.yaml`.
    pub queue: String,
}

impl QueueRef {
    /// The queue `queue` of `project`.
    pub fn new(project: impl Into<String>, queue: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            queue: queue.into(),
        }
    }
}

/// `taskqueue.taskqueues.get`: a queue's description, with statistics if asked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetQueueRequest {
    /// The queue.
    pub queue: QueueRef,
    /// Whether to fill in `stats`.
    pub get_stats: bool,
    /// Whether transient failures are retried (default: yes).
    pub retry: bool,
}

impl GetQueueRequest {
    /// Gets `queue`, without statistics.
    pub fn new(queue: QueueRef) -> Self {
        Self {
            queue,
            get_stats: false,
            retry: true,
        }
    }

    /// Asks for `stats` (totalTasks, oldestTask, leasedLastMinute, leasedLastHour).
    pub fn with_stats(mut self, get_stats: bool) -> Self {
        self.get_stats = get_stats;
        self
    }

    /// Whether transient failures are retried.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// `taskqueue.tasks.insert`: adds a task.
///
/// Not retried by default: if a response is lost, a retry may insert the
/// task twice (unless it is named, in which case the retry fails with a
/// conflict instead).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InsertTaskRequest {
    /// The queue.
    pub queue: QueueRef,
    /// The task. `queueName` is filled in from the queue when absent;
    /// `leaseTimestamp`, when set, is the time the task first becomes
    /// available for lease (its ETA).
    pub task: Task,
    /// Whether transient failures are retried (default: no).
    pub retry: bool,
}

impl InsertTaskRequest {
    /// Inserts `task` into `queue`.
    pub fn new(queue: QueueRef, task: Task) -> Self {
        Self {
            queue,
            task,
            retry: false,
        }
    }

    /// Whether transient failures are retried. Opt in only if a duplicate
    /// task does no harm, or the task is named.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// `taskqueue.tasks.get`: one task, without leasing it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GetTaskRequest {
    /// The queue.
    pub queue: QueueRef,
    /// The task's name (`id`).
    pub task: TaskName,
    /// Whether transient failures are retried (default: yes).
    pub retry: bool,
}

impl GetTaskRequest {
    /// Gets task `task` of `queue`.
    pub fn new(queue: QueueRef, task: TaskName) -> Self {
        Self {
            queue,
            task,
            retry: true,
        }
    }

    /// Whether transient failures are retried.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// `taskqueue.tasks.list`: up to 100 tasks, leased or not, without payloads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListTasksRequest {
    /// The queue.
    pub queue: QueueRef,
    /// Whether transient failures are retried (default: yes).
    pub retry: bool,
}

impl ListTasksRequest {
    /// Lists the tasks of `queue`.
    pub fn new(queue: QueueRef) -> Self {
        Self { queue, retry: true }
    }

    /// Whether transient failures are retried.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// `taskqueue.tasks.lease`: leases up to `num_tasks` available tasks for
/// `lease` (sent as whole seconds, rounded up), oldest ETA first.
///
/// Not retried by default: if a response is lost, a retry leases more
/// tasks, and the first ones stay leased until their lease expires.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LeaseTasksRequest {
    /// The queue.
    pub queue: QueueRef,
    /// How many tasks at most (1..=1000).
    pub num_tasks: u32,
    /// How long the lease lasts: up to a week, sent as `leaseSecs`, rounded
    /// up to whole seconds.
    pub lease: Duration,
    /// Whether to lease only tasks sharing one tag.
    pub group_by_tag: bool,
    /// The tag to lease; only with `group_by_tag`. Without it, the tag of
    /// the oldest available task is used.
    pub tag: Option<String>,
    /// Whether transient failures are retried (default: no).
    pub retry: bool,
}

impl LeaseTasksRequest {
    /// Leases up to `num_tasks` tasks of `queue` for `lease`.
    pub fn new(queue: QueueRef, num_tasks: u32, lease: Duration) -> Self {
        Self {
            queue,
            num_tasks,
            lease,
            group_by_tag: false,
            tag: None,
            retry: false,
        }
    }

    /// Leases only tasks sharing the tag of the oldest available task.
    pub fn group_by_tag(mut self) -> Self {
        self.group_by_tag = true;
        self
    }

    /// Leases only tasks tagged `tag` (sets `group_by_tag` too).
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.group_by_tag = true;
        self.tag = Some(tag.into());
        self
    }

    /// Whether transient failures are retried. Opt in only if leasing extra
    /// tasks does no harm.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// The body fields that identify a leased task to update or patch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LeasedTask {
    /// The task's name (`id`).
    pub id: TaskName,
    /// `queueName` as the lease returned it (production sent the long form
    /// `projects/{project}/taskqueues/{queue}`); the short name if unknown.
    pub queue_name: Option<String>,
    /// The `leaseTimestamp` the lease returned, which proves ownership.
    pub lease_timestamp: Timestamp,
}

impl LeasedTask {
    /// The task `id`, leased at `lease_timestamp`, in the queue the request
    /// addresses.
    pub fn new(id: TaskName, lease_timestamp: Timestamp) -> Self {
        Self {
            id,
            queue_name: None,
            lease_timestamp,
        }
    }

    /// The `queueName` to send (the form the lease returned).
    pub fn with_queue_name(mut self, queue_name: impl Into<String>) -> Self {
        self.queue_name = Some(queue_name.into());
        self
    }

    /// The identifying fields of a task returned by a lease; `None` if the
    /// task lacks its `leaseTimestamp`, or an `id` that is a valid task name.
    pub fn from_task(task: &Task) -> Option<Self> {
        Some(Self {
            id: TaskName::new(task.id.clone()?).ok()?,
            queue_name: task.queue_name.clone(),
            lease_timestamp: task.lease_timestamp?,
        })
    }
}

/// `taskqueue.tasks.update` (POST) and `taskqueue.tasks.patch` (PATCH):
/// extend or release a lease.
///
/// Both send `id`, `queueName` (which the service requires on patch) and the
/// `leaseTimestamp` from the lease, which proves ownership to the service.
/// A `new_lease` of zero releases the task.
///
/// Retried by default: a retry after a lost success response is refused as
/// a lease mismatch (the lease timestamp moved), never applied twice.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModifyLeaseRequest {
    /// The queue.
    pub queue: QueueRef,
    /// The leased task.
    pub task: LeasedTask,
    /// The new lease length from now: up to a week, sent as
    /// `newLeaseSeconds`, rounded up to whole seconds; zero releases the task.
    pub new_lease: Duration,
    /// Whether transient failures are retried (default: yes).
    pub retry: bool,
}

/// The arguments of `taskqueue.tasks.update`.
pub type UpdateTaskRequest = ModifyLeaseRequest;

/// The arguments of `taskqueue.tasks.patch`.
pub type PatchTaskRequest = ModifyLeaseRequest;

impl ModifyLeaseRequest {
    /// Sets the lease of `task` to end `new_lease` from now.
    pub fn new(queue: QueueRef, task: LeasedTask, new_lease: Duration) -> Self {
        Self {
            queue,
            task,
            new_lease,
            retry: true,
        }
    }

    /// Whether transient failures are retried.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}

/// `taskqueue.tasks.delete`: deletes a task, leased or not.
///
/// Retried by default; a retry after a lost success response reports that
/// the task no longer exists.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteTaskRequest {
    /// The queue.
    pub queue: QueueRef,
    /// The task's name (`id`).
    pub task: TaskName,
    /// Whether transient failures are retried (default: yes).
    pub retry: bool,
}

impl DeleteTaskRequest {
    /// Deletes task `task` of `queue`.
    pub fn new(queue: QueueRef, task: TaskName) -> Self {
        Self {
            queue,
            task,
            retry: true,
        }
    }

    /// Whether transient failures are retried.
    pub fn with_retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }
}
