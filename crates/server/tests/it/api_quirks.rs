//! What real clients sent and production accepted: partition prefixes on the project, `X-HTTP-Method-Override`,
//! a token in `oauth_token`, the standard query parameters (`prettyPrint`, `alt`, `fields`, `quotaUser`, ...),
//! and a task named `lease`.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;
use taskqueue_server::NewTask;

use crate::api_support::{Api, ME, PROJECT, QUEUE, micros, request, url, url_in};

/// `pull-queue` holding `t1` (leased for 60 s at T0) and `t2`; the clock at T0+10.
async fn seeded() -> Api {
    let api = Api::new();
    api.seed(QUEUE, NewTask::new(b"one".to_vec()).with_name("t1"))
        .await;
    api.seed_lease(QUEUE, 1, 60).await;
    api.seed(QUEUE, NewTask::new(b"two".to_vec()).with_name("t2"))
        .await;
    api.advance(10);
    api
}

fn with_override(
    method: Method,
    uri: &str,
    token: &str,
    overridden: &str,
    body: Option<&str>,
) -> Request<Body> {
    let mut request = request(method, uri, Some(token), body);
    request.headers_mut().insert(
        "x-http-method-override",
        overridden.parse().expect("a header value"),
    );
    request
}

#[tokio::test]
async fn the_project_may_carry_a_one_character_partition_prefix() {
    let api = seeded().await;
    let token = api.full_token().await;
    for project in ["s~dev-project", "b~dev-project", "e~dev-project", PROJECT] {
        let task = api
            .call(
                Method::GET,
                &url_in(project, QUEUE, "/tasks/t1"),
                Some(&token),
                None,
            )
            .await
            .ok_json();
        // Long-form names repeat the project as the request gave it.
        assert_eq!(
            task["queueName"],
            format!("projects/{project}/taskqueues/{QUEUE}")
        );
        let queue = api
            .call(Method::GET, &url_in(project, QUEUE, ""), Some(&token), None)
            .await
            .ok_json();
        assert_eq!(
            queue["id"],
            format!("projects/{project}/taskqueues/{QUEUE}")
        );
    }
    let leased = api
        .call(
            Method::POST,
            &url_in(
                "s~dev-project",
                QUEUE,
                "/tasks/lease?numTasks=1&leaseSecs=5",
            ),
            Some(&token),
            None,
        )
        .await
        .ok_json();
    assert_eq!(
        leased["items"][0]["queueName"],
        "projects/s~dev-project/taskqueues/pull-queue"
    );
    for other in [
        "other-project",
        "s~other-project",
        "ss~dev-project",
        "~dev-project",
        "dev-project.x",
    ] {
        let reply = api
            .call(
                Method::GET,
                &url_in(other, QUEUE, "/tasks"),
                Some(&token),
                None,
            )
            .await;
        reply.assert_error(404, "notFound");
    }
    let unknown = api
        .call(
            Method::GET,
            &url_in("s~dev-project", "no-such-queue", ""),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(unknown.assert_error(404, "notFound"), "Queue not found.");
}

#[tokio::test]
async fn an_insert_body_may_name_the_queue_in_either_form() {
    let api = Api::new();
    let token = api.full_token().await;
    for (n, queue_name) in [
        QUEUE.to_owned(),
        format!("projects/{PROJECT}/taskqueues/{QUEUE}"),
        format!("projects/s~{PROJECT}/taskqueues/{QUEUE}"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"id": format!("t{n}"), "queueName": queue_name, "payloadBase64": ""})
            .to_string();
        let task = api
            .call(
                Method::POST,
                &url_in("b~dev-project", QUEUE, "/tasks"),
                Some(&token),
                Some(&body),
            )
            .await
            .ok_json();
        assert_eq!(
            task["queueName"],
            "projects/b~dev-project/taskqueues/pull-queue"
        );
        assert_eq!(task["payloadBase64"], "");
    }
}

