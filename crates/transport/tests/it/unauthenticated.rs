//! A 401 invalidates the token and, if a new one comes, retries once.

use std::sync::Arc;

use taskqueue_transport::RetryPolicy;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RotatingTokens, clock, post, transport, transport_with};

const AUTH_ERROR: &str = r#"{"error":{"errors":[{"domain":"global","reason":"authError","message":"Invalid Credentials","locationType":"header","location":"Authorization"}],"code":401,"message":"Invalid Credentials"}}"#;

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .insert_header("www-authenticate", "Bearer error=\"invalid_token\"")
        .set_body_raw(AUTH_ERROR.as_bytes(), "application/json")
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_even_a_non_retryable_request() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer at-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let clock = clock();
    let response = transport_with(&clock, RetryPolicy::new(), tokens.clone())
        .send(post(&server, "/lease"))
        .await
        .expect("second token accepted");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(tokens.invalidated(), 1);
    assert_eq!(tokens.issued(), 2);
    assert!(clock.sleeps().is_empty(), "no backoff for a refresh");
}

#[tokio::test]
async fn two_401s_in_a_row_give_an_authentication_error_without_a_loop() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(unauthorized())
        .expect(2)
        .mount(&server)
        .await;
    let tokens = Arc::new(RotatingTokens::default());
    let error = transport_with(&clock(), RetryPolicy::new(), tokens.clone())
        .send(post(&server, "/r").retryable(true))
        .await
        .expect_err("refused twice");
    assert!(error.is_unauthenticated());
    assert_eq!(error.reason(), Some("authError"));
    assert_eq!(
        error.www_authenticate(),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_eq!(error.attempts(), 2);
    assert_eq!(tokens.invalidated(), 2);
}

#[tokio::test]
async fn a_provider_that_cannot_refresh_gets_one_attempt() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    let error = transport(&clock(), RetryPolicy::new())
        .send(post(&server, "/r").retryable(true))
        .await
        .expect_err("static token refused");
    assert!(error.is_unauthenticated());
    assert!(!error.is_transient());
    assert_eq!(error.attempts(), 1);
}
