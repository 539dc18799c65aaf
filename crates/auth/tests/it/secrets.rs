//! No secret reaches a log line, an error or a `Debug`: every flow of the
//! token-endpoint and JWT providers runs under a TRACE-level capture of all
//! tracing output, against a token endpoint that even echoes the request
//! back, and then the captured text, every error and every credential's
//! `Debug` are searched for every secret involved.

use std::sync::Arc;

use serde_json::json;
use taskqueue_auth::{
    AccessToken, AuthorizedUserCredentials, AuthorizedUserSource, Error, RsaSigningKey, Scope,
    ScopeSet, SelfSignedJwtSource, ServiceAccountKey, ServiceAccountSource, TokenSource,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    TOKEN_PATH, TraceCapture, authorized_user_json, edit_json, error_text, form_of, http_options,
    mount_sequence, oauth_error, pem_body_lines, received_forms, rsa_pkcs1_pem, rsa_pkcs8_pem,
    service_account_json, token_json, token_success, token_uri, virtual_clock,
};

const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty-test-client-secret";
const REFRESH_TOKEN: &str = "1//0test-refresh-token-Xk9vQp2LmN8rT4wZ";
const ROTATED_REFRESH_TOKEN: &str = "1//rotated-refresh-token-Zq81LmWx";
const ACCESS_TOKENS: [&str; 3] = [
    "ya29.a0-first-access-token-Kj3n9Qw",
    "ya29.a0-second-access-token-Pz7Tb2x",
    "ya29.a0-malformed-answer-token-Hh4Ue",
];

fn scopes() -> ScopeSet {
    ScopeSet::from([Scope::Taskqueue])
}

/// A token endpoint that echoes the raw request body and its decoded form
/// values back, in an OAuth error description or an HTML page.
struct Echo {
    status: u16,
    oauth: bool,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let raw = String::from_utf8_lossy(&request.body).into_owned();
        let decoded: Vec<String> = form_of(request).into_values().collect();
        let echoed = format!("you sent {raw} i.e. {}", decoded.join(" "));
        if self.oauth {
            oauth_error(self.status, "invalid_request", &echoed)
        } else {
            ResponseTemplate::new(self.status).set_body_string(format!("<html>{echoed}</html>"))
        }
    }
}

async fn echo_server(status: u16, oauth: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(Echo { status, oauth })
        .mount(&server)
        .await;
    server
}

/// Every secret, and its form-encoded spelling.
struct Secrets(Vec<String>);

impl Secrets {
    fn new() -> Self {
        let mut secrets = Self(Vec::new());
        secrets.add(CLIENT_SECRET);
        secrets.add(REFRESH_TOKEN);
        secrets.add(ROTATED_REFRESH_TOKEN);
        for token in ACCESS_TOKENS {
            secrets.add(token);
        }
        for line in pem_body_lines(&rsa_pkcs8_pem())
            .into_iter()
            .chain(pem_body_lines(&rsa_pkcs1_pem()))
        {
            secrets.add(&line);
        }
        secrets
    }

    fn add(&mut self, secret: &str) {
        self.0.push(secret.to_owned());
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        self.0.push(encoded);
    }

    /// A JWT, whole and by its signature (its tail too, in case of a
    /// truncated quote).
    fn add_jwt(&mut self, jwt: &str) {
        self.add(jwt);
        let signature = jwt.rsplit('.').next().expect("signature");
        self.add(signature);
        self.add(&signature[signature.len() - 40..]);
    }

    /// Every assertion the server received.
    async fn add_assertions(&mut self, server: &MockServer) {
        for form in received_forms(server).await {
            if let Some(assertion) = form.get("assertion") {
                self.add_jwt(assertion);
            }
        }
    }

    fn assert_absent(&self, what: &str, text: &str) {
        for secret in &self.0 {
            assert!(
                !text.contains(secret.as_str()),
                "{what} contains the secret {}…:\n{text}",
                &secret[..secret.len().min(12)]
            );
        }
    }
}

