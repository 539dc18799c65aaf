//! End to end: our own `taskqueue-client` against the reference server started on 127.0.0.1, in virtual time,
//! through every one of the 8 methods, and the client's typed errors for the server's refusals.
//!
//! (The server never depends on the client; only this test does, as a dev-dependency.)

use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{AccessToken, Scope, ScopeSet, StaticTokenProvider};
use taskqueue_client::{
    Client, DeleteTaskRequest, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, LeasedTask, ListTasksRequest, PatchTaskRequest, QueueRef, UpdateTaskRequest,
};
use taskqueue_clock::{Clock as _, SharedClock};
use taskqueue_model::{Task, TaskName};
use taskqueue_server::config::{QueueAcl, QueueDef, ServerConfig};
use taskqueue_server::serve::{self, ClockMode, RunningServer};

use crate::support;

const WORKER: &str = "worker@dev-project.iam.gserviceaccount.com";
const STRANGER: &str = "stranger@example.com";

async fn server() -> RunningServer {
    let mut config = ServerConfig::new("dev-project");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.queues.insert(
        QueueDef::new("pull-queue")
            .with_acl(QueueAcl::new(vec![WORKER.into()], vec![WORKER.into()]))
            .with_max_leases(Some(5)),
    );
    serve::start(
        config,
        ClockMode::Virtual {
            start: support::clock().now(),
        },
    )
    .await
    .expect("start")
}

