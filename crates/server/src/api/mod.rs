//! The Task Queue v1beta2 API over HTTP: the 8 methods at their real paths, answered through the store.
//!
//! | Method | HTTP | Path under `/taskqueue/v1beta2/projects/{project}/taskqueues/{taskqueue}` |
//! |---|---|---|
//! | `taskqueues.get` | GET | (none); `getStats` |
//! | `tasks.list` | GET | `/tasks` |
//! | `tasks.insert` | POST | `/tasks` |
//! | `tasks.lease` | POST | `/tasks/lease`; `numTasks`, `leaseSecs` (required), `groupByTag`, `tag` |
//! | `tasks.get` | GET | `/tasks/{task}` |
//! | `tasks.delete` | DELETE | `/tasks/{task}` |
//! | `tasks.update` | POST | `/tasks/{task}`; `newLeaseSeconds` (required) |
//! | `tasks.patch` | PATCH | `/tasks/{task}`; `newLeaseSeconds` (required) |
//!
//! # The request, step by step
//!
//! Each step has its own refusal, always Google's error envelope (`application/json; charset=UTF-8`):
//!
//! 1. **Routing.** Another path under `/taskqueue`: 404 `notFound`. A method the resource does not have: 405
//!    `httpMethodNotAllowed` with `Allow`. `X-HTTP-Method-Override` on a POST replaces the method (POST +
//!    `PATCH` is a patch; `GET` and `DELETE` work too); on another method it must repeat that method; a bad
//!    value is 400 `invalid`. A path segment that does not decode to UTF-8: 400 `invalid`.
//! 2. **Authentication and scopes** (`api/auth.rs`): 401 `required`, 401 `authError`, 403 `insufficientPermissions`.
//!    They come first, so a request without a valid token gets a 401 whatever else is wrong with it.
//! 3. **Standard parameters** (`api/params.rs`): `alt` must be `json` (400 `invalid`: `alt=media` is refused);
//!    `prettyPrint` is a boolean (default true: indented JSON; false: compact); `fields` selects a partial
//!    response (`api/fields.rs`); `quotaUser`, `userIp` and `key` are accepted and ignored; `oauth_token` is a bearer
//!    token used when there is no `Authorization: Bearer` header. Unknown parameters are ignored.
//! 4. **Project and queue.** A project or queue name that breaks the naming rules: 400 `invalid`. The project
//!    must be the configured one, bare or with any one-character partition prefix (`s~dev-project`,
//!    `b~dev-project`), else 404 `notFound`; an unknown queue is 404 `notFound` "Queue not found.". Long-form
//!    names in responses (`queueName`, the queue's `id`) repeat the project as the request gave it.
//! 5. **ACL**: 403 `forbidden` unless the caller's email is in the queue's ACL (`writer_email` for insert,
//!    `user_email` for the rest; an open queue admits everyone).
//! 6. **The method** (`api/methods.rs`): its parameters and body (400 `required`, `invalid`, `parseError`; 413
//!    `uploadTooLarge` for a body over the limit or a payload over 1 MiB), then the store (404, 409, 400, 500).
//!
//! Responses are JSON as the model writes it (int64 fields as strings, µs timestamps, URL-safe base64, `items`
//! left out when empty, long-form `queueName`), except `tasks.delete`: 200 with an empty body.

mod auth;
mod body;
mod discovery;
mod dispatch;
mod error;
mod fields;
mod methods;
mod params;
mod respond;

use axum::Router;
use axum::routing::any;

pub use error::{ApiError, REALM};

use crate::state::AppState;

/// The prefix of every API path.
const API_ROOT: &str = "/taskqueue/v1beta2/projects/{project}/taskqueues/{taskqueue}";

/// The API's routes: the three resource paths (every HTTP method, sorted out by the handlers so that
/// `X-HTTP-Method-Override` works and a wrong method gets the envelope), and a 404 envelope for any other path
/// under `/taskqueue`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            discovery::DISCOVERY_PATH,
            axum::routing::get(discovery::document),
        )
        .route(API_ROOT, any(dispatch::queue))
        .route(&format!("{API_ROOT}/tasks"), any(dispatch::tasks))
        .route(&format!("{API_ROOT}/tasks/{{task}}"), any(dispatch::task))
        .route("/taskqueue", any(dispatch::unknown_path))
        .route("/taskqueue/", any(dispatch::unknown_path))
        .route("/taskqueue/{*rest}", any(dispatch::unknown_path))
}
