//! A step's scripted exchanges held against what crossed the forwarder on
//! the server target: token exchanges and API exchanges alike, in order.
//!
//! API exchanges are compared as on the real target (`real::compare`), but
//! strictly on time: the server shares the scenario's clock, so a scripted
//! `{{now+60s}}` is expanded at the instant the answer came back and
//! compared like any value. A scripted token exchange is held against a
//! recorded request to the token endpoint (or the metadata server): the
//! grant, then `issue: at-n` wants a 200 that issued the token the script
//! calls `at-n` (labels correspond one to one, as for bearer tokens), and
//! `error` wants its status and OAuth error.
//!
//! Three wire forms are equivalent on this target ([`align`]), each a choice
//! production's behaviour leaves open (docs/wire-format.md §3.3) that the
//! scripts, written after AppScale, make the other way:
//!
//! - a scripted short queue name (`queueName: pull-queue`, a queue's `id`)
//!   matches the server's long form `projects/s~app/taskqueues/pull-queue`
//!   of the same queue; the client reads both as given (the quirks
//!   scenarios show each);
//! - a scripted `maxLeases: 0` matches a queue answer without `maxLeases`
//!   (a queue without a lease limit: AppScale sends 0, the server leaves the
//!   field out);
//! - the two spellings of a task collection's `kind`, `taskqueue#tasks` and
//!   `taskqueues#tasks`, match each other (the docs contradict themselves,
//!   docs/wire-format.md §3.2; the server sends the discovery document's).
//!
//! They apply to scripted answers and to `expect.ok` alike.
//!
//! Names the server generates (`server.generated`) are bound like token
//! labels: the first scripted answer naming one (`id: t1`) binds it to the
//! name the server gave, and from then on every scripted value `t1` (in
//! arguments, request paths and bodies, answers and `expect`) stands for
//! that name ([`Names`]).

use std::time::{Duration, SystemTime};

use serde_json::Value;
use taskqueue_model::QueuePath;

use crate::check::diff::{Comparison, Labels, Templates, differences};
use crate::scenario::template::Window;
use crate::scenario::{ApiExchange, Exchange, Expect, Grant, Spanned, Step, TokenExchange};
use crate::target::forwarder::{Recorded, error_reason};

/// Task names of the script bound to the names the server generated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    /// The script's names that stand for generated ones.
    generated: Vec<String>,
    /// (script name, generated name), in binding order.
    bound: Vec<(String, String)>,
}

impl Names {
    /// Names for the script names `generated`, none bound yet.
    pub(crate) fn new(generated: &[String]) -> Names {
        Names {
            generated: generated.to_vec(),
            bound: Vec::new(),
        }
    }

    /// Also stands `actual` for the script's `script` from the start (a
    /// task name made unique per run on a real endpoint, a queue of the
    /// pool).
    pub(crate) fn with_fixed(mut self, script: &str, actual: &str) -> Names {
        self.bound.push((script.to_owned(), actual.to_owned()));
        self
    }

    /// The bindings so far.
    #[cfg(test)]
    pub(crate) fn bound(&self) -> &[(String, String)] {
        &self.bound
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.bound
            .iter()
            .find(|(script, _)| script == name)
            .map(|(_, generated)| generated.as_str())
    }

