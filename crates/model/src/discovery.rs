//! Google's discovery document for `taskqueue:v1beta2`: the API's own description of its methods, parameters and
//! scopes, kept verbatim; and the API's path, which clients, the CLI, the server and the harness share.

/// Google's discovery document for `taskqueue:v1beta2` (revision 20130318), verbatim, as Google served it at
/// `https://www.googleapis.com/discovery/v1/apis/taskqueue/v1beta2/rest` before the API was switched off.
///
/// The [`ApiMethod`](crate::ApiMethod) ids are checked against it; the reference server serves it (with its own
/// URLs) so discovery-based clients such as Google's Python client can be built against the server.
///
/// ```
/// let document: serde_json::Value = serde_json::from_str(taskqueue_model::DISCOVERY_DOCUMENT)?;
/// assert_eq!(document["id"], "taskqueue:v1beta2");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const DISCOVERY_DOCUMENT: &str = include_str!("../discovery/taskqueue-v1beta2.json");

/// The API's path under a server's root (the discovery document's `basePath`): a base URL is a server's root
/// followed by it, as in Google's `https://www.googleapis.com/taskqueue/v1beta2/projects/`.
///
/// ```
/// assert_eq!(taskqueue_model::API_PATH, "/taskqueue/v1beta2/projects/");
/// ```
pub const API_PATH: &str = "/taskqueue/v1beta2/projects/";

#[cfg(test)]
mod tests {
    use super::{API_PATH, DISCOVERY_DOCUMENT};

    #[test]
    fn the_api_path_is_the_documents_base_path() {
        let document: serde_json::Value =
            serde_json::from_str(DISCOVERY_DOCUMENT).expect("the document is JSON");
        assert_eq!(document["basePath"], API_PATH);
        assert_eq!(
            document["baseUrl"],
            format!("https://www.googleapis.com{API_PATH}")
        );
    }
}
