//! Successful responses: the resource as JSON (`application/json; charset=UTF-8`), indented unless
//! `prettyPrint=false`, filtered by `fields` if given; or, for `tasks.delete`, a 200 with an empty body.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use taskqueue_model::{Task, TaskQueue, Tasks, Tasks2};

use super::error::{ApiError, to_vec_google_pretty};
use super::fields::FieldMask;

/// What a method answers.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A task: get, insert, update, patch.
    Task(Box<Task>),
    /// Leased tasks.
    Leased(Tasks),
    /// Listed tasks.
    Listed(Tasks2),
    /// A queue.
    Queue(Box<TaskQueue>),
    /// Nothing: `tasks.delete` ("an empty response body", with 200).
    Empty,
}

/// How to lay a JSON body out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    /// Indented (`prettyPrint`, the default) or compact.
    pub(crate) pretty: bool,
    /// The `fields` selection, if any.
    pub(crate) fields: Option<FieldMask>,
}

impl Reply {
    /// The 200 response.
    pub(crate) fn into_response(self, layout: &Layout) -> Response {
        match self {
            Reply::Task(task) => json(&task, layout),
            Reply::Leased(tasks) => json(&tasks, layout),
            Reply::Listed(tasks) => json(&tasks, layout),
            Reply::Queue(queue) => json(&queue, layout),
            Reply::Empty => (StatusCode::OK, Body::empty()).into_response(),
        }
    }
}

fn json<T: Serialize>(value: &T, layout: &Layout) -> Response {
    let encoded = match &layout.fields {
        None => encode(value, layout.pretty),
        Some(mask) => {
            serde_json::to_value(value).and_then(|value| encode(&mask.apply(value), layout.pretty))
        }
    };
    match encoded {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            )],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a response could not be encoded as JSON");
            ApiError::backend_error().to_response(layout.pretty)
        }
    }
}

fn encode<T: Serialize + ?Sized>(value: &T, pretty: bool) -> Result<Vec<u8>, serde_json::Error> {
    if pretty {
        to_vec_google_pretty(value)
    } else {
        serde_json::to_vec(value)
    }
}
