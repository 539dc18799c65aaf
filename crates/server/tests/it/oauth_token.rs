//! The token endpoint, handler by handler without a socket: the refresh-token grant table, the content-type and
//! form checks, the JWT-bearer grant with its attack table, token lifetimes on a virtual clock, the configured
//! assertion policy, and what responses and traces never hold.

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use serde_json::{Value, json};
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::Clock as _;
use taskqueue_server::TokenRefusal;

use crate::oauth_support::{
    Answer, CLIENT_ID, CLIENT_SECRET, FORM, Harness, JWT_BEARER, KID, OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET, OTHER_PRIVATE_PEM, OTHER_REFRESH_TOKEN, PUBLIC_PEM, REFRESH_TOKEN,
    SA_EMAIL, USER_EMAIL, b64, claims, config, form, sign, sign_with, user_scopes,
};

/// What a case expects: a token for this principal with these scopes, or this status and `error`.
#[derive(Debug)]
enum Expect {
    Granted(&'static str, ScopeSet),
    Refused(StatusCode, &'static str),
}

/// Checks an answer against `expect`, and that a granted token authenticates as promised.
async fn check(harness: &Harness, name: &str, answer: &Answer, expect: &Expect) {
    assert_eq!(
        answer.header("cache-control"),
        Some("no-store"),
        "{name}: no-store"
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8"),
        "{name}"
    );
    match expect {
        Expect::Granted(email, scopes) => {
            assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.text());
            let json = answer.json();
            assert_eq!(json["token_type"], "Bearer", "{name}");
            assert_eq!(json["expires_in"], 3600, "{name}");
            assert_eq!(
                ScopeSet::parse_space_separated(json["scope"].as_str().expect("scope")),
                *scopes,
                "{name}: granted scopes"
            );
            let token = answer.access_token();
            assert!(token.starts_with("tqs."), "{name}");
            let caller = harness
                .state
                .tokens
                .authenticate(&token, harness.clock.now())
                .await
                .unwrap_or_else(|refusal| panic!("{name}: the token authenticates: {refusal}"));
            assert_eq!(caller.email, *email, "{name}");
            assert_eq!(caller.scopes, *scopes, "{name}");
        }
        Expect::Refused(status, code) => {
            assert_eq!(answer.status, *status, "{name}: {}", answer.text());
            assert_eq!(answer.oauth_error(), *code, "{name}");
            assert!(answer.json().get("access_token").is_none(), "{name}");
        }
    }
}

/// A refresh-grant case: name, form, `Authorization` header, expectation.
type RefreshCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>, Expect);

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

// ------------------------------------------------------- refresh grant ----

