//! `AuthorizedUserCredentials` and `AuthorizedUserSource` against a wiremock
//! token endpoint on loopback, in virtual time.

use std::time::Duration;

use serde_json::{Value, json};
use taskqueue_auth::clock::Clock;
use taskqueue_auth::{
    AuthorizedUserCredentials, AuthorizedUserSource, CredentialSource, OAuthErrorCode, Scope,
    ScopeSet, TokenSource,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    TOKEN_PATH, assert_backoff_sleeps, authorized_user_json, closed_port_host, edit_json, form,
    http_options, mount_sequence, oauth_error, received_forms, retry_policy, start_time, temp_file,
    token_json, token_success, token_uri, virtual_clock,
};

const CLIENT_ID: &str = "764086051850-test.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty-test-client-secret";
const REFRESH_TOKEN: &str = "1//0test-refresh-token-Xk9vQp2LmN8rT4wZ";
const TASK_QUEUE_SCOPES: &str = "https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/cloud-taskqueue.consumer";

fn scopes() -> ScopeSet {
    ScopeSet::from([Scope::CloudTaskqueueConsumer, Scope::Taskqueue])
}

fn credentials() -> AuthorizedUserCredentials {
    AuthorizedUserCredentials::from_json(&authorized_user_json().to_string()).expect("fixture")
}

/// A source for the fixture, pointed at `server`, on `clock`.
fn source(
    server: &MockServer,
    clock: &taskqueue_auth::clock::VirtualClock,
) -> AuthorizedUserSource {
    AuthorizedUserSource::new(credentials(), http_options(clock))
        .expect("source")
        .with_token_uri(token_uri(server))
        .expect("token uri")
}

#[tokio::test]
async fn sends_the_exact_form_to_the_token_uri_of_the_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(token_success("ya29.au-first", json!(3599)))
        .expect(1)
        .mount(&server)
        .await;
    let file = temp_file(
        &edit_json(
            authorized_user_json(),
            &[("token_uri", Some(json!(token_uri(&server))))],
        )
        .to_string(),
    );
    let credentials = AuthorizedUserCredentials::from_file(file.path()).expect("file");
    assert_eq!(credentials.token_uri(), token_uri(&server));
    assert_eq!(credentials.client_id(), CLIENT_ID);
    assert_eq!(
        credentials.quota_project_id(),
        Some("taskqueue-test-project")
    );
    let clock = virtual_clock();
    let source = AuthorizedUserSource::new(credentials, http_options(&clock)).expect("source");
    assert_eq!(source.credential_source(), CredentialSource::AuthorizedUser);

    let token = source.fetch(&scopes()).await.expect("token");

    assert_eq!(token.secret(), "ya29.au-first");
    assert_eq!(
        token.expires_at(),
        Some(start_time() + Duration::from_secs(3599))
    );
    assert_eq!(token.granted_scopes(), Some(&scopes()));
    assert_eq!(
        received_forms(&server).await,
        vec![form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", REFRESH_TOKEN),
            ("scope", TASK_QUEUE_SCOPES),
        ])]
    );
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn no_scope_parameter_is_sent_for_an_empty_scope_set() {
    let server = MockServer::start().await;
    mount_sequence(&server, vec![token_success("ya29.au", json!(3599))]).await;
    let clock = virtual_clock();
    source(&server, &clock)
        .fetch(&ScopeSet::new())
        .await
        .expect("token");
    let forms = received_forms(&server).await;
    assert!(!forms[0].contains_key("scope"), "{:?}", forms[0].keys());
}

