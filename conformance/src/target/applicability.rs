//! Whether a scenario applies to the server target.
//!
//! A faithful server cannot produce every scripted answer: the mock also
//! plays faults (5xx, 408 and 429 answers, HTML bodies, malformed bodies,
//! connections dropped without an answer) and token endpoints that fail. The recording forwarder answers those
//! itself (`crate::target::faults`), so such a scenario runs, and the record
//! names what was injected. What nothing in front of a server can make it
//! do is derived from the script too, and the scenario's `server` block
//! decides when it says so:
//!
//! 1. `server.skip: <reason>`: skipped, with that reason (a production
//!    variant the server does not reproduce);
//! 2. `server.run: <reason>`: run, the reason noted in the record, for a
//!    script whose token-endpoint errors the server gives itself (such as
//!    `invalid_grant` for a key it does not know): those are forwarded;
//! 3. otherwise skipped when `credentials.granted` differs from the scopes
//!    asked for with the JWT-bearer grant: the scopes are signed into the
//!    assertion, and the server grants exactly those. With the other
//!    grants the forwarder asks the server for the granted scopes instead
//!    (`ForwarderOptions::grant_scopes`), as a partial consent does.
//!
//! Every skip carries its reason into the record, the snapshot and the
//! reports.

use std::collections::BTreeSet;

use crate::scenario::setup::scopes;
use crate::scenario::{ErrorKind, Exchange, Grant, Scenario};
use crate::target::faults::is_api_fault;

/// Whether and how a scenario runs on the server target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// It runs; the note, if any, says why although its script has faults.
    Run {
        /// `server.run`'s reason.
        note: Option<String>,
        /// The faults the recording forwarder answers itself, each with the
        /// places it comes from (see `crate::target::faults`).
        injected: Vec<String>,
    },
    /// It does not run, and why.
    Skip(String),
}

/// Decides whether `scenario` runs on the server target (see the module
/// documentation).
pub fn decide(scenario: &Scenario) -> Applicability {
    if let Some(server) = &scenario.server {
        if let Some(reason) = &server.value.skip {
            return Applicability::Skip(format!("server.skip: {}", reason.trim()));
        }
        if let Some(reason) = &server.value.run {
            return Applicability::Run {
                note: Some(reason.trim().to_owned()),
                injected: derived(scenario, Derived::Injected),
            };
        }
    }
    let reasons = derived_reasons(scenario);
    if reasons.is_empty() {
        Applicability::Run {
            note: None,
            injected: derived(scenario, Derived::Injected),
        }
    } else {
        Applicability::Skip(format!(
            "not applicable (derived from the script): {}",
            reasons.join("; ")
        ))
    }
}

/// Why the script shows what a faithful server does not do and the
/// forwarder cannot inject, each reason once with the places it comes from
/// (`step 1 line 14, step 2 line 37`), in order of first appearance.
pub fn derived_reasons(scenario: &Scenario) -> Vec<String> {
    derived(scenario, Derived::NotApplicable)
}

/// The two kinds of what a script shows that a faithful server does not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derived {
    /// Faults the recording forwarder answers itself.
    Injected,
    /// What nothing in front of the server can make it do.
    NotApplicable,
}