/// What the flows showed: errors and `Debug`s, to search with the traces.
#[derive(Default)]
struct Shown(String);

impl Shown {
    fn error(&mut self, error: &Error) {
        self.0.push_str(&error_text(error));
        self.0.push('\n');
    }

    fn debug(&mut self, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?}\n{value:#?}\n"));
    }
}

fn authorized_user(
    server: &MockServer,
    clock: &taskqueue_auth::clock::VirtualClock,
) -> AuthorizedUserSource {
    AuthorizedUserSource::new(
        AuthorizedUserCredentials::from_json(&authorized_user_json().to_string()).expect("fixture"),
        http_options(clock),
    )
    .expect("source")
    .with_token_uri(token_uri(server))
    .expect("uri")
}

fn service_account_key(pem: &str) -> ServiceAccountKey {
    ServiceAccountKey::from_json(
        &edit_json(service_account_json(), &[("private_key", Some(json!(pem)))]).to_string(),
    )
    .expect("fixture")
}

#[tokio::test(flavor = "current_thread")]
async fn authorized_user_flows_leak_no_secret() {
    let (capture, _guard) = TraceCapture::start();
    let secrets = Secrets::new();
    let mut shown = Shown::default();
    let clock = virtual_clock();

    // Success, with a rotated refresh token, then a fetch that uses it.
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        vec![
            token_json(
                200,
                json!({
                    "access_token": ACCESS_TOKENS[0],
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "refresh_token": ROTATED_REFRESH_TOKEN,
                    "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
                }),
            ),
            token_success(ACCESS_TOKENS[1], json!(3599)),
        ],
    )
    .await;
    let source = authorized_user(&server, &clock);
    for expected in &ACCESS_TOKENS[..2] {
        let token = source.fetch(&scopes()).await.expect("token");
        assert_eq!(token.secret(), *expected);
        shown.debug(&token);
    }
    shown.debug(&source);
    shown.debug(
        &AuthorizedUserCredentials::from_json(&authorized_user_json().to_string())
            .expect("fixture"),
    );
    assert_eq!(
        received_forms(&server).await[1]["refresh_token"],
        ROTATED_REFRESH_TOKEN
    );

    // Failures: servers echoing the request, with JSON or HTML, 4xx or 5xx
    // (retried, so the retry log line is covered too).
    for (status, oauth) in [(400, true), (503, true), (500, false), (401, false)] {
        let server = echo_server(status, oauth).await;
        let error = authorized_user(&server, &clock)
            .fetch(&scopes())
            .await
            .expect_err("echo");
        shown.error(&error);
    }

    // Success statuses whose bodies are unusable but hold a token.
    for body in [
        json!({"access_token": ACCESS_TOKENS[2], "expires_in": 3599, "token_type": ACCESS_TOKENS[2]}),
        json!({"access_token": ACCESS_TOKENS[2], "expires_in": ACCESS_TOKENS[2]}),
        json!({"access_token": ACCESS_TOKENS[2], "expires_in": 3599, "token_type": "MAC"}),
    ] {
        let server = MockServer::start().await;
        mount_sequence(&server, vec![token_json(200, body)]).await;
        let error = authorized_user(&server, &clock)
            .fetch(&scopes())
            .await
            .expect_err("unusable");
        shown.error(&error);
    }
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        vec![token_json(200, json!(null)).set_body_string(format!(
            "{{\"access_token\": \"{}\", \"expires_in\": ",
            ACCESS_TOKENS[2]
        ))],
    )
    .await;
    let error = authorized_user(&server, &clock)
        .fetch(&scopes())
        .await
        .expect_err("malformed");
    shown.error(&error);

    // A key file whose fields are of the wrong type.
    let error = AuthorizedUserCredentials::from_json(
        &edit_json(
            authorized_user_json(),
            &[("client_secret", Some(json!({"value": CLIENT_SECRET})))],
        )
        .to_string(),
    )
    .expect_err("wrong type");
    shown.error(&error);

    let traces = capture.contents();
    assert!(
        traces.contains("token endpoint answered"),
        "capture works: {traces}"
    );
    assert!(traces.contains("retrying the token request"), "{traces}");
    assert!(traces.contains("rotated the refresh token"), "{traces}");
    secrets.assert_absent("the traces", &traces);
    secrets.assert_absent("errors and Debug", &shown.0);
}

