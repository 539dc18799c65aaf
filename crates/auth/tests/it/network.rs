//! Trust roots and proxies of the token endpoint calls, through
//! `HttpOptions::network`: the token sources reach an HTTPS token endpoint
//! on 127.0.0.1 signed by a test CA only once the CA is added, and go
//! through the proxy they are given.

use serde_json::json;
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, Error, HttpOptions, NetworkOptions,
    ProxySetting, Scope, ScopeSet, ServiceAccountKey, ServiceAccountSource, TokenSource,
};
use taskqueue_test_support::keys;
use taskqueue_test_support::tls::{TlsServer, TrustCase, trust_cases};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::{TOKEN_PATH, http_options, token_success, virtual_clock};

/// What the TLS token endpoint answers to every request.
const TOKEN_JSON: &str =
    r#"{"access_token":"ya29.over-tls","expires_in":3599,"token_type":"Bearer"}"#;

/// The two token sources that call a token endpoint.
#[derive(Clone, Copy, Debug)]
enum Grant {
    RefreshToken,
    JwtBearer,
}

const GRANTS: [Grant; 2] = [Grant::RefreshToken, Grant::JwtBearer];

/// A source of `grant` calling `token_uri` with `network`, on a virtual
/// clock that lets retries run at once.
fn source(grant: Grant, token_uri: &str, network: NetworkOptions) -> Box<dyn TokenSource> {
    let options: HttpOptions = http_options(&virtual_clock()).with_network(network);
    match grant {
        Grant::RefreshToken => {
            let credentials =
                AuthorizedUserCredentials::from_json(keys::AUTHORIZED_USER_JSON).expect("fixture");
            Box::new(
                AuthorizedUserSource::new(credentials, options)
                    .expect("source")
                    .with_token_uri(token_uri)
                    .expect("token uri"),
            )
        }
        Grant::JwtBearer => {
            let key = ServiceAccountKey::from_json(keys::SERVICE_ACCOUNT_JSON).expect("fixture");
            Box::new(
                ServiceAccountSource::new(key, options)
                    .expect("source")
                    .with_token_uri(token_uri)
                    .expect("token uri"),
            )
        }
    }
}

async fn fetch(grant: Grant, token_uri: &str, network: NetworkOptions) -> Result<String, Error> {
    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let token = source(grant, token_uri, network).fetch(&scopes).await?;
    Ok(token.secret().to_owned())
}

#[tokio::test]
async fn an_https_token_endpoint_is_trusted_only_through_the_roots_given() {
    for grant in GRANTS {
        for TrustCase {
            label,
            network,
            trusted: succeeds,
        } in trust_cases()
        {
            let server = TlsServer::start(TOKEN_JSON).await.expect("TLS server");
            let token_uri = format!("{}{TOKEN_PATH}", server.uri());
            match fetch(grant, &token_uri, network).await {
                Ok(secret) => {
                    assert!(
                        succeeds,
                        "{grant:?}, {label}: trusted a server it should not"
                    );
                    assert_eq!(secret, "ya29.over-tls", "{grant:?}, {label}");
                    assert_eq!(server.requests(), 1, "{grant:?}, {label}");
                }
                Err(error) => {
                    assert!(!succeeds, "{grant:?}, {label}: {error}");
                    assert_eq!(
                        server.requests(),
                        0,
                        "{grant:?}, {label}: no request got through"
                    );
                    assert!(
                        server.failed_handshakes() >= 1,
                        "{grant:?}, {label}: the handshake was refused"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn token_requests_go_through_the_proxy_given() {
    let proxy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_success("ya29.via-proxy", json!(3599)))
        .expect(2)
        .mount(&proxy)
        .await;
    // Nothing listens on the token endpoint's port (1, tcpmux, is never
    // served here): only the proxy can answer.
    let token_uri = format!("http://127.0.0.1:1{TOKEN_PATH}");
    for grant in GRANTS {
        let secret = fetch(
            grant,
            &token_uri,
            NetworkOptions::default().with_proxy(proxy.uri()),
        )
        .await
        .unwrap_or_else(|error| panic!("{grant:?}: not answered through the proxy: {error}"));
        assert_eq!(secret, "ya29.via-proxy", "{grant:?}");
    }

    // Hosts of `no_proxy`, and every host with the proxy disabled, are
    // reached directly: the closed port refuses the connection.
    let excepted = NetworkOptions::default().with_proxy_setting(ProxySetting::Url {
        url: proxy.uri(),
        no_proxy: Some("127.0.0.1".to_owned()),
    });
    let disabled = NetworkOptions::default().with_proxy_setting(ProxySetting::Disabled);
    for grant in GRANTS {
        for network in [excepted.clone(), disabled.clone()] {
            let error = fetch(grant, &token_uri, network.clone())
                .await
                .expect_err("no proxy for this host");
            assert!(error.is_transient(), "{grant:?}, {network:?}: {error:?}");
        }
    }
}

#[test]
fn a_bad_proxy_url_is_a_clear_error_when_the_source_is_built() {
    let credentials =
        AuthorizedUserCredentials::from_json(keys::AUTHORIZED_USER_JSON).expect("fixture");
    let options = http_options(&virtual_clock())
        .with_network(NetworkOptions::default().with_proxy("::not a url::"));
    let error = AuthorizedUserSource::new(credentials, options).expect_err("bad proxy URL");
    assert!(!error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("proxy"), "{error}");
}