fn derived(scenario: &Scenario, wanted: Derived) -> Vec<String> {
    // (what the script does, why the server does not, where).
    let mut found: Vec<(String, &'static str, Vec<String>)> = Vec::new();
    let mut push = |kind: Derived, what: String, why: &'static str, place: String| {
        if kind != wanted {
            return;
        }
        match found.iter_mut().find(|(known, _, _)| *known == what) {
            Some((_, _, places)) => places.push(place),
            None => found.push((what, why, vec![place])),
        }
    };
    let token_errors_injected = scenario
        .server
        .as_ref()
        .is_none_or(|server| server.value.run.is_none());
    let credentials = &scenario.credentials;
    if let Some(granted) = &credentials.granted
        && credentials.grant == Grant::JwtBearer
    {
        let set = |names: &[String]| -> Option<BTreeSet<String>> {
            scopes(names)
                .ok()
                .map(|set| set.iter().map(|scope| scope.as_str().to_owned()).collect())
        };
        if set(granted) != set(&credentials.scopes) {
            push(
                Derived::NotApplicable,
                "credentials.granted differs from the scopes asked for".to_owned(),
                "the JWT-bearer grant signs the scopes into its assertion, which the forwarder \
                 cannot narrow, and the reference server grants exactly those, or refuses them",
                "credentials".to_owned(),
            );
        }
    }
    let reason_of = |json: Option<&serde_json::Value>| {
        json.and_then(crate::target::forwarder::error_reason)
            .map(|reason| format!(" {reason}"))
            .unwrap_or_default()
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        if let Some(expect) = &step.value.expect
            && expect
                .error
                .as_ref()
                .is_some_and(|error| error.kind == ErrorKind::Decode)
        {
            push(
                Derived::Injected,
                "expects a decode error".to_owned(),
                "a malformed answer the reference server never sends",
                format!("step {number} line {}", step.referenced.line()),
            );
        }
        for exchange in &step.value.exchanges {
            let place = format!("step {number} line {}", exchange.referenced.line());
            match &exchange.value {
                Exchange::Token(token) => {
                    if token.error.as_ref().is_some_and(|error| error.reset) {
                        push(
                            Derived::Injected,
                            "scripts a connection reset by the token endpoint".to_owned(),
                            "no server drops a connection on purpose",
                            place,
                        );
                    } else if let Some(error) = &token.error
                        && token_errors_injected
                    {
                        push(
                            Derived::Injected,
                            format!(
                                "scripts a token-endpoint error ({}{})",
                                error.status,
                                reason_of(error.json.as_ref())
                            ),
                            "the server gives one only to credentials it refuses",
                            place,
                        );
                    }
                }
                Exchange::Api(api) => {
                    let status = api.response.status;
                    if api.response.reset {
                        push(
                            Derived::Injected,
                            "scripts a connection reset (no answer)".to_owned(),
                            "no server drops a connection on purpose",
                            place,
                        );
                    } else if is_api_fault(&api.response) && api.response.body.is_none() {
                        push(
                            Derived::Injected,
                            format!(
                                "scripts a {status}{} answer",
                                reason_of(api.response.json.as_ref())
                            ),
                            "a fault the reference server does not inject",
                            place,
                        );
                    } else if api.response.body.is_some() {
                        push(
                            Derived::Injected,
                            "scripts a non-JSON answer (`body`)".to_owned(),
                            "the reference server never sends one",
                            place,
                        );
                    }
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(what, why, places)| match wanted {
            Derived::Injected => format!("{what} ({})", places.join(", ")),
            Derived::NotApplicable => format!("{what} ({}): {why}", places.join(", ")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::load::load_str;

    fn scenario(credentials: &str, exchanges: &str, server: &str) -> Scenario {
        let text = format!(
            "schema: 1\nid: a\ntitle: t\nbehaviors: [X]\ncredentials: {credentials}\nsteps:\n  - call: tasks.get\n    \
             args: {{ task: t1 }}\n    exchanges: {exchanges}\n    expect: {{ ok: {{}} }}\n{server}"
        );
        load_str(Path::new("a.yaml"), &text)
            .unwrap_or_else(|error| panic!("{error}"))
            .scenario
    }

    const CREDENTIALS: &str = "{ grant: refresh_token, scopes: [taskqueue] }";
    const OK: &str = "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, \
                      token: at-1 }, response: { status: 200, json: { id: t1 } } } }]";

    #[test]
    fn a_script_a_server_can_answer_runs() {
        assert_eq!(
            decide(&scenario(CREDENTIALS, OK, "")),
            Applicability::Run {
                note: None,
                injected: Vec::new()
            }
        );
    }

    #[test]
    fn faults_token_errors_and_raw_bodies_run_injected() {
        let cases = [
            (
                "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, token: \
                 at-1 }, response: { status: 503, json: { error: { code: 503, errors: [{ reason: \
                 backendError }] } } } } }]",
                "scripts a 503 backendError answer (step 1 line 9)",
            ),
            (
                "[{ token: { error: { status: 400, json: { error: invalid_grant } } } }]",
                "scripts a token-endpoint error (400 invalid_grant) (step 1 line 9)",
            ),
            (
                "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, token: \
                 at-1 }, response: { status: 404, body: '<html>' } } }]",
                "scripts a non-JSON answer (`body`) (step 1 line 9)",
            ),
            (
                "[{ token: { issue: at-1 } }, { api: { request: { method: GET, path: tasks/t1, token: \
                 at-1 }, response: { reset: true } } }]",
                "scripts a connection reset (no answer) (step 1 line 9)",
            ),
            (
                "[{ token: { error: { reset: true } } }, { token: { issue: at-1 } }]",
                "scripts a connection reset by the token endpoint (step 1 line 9)",
            ),
        ];
        for (exchanges, injected) in cases {
            assert_eq!(
                decide(&scenario(CREDENTIALS, exchanges, "")),
                Applicability::Run {
                    note: None,
                    injected: vec![injected.to_owned()]
                },
                "{exchanges}"
            );
        }
    }

    #[test]
    fn narrower_grants_run_except_for_signed_assertions() {
        assert!(matches!(
            decide(&scenario(
                "{ grant: refresh_token, scopes: [taskqueue], granted: [taskqueue.consumer] }",
                OK,
                "",
            )),
            Applicability::Run { .. }
        ));
        match decide(&scenario(
            "{ grant: jwt_bearer, scopes: [taskqueue], granted: [taskqueue.consumer] }",
            OK,
            "",
        )) {
            Applicability::Skip(why) => assert!(
                why.starts_with(
                    "not applicable (derived from the script): credentials.granted differs from \
                     the scopes asked for (credentials): the JWT-bearer grant"
                ),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_server_block_decides_when_it_says_so() {
        let faulty = "[{ token: { error: { status: 400, json: { error: invalid_grant } } } }]";
        assert_eq!(
            decide(&scenario(
                CREDENTIALS,
                faulty,
                "server: { run: the server refuses an unknown refresh token, principal: unregistered }\n"
            )),
            Applicability::Run {
                note: Some("the server refuses an unknown refresh token".to_owned()),
                injected: Vec::new(),
            }
        );
        assert_eq!(
            decide(&scenario(
                CREDENTIALS,
                OK,
                "server: { skip: 'the server never reissues a token' }\n"
            )),
            Applicability::Skip("server.skip: the server never reissues a token".to_owned())
        );
        // The server gives its token errors itself; a reset is still injected.
        let reset_first = "[{ token: { error: { reset: true } } }, { token: { error: { status: 401, \
                           json: { error: invalid_client } } } }]";
        assert_eq!(
            decide(&scenario(
                CREDENTIALS,
                reset_first,
                "server: { run: the server refuses an unknown client, principal: unregistered }\n"
            )),
            Applicability::Run {
                note: Some("the server refuses an unknown client".to_owned()),
                injected: vec![
                    "scripts a connection reset by the token endpoint (step 1 line 9)".to_owned()
                ],
            }
        );
    }
}
