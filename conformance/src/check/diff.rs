//! A step's scripted exchanges held against what crossed the forwarder.
//!
//! On a real target the API exchanges are expectations, in order: the
//! request's method, path, query and body subset, the token (by label: the
//! script's labels and the observed ones must correspond one to one), the
//! answer's status, its error reason, and the JSON fields the script gives
//! (for errors, only `error.code` and the reason: the message wording is the
//! server's). Token exchanges cannot be observed against a real token
//! endpoint: they are counted and reported as not checked.

use std::time::SystemTime;

#[cfg(test)]
use serde_json::Value;

use crate::check::{request_match, subset};
use crate::scenario::ApiExchange;
use crate::scenario::template;
use crate::scenario::template::Window;
#[cfg(test)]
use crate::scenario::{Exchange, Spanned};
use crate::target::forwarder::{Recorded, error_reason};
#[cfg(test)]
use crate::target::mock::script::describe;

/// The one-to-one correspondence of scripted and observed token labels
/// within one scenario.
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels {
    pairs: Vec<(String, String)>,
}

impl Labels {
    /// Checks that the request carrying `observed` is the one the script
    /// labels `scripted`; binds them on first sight.
    pub(crate) fn check(&mut self, scripted: &str, observed: Option<&str>) -> Option<String> {
        let Some(observed) = observed else {
            return Some(format!("token: expected <{scripted}>, got no bearer token"));
        };
        let by_script = self.pairs.iter().find(|(s, _)| s == scripted);
        let by_wire = self.pairs.iter().find(|(_, o)| o == observed);
        match (by_script, by_wire) {
            (Some((_, bound)), _) if bound == observed => None,
            (Some((_, bound)), _) => Some(format!(
                "token: expected <{scripted}>, the token first seen as observed <{bound}>, \
                 got observed <{observed}>"
            )),
            (None, Some((other, _))) => Some(format!(
                "token: expected <{scripted}>, a new token, got observed <{observed}>, the \
                 token the script calls <{other}>"
            )),
            (None, None) => {
                self.pairs.push((scripted.to_owned(), observed.to_owned()));
                None
            }
        }
    }
}

/// What comparing one step found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Differences: each fails the step.
    pub problems: Vec<String>,
    /// What could not be checked, and why.
    pub notes: Vec<String>,
}

/// How the time templates of a scripted response are held against the
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Templates {
    /// Only their presence is checked (the tests' comparison, with no
    /// shared clock).
    #[cfg(test)]
    Wildcards,
    /// Read within this window (from the call's start to the answer, on a
    /// clock the server shares) and compared like any value.
    Within(Window),
}

/// How the recorded exchange `got` differs from the scripted `want`:
/// method, path, token label, query and body of the request (templates in
/// the body expanded at `now`), then status, error reason and the scripted
/// JSON fields of the answer (for errors only `error.code`).
pub(crate) fn differences(
    want: &ApiExchange,
    got: &Recorded,
    labels: &mut Labels,
    now: SystemTime,
    templates: Templates,
) -> Vec<String> {
    let mut differences = Vec::new();
    let request = &want.request;
    differences.extend(request_match::method_difference(request, &got.method));
    let want_path = request.path.trim_matches('/');
    if want_path != got.path {
        differences.push(format!("path: expected `{want_path}`, got `{}`", got.path));
    }
    differences.extend(labels.check(&request.token, got.token.as_deref()));
    differences.extend(request_match::query_differences(request, &got.query));
    differences.extend(request_match::body_difference(
        request,
        got.body.as_ref(),
        now,
        "request body",
    ));

    let response = &want.response;
    if response.status != got.status {
        differences.push(format!(
            "status: expected {}, got {}",
            response.status, got.status
        ));
    }
    let want_reason = response.json.as_ref().and_then(error_reason);
    if let Some(want_reason) = &want_reason {
        let got_reason = got.reason();
        if got_reason.as_deref() != Some(want_reason.as_str()) {
            differences.push(format!(
                "reason: expected `{want_reason}`, got {}",
                got_reason.map_or("none".to_owned(), |reason| format!("`{reason}`"))
            ));
        }
    }
    if got.upstream_error.is_some() {
        // The forwarder's own 502: the status says it all.
        return differences;
    }
    if let Some(json) = &response.json {
        let want = if response.status >= 400 {
            // The server's wording is its own: only the code is compared.
            json.get("error")
                .and_then(|error| error.get("code"))
                .map(|code| serde_json::json!({ "error": { "code": code } }))
        } else {
            Some(json.clone())
        };
        if let Some(want) = want {
            match &got.json {
                None => differences.push(format!(
                    "response: expected JSON, got `{}`",
                    got.text.chars().take(120).collect::<String>()
                )),
                Some(have) => {
                    let want = match templates {
                        #[cfg(test)]
                        Templates::Wildcards => Ok(templates_as_wildcards(&want, have)),
                        Templates::Within(window) => template::expand_within(&want, have, window),
                    };
                    match want {
                        Ok(want) => {
                            if let Some(problem) = subset::mismatch(&want, have) {
                                differences.push(format!("response{problem}"));
                            }
                        }
                        Err(why) => differences.push(format!("response: {why}")),
                    }
                }
            }
        }
    }
    if let Some(text) = &response.body
        && !got.text.contains(text.trim())
    {
        differences.push(format!(
            "response: expected a body containing `{}`, got `{}`",
            text.trim(),
            got.text.chars().take(120).collect::<String>()
        ));
    }
    differences
}