#[tokio::test(flavor = "current_thread")]
async fn refresh_token_grant_table() {
    use Expect::{Granted, Refused};
    let consumer = ScopeSet::from([Scope::TaskqueueConsumer]);
    let bad = StatusCode::BAD_REQUEST;
    let unauthorized = StatusCode::UNAUTHORIZED;
    let good = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("refresh_token", REFRESH_TOKEN),
    ];
    let without = |name: &str| -> Vec<(&str, &str)> {
        good.iter()
            .copied()
            .filter(|(key, _)| *key != name)
            .collect()
    };
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = good
            .iter()
            .copied()
            .filter(|(key, _)| !extra.iter().any(|(name, _)| name == key))
            .collect();
        pairs.extend_from_slice(extra);
        pairs
    };
    let basic_good = basic(CLIENT_ID, CLIENT_SECRET);
    let basic_bad = basic(CLIENT_ID, "wrong");
    let basic_only: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", REFRESH_TOKEN),
    ];

    // (name, form, Authorization header, expectation)
    let cases: Vec<RefreshCase<'_>> = vec![
        ("good", with(&[]), None, Granted(USER_EMAIL, user_scopes())),
        (
            "good, the other user",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", OTHER_CLIENT_ID),
                ("client_secret", OTHER_CLIENT_SECRET),
                ("refresh_token", OTHER_REFRESH_TOKEN),
            ],
            None,
            Granted("ops@example.com", consumer.clone()),
        ),
        (
            "good, HTTP Basic client authentication",
            basic_only.clone(),
            Some(&basic_good),
            Granted(USER_EMAIL, user_scopes()),
        ),
        (
            "scope narrowed to one consented scope",
            with(&[(
                "scope",
                "https://www.googleapis.com/auth/taskqueue.consumer",
            )]),
            None,
            Granted(USER_EMAIL, consumer.clone()),
        ),
        (
            "scope equal to the consent, reordered, extra spaces",
            with(&[(
                "scope",
                "  https://www.googleapis.com/auth/taskqueue.consumer   https://www.googleapis.com/auth/taskqueue ",
            )]),
            None,
            Granted(USER_EMAIL, user_scopes()),
        ),
        (
            "empty scope: the consent",
            with(&[("scope", "")]),
            None,
            Granted(USER_EMAIL, user_scopes()),
        ),
        (
            "scope widened",
            with(&[(
                "scope",
                "https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/cloud-platform",
            )]),
            None,
            Refused(bad, "invalid_scope"),
        ),
        (
            "scope another user consented to only",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", OTHER_CLIENT_ID),
                ("client_secret", OTHER_CLIENT_SECRET),
                ("refresh_token", OTHER_REFRESH_TOKEN),
                ("scope", "https://www.googleapis.com/auth/taskqueue"),
            ],
            None,
            Refused(bad, "invalid_scope"),
        ),
        (
            "wrong client secret",
            with(&[("client_secret", "wrong")]),
            None,
            Refused(unauthorized, "invalid_client"),
        ),
        (
            "another client's secret",
            with(&[("client_secret", OTHER_CLIENT_SECRET)]),
            None,
            Refused(unauthorized, "invalid_client"),
        ),
        (
            "unknown client_id",
            with(&[("client_id", "stranger.apps.example.com")]),
            None,
            Refused(unauthorized, "invalid_client"),
        ),
        (
            "wrong secret over HTTP Basic",
            basic_only.clone(),
            Some(&basic_bad),
            Refused(unauthorized, "invalid_client"),
        ),
        (
            "unknown refresh token",
            with(&[("refresh_token", "1//0forged")]),
            None,
            Refused(bad, "invalid_grant"),
        ),
        (
            "another client's refresh token",
            with(&[("refresh_token", OTHER_REFRESH_TOKEN)]),
            None,
            Refused(bad, "invalid_grant"),
        ),
        (
            "the client secret as the refresh token",
            with(&[("refresh_token", CLIENT_SECRET)]),
            None,
            Refused(bad, "invalid_grant"),
        ),
        (
            "missing client_id",
            without("client_id"),
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "missing client_secret",
            without("client_secret"),
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "missing refresh_token",
            without("refresh_token"),
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "empty refresh_token",
            with(&[("refresh_token", "")]),
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "missing grant_type",
            without("grant_type"),
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "repeated refresh_token",
            {
                let mut pairs = with(&[]);
                pairs.push(("refresh_token", REFRESH_TOKEN));
                pairs
            },
            None,
            Refused(bad, "invalid_request"),
        ),
        (
            "grant_type password",
            with(&[("grant_type", "password")]),
            None,
            Refused(bad, "unsupported_grant_type"),
        ),
        (
            "grant_type authorization_code",
            with(&[("grant_type", "authorization_code")]),
            None,
            Refused(bad, "unsupported_grant_type"),
        ),
        (
            "grant_type client_credentials",
            with(&[("grant_type", "client_credentials")]),
            None,
            Refused(bad, "unsupported_grant_type"),
        ),
        (
            "grant_type in capitals",
            with(&[("grant_type", "REFRESH_TOKEN")]),
            None,
            Refused(bad, "unsupported_grant_type"),
        ),
        (
            "two client authentication methods",
            with(&[]),
            Some(&basic_good),
            Refused(bad, "invalid_request"),
        ),
        (
            "an Authorization header that is not Basic",
            basic_only.clone(),
            Some("Bearer tqs.something"),
            Refused(bad, "invalid_request"),
        ),
        (
            "Basic credentials that are not base64",
            basic_only.clone(),
            Some("Basic !!!"),
            Refused(bad, "invalid_request"),
        ),
    ];

    let harness = Harness::new();
    for (name, pairs, authorization, expect) in &cases {
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", *value))
            .collect();
        let answer = harness
            .post_token(Some(FORM), form(pairs).into_bytes(), &headers)
            .await;
        check(&harness, name, &answer, expect).await;
        for secret in [
            CLIENT_SECRET,
            REFRESH_TOKEN,
            OTHER_CLIENT_SECRET,
            OTHER_REFRESH_TOKEN,
        ] {
            answer.assert_free_of(secret, name);
        }
        if matches!(expect, Refused(status, _) if *status == StatusCode::UNAUTHORIZED) {
            // RFC 6749 §5.2: a Basic challenge when the client authenticated with Basic, not otherwise.
            assert_eq!(
                answer.header("www-authenticate").is_some(),
                authorization.is_some(),
                "{name}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_refresh_issues_a_new_token_and_the_old_one_stays_valid() {
    let harness = Harness::new();
    let pairs = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("refresh_token", REFRESH_TOKEN),
    ];
    let first = harness.post_form(&pairs).await.access_token();
    let second = harness.post_form(&pairs).await.access_token();
    assert_ne!(first, second);
    for token in [&first, &second] {
        assert!(
            harness
                .state
                .tokens
                .authenticate(token, harness.clock.now())
                .await
                .is_ok()
        );
    }
    // The response never rotates the refresh token.
    assert!(
        harness
            .post_form(&pairs)
            .await
            .json()
            .get("refresh_token")
            .is_none()
    );
}

// -------------------------------------------------------- form checks ----

#[tokio::test(flavor = "current_thread")]
async fn bodies_that_are_not_forms_are_invalid_requests() {
    let harness = Harness::new();
    let pairs = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("refresh_token", REFRESH_TOKEN),
    ];
    let as_form = form(&pairs).into_bytes();
    let as_json = serde_json::to_vec(&json!({
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }))
    .expect("JSON");
    let cases: [(&str, Option<&str>, &[u8]); 6] = [
        (
            "JSON body, as gcp_auth sends it",
            Some("application/json"),
            &as_json,
        ),
        ("JSON body declared a form", Some(FORM), &as_json),
        ("form body without a content type", None, &as_form),
        ("form body as text/plain", Some("text/plain"), &as_form),
        (
            "form body as multipart",
            Some("multipart/form-data; boundary=x"),
            &as_form,
        ),
        (
            "a content type that only starts like a form",
            Some("application/x-www-form-urlencodedX"),
            &as_form,
        ),
    ];
    for (name, content_type, body) in cases {
        let answer = harness.post_token(content_type, body.to_vec(), &[]).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.text()
        );
        assert_eq!(answer.oauth_error(), "invalid_request", "{name}");
        answer.assert_free_of(CLIENT_SECRET, name);
        answer.assert_free_of(REFRESH_TOKEN, name);
    }
    for content_type in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-URLEncoded",
    ] {
        let answer = harness
            .post_token(Some(content_type), as_form.clone(), &[])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{content_type}: {}",
            answer.text()
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn oversize_bodies_and_other_methods_get_a_4xx() {
    let harness = Harness::new();
    let padding = "x".repeat(taskqueue_server::oauth::MAX_TOKEN_REQUEST_BYTES);
    let answer = harness
        .post_form(&[("grant_type", "refresh_token"), ("padding", &padding)])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.oauth_error(), "invalid_request");

    // Unknown parameters are ignored (RFC 6749 §3.2).
    let answer = harness
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", REFRESH_TOKEN),
            ("access_type", "offline"),
            ("padding", "ignored"),
        ])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());

    let answer = harness.get("/token", &[]).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------- JWT grant ----

