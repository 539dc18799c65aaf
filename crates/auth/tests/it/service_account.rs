//! `ServiceAccountKey`, `ServiceAccountSource` (JWT-bearer grant) and
//! `SelfSignedJwtSource`, with every JWT verified independently by
//! jsonwebtoken against the test key's public half.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use taskqueue_auth::clock::{Clock, VirtualClock};
use taskqueue_auth::{
    CredentialSource, OAuthErrorCode, Scope, ScopeSet, SelfSignedJwtSource, ServiceAccountKey,
    ServiceAccountSource, TokenSource,
};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer};

use crate::support::{
    START_SECS, TOKEN_PATH, ec_pkcs8_pem, edit_json, http_options, mount_sequence, oauth_error,
    received_forms, rsa_pkcs1_pem, rsa_pkcs8_pem, service_account_json, start_time, temp_file,
    token_success, token_uri, verify_jwt, virtual_clock,
};

const CLIENT_EMAIL: &str = "queue-worker@taskqueue-test-project.iam.gserviceaccount.com";
const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn scopes() -> ScopeSet {
    ScopeSet::from([Scope::TaskqueueConsumer, Scope::CloudTaskqueue])
}

fn key_with_pem(pem: &str) -> ServiceAccountKey {
    let json = edit_json(service_account_json(), &[("private_key", Some(json!(pem)))]);
    ServiceAccountKey::from_json(&json.to_string()).expect("key")
}

fn source(server: &MockServer, clock: &VirtualClock) -> ServiceAccountSource {
    ServiceAccountSource::new(key_with_pem(&rsa_pkcs8_pem()), http_options(clock))
        .expect("source")
        .with_token_uri(token_uri(server))
        .expect("uri")
}

#[tokio::test]
async fn the_assertion_verifies_independently_with_every_claim_right() {
    let cases = [
        ("PKCS#8", rsa_pkcs8_pem(), None),
        ("PKCS#1", rsa_pkcs1_pem(), None),
        (
            "PKCS#8 with subject",
            rsa_pkcs8_pem(),
            Some("admin@example.com"),
        ),
        (
            "PKCS#1 with subject",
            rsa_pkcs1_pem(),
            Some("user@example.com"),
        ),
    ];
    for (name, pem, subject) in cases {
        let server = MockServer::start().await;
        mount_sequence(&server, vec![token_success("ya29.sa-token", json!(3599))]).await;
        let clock = virtual_clock();
        // Start the clock off a whole second: timestamps are whole seconds.
        clock.advance(Duration::from_millis(700));
        let mut source = ServiceAccountSource::new(key_with_pem(&pem), http_options(&clock))
            .expect("source")
            .with_token_uri(token_uri(&server))
            .expect("uri");
        if let Some(subject) = subject {
            source = source.with_subject(subject);
        }
        assert_eq!(source.subject(), subject);

        let token = source.fetch(&scopes()).await.expect(name);

        assert_eq!(token.secret(), "ya29.sa-token", "{name}");
        assert_eq!(
            token.expires_at(),
            Some(clock.now() + Duration::from_secs(3599)),
            "{name}"
        );
        assert_eq!(token.granted_scopes(), Some(&scopes()), "{name}");
        let forms = received_forms(&server).await;
        assert_eq!(forms.len(), 1, "{name}");
        let sent = &forms[0];
        assert_eq!(
            sent.keys().collect::<Vec<_>>(),
            ["assertion", "grant_type"],
            "{name}"
        );
        assert_eq!(sent["grant_type"], JWT_BEARER, "{name}");

        let (header, claims) = verify_jwt(&sent["assertion"]);
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "{name}");
        assert_eq!(header.kid.as_deref(), Some(KEY_ID), "{name}");
        assert_eq!(claims["iss"], CLIENT_EMAIL, "{name}");
        assert_eq!(claims["aud"], token_uri(&server), "{name}");
        assert_eq!(
            claims["scope"],
            "https://www.googleapis.com/auth/taskqueue.consumer \
             https://www.googleapis.com/auth/cloud-taskqueue",
            "{name}"
        );
        assert_eq!(claims["scope"], scopes().to_space_separated(), "{name}");
        let iat = claims["iat"].as_u64().expect("iat");
        let exp = claims["exp"].as_u64().expect("exp");
        assert_eq!(iat, START_SECS - 10, "{name}: iat = virtual now - 10 s");
        assert!(
            exp > iat && exp - iat <= 3600,
            "{name}: lifetime {}",
            exp - iat
        );
        assert_eq!(exp - iat, 3600, "{name}");
        match subject {
            Some(subject) => assert_eq!(claims["sub"], subject, "{name}"),
            None => assert!(claims.get("sub").is_none(), "{name}: {claims}"),
        }
        let mut names: Vec<&str> = claims
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let expected: &[&str] = if subject.is_some() {
            &["aud", "exp", "iat", "iss", "scope", "sub"]
        } else {
            &["aud", "exp", "iat", "iss", "scope"]
        };
        assert_eq!(names, expected, "{name}");
    }
}

