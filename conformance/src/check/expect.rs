//! Comparing a call's outcome with its `expect`, and the one-line `result`
//! a snapshot shows.
//!
//! Error kinds map to the client's predicates: `validation` →
//! `is_validation`, `unauthenticated` → `is_unauthenticated`,
//! `scope_denied` → `is_scope_denied` (and `required` against the error's
//! required scopes), `acl_denied` → `is_acl_denied`, `permission_denied` →
//! `is_permission_denied`, `not_found` → `is_not_found`, `bad_request` →
//! status 400, `conflict` → status 409, `transient` → `is_transient`,
//! `decode` → `is_decode`, `auth` → `transport().is_auth()` (and
//! `oauth_error` against the token endpoint's error code).

use serde_json::Value;
use taskqueue_auth::ScopeSet;
use taskqueue_client::Error;

use crate::check::subset;
use crate::report::WireCounters;
use crate::scenario::template::Window;
use crate::scenario::{Counters, ErrorKind, Expect, ExpectedError};
use crate::scenario::{setup, template};
use crate::target::mock::script::short_scope;

/// A call's outcome against its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// `ok {"id":"t1"}` (the expected fields of the result), `ok`, or
    /// `error scope_denied 403 insufficientPermissions required=[taskqueue]`.
    pub result: String,
    /// What differs from the expectation; empty when it was met.
    pub problems: Vec<String>,
}

/// Compares `outcome` with the step's expectation, if it has one; a call
/// step without `expect` (which the loader refuses) is a problem itself.
pub(crate) fn judge(
    expect: Option<&Expect>,
    outcome: &Result<Value, Error>,
    window: Window,
) -> Checked {
    match expect {
        Some(expected) => check(expected, outcome, window),
        None => Checked {
            result: match outcome {
                Ok(_) => "ok".to_owned(),
                Err(error) => error_line(error),
            },
            problems: vec!["`expect` is missing".to_owned()],
        },
    }
}

/// Compares `outcome` with `expect`, time templates of `expect.ok` read
/// within `window` (on the mock target, the virtual time when the call
/// returned; see [`template::expand_within`]).
pub(crate) fn check(expect: &Expect, outcome: &Result<Value, Error>, window: Window) -> Checked {
    let mut problems = Vec::new();
    let result = match outcome {
        Ok(actual) => {
            let expected_ok = match &expect.ok {
                Some(expected) => match template::expand_within(expected, actual, window) {
                    Ok(expected) => Some(expected),
                    Err(why) => {
                        problems.push(format!("expect.ok: {why}"));
                        None
                    }
                },
                None => None,
            };
            match (&expected_ok, &expect.error) {
                (Some(expected), _) => {
                    if let Some(mismatch) = subset::mismatch(expected, actual) {
                        problems.push(format!("result{mismatch}"));
                    }
                    ok_line(&subset::project(expected, actual))
                }
                (None, Some(error)) => {
                    problems.push(format!(
                        "expected error {}, got success: {}",
                        error.kind,
                        shortened(&subset::compact(actual))
                    ));
                    ok_line(actual)
                }
                (None, None) => ok_line(actual),
            }
        }
        Err(error) => {
            match &expect.error {
                Some(expected) => problems.extend(error_problems(expected, error)),
                None => problems.push(format!(
                    "expected success, got {}: {error}",
                    error_line(error)
                )),
            }
            error_line(error)
        }
    };
    Checked { result, problems }
}

fn ok_line(value: &Value) -> String {
    match value {
        Value::Object(fields) if fields.is_empty() => "ok".to_owned(),
        _ => format!("ok {}", shortened(&subset::compact(value))),
    }
}

fn shortened(text: &str) -> String {
    const MAX: usize = 400;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The kind that best names `error`, for the `result` line.
pub(crate) fn kind_of(error: &Error) -> &'static str {
    let status = error.status().map(|status| status.as_u16());
    if error.is_validation() {
        "validation"
    } else if error.is_scope_denied() {
        "scope_denied"
    } else if error.is_acl_denied() {
        "acl_denied"
    } else if error.is_permission_denied() {
        "permission_denied"
    } else if error.is_unauthenticated() {
        "unauthenticated"
    } else if error.is_not_found() {
        "not_found"
    } else if error.transport().is_some_and(|t| t.is_auth()) {
        "auth"
    } else if error.is_decode() {
        "decode"
    } else if status == Some(400) {
        "bad_request"
    } else if status == Some(409) {
        "conflict"
    } else if error.is_transient() {
        "transient"
    } else if error.is_configuration() {
        "configuration"
    } else {
        "other"
    }
}

