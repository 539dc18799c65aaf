//! `GET /discovery/v1/apis/taskqueue/v1beta2/rest`: Google's discovery document, pointed at this server, so
//! discovery-based clients (Google's Python `googleapiclient.discovery.build` with `discoveryServiceUrl`, and
//! generators) can be built against it unmodified.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use taskqueue_model::DISCOVERY_DOCUMENT;

use super::ApiError;
use crate::state::AppState;

/// Where Google served the document, relative to the root URL.
pub(super) const DISCOVERY_PATH: &str = "/discovery/v1/apis/taskqueue/v1beta2/rest";

/// The document with `rootUrl` and `baseUrl` naming this server's public URL; everything else verbatim.
pub(super) async fn document(State(state): State<AppState>) -> Response {
    match pointed_at(&state.public_url) {
        Some(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=UTF-8"),
            )],
            body,
        )
            .into_response(),
        None => ApiError::backend_error().into_response(),
    }
}

/// The discovery document rewritten for `public_url` (no trailing slash).
fn pointed_at(public_url: &str) -> Option<String> {
    let mut document: Value = serde_json::from_str(DISCOVERY_DOCUMENT).ok()?;
    let object = document.as_object_mut()?;
    object.insert("rootUrl".to_owned(), Value::from(format!("{public_url}/")));
    object.insert(
        "baseUrl".to_owned(),
        Value::from(format!("{public_url}/taskqueue/v1beta2/projects/")),
    );
    serde_json::to_string_pretty(&document).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_points_at_the_server_and_keeps_everything_else() {
        let rewritten: Value =
            serde_json::from_str(&pointed_at("http://127.0.0.1:9000").expect("rewritten"))
                .expect("JSON");
        let original: Value = serde_json::from_str(DISCOVERY_DOCUMENT).expect("JSON");
        assert_eq!(rewritten["rootUrl"], "http://127.0.0.1:9000/");
        assert_eq!(
            rewritten["baseUrl"],
            "http://127.0.0.1:9000/taskqueue/v1beta2/projects/"
        );
        assert_eq!(rewritten["servicePath"], original["servicePath"]);
        assert_eq!(rewritten["resources"], original["resources"]);
        assert_eq!(rewritten["auth"], original["auth"]);
    }
}
