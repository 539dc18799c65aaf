//! OAuth 2.0: the token endpoint (`POST /token`), the access tokens it issues, and resource-side authentication.

mod tokens;

use axum::Router;

pub use tokens::{ACCESS_TOKEN_PREFIX, TokenRefusal, TokenStore};

use crate::app::AppState;

/// The OAuth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