#[tokio::test]
async fn the_token_uri_of_the_key_file_is_used_and_is_the_audience() {
    let server = MockServer::start().await;
    mount_sequence(&server, vec![token_success("ya29.sa", json!("3599"))]).await;
    let file = temp_file(
        &edit_json(
            service_account_json(),
            &[("token_uri", Some(json!(token_uri(&server))))],
        )
        .to_string(),
    );
    let key = ServiceAccountKey::from_file(file.path()).expect("key file");
    assert_eq!(key.client_email(), CLIENT_EMAIL);
    assert_eq!(key.private_key_id(), KEY_ID);
    assert_eq!(key.project_id(), Some("taskqueue-test-project"));
    assert_eq!(key.client_id(), Some("109876543210987654321"));
    assert_eq!(key.signing_key().modulus_bits(), 2048);
    let clock = virtual_clock();
    let source = ServiceAccountSource::new(key, http_options(&clock)).expect("source");
    assert_eq!(source.credential_source(), CredentialSource::ServiceAccount);
    let token = source.fetch(&scopes()).await.expect("token");
    assert_eq!(
        token.expires_at(),
        Some(start_time() + Duration::from_secs(3599))
    );
    let forms = received_forms(&server).await;
    let (_, claims) = verify_jwt(&forms[0]["assertion"]);
    assert_eq!(claims["aud"], token_uri(&server));
}

#[tokio::test]
async fn a_jwt_time_complaint_reports_the_clock_skew_and_is_not_retried() {
    const INVALID_JWT: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) \
                               and in a reasonable timeframe. Check your iat and exp values in \
                               the JWT claim.";
    // (server Date relative to the virtual clock, difference, local ahead, words)
    let cases = [
        (3 * 3600_i64, 3 * 3600, false, "3h 0m 0s behind"),
        (-(20 * 60 + 5), 20 * 60 + 5, true, "20m 5s ahead of"),
    ];
    for (offset, difference, local_ahead, words) in cases {
        let server = MockServer::start().await;
        let date = if offset >= 0 {
            start_time() + Duration::from_secs(offset.unsigned_abs())
        } else {
            start_time() - Duration::from_secs(offset.unsigned_abs())
        };
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(
                oauth_error(400, "invalid_grant", INVALID_JWT)
                    .insert_header("date", httpdate::fmt_http_date(date).as_str()),
            )
            .expect(1)
            .mount(&server)
            .await;
        let clock = virtual_clock();
        let error = source(&server, &clock)
            .fetch(&scopes())
            .await
            .expect_err("invalid_grant");
        assert_eq!(error.oauth_error(), Some(&OAuthErrorCode::InvalidGrant));
        assert_eq!(error.status(), Some(400));
        assert!(!error.is_transient());
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::ServiceAccount)
        );
        let skew = error.clock_skew().expect("a clock skew");
        assert_eq!(
            (skew.difference, skew.local_ahead),
            (Duration::from_secs(difference), local_ahead)
        );
        let message = error.to_string();
        for expected in [
            "service account: ",
            "Invalid JWT: Token must be a short-lived token",
            "local clock",
            words,
            "synchronize the clock",
        ] {
            assert!(message.contains(expected), "{message}");
        }
        assert!(clock.sleeps().is_empty());
        server.verify().await;
    }
}

