//! A 401 through the client: the token is invalidated and the call sent once
//! more with a new one, even for lease and insert (which are never retried
//! otherwise: the refused request did nothing); a second 401 ends the call.

use std::sync::Arc;

use taskqueue_model::ApiMethod;
use wiremock::matchers::header;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RotatingTokens, builder, call, clock, requests};

const AUTH_ERROR: &str = r#"{"error":{"errors":[{"domain":"global","reason":"authError","message":"Invalid Credentials","locationType":"header","location":"Authorization"}],"code":401,"message":"Invalid Credentials"}}"#;

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .insert_header(
            "www-authenticate",
            r#"Bearer realm="https://accounts.google.com/", error="invalid_token""#,
        )
        .set_body_raw(AUTH_ERROR.as_bytes(), "application/json")
}

/// Retryable (get, delete) and non-retryable (lease, insert) methods alike.
const METHODS: [ApiMethod; 4] = [
    ApiMethod::TasksGet,
    ApiMethod::TasksDelete,
    ApiMethod::TasksLease,
    ApiMethod::TasksInsert,
];

struct Case {
    name: &'static str,
    /// Whether the server accepts the second token.
    second_token_accepted: bool,
}

const CASES: [Case; 2] = [
    Case {
        name: "refreshed once, then accepted",
        second_token_accepted: true,
    },
    Case {
        name: "refused twice",
        second_token_accepted: false,
    },
];

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_a_second_401_is_an_authentication_error() {
    for case in &CASES {
        for method in METHODS {
            let label = format!("{}: {method}", case.name);
            let server = MockServer::start().await;
            Mock::given(header("authorization", "Bearer at-1"))
                .respond_with(unauthorized())
                .mount(&server)
                .await;
            Mock::given(header("authorization", "Bearer at-2"))
                .respond_with(if case.second_token_accepted {
                    ResponseTemplate::new(200).set_body_string("{}")
                } else {
                    unauthorized()
                })
                .mount(&server)
                .await;
            let tokens = Arc::new(RotatingTokens::default());
            let clock = clock();
            let client = builder(&server, &clock)
                .token_provider(tokens.clone())
                .build()
                .expect("client");

            let result = call(&client, method).await;

            assert_eq!(requests(&server).await, 2, "{label}: one refresh, no loop");
            assert_eq!(tokens.issued(), 2, "{label}: tokens");
            assert!(
                clock.sleeps().is_empty(),
                "{label}: no backoff for a refresh"
            );
            if case.second_token_accepted {
                result.unwrap_or_else(|error| panic!("{label}: {error}"));
                assert_eq!(tokens.invalidated(), 1, "{label}: invalidations");
            } else {
                let error = result.expect_err(&label);
                assert!(error.is_unauthenticated(), "{label}: {error}");
                assert_eq!(error.reason(), Some("authError"), "{label}");
                assert!(!error.is_transient(), "{label}");
                assert!(!error.is_scope_denied(), "{label}");
                assert!(!error.is_permission_denied(), "{label}");
                assert_eq!(error.hint(), None, "{label}");
                assert_eq!(error.transport().map(|t| t.attempts()), Some(2), "{label}");
                // Both tokens reported, so neither is handed out again.
                assert_eq!(tokens.invalidated(), 2, "{label}: invalidations");
            }
        }
    }
}
