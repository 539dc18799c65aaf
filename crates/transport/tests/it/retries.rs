//! Retry behaviour: which failures are retried, how often, and how long the
//! virtual clock sleeps between attempts.

use std::time::Duration;

use taskqueue_transport::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{clock, get, post, transport};

fn policy() -> RetryPolicy {
    RetryPolicy::new()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(10))
        .with_max_elapsed(Duration::from_secs(600))
}

/// Mounts `failures` responses with `status`, then a 200.
async fn flaky(server: &MockServer, status: u16, failures: u64) {
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(status))
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn transient_statuses_are_retried_until_success() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = MockServer::start().await;
        flaky(&server, status, 2).await;
        let clock = clock();
        let response = transport(&clock, policy())
            .send(get(&server, "/r"))
            .await
            .unwrap_or_else(|error| panic!("{status}: {error}"));
        assert_eq!(response.status().as_u16(), 200);
        let requests = server.received_requests().await.expect("recording");
        assert_eq!(requests.len(), 3, "{status}: two failures then success");
        assert_eq!(clock.sleeps().len(), 2, "{status}: one sleep per retry");
    }
}

#[tokio::test]
async fn permanent_statuses_are_not_retried() {
    for status in [400, 403, 404, 409, 412, 501] {
        let server = MockServer::start().await;
        flaky(&server, status, 1).await;
        let clock = clock();
        let error = transport(&clock, policy())
            .send(get(&server, "/r"))
            .await
            .expect_err("permanent failure");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert!(!error.is_transient());
        assert_eq!(error.attempts(), 1);
        assert_eq!(server.received_requests().await.expect("rec").len(), 1);
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn attempts_are_bounded_and_the_backoff_sequence_is_jittered_exponential() {
    let server = MockServer::start().await;
    flaky(&server, 503, 100).await;
    let clock = clock();
    let policy = policy();
    let error = transport(&clock, policy.clone())
        .send(get(&server, "/r"))
        .await
        .expect_err("budget exhausted");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert!(error.is_transient());
    assert_eq!(error.attempts(), 4);
    assert_eq!(server.received_requests().await.expect("rec").len(), 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    for (retry, sleep) in (1..).zip(&sleeps) {
        let ceiling = policy.backoff_ceiling(retry);
        assert!(*sleep <= ceiling, "retry {retry}: {sleep:?} > {ceiling:?}");
    }
    assert_eq!(
        [1, 2, 3].map(|n| policy.backoff_ceiling(n)),
        [1, 2, 4].map(Duration::from_secs)
    );
    // Exactly the policy's full-jitter draws, retry by retry: a transport
    // that slept zero, a constant, or ignored the ceilings would differ.
    let mut jitter = policy.clone().with_jitter_seed(42).jitter();
    let expected: Vec<Duration> = (1..=3)
        .map(|retry| jitter.draw(policy.backoff_ceiling(retry)))
        .collect();
    assert_eq!(sleeps, expected);
    assert!(sleeps.iter().all(|sleep| !sleep.is_zero()));
    // The seeded jitter makes the sequence reproducible run after run.
    let again = crate::support::clock();
    let _ = transport(&again, policy)
        .send(get(&server, "/r"))
        .await
        .expect_err("budget exhausted");
    assert_eq!(again.sleeps(), sleeps);
}

#[tokio::test]
async fn the_total_time_budget_stops_retries_before_the_attempt_limit() {
    let server = MockServer::start().await;
    flaky(&server, 500, 100).await;
    let clock = clock();
    let policy = RetryPolicy::new()
        .with_max_attempts(50)
        .with_initial_backoff(Duration::from_secs(8))
        .with_max_backoff(Duration::from_secs(8))
        .with_multiplier(1.0)
        .with_max_elapsed(Duration::from_secs(20));
    let error = transport(&clock, policy)
        .send(get(&server, "/r"))
        .await
        .expect_err("time budget exhausted");
    let slept: Duration = clock.sleeps().iter().sum();
    assert!(slept <= Duration::from_secs(20), "slept {slept:?}");
    assert!(error.attempts() < 50);
    assert_eq!(
        server.received_requests().await.expect("rec").len() as u32,
        error.attempts()
    );
}

#[tokio::test]
async fn retry_after_is_honoured_as_a_minimum_wait() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let clock = clock();
    transport(&clock, policy())
        .send(get(&server, "/r"))
        .await
        .expect("success after waiting");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn requests_not_marked_retryable_are_sent_once() {
    let server = MockServer::start().await;
    flaky(&server, 503, 1).await;
    let clock = clock();
    // POST is not retryable by default (think lease and insert).
    let error = transport(&clock, policy())
        .send(post(&server, "/r"))
        .await
        .expect_err("not retried");
    assert_eq!(error.attempts(), 1);
    assert!(clock.sleeps().is_empty());
    // The caller may opt in per request.
    let response = transport(&clock, policy())
        .send(post(&server, "/r").retryable(true))
        .await
        .expect("opted in");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn connection_failures_are_retried_and_reported_as_connect_errors() {
    // Bind a port, then close it, so connections are refused on loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr");
    drop(listener);
    let clock = clock();
    let request =
        taskqueue_transport::Request::get(format!("http://{address}/r").parse().expect("url"));
    let error = transport(&clock, policy())
        .send(request)
        .await
        .expect_err("refused");
    assert!(error.is_connect(), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(error.attempts(), 4);
    assert_eq!(clock.sleeps().len(), 3);
}

#[tokio::test]
async fn bodyless_posts_carry_content_length_zero() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    transport(&clock(), policy())
        .send(post(&server, "/lease"))
        .await
        .expect("posted");
    let requests = server.received_requests().await.expect("rec");
    assert_eq!(
        requests[0]
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
}