#[tokio::test(flavor = "current_thread")]
async fn good_assertions_get_tokens_with_their_scopes() {
    let harness = Harness::new();
    let now = harness.now_secs();
    let both = format!(
        "{} {}",
        Scope::CloudTaskqueue.as_str(),
        Scope::TaskqueueConsumer.as_str()
    );
    let cases: Vec<(&str, taskqueue_auth::JwtClaims, Option<&str>)> = vec![
        ("as our auth crate signs it", claims(now), Some(KID)),
        (
            "aud Google's token endpoint, as Google's Python library sends it",
            taskqueue_auth::JwtClaims {
                aud: Some("https://oauth2.googleapis.com/token".to_owned()),
                ..claims(now)
            },
            Some(KID),
        ),
        (
            "aud the token_uri of v1beta2-era key files",
            taskqueue_auth::JwtClaims {
                aud: Some("https://accounts.google.com/o/oauth2/token".to_owned()),
                ..claims(now)
            },
            Some(KID),
        ),
        (
            "aud the v4 token endpoint some libraries use",
            taskqueue_auth::JwtClaims {
                aud: Some("https://www.googleapis.com/oauth2/v4/token".to_owned()),
                ..claims(now)
            },
            Some(KID),
        ),
        (
            "sub = iss",
            taskqueue_auth::JwtClaims {
                sub: Some(SA_EMAIL.to_owned()),
                ..claims(now)
            },
            Some(KID),
        ),
        ("no kid: the account's keys are tried", claims(now), None),
        (
            "two scopes",
            taskqueue_auth::JwtClaims {
                scope: Some(both.clone()),
                ..claims(now)
            },
            Some(KID),
        ),
        (
            "iat now, exactly an hour",
            taskqueue_auth::JwtClaims {
                iat: now,
                exp: now + 3600,
                ..claims(now)
            },
            Some(KID),
        ),
    ];
    for (name, claims, kid) in cases {
        let assertion = sign_with(crate::oauth_support::PRIVATE_PEM, kid, &claims);
        let answer = harness.exchange(&assertion).await;
        let scopes = ScopeSet::parse_space_separated(claims.scope.as_deref().expect("scope"));
        check(&harness, name, &answer, &Expect::Granted(SA_EMAIL, scopes)).await;
        answer.assert_free_of(&assertion, name);
    }
}

