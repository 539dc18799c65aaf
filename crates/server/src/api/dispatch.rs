//! From an HTTP request to a method call: the path's parameters, the HTTP method (after
//! `X-HTTP-Method-Override`), authentication, the standard parameters, the queue, the ACL; then the method,
//! and the response with its trace.
//!
//! One handler serves each of the three resource paths and picks the method from the HTTP method itself, so that
//! `X-HTTP-Method-Override` (read here, after routing) can turn a POST into a PATCH, a GET or a DELETE: a layer
//! rewriting the method would have to run before axum's routing, outside any `Router`.
//!
//! Each request gets one `api` span (fields `method`, `project`, `queue`, `task`, `caller`, `status`) and one
//! event when it is answered: `debug` for a success, `info` for a 4xx, `warn` for a 5xx (the cause of a 5xx is
//! logged at `error` where it happened). Neither holds a token, a query string or a body.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequestParts as _, Path, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::Response;
use taskqueue_model::{ApiMethod, validate};
use tracing::Instrument as _;
use tracing::field::{Empty, debug};

use super::auth;
use super::error::ApiError;
use super::fields::FieldMask;
use super::methods::{self, Call, project_matches};
use super::params::Params;
use super::respond::{Layout, Reply};
use crate::config::QueueDef;
use crate::state::AppState;

/// The header that carries the intended method of a POST.
const METHOD_OVERRIDE: &str = "x-http-method-override";

/// The three resource paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `…/taskqueues/{taskqueue}`.
    Queue,
    /// `…/taskqueues/{taskqueue}/tasks`.
    Tasks,
    /// `…/taskqueues/{taskqueue}/tasks/{task}`, and `…/tasks/lease`.
    Task,
}

impl Resource {
    /// The method that `http` calls on this resource. A POST to `tasks/lease` is a lease, so a task named `lease`
    /// can be read, patched and deleted but not updated by POST (docs/wire-format.md §2).
    fn method(self, http: &Method, task: Option<&str>) -> Option<ApiMethod> {
        match (self, http.as_str()) {
            (Resource::Queue, "GET") => Some(ApiMethod::TaskqueuesGet),
            (Resource::Tasks, "GET") => Some(ApiMethod::TasksList),
            (Resource::Tasks, "POST") => Some(ApiMethod::TasksInsert),
            (Resource::Task, "GET") => Some(ApiMethod::TasksGet),
            (Resource::Task, "DELETE") => Some(ApiMethod::TasksDelete),
            (Resource::Task, "PATCH") => Some(ApiMethod::TasksPatch),
            (Resource::Task, "POST") if task == Some("lease") => Some(ApiMethod::TasksLease),
            (Resource::Task, "POST") => Some(ApiMethod::TasksUpdate),
            _ => None,
        }
    }

    /// The `Allow` header of a 405.
    fn allow(self) -> &'static str {
        match self {
            Resource::Queue => "GET",
            Resource::Tasks => "GET, POST",
            Resource::Task => "DELETE, GET, PATCH, POST",
        }
    }
}

/// The parameters of the path, percent-decoded.
#[derive(Debug)]
struct PathParams {
    project: String,
    queue: String,
    task: Option<String>,
}

/// The handler of the queue resource.
pub(crate) async fn queue(State(state): State<AppState>, request: Request) -> Response {
    serve(state, Resource::Queue, request).await
}

/// The handler of the tasks collection.
pub(crate) async fn tasks(State(state): State<AppState>, request: Request) -> Response {
    serve(state, Resource::Tasks, request).await
}

/// The handler of one task (and of `tasks/lease`).
pub(crate) async fn task(State(state): State<AppState>, request: Request) -> Response {
    serve(state, Resource::Task, request).await
}

/// The handler of every other path under `/taskqueue`: 404 `notFound` in the envelope.
pub(crate) async fn unknown_path(request: Request) -> Response {
    let params = Params::parse(request.uri().query());
    tracing::debug!(method = %request.method(), "API request for an unknown path");
    ApiError::not_found("Not Found").to_response(params.pretty_or_default())
}

async fn serve(state: AppState, resource: Resource, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let params = Params::parse(parts.uri.query());
    let span = tracing::info_span!(
        "api",
        method = Empty,
        project = Empty,
        queue = Empty,
        task = Empty,
        caller = Empty,
        status = Empty,
    );
    let outcome = handle(&state, resource, &mut parts, body, &params, &span)
        .instrument(span.clone())
        .await;
    // The method, once known, labels the response for the metrics.
    let method = parts.extensions.get::<ApiMethod>().copied();
    let mut response = match outcome {
        Ok((reply, layout)) => reply.into_response(&layout),
        Err(error) => {
            let status = error.status().as_u16();
            span.record("status", status);
            if status >= 500 {
                tracing::warn!(parent: &span, status, reason = error.reason(), "API request failed");
            } else {
                tracing::info!(parent: &span, status, reason = error.reason(), "API request refused");
            }
            let mut response = error.to_response(params.pretty_or_default());
            if let Some(method) = method {
                response.extensions_mut().insert(method);
            }
            return response;
        }
    };
    if let Some(method) = method {
        response.extensions_mut().insert(method);
    }
    let status = response.status().as_u16();
    span.record("status", status);
    tracing::debug!(parent: &span, status, "API request served");
    response
}

