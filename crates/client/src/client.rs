//! [`Client`], its builder, and the 8 calls over HTTP.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskqueue_auth::{NetworkOptions, ScopeSet, TokenProvider};
use taskqueue_clock::SharedClock;
use taskqueue_model::{
    API_PATH, ApiMethod, Task, TaskQueue, Tasks, Tasks2, Timestamp, kind, validate,
};
use taskqueue_transport::http::Method;
use taskqueue_transport::url::Url;
use taskqueue_transport::{Request, RetryPolicy, Transport, TransportBuilder};

use crate::paths::Paths;
use crate::{
    DeleteTaskRequest, Error, GetQueueRequest, GetTaskRequest, InsertTaskRequest,
    LeaseTasksRequest, LeasedTask, ListTasksRequest, ModifyLeaseRequest, PatchTaskRequest,
    QueueRef, ScopeDenied, TaskQueueApi, UpdateTaskRequest,
};

/// The production base URL of the v1beta2 API. Google has switched it off:
/// point the builder at your own server with [`ClientBuilder::base_url`] or
/// [`EMULATOR_HOST_VAR`].
pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com/taskqueue/v1beta2/projects/";

/// The environment variable naming a local server (`host:port`, or a URL
/// with its scheme) that [`Client::builder`] points the client at, as
/// Google's libraries do with `PUBSUB_EMULATOR_HOST` and the like:
/// `TASKQUEUE_EMULATOR_HOST=127.0.0.1:8080` gives the base URL
/// `http://127.0.0.1:8080/taskqueue/v1beta2/projects/`.
///
/// Only the base URL changes: the client still needs a token provider (the
/// reference server checks tokens). An explicit [`ClientBuilder::base_url`]
/// wins over the variable.
pub const EMULATOR_HOST_VAR: &str = "TASKQUEUE_EMULATOR_HOST";

/// A Task Queue client, cheap to clone: clones share the connection pool,
/// token provider, retry policy and clock.
///
/// # Scopes
///
/// Before sending, every call checks that the scopes the client requests
/// allow it, per the scope table of docs/wire-format.md §7 ([`crate::accepted_scopes`]): the
/// consumer scopes are read-only, so with only those, `tasks.insert`,
/// `tasks.lease`, `tasks.update`, `tasks.patch` and `tasks.delete` fail with
/// [`Error::is_scope_denied`] and nothing is sent. Turn the check off with
/// [`ClientBuilder::preflight_scope_check`] for a server that accepts more;
/// the server's 403 then gives the same typed error.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    transport: Transport,
    paths: Paths,
    base_url: Url,
    clock: SharedClock,
    preflight_scope_check: bool,
}

impl Client {
    /// A builder with the transport's defaults, and the base URL of the
    /// server named by [`EMULATOR_HOST_VAR`] if it is set (and not empty),
    /// else the production base URL ([`DEFAULT_BASE_URL`]).
    pub fn builder() -> ClientBuilder {
        let emulator = std::env::var(EMULATOR_HOST_VAR).ok();
        ClientBuilder {
            base_url: emulator
                .as_deref()
                .and_then(emulator_base_url)
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            transport: Transport::builder(),
            preflight_scope_check: true,
        }
    }