/// `expected` with every time template (`{{now+60s}}`) replaced by the
/// value `actual` has at the same place: on a real target the server's clock
/// decides those values, so only their presence is checked.
#[cfg(test)]
fn templates_as_wildcards(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::String(text), _) if is_template(text) => actual.clone(),
        (Value::Object(want), Value::Object(have)) => Value::Object(
            want.iter()
                .map(|(key, value)| {
                    let replaced = match have.get(key) {
                        Some(have) => templates_as_wildcards(value, have),
                        None => value.clone(),
                    };
                    (key.clone(), replaced)
                })
                .collect(),
        ),
        (Value::Array(want), Value::Array(have)) => Value::Array(
            want.iter()
                .enumerate()
                .map(|(index, value)| match have.get(index) {
                    Some(have) => templates_as_wildcards(value, have),
                    None => value.clone(),
                })
                .collect(),
        ),
        _ => expected.clone(),
    }
}

#[cfg(test)]
fn is_template(text: &str) -> bool {
    let text = text.trim();
    text.starts_with("{{") && text.ends_with("}}")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The tests' driver of [`differences`]: compares the `script` of one step with the exchanges `recorded` during
    /// it. `now` is the instant the call's templates were expanded at.
    fn compare(
        script: &[Spanned<Exchange>],
        recorded: &[Recorded],
        labels: &mut Labels,
        now: SystemTime,
    ) -> Comparison {
        let mut comparison = Comparison::default();
        let tokens = script
            .iter()
            .filter(|exchange| matches!(exchange.value, Exchange::Token(_)))
            .count();
        if tokens > 0 {
            comparison.notes.push(format!(
            "{tokens} scripted token exchange(s) not checked: token requests are not observable \
             on a real target"
        ));
        }
        let api: Vec<&ApiExchange> = script
            .iter()
            .filter_map(|exchange| match &exchange.value {
                Exchange::Api(api) => Some(api),
                Exchange::Token(_) => None,
            })
            .collect();
        for index in 0..api.len().max(recorded.len()) {
            let number = index + 1;
            match (api.get(index), recorded.get(index)) {
                (Some(want), Some(got)) => {
                    let differences = differences(want, got, labels, now, Templates::Wildcards);
                    if !differences.is_empty() {
                        comparison.problems.push(format!(
                            "API exchange {number} (scripted {}; observed {}): {}",
                            describe(&Exchange::Api((*want).clone())),
                            got.line(),
                            differences.join("; ")
                        ));
                    }
                }
                (Some(want), None) => comparison.problems.push(format!(
                    "API exchange {number} (scripted {}) did not happen",
                    describe(&Exchange::Api((*want).clone()))
                )),
                (None, Some(got)) => comparison.problems.push(format!(
                    "API exchange {number} was not scripted: observed {}",
                    got.line()
                )),
                (None, None) => {}
            }
        }
        comparison
    }

    use serde_json::json;

    use super::*;
    use crate::scenario::load::load_str;

    fn script(exchanges: &str) -> Vec<Spanned<Exchange>> {
        let text = format!(
            "schema: 1\nid: d\ntitle: t\nbehaviors: [X]\ncredentials:\n  grant: refresh_token\n  \
             scopes: [taskqueue]\nsteps:\n  - call: tasks.get\n    exchanges: {exchanges}\n    \
             expect: {{ ok: {{}} }}\n"
        );
        let loaded = load_str(Path::new("d.yaml"), &text).expect("valid");
        loaded.scenario.steps[0].value.exchanges.clone()
    }

    fn recorded(path: &str, token: &str, status: u16, json: Value) -> Recorded {
        Recorded {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: vec![("alt".to_owned(), "json".to_owned())],
            token: Some(token.to_owned()),
            body: None,
            status,
            json: Some(json),
            text: String::new(),
            upstream_error: None,
            token_exchange: None,
            at: None,
            revoked: false,
            injected: false,
        }
    }

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn a_matching_wire_has_no_problem_and_token_exchanges_are_noted() {
        let script = script(
            "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, token: at-1, \
             query: { alt: json } }, response: { status: 200, json: { id: t1, leaseTimestamp: '{{now+60s}}' } } } }]",
        );
        let wire = [recorded(
            "tasks/t1",
            "at-1",
            200,
            json!({"id": "t1", "leaseTimestamp": "1893456060000000", "kind": "taskqueues#task"}),
        )];
        let comparison = compare(&script, &wire, &mut Labels::default(), NOW);
        assert_eq!(comparison.problems, Vec::<String>::new());
        assert_eq!(
            comparison.notes,
            [
                "1 scripted token exchange(s) not checked: token requests are not observable on a \
              real target"
            ]
        );
    }

    #[test]
    fn differences_are_listed_with_both_sides() {
        let script = script(
            "[{ api: { request: { method: GET, path: tasks/t1, token: at-1, query: { x: '1' }, exact_query: true }, \
             response: { status: 401, json: { error: { code: 401, message: Invalid Credentials, \
             errors: [{ reason: authError }] } } } } }, \
             { api: { request: { method: GET, path: tasks/t1, token: at-2 }, response: { status: 200 } } }]",
        );
        let wire = [recorded(
            "tasks/t2",
            "at-1",
            404,
            json!({"error": {"code": 404, "message": "gone", "errors": [{"reason": "notFound"}]}}),
        )];
        let comparison = compare(&script, &wire, &mut Labels::default(), NOW);
        assert_eq!(
            comparison.problems,
            [
                "API exchange 1 (scripted api GET tasks/t1 token at-1 query x=1 -> 401; observed GET \
                 tasks/t2?alt=json [<at-1>] -> 404 notFound): path: expected `tasks/t1`, got \
                 `tasks/t2`; query `x`: expected `1`, got missing; query: `alt=json` not scripted \
                 (exact_query); status: expected 401, got 404; reason: expected `authError`, got \
                 `notFound`; response.error.code: expected 401, got 404",
                "API exchange 2 (scripted api GET tasks/t1 token at-2 -> 200) did not happen",
            ]
        );
    }

    #[test]
    fn token_labels_must_correspond_one_to_one() {
        let two = script(
            "[{ api: { request: { method: GET, path: a, token: at-1 }, response: { status: 200 } } }, \
             { api: { request: { method: GET, path: a, token: at-2 }, response: { status: 200 } } }]",
        );
        // The script expects a fresh token on the second request; the wire reused the first.
        let reused = [
            recorded("a", "at-1", 200, json!({})),
            recorded("a", "at-1", 200, json!({})),
        ];
        let comparison = compare(&two, &reused, &mut Labels::default(), NOW);
        assert_eq!(comparison.problems.len(), 1);
        assert!(
            comparison.problems[0].ends_with(
                "token: expected <at-2>, a new token, got observed <at-1>, the token the script \
                 calls <at-1>"
            ),
            "{:?}",
            comparison.problems
        );
        // Labels carry over steps: at-1 is still the first observed token.
        let mut labels = Labels::default();
        let first = script(
            "[{ api: { request: { method: GET, path: a, token: at-1 }, response: { status: 200 } } }]",
        );
        assert!(
            compare(&first, &reused[..1], &mut labels, NOW)
                .problems
                .is_empty()
        );
        let other = [recorded("a", "at-2", 200, json!({}))];
        let comparison = compare(&first, &other, &mut labels, NOW);
        assert!(comparison.problems[0].ends_with(
            "token: expected <at-1>, the token first seen as observed <at-1>, got observed <at-2>"
        ));
    }

    #[test]
    fn unscripted_exchanges_fail() {
        let none = script("[]");
        let wire = [recorded("a", "at-1", 200, json!({}))];
        let comparison = compare(&none, &wire, &mut Labels::default(), NOW);
        assert_eq!(
            comparison.problems,
            ["API exchange 1 was not scripted: observed GET a?alt=json [<at-1>] -> 200"]
        );
    }
}
