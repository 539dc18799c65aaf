//! Fault injection in the recording forwarder: a step's scripted answers
//! that a faithful server never gives (a 5xx, a 408 or 429 with its
//! `Retry-After`, a non-JSON or malformed body, a token-endpoint error, a
//! connection dropped without an answer: `reset: true`) are answered by the
//! forwarder itself, in the script's order, and everything else is
//! forwarded. So the fault scenarios run in front of the reference server
//! and in front of any real endpoint. (The mock target plays a reset with
//! a front of its own, `crate::target::mock::front`.)
//!
//! [`plan`] reads a step's exchanges into a [`Plan`]: one entry per
//! scripted exchange, either [`Planned::Forward`] or [`Planned::Inject`].
//! The forwarder consumes the plan one request at a time: a request to the
//! token endpoint or the metadata server takes the next planned token
//! exchange, an API request the next planned API exchange; a request of the
//! other kind than the next entry, or one after the plan is used up, is
//! forwarded (the comparison that follows the call then names the
//! deviation). An injected exchange is recorded like a forwarded one and
//! marked, so its wire line ends in `(injected)`.

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use serde_json::Value;

use crate::scenario::template;
use crate::scenario::{ErrorKind, Exchange, Expect, ScriptedResponse, Spanned};

/// Whether a request goes to the token side or to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The token endpoint or the metadata server.
    Token,
    /// The Task Queue API.
    Api,
}

/// What the forwarder does with one scripted exchange.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Planned {
    /// Forward the request; the upstream answers.
    Forward(Side),
    /// Answer the scripted response without forwarding.
    Inject(Side, Injection),
}

impl Planned {
    fn side(&self) -> Side {
        match self {
            Planned::Forward(side) | Planned::Inject(side, _) => *side,
        }
    }
}

/// A scripted answer the forwarder gives itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Injection {
    /// The status.
    pub status: u16,
    /// The headers, as scripted.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (time templates expanded when answered), if scripted.
    pub json: Option<Value>,
    /// The raw body, if scripted.
    pub body: Option<String>,
    /// Whether the forwarder closes the connection without any answer (a
    /// connection reset), in place of the answer above.
    pub reset: bool,
}

impl Injection {
    fn of(response: &ScriptedResponse) -> Injection {
        Injection {
            status: response.status,
            headers: response.headers.clone(),
            json: response.json.clone(),
            body: response.body.clone(),
            reset: response.reset,
        }
    }

    /// A connection closed without an answer: the client sees a transport
    /// failure, as when a load balancer drops a connection (what a script's
    /// `reset: true` asks for).
    #[cfg(test)]
    pub(crate) fn reset() -> Injection {
        Injection {
            status: 0,
            headers: BTreeMap::new(),
            json: None,
            body: None,
            reset: true,
        }
    }

    /// The answer at `now`: status, headers (a `content-type` added when the
    /// script gives none) and body.
    pub(crate) fn answer(&self, now: SystemTime) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect();
        let (content_type, body) = match (&self.json, &self.body) {
            (Some(json), _) => {
                let expanded = template::expand(json, now).unwrap_or_else(|_| json.clone());
                ("application/json; charset=UTF-8", expanded.to_string())
            }
            (None, Some(body)) => ("text/html; charset=UTF-8", body.clone()),
            (None, None) => ("text/plain", String::new()),
        };
        if !headers.iter().any(|(name, _)| name == "content-type") {
            headers.push(("content-type".to_owned(), content_type.to_owned()));
        }
        (self.status, headers, body.into_bytes())
    }
}

/// A step's planned exchanges, consumed in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Plan(VecDeque<Planned>);

impl Plan {
    /// A plan of `planned`, in order.
    #[cfg(test)]
    pub(crate) fn of(planned: Vec<Planned>) -> Plan {
        Plan(planned.into())
    }

    /// What to do with the next request on `side`: the injection, if the
    /// next planned exchange is one on that side (consuming it); `None`
    /// forwards (consuming a planned forward on that side).
    pub(crate) fn next(&mut self, side: Side) -> Option<Injection> {
        if self.0.front().map(Planned::side) != Some(side) {
            return None;
        }
        match self.0.pop_front() {
            Some(Planned::Inject(_, injection)) => Some(injection),
            _ => None,
        }
    }

