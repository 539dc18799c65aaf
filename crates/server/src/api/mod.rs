//! The Task Queue v1beta2 API over HTTP: the 8 methods at their real paths, answered through the store.

mod error;

use axum::Router;

pub use error::{ApiError, REALM};

use crate::app::AppState;

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