    /// `value` with every string that is a bound script name replaced by its
    /// generated name.
    pub(crate) fn apply_value(&self, value: &Value) -> Value {
        if self.bound.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(text) => self
                .lookup(text)
                .map_or_else(|| value.clone(), |name| Value::String(name.to_owned())),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.apply_value(v)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, v)| (key.clone(), self.apply_value(v)))
                    .collect(),
            ),
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        }
    }

    /// A scripted path (`tasks/t1`) with bound names replaced segment by
    /// segment.
    fn apply_path(&self, path: &str) -> String {
        path.split('/')
            .map(|segment| self.lookup(segment).unwrap_or(segment))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// `step` with every bound name replaced: its arguments, exchanges and
    /// expectation.
    pub(crate) fn apply_step(&self, step: &Step) -> Step {
        if self.bound.is_empty() {
            return step.clone();
        }
        let mut step = step.clone();
        for value in step.args.values_mut() {
            *value = self.apply_value(value);
        }
        for exchange in &mut step.exchanges {
            if let Exchange::Api(api) = &mut exchange.value {
                *api = self.apply_api(api);
            }
        }
        if let Some(expect) = &mut step.expect {
            *expect = self.apply_expect(expect);
        }
        step
    }

    /// `expect` with every bound name replaced.
    pub(crate) fn apply_expect(&self, expect: &Expect) -> Expect {
        let mut expect = expect.clone();
        if let Some(ok) = &expect.ok {
            expect.ok = Some(self.apply_value(ok));
        }
        expect
    }

    fn apply_api(&self, api: &ApiExchange) -> ApiExchange {
        let mut api = api.clone();
        api.request.path = self.apply_path(&api.request.path);
        if let Some(body) = &api.request.body {
            api.request.body = Some(self.apply_value(body));
        }
        if let Some(json) = &api.response.json {
            api.response.json = Some(self.apply_value(json));
        }
        api
    }

    /// Binds every unbound generated name the scripted answer `want` shows
    /// as an `id` to the value the actual answer `have` has in its place.
    fn bind(&mut self, want: &Value, have: &Value) {
        match (want, have) {
            (Value::Object(want), Value::Object(have)) => {
                for (key, value) in want {
                    let Some(actual) = have.get(key) else {
                        continue;
                    };
                    if key == "id"
                        && let (Value::String(name), Value::String(generated)) = (value, actual)
                        && self.generated.contains(name)
                        && self.lookup(name).is_none()
                    {
                        self.bound.push((name.clone(), generated.clone()));
                    } else {
                        self.bind(value, actual);
                    }
                }
            }
            (Value::Array(want), Value::Array(have)) => {
                for (value, actual) in want.iter().zip(have) {
                    self.bind(value, actual);
                }
            }
            _ => {}
        }
    }
}

/// `expected` with the equivalent wire forms of `actual` taken where they
/// differ only in form (see the module documentation): a short queue name
/// (`queueName`, `id`) where `actual` has its long form, either spelling of
/// a task collection's `kind`, and no `maxLeases` where `expected` says 0 and
/// `actual` has none.
pub(crate) fn align(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            let mut aligned = serde_json::Map::new();
            for (key, value) in want {
                let Some(actual) = have.get(key) else {
                    if !(key == "maxLeases" && value.as_i64() == Some(0)) {
                        aligned.insert(key.clone(), value.clone());
                    }
                    continue;
                };
                let long_form_of_it = (key == "queueName" || key == "id")
                    && matches!(
                        (value, actual),
                        (Value::String(short), Value::String(long))
                            if QueuePath::parse(long).is_some_and(|path| path.queue == *short)
                    );
                let collections = ["taskqueue#tasks", "taskqueues#tasks"];
                let collection_kind = key == "kind"
                    && matches!(
                        (value, actual),
                        (Value::String(want), Value::String(have))
                            if collections.contains(&want.as_str())
                                && collections.contains(&have.as_str())
                    );
                let value = if long_form_of_it || collection_kind {
                    actual.clone()
                } else {
                    align(value, actual)
                };
                aligned.insert(key.clone(), value);
            }
            Value::Object(aligned)
        }
        (Value::Array(want), Value::Array(have)) => Value::Array(
            want.iter()
                .enumerate()
                .map(|(index, value)| match have.get(index) {
                    Some(actual) => align(value, actual),
                    None => value.clone(),
                })
                .collect(),
        ),
        _ => expected.clone(),
    }
}

