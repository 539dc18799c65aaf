//! The [`TaskQueueApi`] trait: one method per call, so tests can fake the
//! client without HTTP.

use async_trait::async_trait;
use taskqueue_model::{Task, TaskQueue, Tasks, Tasks2};

use crate::{
    DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, ListTasksRequest, PatchTaskRequest, UpdateTaskRequest,
};

/// The 8 methods of the Task Queue REST API v1beta2.
///
/// [`crate::Client`] implements it over HTTP. Code that takes
/// `&dyn TaskQueueApi` (or a generic `T: TaskQueueApi`) can be tested with
/// a fake that implements it in memory.
#[async_trait]
pub trait TaskQueueApi: Send + Sync {
    /// `taskqueue.taskqueues.get`: a queue's description.
    async fn get_queue(&self, request: GetQueueRequest) -> Result<TaskQueue, Error>;

    /// `taskqueue.tasks.insert`: adds a task; returns it with its `id`.
    async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error>;

    /// `taskqueue.tasks.get`: one task, without leasing it.
    async fn get_task(&self, request: GetTaskRequest) -> Result<Task, Error>;

    /// `taskqueue.tasks.list`: up to 100 tasks, without payloads.
    async fn list_tasks(&self, request: ListTasksRequest) -> Result<Tasks2, Error>;

    /// `taskqueue.tasks.lease`: leases available tasks, oldest ETA first.
    async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error>;

    /// `taskqueue.tasks.update`: extends or releases a lease (POST).
    async fn update_task(&self, request: UpdateTaskRequest) -> Result<Task, Error>;

    /// `taskqueue.tasks.patch`: extends or releases a lease (PATCH).
    async fn patch_task(&self, request: PatchTaskRequest) -> Result<Task, Error>;

    /// `taskqueue.tasks.delete`: deletes a task.
    async fn delete_task(&self, request: DeleteTaskRequest) -> Result<(), Error>;
}