/// An assertion built by hand: `header` and `claims` as JSON, signed by `sign` over `header.payload`.
fn hand_made(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

#[tokio::test(flavor = "current_thread")]
async fn attack_assertions_are_invalid_grants_and_good_ones_still_work_after_each() {
    let harness = Harness::new();
    let now = harness.now_secs();
    let good = claims(now);
    let good_json = serde_json::to_value(&good).expect("claims JSON");
    let edit = |edits: &[(&str, Value)]| {
        let mut claims = good.clone();
        let mut json = serde_json::to_value(&claims).expect("claims JSON");
        for (name, value) in edits {
            json[*name] = value.clone();
        }
        claims = serde_json::from_value(json).expect("claims");
        claims
    };
    let hs256 = |secret: &[u8]| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        hand_made(
            &json!({"alg": "HS256", "typ": "JWT", "kid": KID}),
            &good_json,
            |input| hmac::sign(&key, input).as_ref().to_vec(),
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none, empty signature",
            hand_made(&json!({"alg": "none", "typ": "JWT"}), &good_json, |_| {
                Vec::new()
            }),
        ),
        (
            "alg none with a kid",
            hand_made(&json!({"alg": "none", "kid": KID}), &good_json, |_| {
                Vec::new()
            }),
        ),
        (
            "HS256 with the public key PEM as the HMAC secret",
            hs256(PUBLIC_PEM.as_bytes()),
        ),
        (
            "HS256 with the public key PEM, trimmed, as the HMAC secret",
            hs256(PUBLIC_PEM.trim().as_bytes()),
        ),
        (
            "signed by the wrong key under the right kid",
            sign_with(OTHER_PRIVATE_PEM, Some(KID), &good),
        ),
        (
            "signed by the wrong key, no kid",
            sign_with(OTHER_PRIVATE_PEM, None, &good),
        ),
        (
            "unknown kid",
            sign_with(crate::oauth_support::PRIVATE_PEM, Some("forged-kid"), &good),
        ),
        ("the right signature over other claims", {
            let real = sign(&good);
            let signature = real.rsplit('.').next().expect("signature").to_owned();
            let forged = serde_json::to_value(edit(&[(
                "scope",
                json!("https://www.googleapis.com/auth/cloud-platform"),
            )]))
            .expect("JSON");
            let header = real.split('.').next().expect("header").to_owned();
            format!(
                "{header}.{}.{signature}",
                b64(forged.to_string().as_bytes())
            )
        }),
        (
            "expired an hour ago",
            sign(&edit(&[
                ("iat", json!(now - 7200)),
                ("exp", json!(now - 3600)),
            ])),
        ),
        (
            "expired just beyond the skew",
            sign(&edit(&[
                ("iat", json!(now - 3661)),
                ("exp", json!(now - 61)),
            ])),
        ),
        (
            "iat in the future beyond the skew",
            sign(&edit(&[
                ("iat", json!(now + 61)),
                ("exp", json!(now + 61 + 3600)),
            ])),
        ),
        (
            "iat a day in the future",
            sign(&edit(&[
                ("iat", json!(now + 86_400)),
                ("exp", json!(now + 86_400 + 3600)),
            ])),
        ),
        (
            "lifetime an hour and a second",
            sign(&edit(&[
                ("iat", json!(now - 10)),
                ("exp", json!(now - 10 + 3601)),
            ])),
        ),
        (
            "lifetime a year",
            sign(&edit(&[("exp", json!(now + 365 * 86_400))])),
        ),
        (
            "exp before iat",
            sign(&edit(&[("iat", json!(now)), ("exp", json!(now - 1))])),
        ),
        (
            "wrong aud",
            sign(&edit(&[("aud", json!("https://example.com/token"))])),
        ),
        (
            "aud a Google URL that is no token endpoint",
            sign(&edit(&[(
                "aud",
                json!("https://accounts.google.com/o/oauth2/auth"),
            )])),
        ),
        (
            "aud Google's token endpoint over http",
            sign(&edit(&[(
                "aud",
                json!("http://oauth2.googleapis.com/token"),
            )])),
        ),
        (
            "aud of another port",
            sign(&edit(&[("aud", json!("http://127.0.0.1:8081/token"))])),
        ),
        ("aud missing", {
            let mut claims = good.clone();
            claims.aud = None;
            sign(&claims)
        }),
        (
            "aud an array holding the right value",
            hand_made(
                &json!({"alg": "RS256", "typ": "JWT", "kid": KID}),
                &{
                    let mut json = good_json.clone();
                    json["aud"] = json!([crate::oauth_support::TOKEN_URI]);
                    json
                },
                rs256,
            ),
        ),
        (
            "unknown service account",
            sign(&edit(&[("iss", json!("stranger@evil.example.com"))])),
        ),
        (
            "iss missing",
            hand_made(
                &json!({"alg": "RS256", "kid": KID}),
                &{
                    let mut json = good_json.clone();
                    json.as_object_mut().expect("object").remove("iss");
                    json
                },
                rs256,
            ),
        ),
        (
            "iss a number",
            hand_made(
                &json!({"alg": "RS256", "kid": KID}),
                &{
                    let mut json = good_json.clone();
                    json["iss"] = json!(7);
                    json
                },
                rs256,
            ),
        ),
        ("missing scope", {
            let mut claims = good.clone();
            claims.scope = None;
            sign(&claims)
        }),
        ("blank scope", sign(&edit(&[("scope", json!("   "))]))),
        ("garbage", "not a JWT at all".to_owned()),
        ("three garbage segments", "a.b.c".to_owned()),
        ("wrongly padded base64 segments", {
            let real = sign(&good);
            real.split('.')
                .map(|segment| format!("{segment}==="))
                .collect::<Vec<_>>()
                .join(".")
        }),
        ("only a dot", ".".to_owned()),
        (
            "oversize",
            format!(
                "{}.{}.{}",
                "a".repeat(10_000),
                "b".repeat(10_000),
                "c".repeat(10_000)
            ),
        ),
    ];

    for (name, assertion) in &cases {
        let answer = harness.exchange(assertion).await;
        check(
            &harness,
            name,
            &answer,
            &Expect::Refused(StatusCode::BAD_REQUEST, "invalid_grant"),
        )
        .await;
        answer.assert_free_of(assertion, name);
        // A good assertion right after is still honoured.
        let answer = harness.exchange(&sign(&claims(harness.now_secs()))).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "after {name}: {}",
            answer.text()
        );
    }
}

