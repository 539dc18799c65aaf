//! Resource-side authorization through HTTP: the 8 methods × 6 scope sets × 5 ACL roles, each cell's outcome
//! computed here from the rules of issue 5 §3 and docs/wire-format.md §7 (not from the server's own tables), a
//! smaller pass under the discovery document's scope policy, and the 401s.
//!
//! Rules, restated:
//! - Seed policy: `taskqueue` and `cloud-taskqueue` allow every method; `taskqueue.consumer` and
//!   `cloud-taskqueue.consumer` allow only the reads (`taskqueues.get`, `tasks.get`, `tasks.list`); any other
//!   scope allows nothing. Discovery policy: `taskqueue` and `taskqueue.consumer` allow everything, nothing else
//!   does.
//! - ACL: `writer_email` may insert; `user_email` may do everything else; a queue without ACL entries is open.
//! - A scope refusal (403 `insufficientPermissions`) comes before an ACL refusal (403 `forbidden`).

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::json;
use taskqueue_auth::Scope;
use taskqueue_server::config::ServerConfig;
use taskqueue_server::{NewTask, QueueAcl, QueueDef, ScopePolicy};

use crate::api_support::{Api, FULL, ME, QUEUE, Reply, micros, request, url, url_in};

const OTHER: &str = "someone-else@example.com";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
const CHALLENGE_INVALID: &str =
    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"";

/// The 8 methods, by discovery name.
const METHODS: [&str; 8] = [
    "taskqueues.get",
    "tasks.list",
    "tasks.get",
    "tasks.insert",
    "tasks.lease",
    "tasks.update",
    "tasks.patch",
    "tasks.delete",
];

fn is_read(method: &str) -> bool {
    matches!(method, "taskqueues.get" | "tasks.list" | "tasks.get")
}

/// The scope sets of the matrix, by label.
fn scope_sets() -> Vec<(&'static str, Vec<Scope>)> {
    vec![
        ("taskqueue", vec![Scope::Taskqueue]),
        ("taskqueue.consumer", vec![Scope::TaskqueueConsumer]),
        ("cloud-taskqueue", vec![Scope::CloudTaskqueue]),
        (
            "cloud-taskqueue.consumer",
            vec![Scope::CloudTaskqueueConsumer],
        ),
        ("unrelated", vec![Scope::parse(CLOUD_PLATFORM)]),
        ("none", vec![]),
    ]
}

/// The ACL roles of [`ME`], as queues named after them.
const ROLES: [&str; 5] = [
    "acl-user",
    "acl-writer",
    "acl-both",
    "acl-neither",
    "acl-open",
];

fn acl_queue(role: &str) -> QueueDef {
    let me = || vec![ME.to_owned()];
    let other = || vec![OTHER.to_owned()];
    let acl = match role {
        "acl-user" => QueueAcl::new(me(), other()),
        "acl-writer" => QueueAcl::new(other(), me()),
        "acl-both" => QueueAcl::new(me(), me()),
        "acl-neither" => QueueAcl::new(other(), other()),
        _ => QueueAcl::default(),
    };
    QueueDef::new(role).with_acl(acl)
}

/// The scopes that allow `method` under `policy`, as the rules above state them.
fn accepted(policy: ScopePolicy, method: &str) -> BTreeSet<&'static str> {
    let all = [
        "https://www.googleapis.com/auth/taskqueue",
        "https://www.googleapis.com/auth/taskqueue.consumer",
        "https://www.googleapis.com/auth/cloud-taskqueue",
        "https://www.googleapis.com/auth/cloud-taskqueue.consumer",
    ];
    match policy {
        ScopePolicy::Discovery => all[..2].iter().copied().collect(),
        _ if is_read(method) => all.into_iter().collect(),
        _ => [all[0], all[2]].into_iter().collect(),
    }
}

/// What a cell must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Scope(BTreeSet<&'static str>),
    Acl,
}

fn expected(policy: ScopePolicy, method: &str, scopes: &[Scope], role: &str) -> Outcome {
    let accepted = accepted(policy, method);
    if !scopes.iter().any(|scope| accepted.contains(scope.as_str())) {
        return Outcome::Scope(accepted);
    }
    let (user, writer) = match role {
        "acl-user" => (true, false),
        "acl-writer" => (false, true),
        "acl-both" | "acl-open" => (true, true),
        _ => (false, false),
    };
    let admitted = if method == "tasks.insert" {
        writer
    } else {
        user
    };
    if admitted {
        Outcome::Allowed
    } else {
        Outcome::Acl
    }
}

/// A server with the five ACL queues, each holding `t1` (leased for 60 s at T0) and `t2`; the clock at T0+10.
async fn server(policy: ScopePolicy) -> Api {
    let api = Api::with(|config: &mut ServerConfig| {
        config.scope_policy = policy;
        for role in ROLES {
            config.queues.insert(acl_queue(role));
        }
    });
    for role in ROLES {
        api.seed(role, NewTask::new(b"one".to_vec()).with_name("t1"))
            .await;
        api.seed_lease(role, 1, 60).await;
        api.seed(role, NewTask::new(b"two".to_vec()).with_name("t2"))
            .await;
    }
    api.advance(10);
    api
}

