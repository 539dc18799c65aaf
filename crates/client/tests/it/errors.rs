//! The error-mapping table: each status, with Google's envelope and with a
//! non-JSON body, to its typed error. One function exercises the client;
//! the cases feed it, and an insta snapshot records the resulting messages.

use std::fmt::Write;

use taskqueue_client::GetTaskRequest;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

use crate::support::{client, clock, queue, task};

/// A classification predicate of the client's error.
type Predicate = fn(&taskqueue_client::Error) -> bool;

struct Case {
    status: u16,
    reason: &'static str,
    transient: bool,
    predicate: Predicate,
}

const CASES: &[Case] = &[
    Case {
        status: 400,
        reason: "invalid",
        transient: false,
        predicate: taskqueue_client::Error::is_invalid_argument,
    },
    Case {
        status: 401,
        reason: "authError",
        transient: false,
        predicate: taskqueue_client::Error::is_unauthenticated,
    },
    Case {
        status: 403,
        reason: "insufficientPermissions",
        transient: false,
        predicate: taskqueue_client::Error::is_permission_denied,
    },
    Case {
        status: 404,
        reason: "notFound",
        transient: false,
        predicate: taskqueue_client::Error::is_not_found,
    },
    Case {
        status: 409,
        reason: "conflict",
        transient: false,
        predicate: taskqueue_client::Error::is_conflict,
    },
    Case {
        status: 429,
        reason: "rateLimitExceeded",
        transient: true,
        predicate: taskqueue_client::Error::is_rate_limited,
    },
    Case {
        status: 500,
        reason: "backendError",
        transient: true,
        predicate: taskqueue_client::Error::is_transient,
    },
    Case {
        status: 503,
        reason: "backendError",
        transient: true,
        predicate: taskqueue_client::Error::is_transient,
    },
];

fn envelope(status: u16, reason: &str) -> String {
    format!(
        r#"{{"error":{{"errors":[{{"domain":"global","reason":"{reason}","message":"the {reason} message"}}],"code":{status},"message":"the {reason} message"}}}}"#
    )
}

async fn failing_get(status: u16, body: String) -> taskqueue_client::Error {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    client(&server, &clock())
        .get_task(GetTaskRequest::new(queue(), task("t1")).with_retry(false))
        .await
        .expect_err("the server answers with an error")
}

#[tokio::test]
async fn every_status_maps_to_its_typed_error_with_and_without_an_envelope() {
    let mut report = String::new();
    for case in CASES {
        for json in [true, false] {
            let body = if json {
                envelope(case.status, case.reason)
            } else {
                format!("<html><body>Error {}</body></html>", case.status)
            };
            let error = failing_get(case.status, body.clone()).await;
            let label = format!("{} {}", case.status, if json { "envelope" } else { "html" });
            assert_eq!(
                error.status().map(|s| s.as_u16()),
                Some(case.status),
                "{label}"
            );
            assert!((case.predicate)(&error), "{label}: predicate");
            // Each status predicate holds for its own status only.
            let predicates: [(u16, Predicate); 6] = [
                (400, taskqueue_client::Error::is_invalid_argument),
                (401, taskqueue_client::Error::is_unauthenticated),
                (403, taskqueue_client::Error::is_permission_denied),
                (404, taskqueue_client::Error::is_not_found),
                (409, taskqueue_client::Error::is_conflict),
                (429, taskqueue_client::Error::is_rate_limited),
            ];
            for (status, predicate) in predicates {
                assert_eq!(
                    predicate(&error),
                    status == case.status,
                    "{label}: the predicate for {status}"
                );
            }
            assert_eq!(error.is_transient(), case.transient, "{label}: transient");
            assert!(!error.is_validation(), "{label}");
            let transport = error.transport().expect("transport error");
            assert_eq!(
                transport.raw_body(),
                Some(body.as_str()),
                "{label}: raw body"
            );
            if json {
                assert_eq!(error.reason(), Some(case.reason), "{label}: reason");
            } else {
                assert_eq!(error.reason(), None, "{label}: no reason");
            }
            writeln!(report, "{label}: {error}").expect("write to string");
        }
    }
    insta::assert_snapshot!(report);
}

#[tokio::test]
async fn malformed_success_bodies_give_decode_errors_never_panics() {
    // (body, a fragment the error's cause must mention)
    let cases = [
        (r#"{"id": "t1", "payloadBase64": "a$b"#, "EOF"),
        (r#"{"id": "t1", "payloadBase64": "a$b="}"#, "payloadBase64"),
        (r#"{"id": "t1", "retry_count": "three"}"#, "invalid type"),
        (
            r#"{"id": "t1", "leaseTimestamp": true}"#,
            "timestamp in microseconds",
        ),
        (r#"["not", "an", "object"]"#, "invalid type"),
        ("", "EOF"),
    ];
    for (body, mention) in cases {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let error = client(&server, &clock())
            .get_task(GetTaskRequest::new(queue(), task("t1")))
            .await
            .expect_err(body);
        assert!(error.is_decode(), "{body}: {error}");
        assert!(!error.is_transient(), "{body}");
        let cause = std::error::Error::source(&error)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            cause.contains(mention),
            "{body}: cause `{cause}` lacks `{mention}`"
        );
    }
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"id": "t1", "payloadBase64": "{}"}}"#,
            "A".repeat(64 * 1024)
        )))
        .mount(&server)
        .await;
    let client = taskqueue_client::Client::builder()
        .base_url(format!("{}/taskqueue/v1beta2/projects/", server.uri()))
        .token_provider(std::sync::Arc::new(
            taskqueue_auth::StaticTokenProvider::new(taskqueue_auth::AccessToken::new("at-1")),
        ))
        .max_response_bytes(16 * 1024)
        .build()
        .expect("client");
    let error = client
        .get_task(GetTaskRequest::new(queue(), task("t1")))
        .await
        .expect_err("too large");
    assert!(
        error.transport().is_some_and(|t| t.is_response_too_large()),
        "{error}"
    );
}
