//! Trust roots and proxies through `NetworkOptions`: a client reaches an
//! HTTPS server on 127.0.0.1 signed by a test CA only once the CA is added,
//! and goes through the proxy it is given.

use std::sync::Arc;

use taskqueue_auth::{AccessToken, NetworkOptions, ProxySetting, RootStore, StaticTokenProvider};
use taskqueue_client::{Client, ClientBuilder, Error, GetQueueRequest};
use taskqueue_test_support::tls::{TlsServer, TrustCase, trust_cases};
use taskqueue_transport::RetryPolicy;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{API, clock, queue};

const QUEUE_JSON: &str =
    r#"{"kind":"taskqueues#taskqueue","id":"projects/s~my-app/taskqueues/pull-queue"}"#;

/// A client on a virtual clock, with a static token and no base URL yet.
fn builder() -> ClientBuilder {
    Client::builder()
        .token_provider(StaticTokenProvider::new(AccessToken::new("at-1")))
        .retry_policy(RetryPolicy::new().with_jitter_seed(1))
        .clock(Arc::new(clock()))
}

/// A loopback port nothing listens on (1, tcpmux, is never served here).
const CLOSED: &str = "http://127.0.0.1:1";

async fn get_queue(base_url: String, network: NetworkOptions) -> Result<String, Error> {
    let client: Client = builder().base_url(base_url).network(network).build()?;
    let queue = client.get_queue(GetQueueRequest::new(queue())).await?;
    Ok(queue.id.unwrap_or_default())
}

#[tokio::test]
async fn an_https_server_is_trusted_only_through_the_roots_given() {
    for TrustCase {
        label,
        network,
        trusted: succeeds,
    } in trust_cases()
    {
        let server = TlsServer::start(QUEUE_JSON).await.expect("TLS server");
        let result = get_queue(format!("{}{API}/", server.uri()), network).await;
        match result {
            Ok(id) => {
                assert!(succeeds, "{label}: trusted a server it should not");
                assert_eq!(id, "projects/s~my-app/taskqueues/pull-queue", "{label}");
                assert_eq!(server.requests(), 1, "{label}");
            }
            Err(error) => {
                assert!(!succeeds, "{label}: {error}");
                assert!(error.is_connect(), "{label}: {error:?}");
                assert_eq!(server.requests(), 0, "{label}: no request got through");
            }
        }
    }
}

#[tokio::test]
async fn requests_go_through_the_proxy_given() {
    let proxy = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/s~my-app/taskqueues/pull-queue")))
        .respond_with(ResponseTemplate::new(200).set_body_string(QUEUE_JSON))
        .expect(1)
        .mount(&proxy)
        .await;
    // Nothing listens on the API's port: only the proxy can answer.
    let id = get_queue(
        format!("{CLOSED}{API}/"),
        NetworkOptions::default().with_proxy(proxy.uri()),
    )
    .await
    .expect("answered through the proxy");
    assert_eq!(id, "projects/s~my-app/taskqueues/pull-queue");

    // Hosts of `no_proxy`, and every host with the proxy disabled, are
    // reached directly: the closed port refuses the connection.
    let excepted = NetworkOptions::default().with_proxy_setting(ProxySetting::Url {
        url: proxy.uri(),
        no_proxy: Some("127.0.0.1".to_owned()),
    });
    let disabled = NetworkOptions::default().with_proxy_setting(ProxySetting::Disabled);
    for network in [excepted, disabled] {
        let error = get_queue(format!("{CLOSED}{API}/"), network.clone())
            .await
            .expect_err("no proxy for this host");
        assert!(error.is_connect(), "{network:?}: {error:?}");
    }
}

#[test]
fn bad_root_bundles_and_proxies_are_clear_errors() {
    let not_pem = NetworkOptions::default()
        .with_root_certificates_pem(b"not a certificate")
        .expect_err("no certificate");
    assert!(
        not_pem.to_string().contains("BEGIN CERTIFICATE"),
        "{not_pem}"
    );

    let bad_proxy = builder()
        .network(NetworkOptions::default().with_proxy("::not a url::"))
        .build()
        .expect_err("bad proxy URL");
    assert!(bad_proxy.is_configuration(), "{bad_proxy:?}");

    let platform = builder()
        .network(NetworkOptions::default().with_root_store(RootStore::Platform))
        .build();
    if cfg!(feature = "platform-verifier") {
        platform.expect("the platform verifier builds");
    } else {
        let error = platform.expect_err("needs the feature");
        assert!(
            format!("{error:?}").contains("platform-verifier"),
            "{error:?}"
        );
    }
}