/// Sends `method` to `queue` with `token`, as a valid request would be.
async fn send(api: &Api, method: &str, queue: &str, token: Option<&str>) -> Reply {
    let at = |rest: &str| url_in(crate::api_support::PROJECT, queue, rest);
    let modify = json!({"id": "t1", "queueName": queue, "leaseTimestamp": micros(60)}).to_string();
    let (verb, uri, body) = match method {
        "taskqueues.get" => (Method::GET, at(""), None),
        "tasks.list" => (Method::GET, at("/tasks"), None),
        "tasks.get" => (Method::GET, at("/tasks/t1"), None),
        "tasks.insert" => (
            Method::POST,
            at("/tasks"),
            Some(json!({"id": "new", "payloadBase64": "aGk="}).to_string()),
        ),
        "tasks.lease" => (
            Method::POST,
            at("/tasks/lease?numTasks=1&leaseSecs=60"),
            None,
        ),
        "tasks.update" => (
            Method::POST,
            at("/tasks/t1?newLeaseSeconds=30"),
            Some(modify),
        ),
        "tasks.patch" => (
            Method::PATCH,
            at("/tasks/t1?newLeaseSeconds=30"),
            Some(modify),
        ),
        "tasks.delete" => (Method::DELETE, at("/tasks/t1"), None),
        other => panic!("unknown method {other}"),
    };
    api.send(request(verb, &uri, token, body.as_deref())).await
}

/// The `scope="…"` list of an `insufficient_scope` challenge.
fn challenge_scopes(reply: &Reply) -> BTreeSet<String> {
    let challenge = reply
        .header("www-authenticate")
        .expect("a 403 scope refusal has a challenge");
    assert!(
        challenge.starts_with(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\""
        ),
        "{challenge}"
    );
    let list = challenge
        .split("scope=\"")
        .nth(1)
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("a quoted scope list");
    list.split(' ').map(str::to_owned).collect()
}

async fn run_matrix(
    policy: ScopePolicy,
    scope_sets: &[(&str, Vec<Scope>)],
    roles: &[&str],
) -> usize {
    let mut cells = 0;
    for (label, scopes) in scope_sets {
        for &role in roles {
            for method in METHODS {
                // A fresh server per cell, so that every cell starts from the same tasks.
                let api = server(policy).await;
                let token = api.token(ME, scopes).await;
                let reply = send(&api, method, role, Some(&token)).await;
                let cell = format!("{policy:?} × {label} × {role} × {method}");
                match expected(policy, method, scopes, role) {
                    Outcome::Allowed => {
                        assert_eq!(
                            reply.status.as_u16(),
                            200,
                            "{cell}: {}",
                            String::from_utf8_lossy(&reply.body)
                        );
                    }
                    Outcome::Scope(accepted) => {
                        let message = reply.assert_error(403, "insufficientPermissions");
                        assert_eq!(message, "Insufficient Permission", "{cell}");
                        let named = challenge_scopes(&reply);
                        let accepted: BTreeSet<String> =
                            accepted.into_iter().map(str::to_owned).collect();
                        assert_eq!(named, accepted, "{cell}");
                    }
                    Outcome::Acl => {
                        reply.assert_error(403, "forbidden");
                        assert_eq!(reply.header("www-authenticate"), None, "{cell}");
                    }
                }
                cells += 1;
            }
        }
    }
    cells
}

#[tokio::test]
async fn scope_and_acl_matrix_under_the_seed_policy() {
    let cells = run_matrix(ScopePolicy::Seed, &scope_sets(), &ROLES).await;
    assert_eq!(cells, 8 * 6 * 5);
}

#[tokio::test]
async fn scope_matrix_under_the_discovery_policy() {
    let cells = run_matrix(
        ScopePolicy::Discovery,
        &scope_sets(),
        &["acl-open", "acl-user"],
    )
    .await;
    assert_eq!(cells, 8 * 6 * 2);
}

#[tokio::test]
async fn the_expected_outcomes_follow_the_stated_rules() {
    // A few cells spelled out, so that the matrix's oracle is itself checked.
    let consumer = [Scope::TaskqueueConsumer];
    assert_eq!(
        expected(ScopePolicy::Seed, "tasks.get", &consumer, "acl-user"),
        Outcome::Allowed
    );
    assert!(matches!(
        expected(ScopePolicy::Seed, "tasks.lease", &consumer, "acl-both"),
        Outcome::Scope(_)
    ));
    assert_eq!(
        expected(ScopePolicy::Discovery, "tasks.lease", &consumer, "acl-both"),
        Outcome::Allowed
    );
    assert_eq!(
        expected(ScopePolicy::Seed, "tasks.insert", FULL, "acl-user"),
        Outcome::Acl
    );
    assert_eq!(
        expected(ScopePolicy::Seed, "tasks.insert", FULL, "acl-writer"),
        Outcome::Allowed
    );
    assert_eq!(
        expected(ScopePolicy::Seed, "tasks.delete", FULL, "acl-writer"),
        Outcome::Acl
    );
    assert!(matches!(
        expected(
            ScopePolicy::Discovery,
            "tasks.get",
            &[Scope::CloudTaskqueue],
            "acl-open"
        ),
        Outcome::Scope(_)
    ));
}