/// Whether `error` is of `kind` (a kind of `expect.error.kind`).
pub(crate) fn is_kind(error: &Error, kind: ErrorKind) -> bool {
    let status = error.status().map(|status| status.as_u16());
    match kind {
        ErrorKind::Validation => error.is_validation(),
        ErrorKind::Unauthenticated => error.is_unauthenticated(),
        ErrorKind::ScopeDenied => error.is_scope_denied(),
        ErrorKind::AclDenied => error.is_acl_denied(),
        ErrorKind::PermissionDenied => error.is_permission_denied(),
        ErrorKind::NotFound => error.is_not_found(),
        ErrorKind::BadRequest => status == Some(400),
        ErrorKind::Conflict => status == Some(409),
        ErrorKind::Transient => error.is_transient(),
        ErrorKind::Decode => error.is_decode(),
        ErrorKind::Auth => error.transport().is_some_and(|t| t.is_auth()),
    }
}

fn oauth_error(error: &Error) -> Option<&str> {
    error
        .transport()
        .and_then(|transport| transport.auth_error())
        .and_then(|auth| auth.oauth_error())
        .map(|code| code.as_str())
}

fn scope_names(scopes: &ScopeSet) -> String {
    let names: Vec<String> = scopes
        .iter()
        .map(|scope| short_scope(scope.as_str()))
        .collect();
    format!("[{}]", names.join(", "))
}

/// `error <kind> [status] [reason] [oauth=…] [required=[…]] [(not sent)]`.
pub(crate) fn error_line(error: &Error) -> String {
    let mut line = format!("error {}", kind_of(error));
    if error.is_validation() {
        // What was refused, without the `invalid argument: ` prefix.
        let message = error.to_string();
        let message = message
            .strip_prefix("invalid argument: ")
            .unwrap_or(&message);
        line.push_str(&format!(": {message}"));
        return line;
    }
    if let Some(status) = error.status() {
        line.push_str(&format!(" {}", status.as_u16()));
    }
    if let Some(reason) = error.reason() {
        line.push_str(&format!(" {reason}"));
    }
    if let Some(code) = oauth_error(error) {
        line.push_str(&format!(" oauth={code}"));
    }
    if let Some(denied) = error.scope_denied() {
        line.push_str(&format!(" required={}", scope_names(denied.required())));
        if denied.is_preflight() {
            line.push_str(" (pre-flight, not sent)");
        }
    }
    line
}

fn error_problems(expected: &ExpectedError, error: &Error) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_kind(error, expected.kind) {
        problems.push(format!(
            "expected error kind {}, got {}: {error}",
            expected.kind,
            error_line(error)
        ));
    }
    if let Some(status) = expected.status {
        let actual = error.status().map(|status| status.as_u16());
        if actual != Some(status) {
            let got = actual.map_or_else(|| "no status".to_owned(), |s| s.to_string());
            problems.push(format!("expected status {status}, got {got}"));
        }
    }
    if let Some(reason) = &expected.reason
        && error.reason() != Some(reason.as_str())
    {
        problems.push(format!(
            "expected reason {reason}, got {}",
            error.reason().unwrap_or("no reason")
        ));
    }
    if let Some(code) = &expected.oauth_error
        && oauth_error(error) != Some(code.as_str())
    {
        problems.push(format!(
            "expected oauth_error {code}, got {}",
            oauth_error(error).unwrap_or("none")
        ));
    }
    if let Some(required) = &expected.required {
        match (setup::scopes(required), error.scope_denied()) {
            (Err(why), _) => problems.push(format!("expect.error.required: {why}")),
            (Ok(_), None) => problems.push(format!(
                "expected required scopes [{}], but the error is no scope denial",
                required.join(", ")
            )),
            (Ok(want), Some(denied)) => {
                if &want != denied.required() {
                    problems.push(format!(
                        "expected required scopes {}, got {}",
                        scope_names(&want),
                        scope_names(denied.required())
                    ));
                }
            }
        }
    }
    problems
}

/// Compares the step's `counters` with what crossed the wire.
pub(crate) fn counter_problems(expected: &Counters, actual: &WireCounters) -> Vec<String> {
    [
        (
            "token_requests",
            expected.token_requests,
            actual.token_requests,
        ),
        ("api_requests", expected.api_requests, actual.api_requests),
        ("retries", expected.retries, actual.retries),
    ]
    .into_iter()
    .filter_map(|(name, want, got)| {
        want.filter(|want| *want != got)
            .map(|want| format!("counters.{name}: expected {want}, got {got}"))
    })
    .collect()
}