/// Compares the `script` of one step (names already applied) with the
/// exchanges `recorded` during it, in order; `grant` is the scenario's,
/// `now` the instant the call's templates were expanded at. New generated
/// names are bound in `names`.
pub(crate) fn compare_all(
    script: &[Spanned<Exchange>],
    recorded: &[Recorded],
    grant: Grant,
    labels: &mut Labels,
    names: &mut Names,
    now: SystemTime,
    tolerance: Duration,
) -> Comparison {
    let mut comparison = Comparison::default();
    for index in 0..script.len().max(recorded.len()) {
        let number = index + 1;
        match (script.get(index).map(|s| &s.value), recorded.get(index)) {
            (Some(Exchange::Token(want)), Some(got)) if got.token_exchange.is_some() => {
                let problems = token_differences(want, got, grant, labels);
                if !problems.is_empty() {
                    comparison.problems.push(format!(
                        "exchange {number} (scripted {}; observed {}): {}",
                        crate::target::mock::script::describe(&Exchange::Token(want.clone())),
                        got.line(),
                        problems.join("; ")
                    ));
                }
            }
            (Some(Exchange::Api(want)), Some(got)) if got.token_exchange.is_none() => {
                if let (Some(script_json), Some(actual)) = (&want.response.json, &got.json) {
                    names.bind(script_json, actual);
                }
                let mut want = names.apply_api(want);
                if let (Some(script_json), Some(actual)) = (&want.response.json, &got.json) {
                    want.response.json = Some(align(script_json, actual));
                }
                let at = got.at.unwrap_or(now);
                let problems = differences(
                    &want,
                    got,
                    labels,
                    now,
                    Templates::Within(Window::between(now, at, tolerance)),
                );
                if !problems.is_empty() {
                    comparison.problems.push(format!(
                        "exchange {number} (scripted {}; observed {}): {}",
                        crate::target::mock::script::describe(&Exchange::Api(want.clone())),
                        got.line(),
                        problems.join("; ")
                    ));
                }
            }
            (Some(want), Some(got)) => {
                let (scripted, observed) = match want {
                    Exchange::Token(_) => ("a token request", "an API request"),
                    Exchange::Api(_) => ("an API request", "a token request"),
                };
                comparison.problems.push(format!(
                    "exchange {number}: {scripted} was scripted ({}), {observed} came: {}",
                    crate::target::mock::script::describe(want),
                    got.line()
                ));
            }
            (Some(want), None) => comparison.problems.push(format!(
                "exchange {number} (scripted {}) did not happen",
                crate::target::mock::script::describe(want)
            )),
            (None, Some(got)) => comparison.problems.push(format!(
                "exchange {number} was not scripted: observed {}",
                got.line()
            )),
            (None, None) => {}
        }
    }
    comparison
}

/// The grant a recorded token request must use for `grant`.
fn expected_grant(grant: Grant) -> &'static str {
    match grant {
        Grant::RefreshToken => "refresh_token",
        Grant::JwtBearer => "jwt_bearer",
        Grant::Metadata => "metadata",
        Grant::Static => "none (the static grant makes no token request)",
    }
}

