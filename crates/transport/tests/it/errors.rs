//! Error mapping: envelopes, non-JSON bodies, oversize and malformed
//! responses; what goes on the wire; and what reaches the logs.

use std::sync::{Arc, Mutex};

use taskqueue_transport::RetryPolicy;
use wiremock::matchers::{header, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{FailingTokens, clock, get, transport, transport_with};

const ENVELOPE: &str = r#"{"error":{"errors":[{"domain":"global","reason":"notFound","message":"task not found"}],"code":404,"message":"task not found"}}"#;

#[tokio::test]
async fn a_google_envelope_is_parsed_and_the_raw_body_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(
            ResponseTemplate::new(404).set_body_raw(ENVELOPE.as_bytes(), "application/json"),
        )
        .mount(&server)
        .await;
    let error = transport(&clock(), RetryPolicy::new())
        .send(get(&server, "/r"))
        .await
        .expect_err("404");
    assert!(error.is_not_found());
    assert_eq!(error.reason(), Some("notFound"));
    assert_eq!(error.message(), Some("task not found"));
    assert_eq!(error.raw_body(), Some(ENVELOPE));
    assert_eq!(error.operation(), "test.get");
    assert_eq!(
        error.to_string(),
        "test.get: HTTP 404 notFound: task not found"
    );
}

#[tokio::test]
async fn a_non_json_error_body_is_kept_raw_and_bounded() {
    let server = MockServer::start().await;
    let html = format!("<html>{}</html>", "x".repeat(20_000));
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(502).set_body_string(html.clone()))
        .mount(&server)
        .await;
    let error = transport(&clock(), RetryPolicy::no_retries())
        .send(get(&server, "/r"))
        .await
        .expect_err("502");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    assert!(error.envelope().is_none());
    assert!(error.reason().is_none());
    let kept = error.raw_body().expect("raw body");
    assert!(kept.starts_with("<html>xxx"));
    assert!(kept.len() <= 8 * 1024 + 3, "kept {} bytes", kept.len());
    assert_eq!(
        error.to_string(),
        "test.get: HTTP 502 Bad Gateway (body is not a Google error envelope)"
    );
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("y".repeat(4096)))
        .mount(&server)
        .await;
    let error = taskqueue_transport::Transport::builder()
        .token_provider(Arc::new(taskqueue_auth::StaticTokenProvider::new(
            taskqueue_auth::AccessToken::new("at-1"),
        )))
        .max_response_bytes(1024)
        .build()
        .expect("transport")
        .send(get(&server, "/r"))
        .await
        .expect_err("too large");
    assert!(error.is_response_too_large());
    assert!(!error.is_transient());
}

