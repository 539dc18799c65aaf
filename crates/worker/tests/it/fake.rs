//! An in-memory pull queue behind `TaskQueueApi`, on a `VirtualClock`, with the service's lease rules (ETA order,
//! `retry_count` incremented on lease, renewals and releases proved with the current `leaseTimestamp` of a lease
//! that has not run out), a log of every call in order, and injected renewal failures.
//!
//! Transient failures are real client errors (a refused connection to a closed port on 127.0.0.1), made before the
//! test starts, so the worker classifies them exactly as it would in production.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use taskqueue_auth::{AccessToken, StaticTokenProvider};
use taskqueue_client::{
    Client, DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, ListTasksRequest, ModifyLeaseRequest, QueueRef, TaskQueueApi,
};
use taskqueue_clock::{Clock, RetryPolicy, VirtualClock};
use taskqueue_model::{Task, TaskName, TaskQueue, Tasks, Tasks2, Timestamp, ValidationError};

pub(crate) const PROJECT: &str = "s~fake-project";
pub(crate) const QUEUE: &str = "work";
pub(crate) const DEAD: &str = "dead";

pub(crate) fn queue() -> QueueRef {
    QueueRef::new(PROJECT, QUEUE)
}

pub(crate) fn dead_queue() -> QueueRef {
    QueueRef::new(PROJECT, DEAD)
}

/// A virtual clock at 2030-01-01T00:00:00Z.
pub(crate) fn clock() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_893_456_000))
}

/// One call as the fake saw it, at a virtual time (seconds since the clock's start).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Lease {
        at: f64,
        ids: Vec<String>,
    },
    /// A renewal or release: the lease's remaining time when it arrived, and the new lease length.
    Modify {
        at: f64,
        id: String,
        remaining: f64,
        secs: u32,
        ok: bool,
    },
    Delete {
        at: f64,
        id: String,
    },
    Insert {
        at: f64,
        queue: String,
        task: Box<Task>,
    },
}

/// What the fake does with a renewal (a modify with a non-zero lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenewalPlan {
    Accept,
    /// Fail with a transient error this many times per renewal, then accept.
    TransientThenAccept(u32),
    /// Always fail with a transient error.
    AlwaysTransient,
    /// Refuse: the lease is not the caller's.
    Refuse,
}

#[derive(Debug)]
struct Stored {
    task: Task,
    /// µs since the epoch: the ETA, and the lease's end while leased.
    eta: i64,
    retry_count: i32,
}

struct State {
    queues: HashMap<String, BTreeMap<String, Stored>>,
    next_id: u64,
    events: Vec<Event>,
    renewal: RenewalPlan,
    /// Transient failures still due for the current renewal of each task.
    failures_due: HashMap<String, u32>,
    transient: VecDeque<Error>,
    refuse_inserts_into: Option<String>,
}

