//! `GcpAuthProvider` (feature `gcp-auth`): gcp_auth's own service-account
//! provider, pointed at a wiremock token endpoint by the key file's
//! `token_uri`, hands its tokens on as ours; its failures become our errors.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use taskqueue_auth::{GcpAuthProvider, Scope, ScopeSet, TokenProvider, UnverifiedJwt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::{
    TOKEN_PATH, edit_json, oauth_error, received_forms, service_account_json, token_success,
    token_uri,
};

/// gcp_auth's service-account provider for the test key, calling `server`.
fn gcp_auth_provider(server: &MockServer) -> GcpAuthProvider {
    let json = edit_json(
        service_account_json(),
        &[("token_uri", Some(json!(token_uri(server))))],
    );
    let account =
        gcp_auth::CustomServiceAccount::from_json(&json.to_string()).expect("gcp_auth reads it");
    GcpAuthProvider::new(Arc::new(account))
}

#[allow(
    clippy::disallowed_methods,
    reason = "gcp_auth dates its tokens by the system clock, so the test reads it too"
)]
fn system_now() -> SystemTime {
    SystemTime::now()
}

#[tokio::test]
async fn gcp_auth_tokens_are_handed_on_with_their_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("ya29.from-gcp-auth", json!(3599)))
        .expect(1)
        .mount(&server)
        .await;
    let provider = gcp_auth_provider(&server);
    let scopes = ScopeSet::from([Scope::Taskqueue]);

    let before = system_now();
    let token = provider.token(&scopes).await.expect("a token");
    assert_eq!(token.secret(), "ya29.from-gcp-auth");
    let expires_at = token.expires_at().expect("an expiry");
    assert!(
        expires_at >= before + Duration::from_secs(3590)
            && expires_at <= system_now() + Duration::from_secs(3600),
        "{expires_at:?}"
    );
    assert_eq!(format!("{provider:?}"), "GcpAuthProvider { .. }");

    // gcp_auth caches it: a second call sends nothing.
    let again = provider.token(&scopes).await.expect("cached");
    assert_eq!(again.secret(), "ya29.from-gcp-auth");

    // It sent a JWT-bearer grant for the scope's URL, with padded segments
    // (which our verifier accepts only when asked: docs/oauth-interop.md §2).
    let forms = received_forms(&server).await;
    assert_eq!(forms.len(), 1);
    assert_eq!(
        forms[0].get("grant_type").map(String::as_str),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let assertion = forms[0].get("assertion").expect("an assertion");
    assert!(UnverifiedJwt::parse(assertion).is_err(), "padded segments");
    assert!(UnverifiedJwt::parse_allowing_padding(assertion).is_ok());
    let claims = assertion.split('.').nth(1).expect("claims");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE, claims)
            .expect("base64url"),
    )
    .expect("JSON");
    assert_eq!(claims["scope"], Scope::Taskqueue.as_str());
}

#[tokio::test]
async fn gcp_auth_failures_are_our_errors_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(oauth_error(400, "invalid_grant", "account disabled"))
        .mount(&server)
        .await;
    let error = gcp_auth_provider(&server)
        .token(&ScopeSet::from([Scope::Taskqueue]))
        .await
        .expect_err("refused");
    let text = format!("{error} {error:?}");
    assert!(text.contains("gcp_auth"), "{text}");
    assert!(!error.is_transient(), "{error:?}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}
