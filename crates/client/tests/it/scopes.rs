//! Scope and ACL denials: the pre-flight check against the docs'
//! table (every method × every scope), the server's 403s mapped to the same
//! typed errors, and a snapshot of the hints.

use std::fmt::Write as _;
use std::sync::Arc;

use taskqueue_auth::{Access, Scope, ScopeSet};
use taskqueue_client::{Client, Error, accepted_scopes, required_access};
use taskqueue_model::ApiMethod;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RotatingTokens, builder, call, clock, requests};

const TASKQUEUE: &str = "https://www.googleapis.com/auth/taskqueue";
const CLOUD_TASKQUEUE: &str = "https://www.googleapis.com/auth/cloud-taskqueue";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The scope table (docs/wire-format.md §7), written out: the read/write scopes allow
/// every method, the read-only consumer scopes these three.
const READS: [ApiMethod; 3] = [
    ApiMethod::TaskqueuesGet,
    ApiMethod::TasksGet,
    ApiMethod::TasksList,
];

fn set(scopes: &[Scope]) -> ScopeSet {
    scopes.iter().cloned().collect()
}

fn read_write() -> ScopeSet {
    set(&[Scope::Taskqueue, Scope::CloudTaskqueue])
}

/// Google's header for a token without the scope.
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

const NEWER_ENVELOPE: &str = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com"}]}}"#;

/// A server that answers every request with `{}`.
async fn accepting_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    server
}

fn client_with(
    server: &MockServer,
    clock: &taskqueue_clock::VirtualClock,
    tokens: Arc<RotatingTokens>,
    scopes: ScopeSet,
    preflight: bool,
) -> Client {
    builder(server, clock)
        .token_provider(tokens)
        .scopes(scopes)
        .preflight_scope_check(preflight)
        .build()
        .expect("client")
}

#[test]
fn the_method_table_is_the_seed_documents() {
    for method in ApiMethod::ALL {
        let read = READS.contains(&method);
        let expected = if read {
            set(&Scope::TASK_QUEUE_SCOPES)
        } else {
            read_write()
        };
        assert_eq!(accepted_scopes(method), expected, "{method}");
        assert_eq!(
            required_access(method),
            if read { Access::Read } else { Access::Write },
            "{method}"
        );
    }
}

#[tokio::test]
async fn the_preflight_check_allows_exactly_what_the_seed_table_allows_and_sends_nothing_else() {
    let server = accepting_server().await;
    let clock = clock();
    let scope_sets: Vec<(&str, ScopeSet)> = vec![
        ("taskqueue", set(&[Scope::Taskqueue])),
        ("taskqueue.consumer", set(&[Scope::TaskqueueConsumer])),
        ("cloud-taskqueue", set(&[Scope::CloudTaskqueue])),
        (
            "cloud-taskqueue.consumer",
            set(&[Scope::CloudTaskqueueConsumer]),
        ),
        ("a foreign scope", set(&[Scope::parse(CLOUD_PLATFORM)])),
        ("no scope", ScopeSet::new()),
    ];
    for (scope_name, scopes) in &scope_sets {
        for method in ApiMethod::ALL {
            let label = format!("{method} with {scope_name}");
            let allowed = match *scope_name {
                "taskqueue" | "cloud-taskqueue" => true,
                "taskqueue.consumer" | "cloud-taskqueue.consumer" => READS.contains(&method),
                _ => false,
            };
            let tokens = Arc::new(RotatingTokens::default());
            let client = client_with(&server, &clock, tokens.clone(), scopes.clone(), true);
            let before = requests(&server).await;

            let checked = client.check_scopes(method);
            let called = call(&client, method).await;

            let sent = requests(&server).await - before;
            assert_eq!(checked.is_ok(), allowed, "{label}: check_scopes");
            if allowed {
                called.unwrap_or_else(|error| panic!("{label}: {error}"));
                assert_eq!(sent, 1, "{label}: sent");
                continue;
            }
            for error in [checked.expect_err(&label), called.expect_err(&label)] {
                assert!(error.is_scope_denied(), "{label}: {error}");
                assert!(error.is_permission_denied(), "{label}");
                assert!(!error.is_acl_denied(), "{label}");
                assert!(!error.is_validation(), "{label}");
                assert_eq!(error.status(), None, "{label}: nothing was sent");
                assert!(error.transport().is_none(), "{label}");
                let denied = error.scope_denied().expect("scope denied");
                assert!(denied.is_preflight(), "{label}");
                assert_eq!(denied.method(), Some(method), "{label}");
                assert_eq!(denied.required(), &accepted_scopes(method), "{label}");
                assert!(!denied.required_from_server(), "{label}");
                assert_eq!(denied.granted(), scopes, "{label}");
                assert!(!denied.granted_from_token(), "{label}");
                assert!(error.to_string().contains(method.id()), "{label}: {error}");
            }
            assert_eq!(sent, 0, "{label}: a denial sends nothing");
            assert_eq!(tokens.issued(), 0, "{label}: not even a token is fetched");
        }
    }
}