/// The fake. Cheap to clone: clones share the queues.
#[derive(Clone)]
pub(crate) struct FakeApi {
    clock: VirtualClock,
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    /// A fake with the queues `work` and `dead`, and `transient` ready-made transient errors.
    pub(crate) async fn new(clock: &VirtualClock, transient: usize) -> Self {
        let mut queues = HashMap::new();
        queues.insert(QUEUE.to_owned(), BTreeMap::new());
        queues.insert(DEAD.to_owned(), BTreeMap::new());
        Self {
            clock: clock.clone(),
            state: Arc::new(Mutex::new(State {
                queues,
                next_id: 0,
                events: Vec::new(),
                renewal: RenewalPlan::Accept,
                failures_due: HashMap::new(),
                transient: transient_errors(transient).await,
                refuse_inserts_into: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> i64 {
        Timestamp::from_system_time(self.clock.now()).as_micros()
    }

    fn secs(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    pub(crate) fn set_renewal(&self, plan: RenewalPlan) {
        self.lock().renewal = plan;
    }

    pub(crate) fn refuse_inserts_into(&self, queue: &str) {
        self.lock().refuse_inserts_into = Some(queue.to_owned());
    }

    /// Adds a task to `work` directly (not logged); returns its id.
    pub(crate) fn seed(&self, payload: &str, tag: Option<&str>) -> String {
        let now = self.now();
        let mut state = self.lock();
        state.next_id += 1;
        let id = format!("t{:05}", state.next_id);
        let mut task = Task::new(payload).with_id(id.clone());
        task.tag = tag.map(str::to_owned);
        task.enqueue_timestamp = Some(Timestamp::from_micros(now));
        // Available at once: the lease takes tasks whose ETA has passed.
        let stored = Stored {
            task,
            eta: now - 1,
            retry_count: 0,
        };
        state
            .queues
            .get_mut(QUEUE)
            .expect("work queue")
            .insert(id.clone(), stored);
        id
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The ids of the tasks left in `queue`.
    pub(crate) fn remaining(&self, queue: &str) -> Vec<String> {
        self.lock().queues[queue].keys().cloned().collect()
    }

    /// The tasks inserted into `queue`, in order.
    pub(crate) fn inserted(&self, queue: &str) -> Vec<Task> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Insert { queue: q, task, .. } if q == queue => Some(*task),
                _ => None,
            })
            .collect()
    }

    fn refusal(what: &str) -> Error {
        // A non-transient client error, as the worker sees a 400 for a lease that is no longer the caller's.
        Error::from(ValidationError::InvalidTaskName {
            name: format!("fake refusal: {what}"),
        })
    }

    fn modify(&self, request: &ModifyLeaseRequest) -> Result<Task, Error> {
        let now = self.now();
        let at = self.secs();
        let mut state = self.lock();
        let id = request.task.id.as_str().to_owned();
        let new_lease_seconds = u32::try_from(request.new_lease.as_secs()).expect("fits");
        let renewal = new_lease_seconds > 0;
        let plan = state.renewal;
        let stored = state.queues[&request.queue.queue].get(&id);
        let remaining = stored.map_or(-1.0, |s| (s.eta - now) as f64 / 1e6);
        let held = stored
            .is_some_and(|s| s.eta >= now && s.eta == request.task.lease_timestamp.as_micros());
        let log = |state: &mut State, ok: bool| {
            state.events.push(Event::Modify {
                at,
                id: id.clone(),
                remaining,
                secs: new_lease_seconds,
                ok,
            });
        };
        if renewal {
            match plan {
                RenewalPlan::Accept => {}
                RenewalPlan::Refuse => {
                    log(&mut state, false);
                    return Err(Self::refusal("lease refused"));
                }
                RenewalPlan::AlwaysTransient | RenewalPlan::TransientThenAccept(_) => {
                    let due = match plan {
                        RenewalPlan::TransientThenAccept(n) => {
                            *state.failures_due.entry(id.clone()).or_insert(n)
                        }
                        _ => 1,
                    };
                    if due > 0 {
                        if let Some(count) = state.failures_due.get_mut(&id) {
                            *count -= 1;
                        }
                        log(&mut state, false);
                        return Err(state
                            .transient
                            .pop_front()
                            .expect("enough transient errors"));
                    }
                    state.failures_due.remove(&id);
                }
            }
        }
        if !held {
            log(&mut state, false);
            return Err(Self::refusal("the lease is not held"));
        }
        log(&mut state, true);
        let stored = state
            .queues
            .get_mut(&request.queue.queue)
            .and_then(|q| q.get_mut(&id))
            .expect("held");
        stored.eta = now + i64::from(new_lease_seconds) * 1_000_000;
        let mut task = stored.task.clone();
        task.lease_timestamp = Some(Timestamp::from_micros(stored.eta));
        task.retry_count = Some(stored.retry_count);
        Ok(task)
    }
}

/// `n` real transient client errors: connections refused by a closed port on 127.0.0.1.
async fn transient_errors(n: usize) -> VecDeque<Error> {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let client = Client::builder()
        .base_url(format!(
            "http://127.0.0.1:{port}/taskqueue/v1beta2/projects/"
        ))
        .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new("t"))))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .expect("client");
    let mut errors = VecDeque::new();
    for _ in 0..n {
        let error = client
            .get_task(GetTaskRequest::new(
                queue(),
                TaskName::new("x").expect("a name"),
            ))
            .await
            .expect_err("nothing listens");
        assert!(error.is_transient(), "{error}");
        errors.push_back(error);
    }
    errors
}

#[async_trait]
impl TaskQueueApi for FakeApi {
    async fn get_queue(&self, _: GetQueueRequest) -> Result<TaskQueue, Error> {
        Ok(TaskQueue::default())
    }

