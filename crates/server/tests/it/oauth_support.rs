//! Fixtures of the OAuth tests: the test keys and key files of the auth crate, a configuration with one service
//! account and two users, a router on a virtual clock, requests, parsed answers, and assertion builders.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use taskqueue_auth::{
    JwtClaims, JwtKeySet, RsaSigningKey, RsaVerifyingKey, Scope, ScopeSet, encode_rs256,
};
use taskqueue_clock::{Clock as _, VirtualClock};
use taskqueue_server::config::{
    MetadataConfig, Principals, ServiceAccountPrincipal, UserPrincipal,
};
use taskqueue_server::{AppState, MemoryStore, SecretDigest, ServerConfig, StoreConfig};
use taskqueue_test_support::keys;
use tower::ServiceExt as _;

/// The shared test key (PKCS#8), its public half, and an unrelated key.
pub(crate) const PRIVATE_PEM: &str = keys::RSA_PKCS8_PEM;
pub(crate) const PUBLIC_PEM: &str = keys::RSA_PUBLIC_PEM;
pub(crate) const OTHER_PRIVATE_PEM: &str = keys::RSA_OTHER_PKCS8_PEM;
/// A `service_account` key file holding [`PRIVATE_PEM`], as key id [`KID`], for [`SA_EMAIL`].
pub(crate) const SERVICE_ACCOUNT_JSON: &str = keys::SERVICE_ACCOUNT_JSON;
/// An `authorized_user` key file for [`CLIENT_ID`], [`CLIENT_SECRET`] and [`REFRESH_TOKEN`].
pub(crate) const AUTHORIZED_USER_JSON: &str = keys::AUTHORIZED_USER_JSON;

pub(crate) const SA_EMAIL: &str = "queue-worker@taskqueue-test-project.iam.gserviceaccount.com";
pub(crate) const KID: &str = "0123456789abcdef0123456789abcdef01234567";

pub(crate) const USER_EMAIL: &str = "dev@example.com";
pub(crate) const CLIENT_ID: &str = "764086051850-test.apps.googleusercontent.com";
pub(crate) const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty-test-client-secret";
pub(crate) const REFRESH_TOKEN: &str = "1//0test-refresh-token-Xk9vQp2LmN8rT4wZ";

/// A second user, of another OAuth client.
pub(crate) const OTHER_USER_EMAIL: &str = "ops@example.com";
pub(crate) const OTHER_CLIENT_ID: &str = "other-client.apps.example.com";
pub(crate) const OTHER_CLIENT_SECRET: &str = "other-client-secret-5b7e";
pub(crate) const OTHER_REFRESH_TOKEN: &str = "1//0other-refresh-token-Qw3e";

/// Where the handler tests say the server is; the token endpoint's URI, the assertions' `aud`.
pub(crate) const PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub(crate) const TOKEN_URI: &str = "http://127.0.0.1:8080/token";
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The form content type.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// The scopes [`USER_EMAIL`] consented to.
pub(crate) fn user_scopes() -> ScopeSet {
    ScopeSet::from([Scope::Taskqueue, Scope::TaskqueueConsumer])
}

/// The metadata endpoint's instance scopes.
pub(crate) fn instance_scopes() -> ScopeSet {
    ScopeSet::from([Scope::CloudTaskqueue, Scope::CloudTaskqueueConsumer])
}

/// A configuration with the service account (its one key under [`KID`]) and the two users; no metadata endpoint.
pub(crate) fn config() -> ServerConfig {
    let public = RsaVerifyingKey::from_pem(PUBLIC_PEM).expect("the test public key parses");
    let mut principals = Principals::default();
    principals
        .service_accounts
        .push(ServiceAccountPrincipal::new(
            SA_EMAIL,
            JwtKeySet::new().with_key(KID, public),
        ));
    principals.users.push(UserPrincipal::new(
        USER_EMAIL,
        CLIENT_ID,
        SecretDigest::of(CLIENT_SECRET),
        SecretDigest::of(REFRESH_TOKEN),
        user_scopes(),
    ));
    principals.users.push(UserPrincipal::new(
        OTHER_USER_EMAIL,
        OTHER_CLIENT_ID,
        SecretDigest::of(OTHER_CLIENT_SECRET),
        SecretDigest::of(OTHER_REFRESH_TOKEN),
        ScopeSet::from([Scope::TaskqueueConsumer]),
    ));
    let mut config = ServerConfig::new("taskqueue-test-project");
    config.principals = principals;
    config
}

