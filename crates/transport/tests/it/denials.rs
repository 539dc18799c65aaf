//! The two 403s: a token that lacks a scope (never refreshed, never retried,
//! with the required and granted scopes) and an ACL refusal. And the limits
//! of the 401 refresh: once per call, whatever happens in between.

use std::sync::Arc;

use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_transport::RetryPolicy;
use wiremock::matchers::{any, header};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RotatingTokens, clock, get, post, transport_with};

const TASKQUEUE: &str = "https://www.googleapis.com/auth/taskqueue";
const CLOUD_TASKQUEUE: &str = "https://www.googleapis.com/auth/cloud-taskqueue";

/// Google's header for a token without the scope, as captured in the wild.
fn challenge(scopes: &str) -> String {
    format!(
        r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{scopes}""#
    )
}

fn envelope(reason: &str, message: &str) -> String {
    format!(
        r#"{{"error":{{"errors":[{{"domain":"global","reason":"{reason}","message":"{message}"}}],"code":403,"message":"{message}"}}}}"#
    )
}

/// The newer envelope: `status` and a `google.rpc.ErrorInfo` in `details`, no `errors[]`.
const NEWER_ENVELOPE: &str = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com","metadata":{"service":"taskqueue.googleapis.com","method":"taskqueue.tasks.insert"}}]}}"#;

#[derive(Debug, PartialEq)]
enum Expect {
    /// A scope denial: the header's scopes (if any), the granted scopes,
    /// and whether they came from the token.
    Scope {
        required: Option<ScopeSet>,
        granted: ScopeSet,
        from_token: bool,
    },
    Acl,
    /// A 403 that is neither.
    Other,
}

struct Case {
    name: &'static str,
    /// One entry per `WWW-Authenticate` header field.
    www_authenticate: Vec<String>,
    body: String,
    /// The scopes the token provider reports for its tokens.
    token_scopes: Option<ScopeSet>,
    expect: Expect,
}

fn set(scopes: &[Scope]) -> ScopeSet {
    scopes.iter().cloned().collect()
}