#[tokio::test]
async fn x_http_method_override_turns_a_post_into_another_method() {
    let api = seeded().await;
    let token = api.full_token().await;
    let body = json!({"queueName": QUEUE, "leaseTimestamp": micros(60)}).to_string();

    let patched = api
        .send(with_override(
            Method::POST,
            &url("/tasks/t1?newLeaseSeconds=100"),
            &token,
            "PATCH",
            Some(&body),
        ))
        .await
        .ok_json();
    assert_eq!(patched["leaseTimestamp"], micros(110));

    let got = api
        .send(with_override(
            Method::POST,
            &url("/tasks/t1"),
            &token,
            "get",
            None,
        ))
        .await
        .ok_json();
    assert_eq!(got["id"], "t1");

    // A POST to tasks/lease overridden to GET reads the task named `lease`.
    api.send(with_override(
        Method::POST,
        &url("/tasks/lease"),
        &token,
        "GET",
        None,
    ))
    .await
    .assert_error(404, "notFound");

    let listed = api
        .send(with_override(
            Method::POST,
            &url("/tasks"),
            &token,
            "GET",
            None,
        ))
        .await
        .ok_json();
    assert_eq!(listed["kind"], "taskqueues#tasks");

    let deleted = api
        .send(with_override(
            Method::POST,
            &url("/tasks/t2"),
            &token,
            "DELETE",
            None,
        ))
        .await;
    assert_eq!(deleted.status, 200);
    api.call(Method::GET, &url("/tasks/t2"), Some(&token), None)
        .await
        .assert_error(404, "notFound");

    // The same method is harmless; another method than POST cannot be overridden; a bad value is refused.
    let same = api
        .send(with_override(
            Method::GET,
            &url("/tasks/t1"),
            &token,
            "GET",
            None,
        ))
        .await;
    assert_eq!(same.status, 200);
    for (method, value) in [
        (Method::GET, "DELETE"),
        (Method::PATCH, "POST"),
        (Method::POST, "PATCH!"),
        (Method::POST, ""),
    ] {
        let reply = api
            .send(with_override(
                method.clone(),
                &url("/tasks/t1"),
                &token,
                value,
                None,
            ))
            .await;
        reply.assert_error(400, "invalid");
        assert_eq!(
            reply.json()["error"]["errors"][0]["location"],
            "X-HTTP-Method-Override"
        );
    }
    // An overridden method the resource lacks is a 405.
    let put = api
        .send(with_override(
            Method::POST,
            &url("/tasks"),
            &token,
            "PUT",
            None,
        ))
        .await;
    put.assert_error(405, "httpMethodNotAllowed");
    assert_eq!(put.header("allow"), Some("GET, POST"));
    // t1 is still there: nothing above deleted it.
    api.call(Method::GET, &url("/tasks/t1"), Some(&token), None)
        .await
        .ok_json();
}

#[tokio::test]
async fn a_token_in_oauth_token_is_used_when_there_is_no_authorization_header() {
    let api = seeded().await;
    let token = api.full_token().await;
    let reply = api
        .call(
            Method::GET,
            &format!("{}?oauth_token={token}", url("/tasks/t1")),
            None,
            None,
        )
        .await;
    assert_eq!(reply.ok_json()["id"], "t1");

    // The header wins: a bad header is refused even with a good query token.
    let mut both = request(
        Method::GET,
        &format!("{}?oauth_token={token}", url("/tasks/t1")),
        None,
        None,
    );
    both.headers_mut().insert(
        header::AUTHORIZATION,
        "Bearer tqs.forged".parse().expect("a header value"),
    );
    api.send(both).await.assert_error(401, "authError");

    // A Basic header is no bearer token: the query token is used.
    let mut basic = request(
        Method::GET,
        &format!("{}?oauth_token={token}", url("/tasks/t1")),
        None,
        None,
    );
    basic.headers_mut().insert(
        header::AUTHORIZATION,
        "Basic dXNlcjpwdw==".parse().expect("a header value"),
    );
    assert_eq!(api.send(basic).await.status, 200);

    // The scheme is case-insensitive.
    let mut lower = request(Method::GET, &url("/tasks/t1"), None, None);
    lower.headers_mut().insert(
        header::AUTHORIZATION,
        format!("bearer {token}").parse().expect("a header value"),
    );
    assert_eq!(api.send(lower).await.status, 200);

    for query in [
        "oauth_token=tqs.forged",
        "oauth_token=",
        &format!("oauth_token={token}&oauth_token={token}"),
    ] {
        let refused = api
            .call(
                Method::GET,
                &format!("{}?{query}", url("/tasks/t1")),
                None,
                None,
            )
            .await;
        refused.assert_error(401, "authError");
    }
    // A consumer-scoped query token still may not lease.
    let consumer = api
        .token(ME, &[taskqueue_auth::Scope::TaskqueueConsumer])
        .await;
    api.call(
        Method::POST,
        &format!(
            "{}&oauth_token={consumer}",
            url("/tasks/lease?numTasks=1&leaseSecs=1")
        ),
        None,
        None,
    )
    .await
    .assert_error(403, "insufficientPermissions");
}

#[tokio::test]
async fn pretty_print_is_the_default_and_false_gives_compact_json() {
    let api = seeded().await;
    let token = api.full_token().await;
    let pretty = api
        .call(Method::GET, &url("/tasks/t1"), Some(&token), None)
        .await;
    let text = String::from_utf8_lossy(&pretty.body).into_owned();
    assert!(
        text.starts_with("{\n \"kind\": \"taskqueues#task\",\n"),
        "{text}"
    );
    for query in ["?prettyPrint=false", "?prettyPrint=FALSE&alt=json"] {
        let compact = api
            .call(
                Method::GET,
                &format!("{}{query}", url("/tasks/t1")),
                Some(&token),
                None,
            )
            .await;
        let text = String::from_utf8_lossy(&compact.body).into_owned();
        assert!(
            !text.contains('\n') && text.starts_with("{\"kind\":\"taskqueues#task\","),
            "{text}"
        );
        assert_eq!(compact.json(), pretty.json());
    }
    // Errors follow prettyPrint too.
    let error = api
        .call(
            Method::GET,
            &format!("{}?prettyPrint=false", url("/tasks/nope")),
            Some(&token),
            None,
        )
        .await;
    assert!(!String::from_utf8_lossy(&error.body).contains('\n'));
    error.assert_error(404, "notFound");
}

