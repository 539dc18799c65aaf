//! The metadata-server-compatible endpoint, handler by handler: disabled it is a plain 404 everywhere; enabled it
//! wants `Metadata-Flavor: Google`, flavors every answer, issues tokens for the configured account with its scopes
//! or a subset, and answers the email, scopes, project id and the probe.

use std::time::Duration;

use axum::http::StatusCode;
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::Clock as _;
use taskqueue_server::TokenRefusal;

use crate::oauth_support::{
    Answer, Harness, SA_EMAIL, config, config_with_metadata, instance_scopes,
};

const FLAVOR: (&str, &str) = ("Metadata-Flavor", "Google");
const TOKEN: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// Every metadata path the endpoint answers when enabled.
const PATHS: [&str; 7] = [
    "/computeMetadata/v1/",
    "/computeMetadata/v1/instance/service-accounts/",
    TOKEN,
    "/computeMetadata/v1/instance/service-accounts/default/email",
    "/computeMetadata/v1/instance/service-accounts/default/scopes",
    "/computeMetadata/v1/project/project-id",
    "/computeMetadata/v1/instance/zone",
];

fn flavored(answer: &Answer) -> bool {
    answer.header("metadata-flavor") == Some("Google")
}

#[tokio::test(flavor = "current_thread")]
async fn disabled_the_endpoint_is_a_plain_404_everywhere() {
    let harness = Harness::with_config(config());
    for path in PATHS {
        let answer = harness.get(path, &[FLAVOR]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !flavored(&answer),
            "{path}: a disabled endpoint does not look like a metadata server"
        );
    }
    assert!(harness.state.tokens.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn requests_without_the_flavor_header_or_through_a_proxy_are_forbidden() {
    let harness = Harness::with_config(config_with_metadata());
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("no header", &[]),
        ("flavor of another cloud", &[("Metadata-Flavor", "Amazon")]),
        ("flavor in lower case", &[("Metadata-Flavor", "google")]),
        (
            "legacy header only",
            &[("X-Google-Metadata-Request", "True")],
        ),
        (
            "through a proxy",
            &[FLAVOR, ("X-Forwarded-For", "203.0.113.7")],
        ),
    ];
    for path in PATHS {
        for (name, headers) in cases {
            let answer = harness.get(path, headers).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}, {name}");
            assert!(
                flavored(&answer),
                "{path}, {name}: even refusals are flavored"
            );
        }
    }
    assert!(harness.state.tokens.is_empty(), "no token was issued");
}