#[tokio::test]
async fn malformed_and_truncated_success_bodies_give_decode_errors() {
    for body in [
        "{\"kind\": \"taskqueues#task\"",
        "not json at all",
        "",
        "[1, 2",
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/r"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let response = transport(&clock(), RetryPolicy::new())
            .send(get(&server, "/r"))
            .await
            .expect("2xx");
        let error = response
            .json::<serde_json::Map<String, serde_json::Value>>()
            .expect_err("not an object");
        assert!(error.is_decode(), "{body:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(200));
        assert_eq!(error.raw_body(), Some(body));
        assert!(std::error::Error::source(&error).is_some());
    }
}

#[tokio::test]
async fn every_request_carries_the_bearer_token_user_agent_and_gzip() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer at-1"))
        .and(header("accept", "application/json"))
        .and(header_regex(
            "user-agent",
            r"^taskqueue-rs/\d+\.\d+\.\d+ \(gzip\)$",
        ))
        .and(header_regex("accept-encoding", "gzip"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    transport(&clock(), RetryPolicy::new())
        .send(get(&server, "/r"))
        .await
        .expect("all headers matched");
}

#[tokio::test]
async fn a_token_provider_failure_sends_nothing_and_keeps_its_cause() {
    let server = MockServer::start().await;
    for transient in [true, false] {
        let error = transport_with(
            &clock(),
            RetryPolicy::new(),
            Arc::new(FailingTokens { transient }),
        )
        .send(get(&server, "/r"))
        .await
        .expect_err("no token");
        assert!(error.is_auth());
        assert_eq!(error.is_transient(), transient);
        assert_eq!(error.attempts(), 0);
        assert!(error.auth_error().is_some());
    }
    assert!(server.received_requests().await.expect("rec").is_empty());
}

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn traces_name_the_call_and_attempts_but_never_the_token() {
    let server = MockServer::start().await;
    // The first token is refused (401), the second meets a 503, then succeeds.
    Mock::given(header(
        "authorization",
        format!("Bearer {FIRST_SECRET}").as_str(),
    ))
    .respond_with(
        ResponseTemplate::new(401)
            .insert_header("www-authenticate", "Bearer error=\"invalid_token\""),
    )
    .with_priority(1)
    .mount(&server)
    .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(3)
        .mount(&server)
        .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Call sites first hit by another test thread, which has no subscriber,
    // may have cached "never interested": recompute.
    tracing::callsite::rebuild_interest_cache();
    transport_with(
        &clock(),
        RetryPolicy::new(),
        Arc::new(TwoSecrets::default()),
    )
    .send(get(&server, "/r"))
    .await
    .expect("the third attempt succeeds");
    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(text.contains("taskqueue.call"), "{text}");
    assert!(text.contains("operation=\"test.get\""), "{text}");
    assert!(text.contains("attempt=3"), "{text}");
    // OpenTelemetry's HTTP client field names.
    for field in [
        "http.request.method=GET",
        &format!("url.full={}/r", server.uri()),
        "server.address=\"127.0.0.1\"",
        &format!("server.port={}", server.address().port()),
        "http.response.status_code=401",
        "error.type=\"401\"",
        "http.response.status_code=503",
        "error.type=\"503\"",
        "http.request.resend_count=2",
        "http.response.status_code=200",
    ] {
        assert!(text.contains(field), "no {field}:\n{text}");
    }
    assert!(
        text.contains("retrying after a transient failure"),
        "{text}"
    );
    for secret in [FIRST_SECRET, SECOND_SECRET, "ya29."] {
        assert!(
            !text.contains(secret),
            "a token leaked into traces:\n{text}"
        );
    }
}

const FIRST_SECRET: &str = "ya29.a0AfH6SMBfirst-secret-token-value";
const SECOND_SECRET: &str = "ya29.a0AfH6SMBsecond-secret-token-value";

/// Hands out [`FIRST_SECRET`] until it is invalidated, then [`SECOND_SECRET`].
#[derive(Debug, Default)]
struct TwoSecrets {
    refreshed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl taskqueue_auth::TokenProvider for TwoSecrets {
    async fn token(
        &self,
        _scopes: &taskqueue_auth::ScopeSet,
    ) -> Result<taskqueue_auth::AccessToken, taskqueue_auth::Error> {
        let refreshed = self.refreshed.load(std::sync::atomic::Ordering::SeqCst);
        Ok(taskqueue_auth::AccessToken::new(if refreshed {
            SECOND_SECRET
        } else {
            FIRST_SECRET
        }))
    }

    fn invalidate(&self, _rejected: &taskqueue_auth::AccessToken) {
        self.refreshed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `{"id":"t1","tag":"gzipped"}`, gzip-compressed (made with Python's gzip
/// module, mtime 0).
const GZIPPED: [u8; 45] = [
    31, 139, 8, 0, 0, 0, 0, 0, 2, 255, 171, 86, 202, 76, 81, 178, 82, 42, 49, 84, 210, 81, 42, 73,
    76, 7, 50, 211, 171, 50, 11, 10, 82, 83, 148, 106, 1, 208, 12, 130, 0, 27, 0, 0, 0,
];

#[tokio::test]
async fn gzip_responses_are_decompressed() {
    let server = MockServer::start().await;
    Mock::given(header_regex("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(GZIPPED.as_slice(), "application/json"),
        )
        .mount(&server)
        .await;
    let response = transport(&clock(), RetryPolicy::new())
        .send(get(&server, "/r"))
        .await
        .expect("2xx");
    let body: serde_json::Value = response.json().expect("decompressed JSON");
    assert_eq!(body["tag"], "gzipped");
}

#[tokio::test]
async fn a_slow_attempt_times_out_with_a_timeout_error() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)))
        .mount(&server)
        .await;
    // The per-attempt timeout is a real-time socket deadline, kept short here.
    let error = taskqueue_transport::Transport::builder()
        .token_provider(Arc::new(taskqueue_auth::StaticTokenProvider::new(
            taskqueue_auth::AccessToken::new("at-1"),
        )))
        .retry_policy(RetryPolicy::no_retries())
        .attempt_timeout(std::time::Duration::from_millis(100))
        .clock(Arc::new(clock()))
        .build()
        .expect("transport")
        .send(get(&server, "/r"))
        .await
        .expect_err("timed out");
    assert!(error.is_timeout(), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(error.attempts(), 1);
}