#[tokio::test]
async fn alt_must_be_json() {
    let api = seeded().await;
    let token = api.full_token().await;
    assert_eq!(
        api.call(
            Method::GET,
            &format!("{}?alt=json", url("/tasks/t1")),
            Some(&token),
            None
        )
        .await
        .status,
        200
    );
    for alt in ["media", "proto", "JSON", ""] {
        let reply = api
            .call(
                Method::GET,
                &format!("{}?alt={alt}", url("/tasks/t1")),
                Some(&token),
                None,
            )
            .await;
        reply.assert_error(400, "invalid");
        assert_eq!(reply.json()["error"]["errors"][0]["location"], "alt");
    }
}

#[tokio::test]
async fn fields_selects_a_partial_response() {
    let api = seeded().await;
    let token = api.full_token().await;
    let get = |query: &'static str| {
        let api = &api;
        let token = token.clone();
        async move {
            api.call(
                Method::GET,
                &format!("{}?{query}", url("/tasks")),
                Some(&token),
                None,
            )
            .await
        }
    };
    assert_eq!(
        get("fields=items/id").await.ok_json(),
        json!({"items": [{"id": "t2"}, {"id": "t1"}]})
    );
    assert_eq!(
        get("fields=kind,items(id,retry_count)").await.ok_json(),
        json!({"kind": "taskqueues#tasks", "items": [{"id": "t2", "retry_count": 0}, {"id": "t1", "retry_count": 1}]})
    );
    let full = get("fields=").await.ok_json();
    assert_eq!(full["items"].as_array().map(Vec::len), Some(2));
    let bad = get("fields=items(id").await;
    bad.assert_error(400, "invalid");
    assert_eq!(bad.json()["error"]["errors"][0]["location"], "fields");
    let queue = api
        .call(
            Method::GET,
            &format!("{}?getStats=true&fields=stats/totalTasks", url("")),
            Some(&token),
            None,
        )
        .await
        .ok_json();
    assert_eq!(queue, json!({"stats": {"totalTasks": 2}}));
}

#[tokio::test]
async fn other_standard_and_unknown_parameters_are_ignored() {
    let api = seeded().await;
    let token = api.full_token().await;
    let uri = format!(
        "{}?quotaUser=someone&userIp=203.0.113.7&key=AIzaKey&unknownParam=1&callback=x",
        url("/tasks/t1")
    );
    assert_eq!(
        api.call(Method::GET, &uri, Some(&token), None)
            .await
            .ok_json()["id"],
        "t1"
    );
    // getStats belongs to taskqueues.get: elsewhere it is ignored like any unknown parameter.
    let listed = api
        .call(
            Method::GET,
            &format!("{}?getStats=maybe", url("/tasks")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
}

#[tokio::test]
async fn a_task_named_lease_is_reachable_except_by_post() {
    let api = Api::new();
    let token = api.full_token().await;
    let body = json!({"id": "lease", "payloadBase64": "aGk="}).to_string();
    api.call(Method::POST, &url("/tasks"), Some(&token), Some(&body))
        .await
        .ok_json();
    assert_eq!(
        api.call(Method::GET, &url("/tasks/lease"), Some(&token), None)
            .await
            .ok_json()["id"],
        "lease"
    );
    // A POST to tasks/lease is a lease: it leases the task named lease, and takes no newLeaseSeconds.
    let leased = api
        .call(
            Method::POST,
            &url("/tasks/lease?numTasks=1&leaseSecs=60"),
            Some(&token),
            None,
        )
        .await
        .ok_json();
    assert_eq!(leased["items"][0]["id"], "lease");
    api.call(
        Method::POST,
        &url("/tasks/lease?newLeaseSeconds=30"),
        Some(&token),
        None,
    )
    .await
    .assert_error(400, "required");
    // PATCH reaches it.
    let patch = json!({"queueName": QUEUE, "leaseTimestamp": micros(60)}).to_string();
    let patched = api
        .call(
            Method::PATCH,
            &url("/tasks/lease?newLeaseSeconds=30"),
            Some(&token),
            Some(&patch),
        )
        .await
        .ok_json();
    assert_eq!(patched["leaseTimestamp"], micros(30));
    let deleted = api
        .call(Method::DELETE, &url("/tasks/lease"), Some(&token), None)
        .await;
    assert_eq!(deleted.status, 200);
}