    /// Whether any exchange of the plan is injected.
    #[cfg(test)]
    pub(crate) fn injects(&self) -> bool {
        self.0
            .iter()
            .any(|planned| matches!(planned, Planned::Inject(..)))
    }
}

/// Whether a scripted API answer is a fault a faithful server never gives
/// on its own: a 408, a 429 or a 5xx, a body that is not JSON, or no answer
/// at all (a reset).
pub(crate) fn is_api_fault(response: &ScriptedResponse) -> bool {
    let status = response.status;
    response.reset || status == 408 || status == 429 || status >= 500 || response.body.is_some()
}

/// Who answers a scripted token-endpoint error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenErrors {
    /// The forwarder (the default: a faithful token endpoint refuses only
    /// credentials it does not know).
    Injected,
    /// The upstream, whose principal the harness registered wrongly on
    /// purpose (`server.run` with `server.principal`).
    Upstream,
}

/// The plan of a step: token errors (per `token_errors`; a token-endpoint
/// reset always) and API faults are injected, and so is the last API answer
/// of a step that expects a `decode` error (the malformed answer);
/// everything else is forwarded.
pub(crate) fn plan(
    exchanges: &[Spanned<Exchange>],
    expect: Option<&Expect>,
    token_errors: TokenErrors,
) -> Plan {
    let decode = expect
        .and_then(|expect| expect.error.as_ref())
        .is_some_and(|error| error.kind == ErrorKind::Decode);
    let last_api = exchanges
        .iter()
        .rposition(|exchange| matches!(exchange.value, Exchange::Api(_)));
    let planned = exchanges
        .iter()
        .enumerate()
        .map(|(index, exchange)| match &exchange.value {
            Exchange::Token(token) => match (&token.error, token_errors) {
                (Some(error), TokenErrors::Injected) => {
                    Planned::Inject(Side::Token, Injection::of(error))
                }
                // No server drops a connection on purpose, not even one
                // that gives the scripted token errors itself.
                (Some(error), TokenErrors::Upstream) if error.reset => {
                    Planned::Inject(Side::Token, Injection::of(error))
                }
                _ => Planned::Forward(Side::Token),
            },
            Exchange::Api(api) => {
                if is_api_fault(&api.response) || (decode && Some(index) == last_api) {
                    Planned::Inject(Side::Api, Injection::of(&api.response))
                } else {
                    Planned::Forward(Side::Api)
                }
            }
        })
        .collect();
    Plan(planned)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::scenario::load::load_str;

    fn step_plan(exchanges: &str, expect: &str) -> Plan {
        step_plan_with(exchanges, expect, TokenErrors::Injected)
    }

    fn step_plan_with(exchanges: &str, expect: &str, token_errors: TokenErrors) -> Plan {
        let text = format!(
            "schema: 1\nid: a\ntitle: t\nbehaviors: [X]\ncredentials: {{ grant: refresh_token, scopes: \
             [taskqueue] }}\nsteps:\n  - call: tasks.get\n    args: {{ task: t1 }}\n    exchanges: \
             {exchanges}\n    expect: {expect}\n"
        );
        let scenario = load_str(Path::new("a.yaml"), &text)
            .unwrap_or_else(|error| panic!("{error}"))
            .scenario;
        let step = &scenario.steps[0].value;
        plan(&step.exchanges, step.expect.as_ref(), token_errors)
    }

    const TOKEN: &str = "{ token: { issue: at-1 } }";
    const TOKEN_ERROR: &str =
        "{ token: { error: { status: 400, json: { error: invalid_grant } } } }";

    fn api(status: u16, body: &str) -> String {
        format!(
            "{{ api: {{ request: {{ method: GET, path: tasks/t1, token: at-1 }}, response: {{ status: \
             {status}, {body} }} }} }}"
        )
    }

    #[test]
    fn faults_are_injected_in_order_and_the_rest_forwarded() {
        // (exchanges, expect, per request: its side and the injected status).
        type Case = (String, &'static str, Vec<(Side, Option<u16>)>);
        let cases: [Case; 5] = [
            (
                format!(
                    "[{TOKEN}, {}, {}]",
                    api(503, "json: {}"),
                    api(200, "json: {}")
                ),
                "{ ok: {} }",
                vec![
                    (Side::Token, None),
                    (Side::Api, Some(503)),
                    (Side::Api, None),
                ],
            ),
            (
                format!("[{TOKEN_ERROR}]"),
                "{ error: { kind: auth } }",
                vec![(Side::Token, Some(400))],
            ),
            (
                format!("[{TOKEN}, {}]", api(404, "body: '<html>'")),
                "{ error: { kind: not_found } }",
                vec![(Side::Token, None), (Side::Api, Some(404))],
            ),
            (
                format!("[{TOKEN}, {}]", api(200, "json: { payloadBase64: '+/-_' }")),
                "{ error: { kind: decode } }",
                vec![(Side::Token, None), (Side::Api, Some(200))],
            ),
            (
                format!("[{TOKEN}, {}]", api(404, "json: {}")),
                "{ error: { kind: not_found } }",
                vec![(Side::Token, None), (Side::Api, None)],
            ),
        ];
        for (exchanges, expect, wanted) in cases {
            let mut plan = step_plan(&exchanges, expect);
            for (side, injected) in wanted {
                assert_eq!(
                    plan.next(side).map(|injection| injection.status),
                    injected,
                    "{exchanges}"
                );
            }
            assert_eq!(plan, Plan::default(), "{exchanges}: all consumed");
        }
    }

    #[test]
    fn resets_are_injected_on_both_sides_even_where_the_upstream_gives_token_errors() {
        let api_reset = "{ api: { request: { method: GET, path: tasks/t1, token: at-1 }, \
                         response: { reset: true } } }";
        let exchanges = format!(
            "[{{ token: {{ error: {{ reset: true }} }} }}, {TOKEN}, {api_reset}, {}]",
            api(200, "json: {}")
        );
        for token_errors in [TokenErrors::Injected, TokenErrors::Upstream] {
            let mut plan = step_plan_with(&exchanges, "{ ok: {} }", token_errors);
            let reset = |injection: Option<Injection>| injection.map(|i| (i.reset, i.status));
            assert_eq!(
                reset(plan.next(Side::Token)),
                Some((true, 0)),
                "{token_errors:?}"
            );
            assert_eq!(plan.next(Side::Token), None, "the token is forwarded");
            assert_eq!(
                reset(plan.next(Side::Api)),
                Some((true, 0)),
                "{token_errors:?}"
            );
            assert_eq!(plan.next(Side::Api), None, "the 200 is forwarded");
            assert_eq!(plan, Plan::default(), "all consumed");
        }
    }

    #[test]
    fn a_request_of_the_other_side_is_forwarded_without_consuming() {
        let mut plan = step_plan(&format!("[{TOKEN_ERROR}]"), "{ error: { kind: auth } }");
        assert_eq!(plan.next(Side::Api), None);
        assert!(plan.injects());
        assert_eq!(plan.next(Side::Token).map(|i| i.status), Some(400));
        assert_eq!(plan.next(Side::Token), None, "used up: forwarded");
    }

    #[test]
    fn answers_expand_time_templates_and_keep_scripted_headers() {
        let injection = Injection {
            status: 429,
            headers: BTreeMap::from([("Retry-After".to_owned(), "3".to_owned())]),
            json: Some(serde_json::json!({ "at": "{{now+1s}}" })),
            body: None,
            reset: false,
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let (status, headers, body) = injection.answer(now);
        assert_eq!(status, 429);
        assert!(headers.contains(&("retry-after".to_owned(), "3".to_owned())));
        assert!(
            headers.iter().any(
                |(name, value)| name == "content-type" && value.starts_with("application/json")
            )
        );
        assert_eq!(body, br#"{"at":"11000000"}"#);
        let html = Injection {
            status: 502,
            headers: BTreeMap::new(),
            json: None,
            body: Some("<html>Bad Gateway</html>".to_owned()),
            reset: false,
        };
        let (_, headers, body) = html.answer(now);
        assert!(
            headers
                .iter()
                .any(|(_, value)| value.starts_with("text/html"))
        );
        assert_eq!(body, b"<html>Bad Gateway</html>");
    }
}