#[tokio::test]
async fn successful_answers_are_read_whatever_their_shape() {
    struct Case {
        name: &'static str,
        body: Value,
        lifetime: u64,
        granted: ScopeSet,
    }
    let cases = [
        Case {
            name: "expires_in as a number",
            body: json!({"access_token": "ya29.a", "expires_in": 3599, "token_type": "Bearer"}),
            lifetime: 3599,
            granted: scopes(),
        },
        Case {
            name: "expires_in as a string",
            body: json!({"access_token": "ya29.a", "expires_in": "1800", "token_type": "Bearer"}),
            lifetime: 1800,
            granted: scopes(),
        },
        Case {
            name: "lower-case token type, granted scope narrower than asked",
            body: json!({
                "access_token": "ya29.a",
                "expires_in": 3599,
                "token_type": "bearer",
                "scope": "https://www.googleapis.com/auth/taskqueue",
                "id_token": "eyJ.id.token",
            }),
            lifetime: 3599,
            granted: ScopeSet::from([Scope::Taskqueue]),
        },
        Case {
            name: "no token type",
            body: json!({"access_token": "ya29.a", "expires_in": 60}),
            lifetime: 60,
            granted: scopes(),
        },
    ];
    for case in cases {
        let server = MockServer::start().await;
        mount_sequence(&server, vec![token_json(200, case.body)]).await;
        let clock = virtual_clock();
        let token = source(&server, &clock)
            .fetch(&scopes())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(token.secret(), "ya29.a", "{}", case.name);
        assert_eq!(
            token.remaining_lifetime(clock.now()),
            Some(Duration::from_secs(case.lifetime)),
            "{}",
            case.name
        );
        assert_eq!(token.granted_scopes(), Some(&case.granted), "{}", case.name);
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_is_used_on_the_next_fetch() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        vec![
            token_json(
                200,
                json!({
                    "access_token": "ya29.one",
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "refresh_token": "1//rotated-refresh-token",
                }),
            ),
            token_success("ya29.two", json!(3599)),
            token_success("ya29.three", json!(3599)),
        ],
    )
    .await;
    let clock = virtual_clock();
    let source = source(&server, &clock);
    for expected in ["ya29.one", "ya29.two", "ya29.three"] {
        let token = source.fetch(&scopes()).await.expect("token");
        assert_eq!(token.secret(), expected);
    }
    let used: Vec<String> = received_forms(&server)
        .await
        .into_iter()
        .map(|form| form["refresh_token"].clone())
        .collect();
    assert_eq!(
        used,
        [
            REFRESH_TOKEN,
            "1//rotated-refresh-token",
            "1//rotated-refresh-token"
        ]
    );
}

#[tokio::test]
async fn transient_failures_are_retried_after_a_virtual_backoff() {
    let cases = [
        (
            "503",
            ResponseTemplate::new(503).set_body_string("unavailable"),
        ),
        (
            "temporarily_unavailable 400",
            oauth_error(400, "temporarily_unavailable", "try later"),
        ),
        ("429", ResponseTemplate::new(429)),
        (
            "server_error 500",
            oauth_error(500, "server_error", "internal failure"),
        ),
    ];
    for (name, failure) in cases {
        let server = MockServer::start().await;
        mount_sequence(
            &server,
            vec![failure, token_success("ya29.after-retry", json!(3599))],
        )
        .await;
        let clock = virtual_clock();
        let token = source(&server, &clock)
            .fetch(&scopes())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(token.secret(), "ya29.after-retry", "{name}");
        assert_eq!(received_forms(&server).await.len(), 2, "{name}");
        assert_backoff_sleeps(&clock, &retry_policy(), 1);
        // The expiry counts from the retry, after the backoff sleep.
        assert_eq!(
            token.expires_at(),
            Some(start_time() + clock.sleeps()[0] + Duration::from_secs(3599)),
            "{name}"
        );
    }
}

struct Failure {
    name: &'static str,
    answers: Vec<ResponseTemplate>,
    requests: usize,
    transient: bool,
    status: Option<u16>,
    code: Option<OAuthErrorCode>,
    says: &'static [&'static str],
}