fn token_differences(
    want: &TokenExchange,
    got: &Recorded,
    grant: Grant,
    labels: &mut Labels,
) -> Vec<String> {
    let mut differences = Vec::new();
    let Some(token) = &got.token_exchange else {
        return vec!["not a token request".to_owned()];
    };
    let expected = expected_grant(grant);
    if token.grant != expected {
        differences.push(format!("grant: expected {expected}, got {}", token.grant));
    }
    if let Some(label) = &want.issue {
        if got.status != 200 {
            differences.push(format!(
                "status: expected 200 issuing <{label}>, got {}{}",
                got.status,
                got.reason().map(|r| format!(" {r}")).unwrap_or_default()
            ));
        } else if token.issued.is_none() {
            differences.push(format!(
                "expected <{label}> issued, got a 200 without access_token"
            ));
        } else {
            differences.extend(labels.check(label, token.issued.as_deref()));
        }
    }
    if let Some(error) = &want.error {
        if error.status != got.status {
            differences.push(format!(
                "status: expected {}, got {}",
                error.status, got.status
            ));
        }
        if let Some(reason) = error.json.as_ref().and_then(error_reason) {
            let got_reason = got.reason();
            if got_reason.as_deref() != Some(reason.as_str()) {
                differences.push(format!(
                    "error: expected `{reason}`, got {}",
                    got_reason.map_or("none".to_owned(), |r| format!("`{r}`"))
                ));
            }
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::scenario::load::load_str;
    use crate::target::forwarder::TokenRecord;

    fn step(exchanges: &str, expect: &str) -> Step {
        let text = format!(
            "schema: 1\nid: d\ntitle: t\nbehaviors: [X]\ncredentials:\n  grant: refresh_token\n  \
             scopes: [taskqueue]\nsteps:\n  - call: tasks.get\n    args: {{ task: t1 }}\n    \
             exchanges: {exchanges}\n    expect: {expect}\n"
        );
        let loaded = load_str(Path::new("d.yaml"), &text).expect("valid");
        loaded.scenario.steps[0].value.clone()
    }

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn api(path: &str, token: &str, status: u16, json: Value) -> Recorded {
        Recorded {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            token: Some(token.to_owned()),
            body: None,
            status,
            json: Some(json),
            text: String::new(),
            upstream_error: None,
            token_exchange: None,
            at: Some(NOW + std::time::Duration::from_secs(5)),
            revoked: false,
            injected: false,
        }
    }

    fn token(status: u16, issued: Option<&str>, json: Value) -> Recorded {
        Recorded {
            method: "POST".to_owned(),
            path: "/token".to_owned(),
            token: None,
            token_exchange: Some(TokenRecord {
                grant: "refresh_token".to_owned(),
                scopes: vec!["https://www.googleapis.com/auth/taskqueue".to_owned()],
                flavored: false,
                issued: issued.map(str::to_owned),
                expires_in: Some(3600),
                granted: None,
            }),
            ..api("", "", status, json)
        }
    }

    #[test]
    fn tokens_and_api_exchanges_are_compared_in_order_with_exact_times() {
        let step = step(
            "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, token: \
             at-1 }, response: { status: 200, json: { id: t1, leaseTimestamp: '{{now}}' } } } }]",
            "{ ok: {} }",
        );
        let wire = [
            token(200, Some("at-1"), json!({"access_token": "<at-1>"})),
            api(
                "tasks/t1",
                "at-1",
                200,
                json!({"id": "t1", "leaseTimestamp": "5000000"}),
            ),
        ];
        let mut names = Names::default();
        let comparison = compare_all(
            &step.exchanges,
            &wire,
            Grant::RefreshToken,
            &mut Labels::default(),
            &mut names,
            NOW,
            Duration::ZERO,
        );
        assert_eq!(comparison.problems, Vec::<String>::new());

        // The template is exact on this target: one second off is a difference.
        let late = [
            token(200, Some("at-1"), json!({})),
            api(
                "tasks/t1",
                "at-1",
                200,
                json!({"id": "t1", "leaseTimestamp": "6000000"}),
            ),
        ];
        let comparison = compare_all(
            &step.exchanges,
            &late,
            Grant::RefreshToken,
            &mut Labels::default(),
            &mut names,
            NOW,
            Duration::ZERO,
        );
        assert_eq!(comparison.problems.len(), 1, "{:?}", comparison.problems);
        assert!(
            comparison.problems[0].contains("response.leaseTimestamp"),
            "{:?}",
            comparison.problems
        );
    }

    #[test]
    fn token_errors_kinds_and_order_are_checked() {
        let step = step(
            "[{ token: { error: { status: 400, json: { error: invalid_grant } } } }]",
            "{ error: { kind: auth } }",
        );
        let refused = [token(401, None, json!({"error": "invalid_client"}))];
        let comparison = compare_all(
            &step.exchanges,
            &refused,
            Grant::RefreshToken,
            &mut Labels::default(),
            &mut Names::default(),
            NOW,
            Duration::ZERO,
        );
        assert_eq!(
            comparison.problems,
            [
                "exchange 1 (scripted token error 400 invalid_grant; observed POST /token \
              refresh_token scope=taskqueue -> 401 invalid_client): status: expected 400, got \
              401; error: expected `invalid_grant`, got `invalid_client`"
            ]
        );
        let swapped = [api("tasks/t1", "at-1", 200, json!({}))];
        let comparison = compare_all(
            &step.exchanges,
            &swapped,
            Grant::JwtBearer,
            &mut Labels::default(),
            &mut Names::default(),
            NOW,
            Duration::ZERO,
        );
        assert_eq!(
            comparison.problems,
            [
                "exchange 1: a token request was scripted (token error 400 invalid_grant), an API \
              request came: GET tasks/t1 [<at-1>] -> 200"
            ]
        );
    }

    #[test]
    fn short_queue_names_and_a_zero_lease_limit_align_with_the_servers_forms() {
        let expected = json!({
            "id": "pull-queue",
            "maxLeases": 0,
            "items": [{ "id": "t1", "queueName": "pull-queue" }, { "queueName": "other" }]
        });
        let actual = json!({
            "id": "projects/s~app/taskqueues/pull-queue",
            "items": [
                { "id": "t1", "queueName": "projects/s~app/taskqueues/pull-queue" },
                { "queueName": "projects/s~app/taskqueues/pull-queue" }
            ]
        });
        assert_eq!(
            align(&expected, &actual),
            json!({
                "id": "projects/s~app/taskqueues/pull-queue",
                "items": [
                    { "id": "t1", "queueName": "projects/s~app/taskqueues/pull-queue" },
                    // Another queue's name stays, and the comparison fails.
                    { "queueName": "other" }
                ]
            })
        );
        // A lease limit other than 0 is compared as scripted.
        assert_eq!(
            align(&json!({"maxLeases": 5}), &json!({})),
            json!({"maxLeases": 5})
        );
        // Collection kinds align; a task's kind does not.
        assert_eq!(
            align(
                &json!({"kind": "taskqueues#tasks", "items": [{"kind": "taskqueue#task"}]}),
                &json!({"kind": "taskqueue#tasks", "items": [{"kind": "taskqueues#task"}]})
            ),
            json!({"kind": "taskqueue#tasks", "items": [{"kind": "taskqueue#task"}]})
        );
    }

    #[test]
    fn generated_names_bind_on_first_sight_and_stand_in_later() {
        let insert = step(
            "[{ api: { request: { method: POST, path: tasks, token: at-1 }, response: { status: \
             200, json: { id: t1 } } } }]",
            "{ ok: { id: t1 } }",
        );
        let mut names = Names::new(&["t1".to_owned()]);
        let wire = [Recorded {
            method: "POST".to_owned(),
            ..api("tasks", "at-1", 200, json!({"id": "0a1b2c3d4e5f6071"}))
        }];
        let comparison = compare_all(
            &insert.exchanges,
            &wire,
            Grant::RefreshToken,
            &mut Labels::default(),
            &mut names,
            NOW,
            Duration::ZERO,
        );
        assert_eq!(comparison.problems, Vec::<String>::new());
        assert_eq!(
            names.bound(),
            [("t1".to_owned(), "0a1b2c3d4e5f6071".to_owned())]
        );
        let get = names.apply_step(&step(
            "[{ api: { request: { method: GET, path: tasks/t1, token: at-1 }, response: { status: \
             200, json: { id: t1 } } } }]",
            "{ ok: { id: t1 } }",
        ));
        assert_eq!(get.args["task"], json!("0a1b2c3d4e5f6071"));
        let Exchange::Api(exchange) = &get.exchanges[0].value else {
            panic!("an api exchange");
        };
        assert_eq!(exchange.request.path, "tasks/0a1b2c3d4e5f6071");
        assert_eq!(
            get.expect.and_then(|expect| expect.ok),
            Some(json!({"id": "0a1b2c3d4e5f6071"}))
        );
    }
}