#[tokio::test(flavor = "current_thread")]
async fn service_account_flows_leak_no_secret() {
    let (capture, _guard) = TraceCapture::start();
    let mut secrets = Secrets::new();
    let mut shown = Shown::default();
    let clock = virtual_clock();

    for pem in [rsa_pkcs8_pem(), rsa_pkcs1_pem()] {
        let key = service_account_key(&pem);
        shown.debug(&key);
        shown.debug(key.signing_key());
        shown.debug(&RsaSigningKey::from_pem(&pem).expect("key"));

        // Success.
        let server = MockServer::start().await;
        mount_sequence(&server, vec![token_success(ACCESS_TOKENS[0], json!(3599))]).await;
        let source = ServiceAccountSource::new(key.clone(), http_options(&clock))
            .expect("source")
            .with_token_uri(token_uri(&server))
            .expect("uri")
            .with_subject("user@example.com");
        let token = source.fetch(&scopes()).await.expect("token");
        shown.debug(&token);
        shown.debug(&source);
        secrets.add_assertions(&server).await;

        // Failures: echoing servers, retried or not.
        for (status, oauth) in [(400, true), (500, true), (502, false)] {
            let server = echo_server(status, oauth).await;
            let source = ServiceAccountSource::new(key.clone(), http_options(&clock))
                .expect("source")
                .with_token_uri(token_uri(&server))
                .expect("uri");
            let error = source.fetch(&scopes()).await.expect_err("echo");
            shown.error(&error);
            secrets.add_assertions(&server).await;
        }

        // Self-signed JWTs: the token is the JWT.
        let self_signed = SelfSignedJwtSource::new(key.clone(), Arc::new(clock.clone()));
        let token: AccessToken = self_signed.fetch(&scopes()).await.expect("jwt");
        secrets.add_jwt(token.secret());
        shown.debug(&token);
        shown.debug(&self_signed);
        let audience = self_signed.with_audience("https://www.googleapis.com/");
        let token = audience.fetch(&ScopeSet::new()).await.expect("jwt");
        secrets.add_jwt(token.secret());
        shown.debug(&audience);
    }

    // Broken keys: errors explain without quoting the key.
    let pkcs8 = rsa_pkcs8_pem();
    let one_line = pkcs8.replace('\n', "");
    let bad_base64 = pkcs8.replacen('M', "*", 3);
    let truncated: String = pkcs8.lines().take(12).collect::<Vec<_>>().join("\n");
    let mangled = pkcs8.replace(
        "-----BEGIN PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----",
    );
    for pem in [one_line, bad_base64, truncated, mangled] {
        let error = RsaSigningKey::from_pem(&pem).expect_err("broken");
        shown.error(&error);
        let error = ServiceAccountKey::from_json(
            &edit_json(service_account_json(), &[("private_key", Some(json!(pem)))]).to_string(),
        )
        .expect_err("broken");
        shown.error(&error);
    }

    let traces = capture.contents();
    assert!(
        traces.contains("token endpoint answered"),
        "capture works: {traces}"
    );
    assert!(traces.contains("minted a self-signed JWT"), "{traces}");
    assert!(secrets.0.len() > 40, "the assertions were collected");
    secrets.assert_absent("the traces", &traces);
    secrets.assert_absent("errors and Debug", &shown.0);
}
