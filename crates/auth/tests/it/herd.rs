//! End to end: a real token source behind a [`TokenCache`], against a
//! wiremock token endpoint that must see exactly one request per refresh.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, Scope, ScopeSet, TokenCache, TokenProvider,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::{TOKEN_PATH, authorized_user_json, edit_json, http_options, token_success};

/// An authorized-user provider whose token endpoint is `server`.
fn provider(server: &MockServer, clock: &taskqueue_clock::VirtualClock) -> Arc<dyn TokenProvider> {
    let json = edit_json(
        authorized_user_json(),
        &[(
            "token_uri",
            Some(json!(format!("{}{TOKEN_PATH}", server.uri()))),
        )],
    );
    let credentials = AuthorizedUserCredentials::from_json(&json.to_string()).expect("key file");
    let source = AuthorizedUserSource::new(credentials, http_options(clock)).expect("source");
    Arc::new(TokenCache::new(source, Arc::new(clock.clone())))
}

async fn herd(provider: &Arc<dyn TokenProvider>, callers: usize) -> Vec<String> {
    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let provider = Arc::clone(provider);
            let scopes = scopes.clone();
            tokio::spawn(async move { provider.token(&scopes).await })
        })
        .collect();
    let mut secrets = Vec::with_capacity(callers);
    for task in tasks {
        let token = task.await.expect("caller task").expect("token");
        secrets.push(token.secret().to_owned());
    }
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_at_expiry_cause_one_token_request_each_time() {
    let server = MockServer::start().await;
    let clock = taskqueue_clock::VirtualClock::new(crate::support::start_time());
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("at-1", json!(3600)))
        .up_to_n_times(1)
        .expect(1)
        .named("first token")
        .mount(&server)
        .await;
    let provider = provider(&server, &clock);

    let first = herd(&provider, 1000).await;
    assert!(first.iter().all(|secret| secret == "at-1"));

    // Past expiry, 1000 callers again: exactly one more request.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("at-2", json!(3600)))
        .expect(1)
        .named("second token")
        .mount(&server)
        .await;
    clock.advance(Duration::from_secs(3601));
    let second = herd(&provider, 1000).await;
    assert!(second.iter().all(|secret| secret == "at-2"));
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_invalidations_of_one_token_causes_one_refresh() {
    let server = MockServer::start().await;
    let clock = taskqueue_clock::VirtualClock::new(crate::support::start_time());
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("at-1", json!(3600)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("at-2", json!(3600)))
        .mount(&server)
        .await;
    let provider = provider(&server, &clock);
    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let rejected = provider.token(&scopes).await.expect("first token");
    // 100 callers each saw a 401 for the same token, concurrently.
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let provider = Arc::clone(&provider);
            let rejected = rejected.clone();
            let scopes = scopes.clone();
            tokio::spawn(async move {
                provider.invalidate(&rejected);
                provider.token(&scopes).await
            })
        })
        .collect();
    for task in tasks {
        let token = task.await.expect("task").expect("fresh token");
        assert_eq!(token.secret(), "at-2");
    }
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        2,
        "one initial request and exactly one refresh"
    );
}