    /// A client over an existing transport (sharing its pool and settings),
    /// with the pre-flight scope check on.
    pub fn with_transport(base_url: &str, transport: Transport) -> Result<Self, Error> {
        let base = parse_base_url(base_url)?;
        let clock = transport.clock().clone();
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                paths: Paths::new(&base),
                base_url: base,
                clock,
                preflight_scope_check: true,
            }),
        })
    }

    /// The same client with the pre-flight scope check on or off (see
    /// [`ClientBuilder::preflight_scope_check`]).
    #[must_use]
    pub fn with_preflight_scope_check(self, enabled: bool) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.preflight_scope_check = enabled;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Whether every call first checks the client's scopes.
    pub fn preflight_scope_check(&self) -> bool {
        self.inner.preflight_scope_check
    }

    /// The base URL calls are sent under, ending in `projects/`.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// The transport under this client.
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Checks that the scopes this client requests allow `method`, per the
    /// scope table (docs/wire-format.md §7), without sending anything.
    ///
    /// Fails with an error for which [`Error::is_scope_denied`] holds, naming
    /// the scopes `method` accepts. Calls run this check first unless
    /// [`ClientBuilder::preflight_scope_check`] turned it off. It reads only
    /// the configured scopes, so a token whose scopes differ from those
    /// requested (a static token, the Compute Engine metadata server) is
    /// judged by the server alone.
    pub fn check_scopes(&self, method: ApiMethod) -> Result<(), Error> {
        let requested = self.inner.transport.scopes();
        if taskqueue_auth::allows(requested, method) {
            Ok(())
        } else {
            Err(Error::preflight(ScopeDenied::preflight(method, requested)))
        }
    }

    /// The pre-flight check, if enabled.
    fn preflight(&self, method: ApiMethod) -> Result<(), Error> {
        if self.inner.preflight_scope_check {
            self.check_scopes(method)
        } else {
            Ok(())
        }
    }

    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        let response = self.inner.transport.send(request).await?;
        Ok(response.json()?)
    }

    /// `tasks.update` and `tasks.patch`: the same request under two verbs.
    async fn modify_lease(
        &self,
        method: Method,
        api_method: ApiMethod,
        request: ModifyLeaseRequest,
    ) -> Result<Task, Error> {
        check_queue(&request.queue)?;
        let seconds = validate::lease_duration("newLeaseSeconds", request.new_lease)?.to_string();
        let url = self.inner.paths.task(
            &request.queue,
            request.task.id.as_str(),
            &[("newLeaseSeconds", seconds.as_str())],
        )?;
        let body = lease_body(&request.queue, &request.task);
        self.call(
            Request::new(method, url)
                .json_body(json_body(&body)?)
                .operation(api_method.id())
                .retryable(request.retry),
        )
        .await
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(self.inner.clock.now())
    }
}

/// Configures a [`Client`]. Setters never fail; [`ClientBuilder::build`]
/// reports the first problem.
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    transport: TransportBuilder,
    preflight_scope_check: bool,
}

impl ClientBuilder {
    /// The API's base URL, ending in `projects/` (default: the emulator's if
    /// [`EMULATOR_HOST_VAR`] is set, else production's).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The source of access tokens (required): any [`TokenProvider`], owned
    /// (`StaticTokenProvider`, `TokenCache`, `ApplicationDefaultCredentials`)
    /// or already shared (`Arc<dyn TokenProvider>`).
    pub fn token_provider(mut self, tokens: impl TokenProvider + 'static) -> Self {
        self.transport = self.transport.token_provider(tokens);
        self
    }

    /// The scopes to ask for (default: `taskqueue`, read/write).
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.transport = self.transport.scopes(scopes);
        self
    }

    /// Whether every call first checks that the requested scopes allow it
    /// (default: on), failing with [`Error::is_scope_denied`] before
    /// anything is sent; see [`Client::check_scopes`].
    ///
    /// The check applies the scope table (docs/wire-format.md §7), under which the
    /// consumer scopes are read-only. Turn it off for a server that accepts
    /// more (the discovery document lists the consumer scope on all 8
    /// methods), or for a token provider whose tokens carry other scopes
    /// than those requested; the server then decides, and its 403 maps to
    /// the same typed error.
    pub fn preflight_scope_check(mut self, enabled: bool) -> Self {
        self.preflight_scope_check = enabled;
        self
    }

    /// The retry policy for retryable calls.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.transport = self.transport.retry_policy(retry);
        self
    }

    /// The clock for backoff, retry budgets and ETA checks.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.transport = self.transport.clock(clock);
        self
    }

    /// Trust roots and proxy (default: Mozilla's roots, the environment's
    /// proxy): add the CA of a self-hosted server, use the platform
    /// verifier, or name a proxy. Token providers have their own
    /// ([`taskqueue_auth::HttpOptions::network`]).
    pub fn network(mut self, network: NetworkOptions) -> Self {
        self.transport = self.transport.network(network);
        self
    }

    /// The longest wait for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.connect_timeout(timeout);
        self
    }

    /// The longest one attempt may take.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.attempt_timeout(timeout);
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.transport = self.transport.max_response_bytes(limit);
        self
    }

    /// Puts `product` (for example `my-worker/1.2`) in front of the User-Agent.
    pub fn user_agent_prefix(mut self, product: &str) -> Self {
        self.transport = self.transport.user_agent_prefix(product);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base_url(&self.base_url)?;
        let transport = self.transport.build()?;
        Ok(Client::with_transport(base.as_str(), transport)?
            .with_preflight_scope_check(self.preflight_scope_check))
    }
}

