//! Google's discovery document for `taskqueue:v1beta2`: the API's own description of its methods, parameters and
//! scopes, kept verbatim.

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