#[tokio::test]
async fn other_refusals_get_their_own_hints() {
    let cases = [
        (
            oauth_error(400, "invalid_grant", "Invalid JWT Signature."),
            None,
            OAuthErrorCode::InvalidGrant,
            "key has not been deleted or disabled",
        ),
        (
            oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client \
                 not authorized for any of the scopes requested.",
            ),
            Some("user@example.com"),
            OAuthErrorCode::UnauthorizedClient,
            "domain-wide delegation",
        ),
        (
            oauth_error(
                400,
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.",
            ),
            None,
            OAuthErrorCode::InvalidScope,
            "https://www.googleapis.com/auth/taskqueue.consumer",
        ),
    ];
    for (answer, subject, code, hint) in cases {
        let server = MockServer::start().await;
        mount_sequence(&server, vec![answer]).await;
        let clock = virtual_clock();
        let mut source = source(&server, &clock);
        if let Some(subject) = subject {
            source = source.with_subject(subject);
        }
        let error = source.fetch(&scopes()).await.expect_err("refused");
        assert_eq!(error.oauth_error(), Some(&code));
        assert!(!error.is_transient());
        assert!(error.to_string().contains(hint), "{error}");
        assert!(!error.to_string().contains("synchronize"), "{error}");
        assert_eq!(received_forms(&server).await.len(), 1);
    }
}

#[tokio::test]
async fn an_empty_scope_set_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(token_success("ya29.never", json!(3599)))
        .expect(0)
        .mount(&server)
        .await;
    let clock = virtual_clock();
    let error = source(&server, &clock)
        .fetch(&ScopeSet::new())
        .await
        .expect_err("no scopes");
    assert!(error.to_string().contains("at least one scope"), "{error}");
    assert!(!error.is_transient());
    server.verify().await;
}

#[test]
fn key_file_problems_name_the_field_and_the_path() {
    let fixture = service_account_json;
    let broken_pem = rsa_pkcs8_pem().replace("-----END PRIVATE KEY-----", "");
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "broken PEM",
            edit_json(fixture(), &[("private_key", Some(json!(broken_pem)))]),
            &["field `private_key`", "truncated"],
        ),
        (
            "not PEM at all",
            edit_json(fixture(), &[("private_key", Some(json!("MIIEvQIBADANBg")))]),
            &["field `private_key`", "not PEM"],
        ),
        (
            "an EC key",
            edit_json(fixture(), &[("private_key", Some(json!(ec_pkcs8_pem())))]),
            &["field `private_key`", "not an RSA key"],
        ),
        (
            "no private_key",
            edit_json(fixture(), &[("private_key", None)]),
            &["field `private_key` is missing"],
        ),
        (
            "no client_email",
            edit_json(fixture(), &[("client_email", None)]),
            &["field `client_email` is missing"],
        ),
        (
            "no private_key_id",
            edit_json(fixture(), &[("private_key_id", None)]),
            &["field `private_key_id` is missing"],
        ),
        (
            "an authorized_user file",
            edit_json(fixture(), &[("type", Some(json!("authorized_user")))]),
            &[
                "unsupported credential type `authorized_user`",
                "expected `service_account`",
            ],
        ),
        (
            "an unknown type",
            edit_json(fixture(), &[("type", Some(json!("external_account")))]),
            &["unsupported credential type `external_account`"],
        ),
        (
            "a token_uri that is no URL",
            edit_json(
                fixture(),
                &[("token_uri", Some(json!("oauth2.googleapis.com")))],
            ),
            &["field `token_uri`"],
        ),
    ];
    let key_line = crate::support::pem_body_lines(&rsa_pkcs8_pem())[5].clone();
    for (name, json, expected) in cases {
        let json = json.to_string();
        let error = ServiceAccountKey::from_json(&json).expect_err(name);
        let message = error.to_string();
        assert!(
            message.starts_with("service account: invalid service_account credentials: "),
            "{name}: {message}"
        );
        for expected in expected {
            assert!(message.contains(expected), "{name}: {message}");
        }
        assert!(!format!("{error:?}").contains(&key_line), "{name} leaks");
        assert!(!error.is_transient());

        let file = temp_file(&json);
        let error = ServiceAccountKey::from_file(file.path()).expect_err(name);
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "invalid service_account key file {}",
                file.path().display()
            )),
            "{name}: {message}"
        );
        for expected in expected {
            assert!(message.contains(expected), "{name}: {message}");
        }
    }
}