#[tokio::test]
async fn without_the_preflight_check_every_call_is_sent() {
    let server = accepting_server().await;
    let clock = clock();
    let tokens = Arc::new(RotatingTokens::default());
    let client = client_with(
        &server,
        &clock,
        tokens,
        set(&[Scope::TaskqueueConsumer]),
        false,
    );
    assert!(!client.preflight_scope_check());
    for method in ApiMethod::ALL {
        call(&client, method)
            .await
            .unwrap_or_else(|error| panic!("{method}: {error}"));
        // The explicit check still answers.
        assert_eq!(client.check_scopes(method).is_ok(), READS.contains(&method));
    }
    assert_eq!(requests(&server).await, ApiMethod::ALL.len());
    // And it can be turned back on for a client built elsewhere.
    let checked = client.with_preflight_scope_check(true);
    assert!(checked.preflight_scope_check());
    let error = call(&checked, ApiMethod::TasksLease)
        .await
        .expect_err("pre-flight denial");
    assert!(
        error
            .scope_denied()
            .is_some_and(|denied| denied.is_preflight())
    );
    assert_eq!(requests(&server).await, ApiMethod::ALL.len());
}

/// The conformance case: a consumer-only client inserts. Refused before
/// sending with the check on; by the server with it off. Same typed error.
#[tokio::test]
async fn a_consumer_scope_insert_is_denied_before_sending_or_by_the_server() {
    let consumer = set(&[Scope::TaskqueueConsumer]);
    let mut errors = Vec::new();
    for preflight in [true, false] {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header(
                        "www-authenticate",
                        challenge(&format!("{TASKQUEUE} {CLOUD_TASKQUEUE}")).as_str(),
                    )
                    .set_body_string(envelope(
                        "insufficientPermissions",
                        "Insufficient Permission",
                    )),
            )
            .mount(&server)
            .await;
        let tokens = Arc::new(RotatingTokens::granting(consumer.clone()));
        let clock = clock();
        let client = client_with(&server, &clock, tokens.clone(), consumer.clone(), preflight);
        let error = call(&client, ApiMethod::TasksInsert)
            .await
            .expect_err("denied");
        let sent = requests(&server).await;
        assert_eq!(sent, usize::from(!preflight), "preflight {preflight}: sent");
        assert_eq!(tokens.issued(), usize::from(!preflight));
        assert_eq!(tokens.invalidated(), 0);
        assert!(clock.sleeps().is_empty());
        errors.push(error);
    }
    let [before_sending, by_server] = &errors[..] else {
        panic!("two errors");
    };
    for error in [before_sending, by_server] {
        assert!(error.is_scope_denied(), "{error}");
        assert!(error.is_permission_denied(), "{error}");
        assert!(!error.is_acl_denied(), "{error}");
        let denied = error.scope_denied().expect("denied");
        assert_eq!(denied.method(), Some(ApiMethod::TasksInsert));
        assert_eq!(denied.required(), &read_write());
        assert_eq!(denied.granted(), &consumer);
    }
    let before_sending = before_sending.scope_denied().expect("denied");
    let by_server_denied = by_server.scope_denied().expect("denied");
    assert!(before_sending.is_preflight());
    assert!(!by_server_denied.is_preflight());
    assert!(by_server_denied.required_from_server());
    assert!(by_server_denied.granted_from_token());
    assert_eq!(by_server.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(by_server.reason(), Some("insufficientPermissions"));
}

#[derive(Debug, PartialEq)]
enum Expect {
    Scope {
        required: ScopeSet,
        required_from_server: bool,
        granted: ScopeSet,
        granted_from_token: bool,
    },
    Acl,
    Other,
}

