//! End to end with a real token cache: an authorized-user source behind a
//! `TokenCache`, a wiremock token endpoint and a wiremock API. Concurrent
//! 401s for one token cause one refresh, and each call is retried once.

use std::sync::Arc;

use serde_json::json;
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, HttpOptions, Scope, ScopeSet, TokenCache,
    TokenProvider,
};
use taskqueue_client::{Client, GetTaskRequest};
use taskqueue_clock::VirtualClock;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{API, clock, queue, task};

fn token(secret: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": secret,
        "expires_in": 3600,
        "token_type": "Bearer"
    }))
}

/// A server whose token endpoint issues at-1, then at-2 for every later
/// request, and whose API refuses at-1 (revoked early) and accepts at-2.
async fn revoking_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(token("at-1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(token("at-2"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Bearer error=\"invalid_token\""),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "t1"})))
        .mount(&server)
        .await;
    server
}

/// An authorized-user source for `server`'s token endpoint, behind a cache.
fn cached_source(
    server: &MockServer,
    clock: &VirtualClock,
) -> Arc<TokenCache<AuthorizedUserSource>> {
    let credentials = AuthorizedUserCredentials::from_json(
        &json!({
            "type": "authorized_user",
            "client_id": "client-1.apps.googleusercontent.com",
            "client_secret": "client-secret-1",
            "refresh_token": "refresh-token-1",
            "token_uri": format!("{}/token", server.uri()),
        })
        .to_string(),
    )
    .expect("key file");
    let source = AuthorizedUserSource::new(
        credentials,
        HttpOptions::default().with_clock(Arc::new(clock.clone())),
    )
    .expect("source");
    Arc::new(TokenCache::new(source, Arc::new(clock.clone())))
}

fn client_with(
    server: &MockServer,
    clock: &VirtualClock,
    cache: Arc<TokenCache<AuthorizedUserSource>>,
) -> Client {
    Client::builder()
        .base_url(format!("{}{API}/", server.uri()))
        .token_provider(cache)
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_through_the_cache_and_later_calls_reuse_the_new_token() {
    let server = revoking_server().await;
    let clock = clock();
    let client = client_with(&server, &clock, cached_source(&server, &clock));

    // The first call gets at-1, sees a 401, refreshes to at-2 and succeeds.
    client
        .get_task(GetTaskRequest::new(queue(), task("t1")))
        .await
        .expect("first call refreshes after its 401");
    assert_eq!(
        count(&server, "POST").await,
        2,
        "at-1, then one refresh to at-2"
    );

    // A second wave: the cache now holds at-2, so nothing is refreshed.
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .get_task(GetTaskRequest::new(queue(), task("t1")))
                    .await
            })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("call succeeds with at-2");
    }
    assert_eq!(count(&server, "POST").await, 2, "no further refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_rejected_with_one_token_refreshes_once() {
    let server = revoking_server().await;
    let clock = clock();
    let cache = cached_source(&server, &clock);
    // Warm the cache with at-1 without a call.
    TokenProvider::token(&*cache, &ScopeSet::from([Scope::Taskqueue]))
        .await
        .expect("at-1");
    let client = client_with(&server, &clock, cache);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .get_task(GetTaskRequest::new(queue(), task("t1")))
                    .await
            })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("retried with at-2");
    }
    assert_eq!(
        count(&server, "POST").await,
        2,
        "at-1 once, then exactly one refresh for 50 concurrent 401s"
    );
    let api_calls = count(&server, "GET").await;
    assert!(
        (51..=100).contains(&api_calls),
        "each call retried at most once: {api_calls} API requests for 50 calls"
    );
}

async fn count(server: &MockServer, verb: &str) -> usize {
    server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|request| request.method.as_str() == verb)
        .count()
}