#[tokio::test]
async fn self_signed_jwts_verify_and_need_no_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(token_success("ya29.never", json!(3599)))
        .expect(0)
        .mount(&server)
        .await;
    let clock = virtual_clock();
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let grant = source(&server, &clock);
    let cases = [
        (
            "scope claim, from the grant source",
            grant.self_signed().expect("no subject"),
            None,
        ),
        (
            "audience",
            SelfSignedJwtSource::new(key_with_pem(&rsa_pkcs1_pem()), shared.clone())
                .with_audience("https://www.googleapis.com/"),
            Some("https://www.googleapis.com/"),
        ),
    ];
    for (name, source, audience) in cases {
        assert_eq!(source.audience(), audience);
        assert_eq!(source.credential_source(), CredentialSource::SelfSignedJwt);
        let token = source.fetch(&scopes()).await.expect(name);
        let (header, claims) = verify_jwt(token.secret());
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "{name}");
        assert_eq!(header.kid.as_deref(), Some(KEY_ID), "{name}");
        assert_eq!(claims["iss"], CLIENT_EMAIL, "{name}");
        assert_eq!(claims["sub"], CLIENT_EMAIL, "{name}");
        let iat = claims["iat"].as_u64().expect("iat");
        let exp = claims["exp"].as_u64().expect("exp");
        assert_eq!(iat, START_SECS - 10, "{name}");
        assert_eq!(exp - iat, 3600, "{name}");
        assert_eq!(
            token.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(exp)),
            "{name}"
        );
        match audience {
            Some(audience) => {
                assert_eq!(claims["aud"], audience, "{name}");
                assert!(claims.get("scope").is_none(), "{name}");
                assert_eq!(token.granted_scopes(), None, "{name}");
            }
            None => {
                assert_eq!(claims["scope"], scopes().to_space_separated(), "{name}");
                assert!(claims.get("aud").is_none(), "{name}");
                assert_eq!(token.granted_scopes(), Some(&scopes()), "{name}");
            }
        }
    }
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    server.verify().await;
}

#[tokio::test]
async fn self_signed_jwts_refuse_a_subject_and_an_empty_request() {
    let server = MockServer::start().await;
    let clock = virtual_clock();
    let error = source(&server, &clock)
        .with_subject("user@example.com")
        .self_signed()
        .expect_err("subject");
    assert!(error.to_string().contains("cannot impersonate"), "{error}");
    assert_eq!(
        error.credential_source(),
        Some(CredentialSource::SelfSignedJwt)
    );

    let source = SelfSignedJwtSource::new(key_with_pem(&rsa_pkcs8_pem()), Arc::new(clock.clone()));
    let error = source.fetch(&ScopeSet::new()).await.expect_err("nothing");
    assert!(
        error.to_string().contains("scopes or an audience"),
        "{error}"
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[test]
fn debug_output_names_the_account_but_never_the_key() {
    let key = key_with_pem(&rsa_pkcs8_pem());
    let shown = format!("{key:?}");
    assert!(shown.contains(CLIENT_EMAIL), "{shown}");
    assert!(shown.contains("[censored]"), "{shown}");
    for line in crate::support::pem_body_lines(&rsa_pkcs8_pem()) {
        assert!(!shown.contains(&line), "{shown}");
    }
}