struct ServerCase {
    name: &'static str,
    method: ApiMethod,
    www_authenticate: Option<String>,
    body: String,
    /// The scopes the token provider reports for its tokens.
    token_scopes: Option<ScopeSet>,
    expect: Expect,
}

fn server_cases() -> Vec<ServerCase> {
    let consumer = set(&[Scope::TaskqueueConsumer]);
    let cloud_consumer = set(&[Scope::CloudTaskqueueConsumer]);
    let foreign = set(&[Scope::parse(CLOUD_PLATFORM)]);
    // What the clients below request, hence the granted scopes when the
    // provider does not report them.
    let requested = set(&[Scope::Taskqueue]);
    let insufficient = envelope("insufficientPermissions", "Insufficient Permission");
    vec![
        ServerCase {
            name: "header names the scopes; token scopes known",
            method: ApiMethod::TasksInsert,
            www_authenticate: Some(challenge(&format!("{TASKQUEUE} {CLOUD_TASKQUEUE}"))),
            body: insufficient.clone(),
            token_scopes: Some(consumer.clone()),
            expect: Expect::Scope {
                required: read_write(),
                required_from_server: true,
                granted: consumer.clone(),
                granted_from_token: true,
            },
        },
        ServerCase {
            name: "header names one scope; token scopes unknown",
            method: ApiMethod::TasksLease,
            www_authenticate: Some(challenge(TASKQUEUE)),
            body: "<html>Forbidden</html>".to_owned(),
            token_scopes: None,
            expect: Expect::Scope {
                required: set(&[Scope::Taskqueue]),
                required_from_server: true,
                granted: requested.clone(),
                granted_from_token: false,
            },
        },
        ServerCase {
            name: "insufficientPermissions without a header",
            method: ApiMethod::TasksInsert,
            www_authenticate: None,
            body: insufficient.clone(),
            token_scopes: Some(consumer.clone()),
            expect: Expect::Scope {
                required: read_write(),
                required_from_server: false,
                granted: consumer.clone(),
                granted_from_token: true,
            },
        },
        ServerCase {
            name: "newer envelope with ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            method: ApiMethod::TasksDelete,
            www_authenticate: None,
            body: NEWER_ENVELOPE.to_owned(),
            token_scopes: Some(cloud_consumer.clone()),
            expect: Expect::Scope {
                required: read_write(),
                required_from_server: false,
                granted: cloud_consumer,
                granted_from_token: true,
            },
        },
        ServerCase {
            name: "ACCESS_TOKEN_SCOPE_INSUFFICIENT in errors[], a read",
            method: ApiMethod::TasksGet,
            www_authenticate: None,
            body: envelope("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficient scopes"),
            token_scopes: Some(foreign),
            expect: Expect::Scope {
                required: set(&Scope::TASK_QUEUE_SCOPES),
                required_from_server: false,
                granted: set(&[Scope::parse(CLOUD_PLATFORM)]),
                granted_from_token: true,
            },
        },
        ServerCase {
            name: "insufficientPermissions for a token that should do",
            method: ApiMethod::TasksList,
            www_authenticate: None,
            body: insufficient.clone(),
            token_scopes: None,
            expect: Expect::Scope {
                required: set(&Scope::TASK_QUEUE_SCOPES),
                required_from_server: false,
                granted: requested,
                granted_from_token: false,
            },
        },
        ServerCase {
            name: "the server names a scope outside the table",
            method: ApiMethod::TasksGet,
            www_authenticate: Some(challenge(CLOUD_PLATFORM)),
            body: insufficient,
            token_scopes: Some(set(&[Scope::Taskqueue])),
            expect: Expect::Scope {
                required: set(&[Scope::parse(CLOUD_PLATFORM)]),
                required_from_server: true,
                granted: set(&[Scope::Taskqueue]),
                granted_from_token: true,
            },
        },
        ServerCase {
            name: "queue ACL, insert",
            method: ApiMethod::TasksInsert,
            www_authenticate: None,
            body: envelope("forbidden", "Forbidden"),
            token_scopes: None,
            expect: Expect::Acl,
        },
        ServerCase {
            name: "queue ACL, lease",
            method: ApiMethod::TasksLease,
            www_authenticate: None,
            body: envelope("forbidden", "Forbidden"),
            token_scopes: None,
            expect: Expect::Acl,
        },
        ServerCase {
            name: "quota",
            method: ApiMethod::TasksGet,
            www_authenticate: None,
            body: envelope("dailyLimitExceeded", "Daily Limit Exceeded"),
            token_scopes: None,
            expect: Expect::Other,
        },
    ]
}