/// The base URL for an emulator at `host` (`host:port`, or a URL with its
/// scheme); `None` if `host` is blank.
fn emulator_base_url(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() {
        None
    } else if host.contains("://") {
        Some(format!("{host}{API_PATH}"))
    } else {
        Some(format!("http://{host}{API_PATH}"))
    }
}

fn parse_base_url(base_url: &str) -> Result<Url, Error> {
    let base = Url::parse(base_url)
        .map_err(|error| Error::configuration(format!("base URL `{base_url}`: {error}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(Error::configuration(format!(
            "base URL `{base_url}` must be an http or https URL"
        )));
    }
    Ok(base)
}

fn check_queue(queue: &QueueRef) -> Result<(), Error> {
    validate::project(&queue.project)?;
    validate::queue_name(&queue.queue)?;
    Ok(())
}

fn json_body(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|error| Error::configuration(format!("cannot encode the request body: {error}")))
}

/// The body that identifies a leased task to update or patch.
fn lease_body(queue: &QueueRef, task: &LeasedTask) -> Task {
    Task::default()
        .with_kind(kind::TASK)
        .with_id(task.id.as_str())
        .with_queue_name(
            task.queue_name
                .clone()
                .unwrap_or_else(|| queue.queue.clone()),
        )
        .with_lease_timestamp(task.lease_timestamp)
}

/// The calls, as inherent methods (no boxing when called on a `Client`);
/// the [`TaskQueueApi`] impl below forwards to them.
impl Client {
    /// `taskqueue.taskqueues.get`: a queue's description.
    pub async fn get_queue(&self, request: GetQueueRequest) -> Result<TaskQueue, Error> {
        self.preflight(ApiMethod::TaskqueuesGet)?;
        check_queue(&request.queue)?;
        let query: &[(&str, &str)] = if request.get_stats {
            &[("getStats", "true")]
        } else {
            &[]
        };
        let url = self.inner.paths.queue(&request.queue, query)?;
        self.call(
            Request::new(Method::GET, url)
                .operation(ApiMethod::TaskqueuesGet.id())
                .retryable(request.retry),
        )
        .await
    }

    /// `taskqueue.tasks.insert`: adds a task; returns it with its `id`.
    pub async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error> {
        self.preflight(ApiMethod::TasksInsert)?;
        check_queue(&request.queue)?;
        validate::task_for_insert(&request.task, self.now())?;
        let mut task = request.task;
        if task.queue_name.is_none() {
            task.queue_name = Some(request.queue.queue.clone());
        }
        let url = self.inner.paths.tasks(&request.queue, &[])?;
        self.call(
            Request::new(Method::POST, url)
                .json_body(json_body(&task)?)
                .operation(ApiMethod::TasksInsert.id())
                .retryable(request.retry),
        )
        .await
    }

    /// `taskqueue.tasks.get`: one task, without leasing it.
    pub async fn get_task(&self, request: GetTaskRequest) -> Result<Task, Error> {
        self.preflight(ApiMethod::TasksGet)?;
        check_queue(&request.queue)?;
        let url = self
            .inner
            .paths
            .task(&request.queue, request.task.as_str(), &[])?;
        self.call(
            Request::new(Method::GET, url)
                .operation(ApiMethod::TasksGet.id())
                .retryable(request.retry),
        )
        .await
    }

    /// `taskqueue.tasks.list`: up to 100 tasks, without payloads.
    pub async fn list_tasks(&self, request: ListTasksRequest) -> Result<Tasks2, Error> {
        self.preflight(ApiMethod::TasksList)?;
        check_queue(&request.queue)?;
        let url = self.inner.paths.tasks(&request.queue, &[])?;
        self.call(
            Request::new(Method::GET, url)
                .operation(ApiMethod::TasksList.id())
                .retryable(request.retry),
        )
        .await
    }