/// An RS256 signature with the test key, by hand (ring), for headers and claims `encode_rs256` would not write.
fn rs256(input: &[u8]) -> Vec<u8> {
    let der = STANDARD
        .decode(
            crate::oauth_support::PRIVATE_PEM
                .lines()
                .filter(|line| !line.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("PEM base64");
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("a PKCS#8 RSA key");
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input,
        &mut signature,
    )
    .expect("signed");
    signature
}

#[tokio::test(flavor = "current_thread")]
async fn hand_made_rs256_assertions_are_accepted_so_the_attack_table_is_meaningful() {
    // The attack table's hand-made assertions differ from a good one only by the attack.
    let harness = Harness::new();
    let json = serde_json::to_value(claims(harness.now_secs())).expect("JSON");
    let assertion = hand_made(
        &json!({"alg": "RS256", "typ": "JWT", "kid": KID}),
        &json,
        rs256,
    );
    let answer = harness.exchange(&assertion).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test(flavor = "current_thread")]
async fn correctly_padded_assertions_as_yup_oauth2_signs_them_are_accepted() {
    // yup-oauth2 and gcp_auth encode each segment with padding, and Google accepted them (docs/oauth-interop.md §2).
    let padded = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(bytes);
    let harness = Harness::new();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": KID}).to_string();
    let claims = serde_json::to_value(claims(harness.now_secs()))
        .expect("JSON")
        .to_string();
    let input = format!(
        "{}.{}",
        padded(header.as_bytes()),
        padded(claims.as_bytes())
    );
    let assertion = format!("{input}.{}", padded(&rs256(input.as_bytes())));
    assert!(
        assertion.contains('='),
        "the test assertion is padded: {assertion}"
    );
    let answer = harness.exchange(&assertion).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test(flavor = "current_thread")]
async fn refusals_say_why_in_words_clients_recognise() {
    let harness = Harness::new();
    let now = harness.now_secs();
    let describe = |answer: &Answer| {
        answer.json()["error_description"]
            .as_str()
            .expect("description")
            .to_owned()
    };

    let wrong_key = harness
        .exchange(&sign_with(OTHER_PRIVATE_PEM, Some(KID), &claims(now)))
        .await;
    assert!(
        describe(&wrong_key).starts_with("Invalid JWT Signature."),
        "{}",
        describe(&wrong_key)
    );

    let future = taskqueue_auth::JwtClaims {
        iat: now + 600,
        exp: now + 4200,
        ..claims(now)
    };
    let description = describe(&harness.exchange(&sign(&future)).await);
    assert!(
        description.contains("Check your iat and exp values"),
        "{description}"
    );

    let stranger = taskqueue_auth::JwtClaims {
        iss: "stranger@evil.example.com".to_owned(),
        ..claims(now)
    };
    let description = describe(&harness.exchange(&sign(&stranger)).await);
    assert!(
        description.starts_with("Invalid email or User ID"),
        "{description}"
    );
    assert!(
        !description.contains("stranger@evil"),
        "the unverified issuer is not echoed: {description}"
    );

    let wrong_aud = taskqueue_auth::JwtClaims {
        aud: Some("https://example.com/token".to_owned()),
        ..claims(now)
    };
    let description = describe(&harness.exchange(&sign(&wrong_aud)).await);
    assert!(
        description.contains(crate::oauth_support::TOKEN_URI),
        "names the expected audience: {description}"
    );

    let missing = harness.post_form(&[("grant_type", JWT_BEARER)]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.oauth_error(), "invalid_request");
    assert_eq!(describe(&missing), "Missing required parameter: assertion");
}

#[tokio::test(flavor = "current_thread")]
async fn impersonation_is_unauthorized_client() {
    let harness = Harness::new();
    let delegated = taskqueue_auth::JwtClaims {
        sub: Some(USER_EMAIL.to_owned()),
        ..claims(harness.now_secs())
    };
    let answer = harness.exchange(&sign(&delegated)).await;
    check(
        &harness,
        "sub names a user",
        &answer,
        &Expect::Refused(StatusCode::BAD_REQUEST, "unauthorized_client"),
    )
    .await;
    assert!(harness.state.tokens.is_empty(), "no token was issued");
}

#[tokio::test(flavor = "current_thread")]
async fn the_configured_skew_and_assertion_lifetime_hold_to_the_second() {
    let mut config = config();
    config.tokens.max_assertion_skew = Duration::from_secs(30);
    config.tokens.max_assertion_lifetime = Duration::from_secs(1800);
    let harness = Harness::with_config(config);
    let now = harness.now_secs();
    let with = |iat: u64, exp: u64| {
        sign(&taskqueue_auth::JwtClaims {
            iat,
            exp,
            ..claims(now)
        })
    };
    let cases = [
        ("iat at the skew", with(now + 30, now + 60), true),
        (
            "iat a second beyond the skew",
            with(now + 31, now + 60),
            false,
        ),
        (
            "lifetime at the maximum",
            with(now - 10, now - 10 + 1800),
            true,
        ),
        (
            "lifetime a second beyond the maximum",
            with(now - 10, now - 10 + 1801),
            false,
        ),
        ("exp within the skew", with(now - 100, now - 29), true),
        ("exp at the skew", with(now - 100, now - 30), false),
    ];
    for (name, assertion, accepted) in cases {
        let answer = harness.exchange(&assertion).await;
        let expected = if accepted {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(answer.status, expected, "{name}: {}", answer.text());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn assertions_are_judged_by_the_servers_clock() {
    let harness = Harness::new();
    let assertion = sign(&claims(harness.now_secs()));
    harness.clock.advance(Duration::from_secs(3590 + 61));
    let answer = harness.exchange(&assertion).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
    assert_eq!(
        answer.header("date"),
        Some(httpdate_of(harness.clock.now()).as_str()),
        "Date is the server clock's"
    );
}

fn httpdate_of(time: std::time::SystemTime) -> String {
    // RFC 7231 IMF-fixdate, formatted here independently of the server.
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {hour:02}:{minute:02}:{second:02} GMT")
}

// ------------------------------------------------------- token lifetime ----

#[tokio::test(flavor = "current_thread")]
async fn issued_tokens_live_exactly_the_configured_lifetime() {
    let mut config = config();
    config.tokens.access_token_lifetime = Duration::from_secs(600);
    let harness = Harness::with_config(config);
    let refresh = harness
        .post_form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", REFRESH_TOKEN),
        ])
        .await;
    let jwt = harness.exchange(&sign(&claims(harness.now_secs()))).await;
    let issued_at = harness.clock.now();
    for (name, answer, email) in [
        ("refresh", &refresh, USER_EMAIL),
        ("jwt-bearer", &jwt, SA_EMAIL),
    ] {
        assert_eq!(answer.json()["expires_in"], 600, "{name}");
        let token = answer.access_token();
        let tokens = &harness.state.tokens;
        let caller = tokens
            .authenticate(&token, issued_at + Duration::from_secs(599))
            .await
            .expect(name);
        assert_eq!(caller.email, email, "{name}");
        assert_eq!(
            tokens
                .authenticate(&token, issued_at + Duration::from_secs(600))
                .await,
            Err(TokenRefusal::Expired),
            "{name}"
        );
    }
    harness.clock.advance(Duration::from_secs(600));
    let now = harness.clock.now();
    assert_eq!(
        harness
            .state
            .tokens
            .authenticate(&refresh.access_token(), now)
            .await,
        Err(TokenRefusal::Expired)
    );
    assert_eq!(harness.state.tokens.purge(now), 2);
}

// -------------------------------------------------------------- traces ----

#[tokio::test(flavor = "current_thread")]
async fn every_grant_is_traced_without_a_secret() {
    let (captured, _guard) = crate::traces::Traces::capture();

    let harness = Harness::new();
    let good_assertion = sign(&claims(harness.now_secs()));
    let bad_assertion = sign_with(OTHER_PRIVATE_PEM, Some(KID), &claims(harness.now_secs()));
    let refresh = |secret: &'static str, token: &'static str| {
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
            ("refresh_token", token),
        ]
    };
    let mut issued = Vec::new();
    for pairs in [
        refresh(CLIENT_SECRET, REFRESH_TOKEN),
        refresh("wrong-secret-0x5f", REFRESH_TOKEN),
        refresh(CLIENT_SECRET, "1//0forged-refresh-token"),
        vec![
            ("grant_type", JWT_BEARER),
            ("assertion", good_assertion.as_str()),
        ],
        vec![
            ("grant_type", JWT_BEARER),
            ("assertion", bad_assertion.as_str()),
        ],
        vec![("grant_type", "password")],
    ] {
        let answer = harness.post_form(&pairs).await;
        if answer.status == StatusCode::OK {
            issued.push(answer.access_token());
        }
    }
    let text = captured.text();
    assert_eq!(issued.len(), 2, "{text}");

    let lines: Vec<&str> = text.lines().collect();
    let issued_lines = lines
        .iter()
        .filter(|line| line.contains("access token issued"))
        .count();
    let refused_lines = lines
        .iter()
        .filter(|line| line.contains("token request refused"))
        .count();
    assert_eq!((issued_lines, refused_lines), (2, 4), "{text}");
    for needle in [
        "grant=\"refresh_token\"",
        "grant=\"jwt-bearer\"",
        &format!("principal=\"{USER_EMAIL}\""),
        &format!("principal=\"{SA_EMAIL}\""),
        "outcome=\"invalid_client\"",
        "outcome=\"invalid_grant\"",
        "outcome=\"unsupported_grant_type\"",
        "outcome=\"granted\"",
    ] {
        assert!(text.contains(needle), "traces lack {needle}: {text}");
    }
    for secret in [
        CLIENT_SECRET,
        REFRESH_TOKEN,
        "wrong-secret-0x5f",
        "1//0forged-refresh-token",
        good_assertion.as_str(),
        bad_assertion.as_str(),
        // The signature alone, in case an assertion were cut.
        good_assertion.rsplit('.').next().expect("signature"),
    ]
    .into_iter()
    .chain(issued.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "a trace holds a secret: {text}");
    }
}