#[tokio::test]
async fn acl_emails_compare_case_insensitively() {
    let api = server(ScopePolicy::Seed).await;
    let token = api.token(&ME.to_uppercase(), FULL).await;
    assert_eq!(
        send(&api, "tasks.get", "acl-user", Some(&token))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn without_a_valid_token_every_method_is_a_401_whatever_else_is_wrong() {
    let api = server(ScopePolicy::Seed).await;
    let expired = api.full_token().await;
    api.advance(3600);
    for method in METHODS {
        for queue in ["acl-neither", "no-such-queue", "bad_queue!"] {
            let none = send(&api, method, queue, None).await;
            let message = none.assert_error(401, "required");
            assert_eq!(message, "Login Required", "{method} {queue}");
            assert_eq!(
                none.header("www-authenticate"),
                Some("Bearer realm=\"https://accounts.google.com/\""),
                "{method} {queue}"
            );
            let body = none.json();
            assert_eq!(body["error"]["errors"][0]["locationType"], "header");
            assert_eq!(body["error"]["errors"][0]["location"], "Authorization");

            for token in ["tqs.forged", expired.as_str(), ""] {
                let refused = send(&api, method, queue, Some(token)).await;
                let message = refused.assert_error(401, "authError");
                assert_eq!(message, "Invalid Credentials");
                assert_eq!(
                    refused.header("www-authenticate"),
                    Some(CHALLENGE_INVALID),
                    "{method} {queue}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_token_never_appears_in_a_response() {
    let api = Api::new();
    let token = api.full_token().await;
    for uri in [
        url("/tasks/nope"),
        url("/tasks/lease?numTasks=0&leaseSecs=1"),
        url_in("other", QUEUE, ""),
        format!("{}?oauth_token={token}&alt=media", url("")),
    ] {
        let reply = api.call(Method::GET, &uri, Some(&token), None).await;
        assert!(reply.status.is_client_error(), "{uri}");
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains(&token), "{uri}: {text}");
        for value in reply.headers.values() {
            assert!(!value.to_str().unwrap_or_default().contains(&token));
        }
    }
}

#[tokio::test]
async fn each_request_is_traced_with_its_method_queue_and_status_but_never_a_token() {
    let api = Api::new();
    let token = api.full_token().await;
    let (traces, _guard) = crate::api_support::Traces::capture();
    let body = json!({"id": "t1", "payloadBase64": "aGk="}).to_string();
    assert_eq!(
        api.call(Method::POST, &url("/tasks"), Some(&token), Some(&body))
            .await
            .status,
        200
    );
    let leased = api
        .call(
            Method::POST,
            &format!(
                "{}&oauth_token={token}",
                url("/tasks/lease?numTasks=1&leaseSecs=60")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(leased.status, 200);
    api.call(
        Method::GET,
        &url("/tasks/t1"),
        Some("tqs.not-a-real-token-value"),
        None,
    )
    .await
    .assert_error(401, "authError");
    let text = traces.text();
    for expected in [
        "taskqueue.tasks.insert",
        "taskqueue.tasks.lease",
        "taskqueue.tasks.get",
        "task=\"t1\"",
        "dev-project",
        "pull-queue",
        "status=200",
        "status=401",
        "reason=\"authError\"",
        ME,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    for secret in [
        token.as_str(),
        "tqs.",
        "oauth_token",
        "not-a-real-token-value",
        "aGk=",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into:\n{text}");
    }
}

#[tokio::test]
async fn taskqueues_get_shows_the_acl_as_consumers_and_producers() {
    let api = server(ScopePolicy::Seed).await;
    let token = api.full_token().await;
    let queue = |name: &'static str| {
        let api = &api;
        let token = token.clone();
        async move {
            api.call(
                Method::GET,
                &url_in(crate::api_support::PROJECT, name, ""),
                Some(&token),
                None,
            )
            .await
            .ok_json()
        }
    };
    assert_eq!(
        queue("acl-user").await["acl"],
        json!({"consumerEmails": [ME], "producerEmails": [OTHER]})
    );
    assert_eq!(
        queue("acl-both").await["acl"],
        json!({"consumerEmails": [ME], "producerEmails": [ME]})
    );
    // An open queue has no ACL; no queue has admins.
    let open = queue("acl-open").await;
    assert!(open.get("acl").is_none(), "{open}");
    assert!(
        open.get("maxLeases").is_none(),
        "no task_retry_limit: {open}"
    );
    // Only the consumer list lets a caller read the queue.
    let writer = api
        .call(
            Method::GET,
            &url_in(crate::api_support::PROJECT, "acl-writer", ""),
            Some(&token),
            None,
        )
        .await;
    writer.assert_error(403, "forbidden");
}
