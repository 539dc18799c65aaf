//! A worker loop against the reference server: insert a task, lease it, extend the lease, delete it.
//!
//! ```sh
//! cargo run -p taskqueue-server -- init dev
//! cargo run -p taskqueue-server -- serve --config dev/taskqueue-server.yaml &
//! GOOGLE_APPLICATION_CREDENTIALS=dev/service-account.json \
//!     cargo run -p taskqueue-client --example reference_server
//! ```
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use std::time::Duration;

use taskqueue_client::{
    Client, DeleteTaskRequest, InsertTaskRequest, LeaseTasksRequest, LeasedTask, QueueRef, Task,
    UpdateTaskRequest, auth,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let adc = auth::application_default_credentials().await?;
    let client = Client::builder()
        .base_url("http://127.0.0.1:8080/taskqueue/v1beta2/projects/")
        .token_provider(adc.provider())
        .build()?;
    let queue = QueueRef::new("s~dev-project", "pull-queue");

    let inserted = client
        .insert_task(InsertTaskRequest::new(
            queue.clone(),
            Task::new("resize photo 42").with_tag("resize"),
        ))
        .await?;
    println!("inserted {:?}", inserted.id);

    let leased = client
        .lease_tasks(LeaseTasksRequest::new(
            queue.clone(),
            10,
            Duration::from_secs(60),
        ))
        .await?;
    for task in &leased {
        let Some(lease) = LeasedTask::from_task(task) else {
            continue;
        };
        // Need more time? Extend the lease, proving ownership with its timestamp.
        let extended = client
            .update_task(UpdateTaskRequest::new(
                queue.clone(),
                lease,
                Duration::from_secs(120),
            ))
            .await?;
        let Some(lease) = LeasedTask::from_task(&extended) else {
            continue;
        };
        println!("working on {} (lease {})", lease.id, lease.lease_timestamp);
        client
            .delete_task(DeleteTaskRequest::new(queue.clone(), lease.id))
            .await?;
    }
    println!("{} task(s) done", leased.len());
    Ok(())
}