async fn handle(
    state: &AppState,
    resource: Resource,
    parts: &mut Parts,
    body: Body,
    params: &Params,
    span: &tracing::Span,
) -> Result<(Reply, Layout), ApiError> {
    let path = path_params(parts, state).await?;
    span.record("project", debug(&path.project));
    span.record("queue", debug(&path.queue));

    let http_method = effective_method(parts)?;
    let method = resource
        .method(&http_method, path.task.as_deref())
        .ok_or_else(|| ApiError::method_not_allowed(http_method.as_str(), resource.allow()))?;
    span.record("method", method.id());
    parts.extensions.insert(method);
    if let Some(task) = path
        .task
        .as_ref()
        .filter(|_| method != ApiMethod::TasksLease)
    {
        span.record("task", debug(task));
    }

    let caller = auth::authenticate(state, &parts.headers, params, method).await?;
    span.record("caller", caller.email.as_str());

    let standard = params.standard()?;
    let fields = match standard.fields.as_deref() {
        Some(selector) => FieldMask::parse(selector)?,
        None => None,
    };

    let queue = find_queue(state, &path.project, &path.queue)?;
    auth::authorize_queue(queue, &caller, method)?;

    let task = match (&path.task, method) {
        (_, ApiMethod::TasksLease) | (None, _) => None,
        (Some(task), _) => {
            validate::task_name(task).map_err(|error| {
                ApiError::invalid(error.to_string()).with_location("parameter", "task")
            })?;
            Some(task.as_str())
        }
    };

    let call = Call {
        state,
        method,
        project: &path.project,
        queue,
        task,
        params,
        now: state.now_timestamp(),
    };
    let reply = methods::run(&call, body).await?;
    Ok((
        reply,
        Layout {
            pretty: standard.pretty,
            fields,
        },
    ))
}

/// The path's parameters.
async fn path_params(parts: &mut Parts, state: &AppState) -> Result<PathParams, ApiError> {
    let Path(mut map) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| {
            ApiError::invalid("The URL path does not decode to UTF-8 text.")
                .with_location("parameter", "path")
        })?;
    let mut take = |name: &str| map.remove(name);
    match (take("project"), take("taskqueue")) {
        (Some(project), Some(queue)) => Ok(PathParams {
            project,
            queue,
            task: take("task"),
        }),
        _ => Err(ApiError::not_found("Not Found")),
    }
}

/// The request's method, or the one `X-HTTP-Method-Override` names on a POST.
///
/// The override is honoured on POST only (the way Google's docs describe it: a POST for clients that cannot
/// send PATCH); on another method it must name that same method. Its value is a method name in any case.
///
/// # Errors
///
/// 400 `invalid` for an override that is not a method name, or one on a method other than POST.
fn effective_method(parts: &Parts) -> Result<Method, ApiError> {
    let Some(value) = parts.headers.get(METHOD_OVERRIDE) else {
        return Ok(parts.method.clone());
    };
    let invalid = || {
        ApiError::invalid("X-HTTP-Method-Override must name an HTTP method such as PATCH.")
            .with_location("header", "X-HTTP-Method-Override")
    };
    let name = value.to_str().map_err(|_| invalid())?.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid());
    }
    let overridden =
        Method::from_bytes(name.to_ascii_uppercase().as_bytes()).map_err(|_| invalid())?;
    if parts.method == Method::POST || overridden == parts.method {
        Ok(overridden)
    } else {
        Err(ApiError::invalid(format!(
            "X-HTTP-Method-Override is only honoured on POST requests, not on {}.",
            parts.method
        ))
        .with_location("header", "X-HTTP-Method-Override"))
    }
}

/// The queue the path names.
///
/// # Errors
///
/// 400 `invalid` for a project or queue name that breaks the naming rules; 404 `notFound` for another project
/// (the configured one, bare or with any one-character partition prefix, is the only one) or an unknown queue.
fn find_queue<'a>(
    state: &'a AppState,
    project: &str,
    queue: &str,
) -> Result<&'a QueueDef, ApiError> {
    validate::project(project).map_err(|error| {
        ApiError::invalid(error.to_string()).with_location("parameter", "project")
    })?;
    if !project_matches(project, &state.config.project) {
        return Err(ApiError::not_found(format!(
            "Project not found: {project}."
        )));
    }
    validate::queue_name(queue).map_err(|error| {
        ApiError::invalid(error.to_string()).with_location("parameter", "taskqueue")
    })?;
    state
        .config
        .queues
        .get(queue)
        .ok_or_else(|| ApiError::not_found("Queue not found."))
}
