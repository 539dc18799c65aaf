//! Our own token sources against the server on a real loopback socket: `ServiceAccountSource` (JWT-bearer
//! grant), `AuthorizedUserSource` (refresh-token grant), `MetadataServerSource` and `probe_metadata_server`,
//! each with its key file from the shared test keys (taskqueue-test-support) and `token_uri` (or host) pointing
//! at the server.
//! Server and clients share one virtual clock unless a test skews the client's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::clock::{RetryPolicy, VirtualClock};
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, HttpOptions, MetadataServerSource,
    OAuthErrorCode, Scope, ScopeSet, ServiceAccountKey, ServiceAccountSource, TokenSource as _,
    probe_metadata_server,
};
use taskqueue_clock::Clock as _;
use taskqueue_server::{AppState, MemoryStore, ServerConfig, StoreConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::oauth_support::{
    AUTHORIZED_USER_JSON, CLIENT_SECRET, REFRESH_TOKEN, SA_EMAIL, SERVICE_ACCOUNT_JSON, USER_EMAIL,
    config, config_with_metadata, instance_scopes, user_scopes,
};

/// The server on 127.0.0.1, on an ephemeral port; aborted when dropped.
struct Served {
    state: AppState,
    clock: VirtualClock,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(config: ServerConfig) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    let clock = crate::support::clock();
    let state = AppState::new(
        config,
        Arc::new(MemoryStore::new(StoreConfig::default())),
        Arc::new(clock.clone()),
        format!("http://{addr}"),
    );
    let router = taskqueue_server::router(state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served {
        state,
        clock,
        addr,
        task,
    }
}

/// Client options on `clock`, with short timeouts and a single attempt: no failure here is transient.
fn options(clock: &VirtualClock) -> HttpOptions {
    HttpOptions::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_request_timeout(Duration::from_secs(10))
        .with_clock(Arc::new(clock.clone()))
        .with_retry(RetryPolicy::new().with_max_attempts(1))
}

#[tokio::test(flavor = "current_thread")]
async fn service_account_source_gets_a_token_by_the_jwt_bearer_grant() {
    let served = serve(config()).await;
    let key = ServiceAccountKey::from_json(SERVICE_ACCOUNT_JSON).expect("the key file parses");
    let source = ServiceAccountSource::new(key, options(&served.clock))
        .expect("a source")
        .with_token_uri(served.state.token_uri())
        .expect("the token URI is valid");
    let scopes = ScopeSet::from([Scope::Taskqueue, Scope::CloudTaskqueueConsumer]);

    let token = source.fetch(&scopes).await.expect("a token");
    assert_eq!(token.granted_scopes(), Some(&scopes));
    assert_eq!(
        token.expires_at(),
        Some(served.clock.now() + Duration::from_secs(3600))
    );
    let caller = served
        .state
        .tokens
        .authenticate(token.secret(), served.clock.now())
        .await
        .expect("the token authenticates");
    assert_eq!((caller.email.as_str(), caller.scopes), (SA_EMAIL, scopes));
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_clock_ahead_gets_invalid_grant_with_the_skew_measured_from_the_servers_date() {
    let served = serve(config()).await;
    let ahead = crate::support::clock();
    ahead.advance(Duration::from_secs(600));
    let key = ServiceAccountKey::from_json(SERVICE_ACCOUNT_JSON).expect("the key file parses");
    let source = ServiceAccountSource::new(key, options(&ahead))
        .expect("a source")
        .with_token_uri(served.state.token_uri())
        .expect("the token URI is valid");

    let error = source
        .fetch(&ScopeSet::from([Scope::Taskqueue]))
        .await
        .expect_err("an assertion from the future is refused");
    assert_eq!(
        error.oauth_error(),
        Some(&OAuthErrorCode::InvalidGrant),
        "{error}"
    );
    assert_eq!(error.status(), Some(400));
    assert!(!error.is_transient());
    let skew = error
        .clock_skew()
        .expect("the server's Date header measures the skew");
    assert!(skew.local_ahead, "{error}");
    assert!(
        skew.difference.abs_diff(Duration::from_secs(600)) <= Duration::from_secs(1),
        "{skew:?}"
    );
    assert!(served.state.tokens.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn authorized_user_source_gets_tokens_by_the_refresh_token_grant() {
    let served = serve(config()).await;
    let source = |json: &str| {
        let credentials = AuthorizedUserCredentials::from_json(json).expect("the file parses");
        AuthorizedUserSource::new(credentials, options(&served.clock))
            .expect("a source")
            .with_token_uri(served.state.token_uri())
            .expect("the token URI is valid")
    };
    let user = source(AUTHORIZED_USER_JSON);

    for scopes in [user_scopes(), ScopeSet::from([Scope::TaskqueueConsumer])] {
        let token = user.fetch(&scopes).await.expect("a token");
        assert_eq!(token.granted_scopes(), Some(&scopes));
        let caller = served
            .state
            .tokens
            .authenticate(token.secret(), served.clock.now())
            .await
            .expect("the token authenticates");
        assert_eq!((caller.email.as_str(), caller.scopes), (USER_EMAIL, scopes));
    }

    let wider = ScopeSet::from([Scope::Taskqueue, Scope::CloudTaskqueue]);
    let error = user
        .fetch(&wider)
        .await
        .expect_err("a wider scope is refused");
    assert_eq!(
        error.oauth_error(),
        Some(&OAuthErrorCode::InvalidScope),
        "{error}"
    );

    let revoked = source(&AUTHORIZED_USER_JSON.replace(REFRESH_TOKEN, "1//0revoked"));
    let error = revoked.fetch(&user_scopes()).await.expect_err("refused");
    assert_eq!(
        error.oauth_error(),
        Some(&OAuthErrorCode::InvalidGrant),
        "{error}"
    );
    assert_eq!(error.status(), Some(400));

    let wrong_secret = source(&AUTHORIZED_USER_JSON.replace(CLIENT_SECRET, "wrong-secret"));
    let error = wrong_secret
        .fetch(&user_scopes())
        .await
        .expect_err("refused");
    assert_eq!(
        error.oauth_error(),
        Some(&OAuthErrorCode::InvalidClient),
        "{error}"
    );
    assert_eq!(error.status(), Some(401));
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, "wrong-secret", "1//0revoked"] {
        assert!(!error.to_string().contains(secret), "{error}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn metadata_server_source_and_probe_work_against_the_metadata_endpoint() {
    let served = serve(config_with_metadata()).await;
    let host = served.addr.to_string();
    probe_metadata_server(&host, Duration::from_secs(5))
        .await
        .expect("the probe recognises a metadata server");

    let source =
        MetadataServerSource::at_host(host.clone(), options(&served.clock)).expect("a source");
    for scopes in [ScopeSet::new(), ScopeSet::from([Scope::CloudTaskqueue])] {
        let token = source.fetch(&scopes).await.expect("a token");
        assert_eq!(
            token.expires_at(),
            Some(served.clock.now() + Duration::from_secs(3600))
        );
        let caller = served
            .state
            .tokens
            .authenticate(token.secret(), served.clock.now())
            .await
            .expect("the token authenticates");
        let expected = if scopes.is_empty() {
            instance_scopes()
        } else {
            scopes
        };
        assert_eq!((caller.email.as_str(), caller.scopes), (SA_EMAIL, expected));
    }
    let by_email = source.clone().with_account(SA_EMAIL);
    assert!(by_email.fetch(&ScopeSet::new()).await.is_ok());
    let error = source
        .with_account("other@example.com")
        .fetch(&ScopeSet::new())
        .await
        .expect_err("an account the instance lacks");
    assert_eq!(error.status(), Some(404), "{error}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_without_the_metadata_endpoint_is_not_taken_for_a_metadata_server() {
    let served = serve(config()).await;
    let host = served.addr.to_string();
    let error = probe_metadata_server(&host, Duration::from_secs(5))
        .await
        .expect_err("no metadata server here");
    assert!(
        error.to_string().contains("not a metadata server"),
        "{error}"
    );
    let source = MetadataServerSource::at_host(host, options(&served.clock)).expect("a source");
    let error = source
        .fetch(&ScopeSet::new())
        .await
        .expect_err("no metadata server");
    assert!(!error.is_transient(), "{error}");
    assert!(served.state.tokens.is_empty());
}