    /// `taskqueue.tasks.lease`: leases available tasks, oldest ETA first.
    pub async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error> {
        self.preflight(ApiMethod::TasksLease)?;
        check_queue(&request.queue)?;
        validate::num_tasks(i64::from(request.num_tasks))?;
        let lease_secs = validate::lease_duration("leaseSecs", request.lease)?;
        validate::lease_request(
            i64::from(request.num_tasks),
            i64::from(lease_secs),
            request.group_by_tag,
            request.tag.as_deref(),
        )?;
        let num_tasks = request.num_tasks.to_string();
        let lease_secs = lease_secs.to_string();
        let mut query = vec![
            ("numTasks", num_tasks.as_str()),
            ("leaseSecs", lease_secs.as_str()),
        ];
        if request.group_by_tag {
            query.push(("groupByTag", "true"));
        }
        if let Some(tag) = &request.tag {
            query.push(("tag", tag.as_str()));
        }
        let url = self.inner.paths.task(&request.queue, "lease", &query)?;
        self.call(
            Request::new(Method::POST, url)
                .operation(ApiMethod::TasksLease.id())
                .retryable(request.retry),
        )
        .await
    }

    /// `taskqueue.tasks.update`: extends or releases a lease (POST).
    pub async fn update_task(&self, request: UpdateTaskRequest) -> Result<Task, Error> {
        self.preflight(ApiMethod::TasksUpdate)?;
        if request.task.id == "lease" {
            return Err(Error::unroutable(request.task.id.as_str()));
        }
        self.modify_lease(Method::POST, ApiMethod::TasksUpdate, request)
            .await
    }

    /// `taskqueue.tasks.patch`: extends or releases a lease (PATCH).
    pub async fn patch_task(&self, request: PatchTaskRequest) -> Result<Task, Error> {
        self.preflight(ApiMethod::TasksPatch)?;
        self.modify_lease(Method::PATCH, ApiMethod::TasksPatch, request)
            .await
    }

    /// `taskqueue.tasks.delete`: deletes a task.
    pub async fn delete_task(&self, request: DeleteTaskRequest) -> Result<(), Error> {
        self.preflight(ApiMethod::TasksDelete)?;
        check_queue(&request.queue)?;
        let url = self
            .inner
            .paths
            .task(&request.queue, request.task.as_str(), &[])?;
        self.inner
            .transport
            .send(
                Request::new(Method::DELETE, url)
                    .operation(ApiMethod::TasksDelete.id())
                    .retryable(request.retry),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl TaskQueueApi for Client {
    async fn get_queue(&self, request: GetQueueRequest) -> Result<TaskQueue, Error> {
        Client::get_queue(self, request).await
    }

    async fn insert_task(&self, request: InsertTaskRequest) -> Result<Task, Error> {
        Client::insert_task(self, request).await
    }

    async fn get_task(&self, request: GetTaskRequest) -> Result<Task, Error> {
        Client::get_task(self, request).await
    }

    async fn list_tasks(&self, request: ListTasksRequest) -> Result<Tasks2, Error> {
        Client::list_tasks(self, request).await
    }

    async fn lease_tasks(&self, request: LeaseTasksRequest) -> Result<Tasks, Error> {
        Client::lease_tasks(self, request).await
    }

    async fn update_task(&self, request: UpdateTaskRequest) -> Result<Task, Error> {
        Client::update_task(self, request).await
    }

    async fn patch_task(&self, request: PatchTaskRequest) -> Result<Task, Error> {
        Client::patch_task(self, request).await
    }

    async fn delete_task(&self, request: DeleteTaskRequest) -> Result<(), Error> {
        Client::delete_task(self, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::emulator_base_url;

    #[test]
    fn emulator_hosts_become_base_urls() {
        let cases = [
            (
                "127.0.0.1:8080",
                Some("http://127.0.0.1:8080/taskqueue/v1beta2/projects/"),
            ),
            (
                " localhost:9 ",
                Some("http://localhost:9/taskqueue/v1beta2/projects/"),
            ),
            (
                "https://tq.internal/",
                Some("https://tq.internal/taskqueue/v1beta2/projects/"),
            ),
            ("", None),
            ("  ", None),
        ];
        for (host, expected) in cases {
            assert_eq!(emulator_base_url(host).as_deref(), expected, "{host:?}");
        }
    }
}