fn cases() -> Vec<Case> {
    let consumer = set(&[Scope::TaskqueueConsumer]);
    let read_write = set(&[Scope::Taskqueue, Scope::CloudTaskqueue]);
    // What the transport asks for by default, hence the granted scopes
    // when the provider does not report them.
    let requested = set(&[Scope::Taskqueue]);
    let google = challenge(&format!("{TASKQUEUE} {CLOUD_TASKQUEUE}"));
    let insufficient = envelope("insufficientPermissions", "Insufficient Permission");
    let forbidden = envelope("forbidden", "Forbidden");
    let scope = |required: Option<&ScopeSet>, granted: &ScopeSet, from_token| Expect::Scope {
        required: required.cloned(),
        granted: granted.clone(),
        from_token,
    };
    vec![
        Case {
            name: "Google's header and envelope",
            www_authenticate: vec![google.clone()],
            body: insufficient.clone(),
            token_scopes: Some(consumer.clone()),
            expect: scope(Some(&read_write), &consumer, true),
        },
        Case {
            name: "header alone, non-JSON body, token scopes unknown",
            www_authenticate: vec![challenge(TASKQUEUE)],
            body: "<html>Forbidden</html>".to_owned(),
            token_scopes: None,
            expect: scope(Some(&requested), &requested, false),
        },
        Case {
            name: "the challenge in a second header field, without scope",
            www_authenticate: vec![
                r#"Basic realm="x""#.to_owned(),
                r#"Bearer error="insufficient_scope""#.to_owned(),
            ],
            body: String::new(),
            token_scopes: Some(consumer.clone()),
            expect: scope(None, &consumer, true),
        },
        Case {
            name: "insufficientPermissions without a header",
            www_authenticate: vec![],
            body: insufficient.clone(),
            token_scopes: Some(consumer.clone()),
            expect: scope(None, &consumer, true),
        },
        Case {
            name: "newer envelope: status and details[]",
            www_authenticate: vec![],
            body: NEWER_ENVELOPE.to_owned(),
            token_scopes: Some(consumer.clone()),
            expect: scope(None, &consumer, true),
        },
        Case {
            name: "ACCESS_TOKEN_SCOPE_INSUFFICIENT in errors[]",
            www_authenticate: vec![],
            body: envelope("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficient scopes"),
            token_scopes: None,
            expect: scope(None, &requested, false),
        },
        Case {
            name: "the header wins over an ACL reason",
            www_authenticate: vec![google.clone()],
            body: forbidden.clone(),
            token_scopes: None,
            expect: scope(Some(&read_write), &requested, false),
        },
        Case {
            name: "queue ACL",
            www_authenticate: vec![],
            body: forbidden.clone(),
            token_scopes: Some(read_write.clone()),
            expect: Expect::Acl,
        },
        Case {
            name: "queue ACL with a Bearer challenge that is not about scopes",
            www_authenticate: vec![r#"Bearer realm="https://accounts.google.com/""#.to_owned()],
            body: forbidden,
            token_scopes: None,
            expect: Expect::Acl,
        },
        Case {
            name: "quota",
            www_authenticate: vec![],
            body: envelope("dailyLimitExceeded", "Daily Limit Exceeded"),
            token_scopes: None,
            expect: Expect::Other,
        },
        Case {
            name: "a bare 403",
            www_authenticate: vec![],
            body: "<html>Forbidden</html>".to_owned(),
            token_scopes: None,
            expect: Expect::Other,
        },
    ]
}

#[tokio::test]
async fn a_403_is_a_scope_denial_or_an_acl_denial_never_refreshed_nor_retried() {
    for case in cases() {
        let name = case.name;
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(403).set_body_string(case.body.clone());
        for value in &case.www_authenticate {
            response = response.append_header("www-authenticate", value.as_str());
        }
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        let tokens = Arc::new(match case.token_scopes.clone() {
            Some(scopes) => RotatingTokens::granting(scopes),
            None => RotatingTokens::default(),
        });
        let clock = clock();
        let error = transport_with(&clock, RetryPolicy::new(), tokens.clone())
            .send(get(&server, "/r").retryable(true))
            .await
            .expect_err(name);

        assert!(error.is_permission_denied(), "{name}");
        assert!(!error.is_unauthenticated(), "{name}");
        assert!(!error.is_transient(), "{name}");
        let actual = match error.scope_denial() {
            Some(denial) => {
                assert!(error.is_scope_denied(), "{name}");
                assert!(!error.is_acl_denied(), "{name}: exclusive");
                Expect::Scope {
                    required: denial.required().cloned(),
                    granted: denial.granted().clone(),
                    from_token: denial.granted_from_token(),
                }
            }
            None if error.is_acl_denied() => Expect::Acl,
            None => Expect::Other,
        };
        assert_eq!(actual, case.expect, "{name}");

        // No refresh (a new token would have the same scopes), no retry.
        let requests = server.received_requests().await.expect("recording").len();
        assert_eq!(requests, 1, "{name}: requests");
        assert_eq!(error.attempts(), 1, "{name}: attempts");
        assert_eq!(tokens.invalidated(), 0, "{name}: invalidations");
        assert_eq!(tokens.issued(), 1, "{name}: tokens");
        assert!(clock.sleeps().is_empty(), "{name}: no backoff");
    }
}

#[tokio::test]
async fn the_granted_scopes_are_those_of_the_token_that_was_refused() {
    // at-1 is rejected (401); at-2, granted only the consumer scope, gets the 403.
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer at-2"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("www-authenticate", challenge(TASKQUEUE).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::granting(set(&[Scope::TaskqueueConsumer])));
    let error = transport_with(&clock(), RetryPolicy::new(), tokens.clone())
        .send(post(&server, "/lease"))
        .await
        .expect_err("403 after the refresh");
    let denial = error.scope_denial().expect("a scope denial");
    assert_eq!(denial.granted(), &set(&[Scope::TaskqueueConsumer]));
    assert_eq!(denial.required(), Some(&set(&[Scope::Taskqueue])));
    assert_eq!(error.attempts(), 2);
    assert_eq!(tokens.invalidated(), 1, "only the 401 invalidates");
}

#[tokio::test]
async fn a_call_refreshes_once_even_with_a_transient_failure_between_two_401s() {
    // at-1: 401. at-2: 503, then 401. The second 401 ends the call.
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(2)
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let clock = clock();
    let error = transport_with(&clock, RetryPolicy::new(), tokens.clone())
        .send(get(&server, "/r"))
        .await
        .expect_err("refused again after the refresh");
    assert!(error.is_unauthenticated(), "{error}");
    assert!(!error.is_scope_denied());
    assert_eq!(error.attempts(), 3);
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        3
    );
    assert_eq!(tokens.invalidated(), 2);
    assert_eq!(tokens.issued(), 3);
    assert_eq!(clock.sleeps().len(), 1, "one backoff, for the 503");
}
