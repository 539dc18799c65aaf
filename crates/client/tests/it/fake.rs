//! Downstream code written against `TaskQueueApi` can be tested with a fake,
//! no HTTP involved.

use std::sync::Mutex;

use async_trait::async_trait;
use taskqueue_client::{
    DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, ListTasksRequest, PatchTaskRequest, TaskQueueApi, UpdateTaskRequest,
};
use taskqueue_model::{Task, TaskQueue, Tasks, Tasks2};

use crate::support::{queue, secs};

/// An in-memory queue: insert appends, lease takes from the front.
#[derive(Default)]
struct InMemoryQueue {
    tasks: Mutex<Vec<Task>>,
}

#[async_trait]
impl TaskQueueApi for InMemoryQueue {
    async fn get_queue(&self, _: GetQueueRequest) -> Result<TaskQueue, Error> {
        Ok(TaskQueue::default())
    }
    async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error> {
        self.tasks.lock().expect("lock").push(request.task.clone());
        Ok(request.task)
    }
    async fn get_task(&self, _: GetTaskRequest) -> Result<Task, Error> {
        Ok(Task::default())
    }
    async fn list_tasks(&self, _: ListTasksRequest) -> Result<Tasks2, Error> {
        Ok(Tasks2::new(self.tasks.lock().expect("lock").clone()))
    }
    async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error> {
        let mut tasks = self.tasks.lock().expect("lock");
        let n = usize::try_from(request.num_tasks)
            .expect("fits")
            .min(tasks.len());
        Ok(Tasks::new(tasks.drain(..n).collect()))
    }
    async fn update_task(&self, _: UpdateTaskRequest) -> Result<Task, Error> {
        Ok(Task::default())
    }
    async fn patch_task(&self, _: PatchTaskRequest) -> Result<Task, Error> {
        Ok(Task::default())
    }
    async fn delete_task(&self, _: DeleteTaskRequest) -> Result<(), Error> {
        Ok(())
    }
}

/// Code under test: drains up to `n` tasks and returns their payloads.
async fn drain(api: &dyn TaskQueueApi, n: u32) -> Result<Vec<Vec<u8>>, Error> {
    let leased = api
        .lease_tasks(LeaseTasksRequest::new(queue(), n, secs(60)))
        .await?;
    Ok(leased
        .into_iter()
        .filter_map(|task| task.payload.map(|p| p.into_bytes()))
        .collect())
}

#[tokio::test]
async fn a_fake_stands_in_for_the_client() {
    let fake = InMemoryQueue::default();
    for payload in ["a", "b", "c"] {
        fake.insert_task(InsertTaskRequest::new(queue(), Task::new(payload)))
            .await
            .expect("insert");
    }
    let drained = drain(&fake, 2).await.expect("drain");
    assert_eq!(drained, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(
        fake.list_tasks(ListTasksRequest::new(queue()))
            .await
            .expect("list")
            .len(),
        1
    );
}