#[tokio::test]
async fn failures_are_classified_explained_and_retried_only_when_transient() {
    let html = ResponseTemplate::new(500)
        .insert_header("content-type", "text/html")
        .set_body_string("<html><body><h1>Internal Server Error</h1></body></html>");
    let cases = vec![
        Failure {
            name: "invalid_grant: revoked refresh token",
            answers: vec![oauth_error(
                400,
                "invalid_grant",
                "Token has been expired or revoked.",
            )],
            requests: 1,
            transient: false,
            status: Some(400),
            code: Some(OAuthErrorCode::InvalidGrant),
            says: &[
                "authorized user: ",
                "HTTP 400 invalid_grant",
                "Token has been expired or revoked.",
                "revoked or has expired",
                "gcloud auth application-default login",
            ],
        },
        Failure {
            name: "invalid_client",
            answers: vec![oauth_error(401, "invalid_client", "Unauthorized")],
            requests: 1,
            transient: false,
            status: Some(401),
            code: Some(OAuthErrorCode::InvalidClient),
            says: &["invalid_client", "check the client_id and client_secret"],
        },
        Failure {
            name: "invalid_scope",
            answers: vec![oauth_error(400, "invalid_scope", "Bad scope")],
            requests: 1,
            transient: false,
            status: Some(400),
            code: Some(OAuthErrorCode::InvalidScope),
            says: &["invalid_scope", "scopes were refused", TASK_QUEUE_SCOPES],
        },
        Failure {
            name: "an unknown OAuth code on a 4xx",
            answers: vec![oauth_error(400, "slow_down", "")],
            requests: 1,
            transient: false,
            status: Some(400),
            code: Some(OAuthErrorCode::Other("slow_down".to_owned())),
            says: &["HTTP 400 slow_down"],
        },
        Failure {
            name: "malformed JSON",
            answers: vec![token_json(200, json!("x")).set_body_string("{\"access_token\": \"ya29")],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["malformed token response", "not JSON", "body not shown"],
        },
        Failure {
            name: "missing access_token",
            answers: vec![token_json(
                200,
                json!({"expires_in": 3599, "token_type": "Bearer"}),
            )],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["`access_token` is missing"],
        },
        Failure {
            name: "missing expires_in",
            answers: vec![token_json(
                200,
                json!({"access_token": "ya29.x", "token_type": "Bearer"}),
            )],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["`expires_in` is missing"],
        },
        Failure {
            name: "expires_in too large for the clock (u64::MAX)",
            answers: vec![token_json(
                200,
                json!({"access_token": "ya29.x", "expires_in": u64::MAX, "token_type": "Bearer"}),
            )],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["`expires_in`"],
        },
        Failure {
            name: "expires_in too large for the clock (1e300)",
            answers: vec![token_json(
                200,
                json!({"access_token": "ya29.x", "expires_in": 1e300, "token_type": "Bearer"}),
            )],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["`expires_in`"],
        },
        Failure {
            name: "non-bearer token_type",
            answers: vec![token_json(
                200,
                json!({"access_token": "ya29.x", "expires_in": 3599, "token_type": "MAC"}),
            )],
            requests: 1,
            transient: false,
            status: Some(200),
            code: None,
            says: &["`token_type` is `MAC`", "only Bearer"],
        },
        Failure {
            name: "a 500 with an HTML body, every attempt",
            answers: vec![html.clone(), html.clone(), html],
            requests: 3,
            transient: true,
            status: Some(500),
            code: None,
            says: &[
                "HTTP 500",
                "not an OAuth error response",
                "not shown",
                "gave up after 3 attempts",
            ],
        },
        Failure {
            name: "a 404 with Google's API error envelope",
            answers: vec![token_json(
                404,
                json!({"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}),
            )],
            requests: 1,
            transient: false,
            status: Some(404),
            code: None,
            says: &["HTTP 404 NOT_FOUND", "Not found"],
        },
    ];
    for case in cases {
        let server = MockServer::start().await;
        let answers = case.answers.len();
        mount_sequence(&server, case.answers).await;
        let clock = virtual_clock();
        let error = source(&server, &clock)
            .fetch(&scopes())
            .await
            .expect_err(case.name);
        let name = case.name;
        assert_eq!(received_forms(&server).await.len(), case.requests, "{name}");
        assert!(answers >= case.requests, "{name}: table error");
        assert_backoff_sleeps(&clock, &retry_policy(), case.requests - 1);
        assert_eq!(error.is_transient(), case.transient, "{name}: {error}");
        assert_eq!(error.status(), case.status, "{name}");
        assert_eq!(error.oauth_error(), case.code.as_ref(), "{name}");
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::AuthorizedUser),
            "{name}"
        );
        let message = error.to_string();
        for expected in case.says {
            assert!(message.contains(expected), "{name}: {message}");
        }
        assert!(
            !message.contains("ya29"),
            "{name} quotes the body: {message}"
        );
    }
}