/// [`config`] with the metadata endpoint serving [`SA_EMAIL`] with [`instance_scopes`].
pub(crate) fn config_with_metadata() -> ServerConfig {
    let mut config = config();
    config.metadata = Some(MetadataConfig::new(SA_EMAIL, instance_scopes()));
    config
}

/// A router over a state, with the virtual clock the state reads.
pub(crate) struct Harness {
    pub(crate) state: AppState,
    pub(crate) clock: VirtualClock,
    router: Router,
}

impl Harness {
    /// A server with [`config`] at [`PUBLIC_URL`], its clock at `T0`.
    pub(crate) fn new() -> Self {
        Self::with_config(config())
    }

    /// A server with `config` at [`PUBLIC_URL`], its clock at `T0`.
    pub(crate) fn with_config(config: ServerConfig) -> Self {
        let clock = crate::support::clock();
        let state = AppState::new(
            config,
            Arc::new(MemoryStore::new(StoreConfig::default())),
            Arc::new(clock.clone()),
            PUBLIC_URL,
        );
        let router = taskqueue_server::router(state.clone());
        Self {
            state,
            clock,
            router,
        }
    }

    /// The clock's time in whole seconds since the epoch.
    pub(crate) fn now_secs(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs()
    }

    /// Sends `request` to the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body is read")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `POST /token` with `pairs` form-encoded.
    pub(crate) async fn post_form(&self, pairs: &[(&str, &str)]) -> Answer {
        self.post_token(Some(FORM), form(pairs).into_bytes(), &[])
            .await
    }

    /// `POST /token` with this content type, body and extra headers.
    pub(crate) async fn post_token(
        &self,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(Method::POST).uri("/token");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("a valid request"))
            .await
    }

    /// `GET path` with these headers.
    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder().method(Method::GET).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).expect("a valid request"))
            .await
    }

    /// Exchanges an assertion; the answer.
    pub(crate) async fn exchange(&self, assertion: &str) -> Answer {
        self.post_form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .await
    }
}

/// `pairs` form-encoded.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A response, read: the API tests' [`Reply`](crate::api_support::Reply), with the token endpoint's accessors.
pub(crate) use crate::api_support::Reply as Answer;

impl Answer {
    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error` of an OAuth error body.
    pub(crate) fn oauth_error(&self) -> String {
        let json = self.json();
        assert!(
            json["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "an error_description: {json}"
        );
        json["error"].as_str().expect("an error code").to_owned()
    }

    /// The `access_token` of a success body.
    pub(crate) fn access_token(&self) -> String {
        self.json()["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("an access token: {}", self.text()))
            .to_owned()
    }

    /// Panics if the body holds `secret`.
    pub(crate) fn assert_free_of(&self, secret: &str, context: &str) {
        assert!(
            !self.text().contains(secret),
            "{context}: the body quotes a secret: {}",
            self.text()
        );
        for (name, value) in &self.headers {
            assert!(
                !value.to_str().unwrap_or_default().contains(secret),
                "{context}: header {name} quotes a secret"
            );
        }
    }
}

// ---------------------------------------------------------- assertions ----

/// The claims of a good assertion at `now_secs`: issued 10 s ago (as our auth crate and Go sign them), for an
/// hour, for the token endpoint, with the taskqueue scope.
pub(crate) fn claims(now_secs: u64) -> JwtClaims {
    JwtClaims {
        iss: SA_EMAIL.to_owned(),
        sub: None,
        aud: Some(TOKEN_URI.to_owned()),
        scope: Some(Scope::Taskqueue.as_str().to_owned()),
        iat: now_secs - 10,
        exp: now_secs - 10 + 3600,
    }
}

/// `claims` signed with the test key under [`KID`].
pub(crate) fn sign(claims: &JwtClaims) -> String {
    sign_with(PRIVATE_PEM, Some(KID), claims)
}

/// `claims` signed with the key `pem`, under `kid`.
pub(crate) fn sign_with(pem: &str, kid: Option<&str>, claims: &JwtClaims) -> String {
    let key = RsaSigningKey::from_pem(pem).expect("the test key parses");
    encode_rs256(&key, kid, claims)
        .expect("the claims are signed")
        .expose()
        .to_owned()
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