/// A client of `server` holding a token the server issued to `email` with `scopes`, on the server's clock.
async fn client(server: &RunningServer, email: &str, scopes: &[Scope]) -> Client {
    let state = server.state();
    let scopes = ScopeSet::from_iter(scopes.iter().cloned());
    let token = state
        .tokens
        .issue(
            email,
            scopes.clone(),
            Duration::from_secs(3600),
            state.now(),
        )
        .await
        .expect("the token is saved");
    let clock: SharedClock = server.virtual_clock().expect("virtual").clone();
    Client::builder()
        .base_url(server.api_base_url())
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new(token))))
        .scopes(scopes)
        .preflight_scope_check(false)
        .clock(clock)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_worker_runs_every_method_against_the_server() {
    let server = server().await;
    let client = client(&server, WORKER, &[Scope::Taskqueue]).await;
    let queue = QueueRef::new("s~dev-project", "pull-queue");

    let inserted = client
        .insert_task(InsertTaskRequest::new(
            queue.clone(),
            Task::new("resize photo 42").with_tag("resize"),
        ))
        .await
        .expect("insert");
    let name = TaskName::new(inserted.id.clone().expect("the server names the task"))
        .expect("a valid task name");
    assert_eq!(
        inserted.queue_name.as_deref(),
        Some("projects/s~dev-project/taskqueues/pull-queue")
    );

    let fetched = client
        .get_task(GetTaskRequest::new(queue.clone(), name.clone()))
        .await
        .expect("get");
    assert_eq!(
        fetched.payload.as_ref().map(|p| p.as_bytes().to_vec()),
        Some(b"resize photo 42".to_vec())
    );

    let listed = client
        .list_tasks(ListTasksRequest::new(queue.clone()))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert!(
        listed.items[0].payload.is_none(),
        "list leaves payloads out"
    );

    let leased = client
        .lease_tasks(
            LeaseTasksRequest::new(queue.clone(), 10, Duration::from_secs(60))
                .group_by_tag()
                .with_tag("resize"),
        )
        .await
        .expect("lease");
    assert_eq!(leased.items.len(), 1);
    assert_eq!(leased.items[0].retry_count, Some(1));
    let lease = LeasedTask::from_task(&leased.items[0]).expect("a lease");

    let extended = client
        .update_task(UpdateTaskRequest::new(
            queue.clone(),
            lease.clone(),
            Duration::from_secs(120),
        ))
        .await
        .expect("update");
    let lease = LeasedTask::from_task(&extended).expect("a lease");
    let patched = client
        .patch_task(PatchTaskRequest::new(
            queue.clone(),
            lease.clone(),
            Duration::from_secs(300),
        ))
        .await
        .expect("patch");
    assert!(patched.lease_timestamp > extended.lease_timestamp);

    let stats = client
        .get_queue(GetQueueRequest::new(queue.clone()).with_stats(true))
        .await
        .expect("get queue");
    assert_eq!(stats.max_leases, Some(5));
    let stats = stats.stats.expect("stats");
    assert_eq!(stats.total_tasks, Some(1));
    assert_eq!(stats.leased_last_minute, Some(1));

    client
        .delete_task(DeleteTaskRequest::new(queue.clone(), name.clone()))
        .await
        .expect("delete");
    let gone = client
        .get_task(GetTaskRequest::new(queue.clone(), name))
        .await
        .expect_err("deleted");
    assert!(gone.is_not_found(), "{gone}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_client_sees_the_servers_refusals_as_typed_errors() {
    let server = server().await;
    let queue = QueueRef::new("dev-project", "pull-queue");

    let consumer = client(&server, WORKER, &[Scope::TaskqueueConsumer]).await;
    let denied = consumer
        .insert_task(InsertTaskRequest::new(queue.clone(), Task::new("x")))
        .await
        .expect_err("read-only scope");
    assert!(denied.is_scope_denied(), "{denied}");
    assert!(
        consumer
            .list_tasks(ListTasksRequest::new(queue.clone()))
            .await
            .is_ok()
    );

    let stranger = client(&server, STRANGER, &[Scope::Taskqueue]).await;
    let refused = stranger
        .list_tasks(ListTasksRequest::new(queue.clone()))
        .await
        .expect_err("not in the ACL");
    assert!(refused.is_acl_denied(), "{refused}");

    let worker = client(&server, WORKER, &[Scope::Taskqueue]).await;
    server
        .virtual_clock()
        .expect("virtual")
        .advance(Duration::from_secs(3600));
    let expired = worker
        .list_tasks(ListTasksRequest::new(queue.clone()))
        .await
        .expect_err("the token expired");
    assert!(expired.is_unauthenticated(), "{expired}");

    let fresh = client(&server, WORKER, &[Scope::Taskqueue]).await;
    let unknown = fresh
        .get_queue(GetQueueRequest::new(QueueRef::new(
            "dev-project",
            "no-such-queue",
        )))
        .await
        .expect_err("unknown queue");
    assert!(unknown.is_not_found(), "{unknown}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_over_http_never_share_a_task_and_lose_none() {
    const TASKS: usize = 300;
    const WORKERS: usize = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new("dev-project");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.queues.insert(QueueDef::new("pull-queue"));
    let store = Arc::new(
        taskqueue_server::SqliteStore::open(
            dir.path().join("tasks.sqlite"),
            taskqueue_server::StoreConfig::default(),
        )
        .expect("open"),
    );
    let server = serve::start_with_store(
        config,
        store,
        ClockMode::Virtual {
            start: support::clock().now(),
        },
    )
    .await
    .expect("start");
    let queue = QueueRef::new("s~dev-project", "pull-queue");
    let producer = client(&server, WORKER, &[Scope::Taskqueue]).await;
    for n in 0..TASKS {
        producer
            .insert_task(InsertTaskRequest::new(
                queue.clone(),
                Task::new(format!("job {n}")).with_id(format!("job-{n}")),
            ))
            .await
            .expect("insert");
    }

    // Virtual time stands still, so no lease expires: every task is leased exactly once.
    let mut clients = Vec::new();
    for _ in 0..WORKERS {
        clients.push(client(&server, WORKER, &[Scope::Taskqueue]).await);
    }
    let workers: Vec<_> = clients
        .into_iter()
        .map(|worker| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut held = Vec::new();
                loop {
                    let leased = worker
                        .lease_tasks(LeaseTasksRequest::new(
                            queue.clone(),
                            7,
                            Duration::from_secs(600),
                        ))
                        .await
                        .expect("lease");
                    if leased.items.is_empty() {
                        return held;
                    }
                    held.extend(leased.items.into_iter().filter_map(|task| task.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "a task was handed to two holders"
    );
    assert_eq!(all.len(), TASKS, "every task was leased once");

    for name in &all {
        producer
            .delete_task(DeleteTaskRequest::new(
                queue.clone(),
                TaskName::new(name.as_str()).expect("a valid task name"),
            ))
            .await
            .expect("delete");
    }
    let left = producer
        .list_tasks(ListTasksRequest::new(queue.clone()))
        .await
        .expect("list");
    assert!(left.items.is_empty(), "{} tasks left", left.items.len());
    server.shutdown().await.expect("shutdown");
}