    async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error> {
        let now = self.now();
        let at = self.secs();
        let mut state = self.lock();
        if state.refuse_inserts_into.as_deref() == Some(request.queue.queue.as_str()) {
            return Err(Self::refusal("insert refused"));
        }
        state.next_id += 1;
        let id = format!("d{:05}", state.next_id);
        let task = request.task.clone().with_id(id.clone());
        state.events.push(Event::Insert {
            at,
            queue: request.queue.queue.clone(),
            task: Box::new(task.clone()),
        });
        let stored = Stored {
            task: task.clone(),
            eta: now,
            retry_count: 0,
        };
        state
            .queues
            .get_mut(&request.queue.queue)
            .ok_or_else(|| Self::refusal("unknown queue"))?
            .insert(id, stored);
        Ok(task)
    }

    async fn get_task(&self, _: GetTaskRequest) -> Result<Task, Error> {
        Err(Self::refusal("get is not faked"))
    }

    async fn list_tasks(&self, _: ListTasksRequest) -> Result<Tasks2, Error> {
        Err(Self::refusal("list is not faked"))
    }

    async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error> {
        let now = self.now();
        let at = self.secs();
        let mut state = self.lock();
        let Some(tasks) = state.queues.get_mut(&request.queue.queue) else {
            return Err(Self::refusal("unknown queue"));
        };
        let mut available: Vec<(i64, String)> = tasks
            .iter()
            .filter(|(_, s)| s.eta < now)
            .filter(|(_, s)| match &request.tag {
                Some(tag) => s.task.tag.as_deref() == Some(tag.as_str()),
                None => true,
            })
            .map(|(id, s)| (s.eta, id.clone()))
            .collect();
        available.sort();
        let take = usize::try_from(request.num_tasks).expect("fits");
        let mut leased = Vec::new();
        for (_, id) in available.into_iter().take(take) {
            let stored = tasks.get_mut(&id).expect("listed");
            stored.eta = now + i64::try_from(request.lease.as_secs()).expect("fits") * 1_000_000;
            stored.retry_count += 1;
            let mut task = stored.task.clone();
            task.lease_timestamp = Some(Timestamp::from_micros(stored.eta));
            task.retry_count = Some(stored.retry_count);
            task.queue_name = Some(format!("projects/{PROJECT}/taskqueues/{QUEUE}"));
            leased.push(task);
        }
        state.events.push(Event::Lease {
            at,
            ids: leased.iter().filter_map(|t| t.id.clone()).collect(),
        });
        Ok(Tasks::new(leased))
    }

    async fn update_task(&self, request: ModifyLeaseRequest) -> Result<Task, Error> {
        self.modify(&request)
    }

    async fn patch_task(&self, request: ModifyLeaseRequest) -> Result<Task, Error> {
        self.modify(&request)
    }

    async fn delete_task(&self, request: DeleteTaskRequest) -> Result<(), Error> {
        let at = self.secs();
        let mut state = self.lock();
        state.events.push(Event::Delete {
            at,
            id: request.task.as_str().to_owned(),
        });
        state
            .queues
            .get_mut(&request.queue.queue)
            .and_then(|q| q.remove(request.task.as_str()))
            .map(|_| ())
            .ok_or_else(|| Self::refusal("no such task"))
    }
}

/// Runs `run` (a worker's run) in virtual time: lets every task settle, then moves the clock to the next pending
/// sleep, until `run` finishes or `limit` of virtual time has passed (which fails the test).
pub(crate) async fn drive<T: Send + 'static>(
    clock: &VirtualClock,
    limit: Duration,
    run: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let handle = tokio::spawn(run);
    loop {
        settle().await;
        if handle.is_finished() {
            return handle.await.expect("the run did not panic");
        }
        assert!(
            clock.elapsed() <= limit,
            "still running after {:?} of virtual time",
            clock.elapsed()
        );
        if clock.advance_to_next_sleeper().is_none() {
            settle().await;
            assert!(
                handle.is_finished() || clock.pending_sleepers() > 0,
                "nothing sleeps and the run is stuck"
            );
        }
    }
}

/// Lets every ready task run (the fake answers at once, so a few rounds of yielding suffice).
pub(crate) async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Moves virtual time forward by `by` in 100 ms steps, letting every task settle after each.
pub(crate) async fn advance(clock: &VirtualClock, by: Duration) {
    let step = Duration::from_millis(100);
    let until = clock.elapsed() + by;
    while clock.elapsed() < until {
        settle().await;
        clock.advance(step.min(until - clock.elapsed()));
    }
    settle().await;
}
