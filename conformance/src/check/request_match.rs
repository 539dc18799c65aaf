//! How an actual API request differs from its scripted `request`: the
//! method, query and body checks the mock target and the real target share.
//! (Path and token checks stay with each target: the mock notes requests
//! outside the queue, the real target maps tokens to labels as it goes.)

use std::time::SystemTime;

use serde_json::Value;

use crate::check::subset;
use crate::scenario::ExpectedRequest;
use crate::scenario::template;

/// The method check: scripted methods are compared case-insensitively.
pub(crate) fn method_difference(expected: &ExpectedRequest, actual: &str) -> Option<String> {
    (!expected.method.eq_ignore_ascii_case(actual)).then(|| {
        format!(
            "method: expected {}, got {actual}",
            expected.method.to_ascii_uppercase()
        )
    })
}

/// The query check: every scripted parameter must be present with its
/// value; with `exact_query`, no other parameter may be (listed sorted).
pub(crate) fn query_differences(
    expected: &ExpectedRequest,
    actual: &[(String, String)],
) -> Vec<String> {
    let mut differences = Vec::new();
    for (key, want) in &expected.query {
        let values: Vec<&str> = actual
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .collect();
        if !values.contains(&want.as_str()) {
            let got = if values.is_empty() {
                "missing".to_owned()
            } else {
                format!("`{}`", values.join("`, `"))
            };
            differences.push(format!("query `{key}`: expected `{want}`, got {got}"));
        }
    }
    if expected.exact_query {
        let mut extra: Vec<String> = actual
            .iter()
            .filter(|(key, _)| !expected.query.contains_key(key))
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        extra.sort();
        if !extra.is_empty() {
            differences.push(format!(
                "query: `{}` not scripted (exact_query)",
                extra.join("&")
            ));
        }
    }
    differences
}

/// The body check: the scripted `body` (time templates expanded at `now`)
/// must be a subset of the actual JSON body. `label` starts each message.
pub(crate) fn body_difference(
    expected: &ExpectedRequest,
    actual: Option<&Result<Value, String>>,
    now: SystemTime,
    label: &str,
) -> Option<String> {
    let want = expected.body.as_ref()?;
    match (template::expand(want, now), actual) {
        (Err(why), _) => Some(format!("{label}: {why}")),
        (Ok(_), Some(Err(why))) => Some(format!("{label}: {why}")),
        (Ok(_), None) => Some(format!("{label}: expected JSON, got no body")),
        (Ok(want), Some(Ok(have))) => {
            subset::mismatch(&want, have).map(|problem| format!("{label}{problem}"))
        }
    }
}