#[tokio::test]
async fn invalid_grant_is_never_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(oauth_error(400, "invalid_grant", "Bad Request"))
        .expect(1)
        .mount(&server)
        .await;
    let clock = virtual_clock();
    let error = source(&server, &clock)
        .fetch(&scopes())
        .await
        .expect_err("invalid_grant");
    assert_eq!(error.oauth_error(), Some(&OAuthErrorCode::InvalidGrant));
    assert!(!error.is_transient());
    assert!(clock.sleeps().is_empty());
    server.verify().await;
}

#[tokio::test]
async fn connection_errors_are_transient_and_retried_on_the_virtual_clock() {
    let clock = virtual_clock();
    let source = AuthorizedUserSource::new(credentials(), http_options(&clock))
        .expect("source")
        .with_token_uri(format!("http://{}/token", closed_port_host()))
        .expect("uri");
    let error = source.fetch(&scopes()).await.expect_err("nothing listens");
    assert!(error.is_transient(), "{error}");
    assert_eq!(error.status(), None);
    assert_eq!(
        error.credential_source(),
        Some(CredentialSource::AuthorizedUser)
    );
    let message = error.to_string();
    assert!(message.contains("could not connect"), "{message}");
    assert!(message.contains("gave up after 3 attempts"), "{message}");
    assert_backoff_sleeps(&clock, &retry_policy(), 2);
}

#[test]
fn key_file_problems_name_the_field() {
    let fixture = authorized_user_json;
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", "{".to_owned(), "not valid JSON"),
        ("not an object", "[]".to_owned(), "not a JSON object"),
        (
            "a service account file",
            edit_json(fixture(), &[("type", Some(json!("service_account")))]).to_string(),
            "unsupported credential type `service_account`: expected `authorized_user`",
        ),
        (
            "no type",
            edit_json(fixture(), &[("type", None)]).to_string(),
            "field `type` is missing",
        ),
        (
            "no client_secret",
            edit_json(fixture(), &[("client_secret", None)]).to_string(),
            "field `client_secret` is missing",
        ),
        (
            "empty refresh_token",
            edit_json(fixture(), &[("refresh_token", Some(json!("")))]).to_string(),
            "field `refresh_token` is missing",
        ),
        (
            "numeric client_id",
            edit_json(fixture(), &[("client_id", Some(json!(42)))]).to_string(),
            "field `client_id` is not a string",
        ),
        (
            "relative token_uri",
            edit_json(fixture(), &[("token_uri", Some(json!("/token")))]).to_string(),
            "field `token_uri`",
        ),
    ];
    for (name, json, expected) in cases {
        let error = AuthorizedUserCredentials::from_json(&json).expect_err(name);
        let message = error.to_string();
        assert!(
            message.starts_with("authorized user: invalid authorized_user credentials: "),
            "{name}: {message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
        assert!(!message.contains(CLIENT_SECRET), "{name}: {message}");
        assert!(!error.is_transient(), "{name}");

        let file = temp_file(&json);
        let error = AuthorizedUserCredentials::from_file(file.path()).expect_err(name);
        let message = error.to_string();
        assert!(
            message.contains(&file.path().display().to_string()),
            "{name}: {message}"
        );
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn defaults_apply_and_a_missing_file_is_named() {
    let credentials = AuthorizedUserCredentials::from_json(
        &edit_json(
            authorized_user_json(),
            &[("token_uri", None), ("quota_project_id", None)],
        )
        .to_string(),
    )
    .expect("minimal file");
    assert_eq!(
        credentials.token_uri(),
        "https://oauth2.googleapis.com/token"
    );
    assert_eq!(credentials.quota_project_id(), None);

    let missing = std::path::Path::new("/nonexistent/adc.json");
    let error = AuthorizedUserCredentials::from_file(missing).expect_err("missing");
    let message = error.to_string();
    assert!(message.contains("/nonexistent/adc.json"), "{message}");
    assert!(message.contains("not found"), "{message}");
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn a_bad_token_uri_override_is_refused() {
    let clock = virtual_clock();
    let source = AuthorizedUserSource::new(credentials(), http_options(&clock)).expect("source");
    let error = source.with_token_uri("not a url").expect_err("bad uri");
    assert!(error.to_string().contains("token URI"), "{error}");
    assert_eq!(
        error.credential_source(),
        Some(CredentialSource::AuthorizedUser)
    );
}