/// A client whose requested scope (`taskqueue`) passes the pre-flight check
/// for every method, so that the server decides.
async fn server_denial(case: &ServerCase) -> (Error, Arc<RotatingTokens>, MockServer) {
    let server = MockServer::start().await;
    let mut response = ResponseTemplate::new(403).set_body_string(case.body.clone());
    if let Some(value) = &case.www_authenticate {
        response = response.insert_header("www-authenticate", value.as_str());
    }
    Mock::given(any())
        .respond_with(response)
        .mount(&server)
        .await;
    let tokens = Arc::new(match &case.token_scopes {
        Some(scopes) => RotatingTokens::granting(scopes.clone()),
        None => RotatingTokens::default(),
    });
    let clock = clock();
    let client = client_with(
        &server,
        &clock,
        tokens.clone(),
        set(&[Scope::Taskqueue]),
        true,
    );
    let error = call(&client, case.method).await.expect_err(case.name);
    assert!(clock.sleeps().is_empty(), "{}: no backoff", case.name);
    (error, tokens, server)
}

#[tokio::test]
async fn the_servers_403s_map_to_typed_denials_without_refresh_or_retry() {
    for case in server_cases() {
        let name = case.name;
        let (error, tokens, server) = server_denial(&case).await;
        assert!(error.is_permission_denied(), "{name}");
        assert!(!error.is_unauthenticated(), "{name}");
        assert!(!error.is_transient(), "{name}");
        let actual = match error.scope_denied() {
            Some(denied) => {
                assert!(error.is_scope_denied(), "{name}");
                assert!(!error.is_acl_denied(), "{name}");
                assert!(!denied.is_preflight(), "{name}");
                assert_eq!(denied.method(), Some(case.method), "{name}");
                Expect::Scope {
                    required: denied.required().clone(),
                    required_from_server: denied.required_from_server(),
                    granted: denied.granted().clone(),
                    granted_from_token: denied.granted_from_token(),
                }
            }
            None if error.is_acl_denied() => Expect::Acl,
            None => Expect::Other,
        };
        assert_eq!(actual, case.expect, "{name}");
        assert_eq!(
            error.hint().is_some(),
            case.expect != Expect::Other,
            "{name}: a denial has a hint"
        );
        if let Some(hint) = error.hint() {
            assert!(
                error.to_string().ends_with(&hint),
                "{name}: Display ends with the hint"
            );
        }
        assert_eq!(requests(&server).await, 1, "{name}: no retry");
        assert_eq!(tokens.issued(), 1, "{name}: no refresh");
        assert_eq!(tokens.invalidated(), 0, "{name}: no invalidation");
    }
}

#[tokio::test]
async fn hints_snapshot() {
    let mut report = String::new();
    let clock = clock();
    let server = accepting_server().await;
    let preflight_cases = [
        (
            "insert with taskqueue.consumer",
            ApiMethod::TasksInsert,
            set(&[Scope::TaskqueueConsumer]),
        ),
        (
            "lease with both consumer scopes",
            ApiMethod::TasksLease,
            set(&[Scope::TaskqueueConsumer, Scope::CloudTaskqueueConsumer]),
        ),
        (
            "delete with a consumer and a foreign scope",
            ApiMethod::TasksDelete,
            set(&[Scope::CloudTaskqueueConsumer, Scope::parse(CLOUD_PLATFORM)]),
        ),
        (
            "get with a foreign scope",
            ApiMethod::TasksGet,
            set(&[Scope::parse(CLOUD_PLATFORM)]),
        ),
        ("list with no scope", ApiMethod::TasksList, ScopeSet::new()),
    ];
    for (name, method, scopes) in preflight_cases {
        let client = client_with(&server, &clock, Arc::default(), scopes, true);
        let error = call(&client, method).await.expect_err(name);
        writeln!(report, "pre-flight, {name}:\n  {error}\n").expect("write to string");
    }
    for case in server_cases() {
        let (error, _, _) = server_denial(&case).await;
        writeln!(report, "server, {}:\n  {error}\n", case.name).expect("write to string");
    }
    insta::assert_snapshot!(report);
}