#[tokio::test(flavor = "current_thread")]
async fn tokens_carry_the_instance_account_and_the_requested_subset_of_its_scopes() {
    let harness = Harness::with_config(config_with_metadata());
    let cloud = Scope::CloudTaskqueue.as_str();
    let consumer = Scope::CloudTaskqueueConsumer.as_str();
    let path_with = |query: &str| format!("{TOKEN}?{query}");
    let cases: Vec<(String, ScopeSet)> = vec![
        (TOKEN.to_owned(), instance_scopes()),
        (path_with("scopes="), instance_scopes()),
        (
            path_with(&format!("scopes={cloud}")),
            ScopeSet::from([Scope::CloudTaskqueue]),
        ),
        (
            // URL-encoded, comma-separated, as our auth crate and Go send them.
            path_with(
                &url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("scopes", &format!("{consumer},{cloud}"))
                    .finish(),
            ),
            instance_scopes(),
        ),
        (
            path_with(&format!("scopes={consumer}&scopes={cloud}")),
            instance_scopes(),
        ),
        (
            path_with(&format!("alt=json&scopes={consumer}")),
            ScopeSet::from([Scope::CloudTaskqueueConsumer]),
        ),
        (
            format!("/computeMetadata/v1/instance/service-accounts/{SA_EMAIL}/token"),
            instance_scopes(),
        ),
    ];
    for (path, scopes) in cases {
        let answer = harness.get(&path, &[FLAVOR]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        assert!(flavored(&answer), "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{path}"
        );
        let json = answer.json();
        assert_eq!(json["token_type"], "Bearer", "{path}");
        assert_eq!(json["expires_in"], 3600, "{path}");
        let caller = harness
            .state
            .tokens
            .authenticate(&answer.access_token(), harness.clock.now())
            .await
            .expect("the token authenticates");
        assert_eq!(caller.email, SA_EMAIL, "{path}");
        assert_eq!(caller.scopes, scopes, "{path}");
    }

    for (name, path) in [
        (
            "a scope the instance lacks",
            path_with("scopes=https://www.googleapis.com/auth/taskqueue"),
        ),
        (
            "one good, one foreign",
            path_with(&format!(
                "scopes={cloud},https://www.googleapis.com/auth/cloud-platform"
            )),
        ),
    ] {
        let answer = harness.get(&path, &[FLAVOR]).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.text()
        );
        assert!(flavored(&answer), "{name}");
        assert!(
            answer.text().contains("scope"),
            "{name}: says why: {}",
            answer.text()
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn metadata_tokens_expire_with_the_configured_lifetime() {
    let mut config = config_with_metadata();
    config.tokens.access_token_lifetime = Duration::from_secs(300);
    let harness = Harness::with_config(config);
    let answer = harness.get(TOKEN, &[FLAVOR]).await;
    assert_eq!(answer.json()["expires_in"], 300);
    let token = answer.access_token();
    harness.clock.advance(Duration::from_secs(299));
    assert!(
        harness
            .state
            .tokens
            .authenticate(&token, harness.clock.now())
            .await
            .is_ok()
    );
    harness.clock.advance(Duration::from_secs(1));
    assert_eq!(
        harness
            .state
            .tokens
            .authenticate(&token, harness.clock.now())
            .await,
        Err(TokenRefusal::Expired)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn values_and_directories_answer_as_on_compute_engine() {
    let harness = Harness::with_config(config_with_metadata());
    let scopes = format!(
        "{}\n{}\n",
        Scope::CloudTaskqueue.as_str(),
        Scope::CloudTaskqueueConsumer.as_str()
    );
    let email_path = format!("/computeMetadata/v1/instance/service-accounts/{SA_EMAIL}/email");
    let cases = [
        (
            "/computeMetadata/v1/",
            StatusCode::OK,
            "instance/\nproject/\n".to_owned(),
        ),
        (
            "/computeMetadata/v1/instance/service-accounts/",
            StatusCode::OK,
            format!("default/\n{SA_EMAIL}/\n"),
        ),
        (
            "/computeMetadata/v1/instance/service-accounts/default/email",
            StatusCode::OK,
            SA_EMAIL.to_owned(),
        ),
        (email_path.as_str(), StatusCode::OK, SA_EMAIL.to_owned()),
        (
            "/computeMetadata/v1/instance/service-accounts/default/scopes",
            StatusCode::OK,
            scopes,
        ),
        (
            "/computeMetadata/v1/project/project-id",
            StatusCode::OK,
            "taskqueue-test-project".to_owned(),
        ),
        (
            "/computeMetadata/v1/instance/zone",
            StatusCode::NOT_FOUND,
            "Not Found\n".to_owned(),
        ),
        (
            "/computeMetadata/v1beta1/",
            StatusCode::NOT_FOUND,
            "Not Found\n".to_owned(),
        ),
        (
            "/computeMetadata",
            StatusCode::NOT_FOUND,
            "Not Found\n".to_owned(),
        ),
        (
            "/computeMetadata/v1/instance/service-accounts/other@example.com/token",
            StatusCode::NOT_FOUND,
            "Not Found\n".to_owned(),
        ),
        (
            "/computeMetadata/v1/instance/service-accounts/other@example.com/email",
            StatusCode::NOT_FOUND,
            "Not Found\n".to_owned(),
        ),
    ];
    for (path, status, body) in cases {
        let answer = harness.get(path, &[FLAVOR]).await;
        assert_eq!((answer.status, answer.text()), (status, body), "{path}");
        assert!(flavored(&answer), "{path}");
    }
    assert!(
        harness.state.tokens.is_empty(),
        "only token paths issue tokens"
    );
}
