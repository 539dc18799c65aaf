//! Unit tests of the token-endpoint exchange's helpers: `expires_in` parsing, JWT time complaints, clock skew,
//! quoting answers without secrets, and how endpoints are shown.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;

#[test]
fn expires_in_is_a_number_or_a_string_of_digits() {
    let cases = [
        (json!(3599), Some(3599)),
        (json!("3599"), Some(3599)),
        (json!(" 60 "), Some(60)),
        (json!(3599.0), Some(3599)),
        (json!(0), None),
        (json!("0"), None),
        (json!(-5), None),
        (json!("soon"), None),
        (json!(true), None),
        (json!(null), None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_expires_in(&value),
            expected.map(Duration::from_secs),
            "{value}"
        );
    }
}

#[test]
fn jwt_time_complaints_are_recognized_by_whole_words() {
    let cases = [
        (
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim.",
            true,
        ),
        ("Token used too early, 1700000000 < 1700003600", true),
        ("Invalid JWT Signature.", false),
        ("Invalid email or User ID", false),
        ("expects an explicit value", false),
    ];
    for (description, expected) in cases {
        assert_eq!(
            mentions_jwt_time(Some(description)),
            expected,
            "{description}"
        );
    }
    assert!(!mentions_jwt_time(None));
}

#[test]
fn clock_skew_says_which_side_is_ahead_in_whole_seconds() {
    let server = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ahead = clock_skew(server + Duration::from_millis(90_500), server);
    assert_eq!(
        ahead,
        ClockSkew {
            difference: Duration::from_secs(90),
            local_ahead: true
        }
    );
    let behind = clock_skew(server - Duration::from_secs(7200), server);
    assert_eq!(
        behind,
        ClockSkew {
            difference: Duration::from_secs(7200),
            local_ahead: false
        }
    );
    assert_eq!(describe_duration(Duration::from_secs(7325)), "2h 2m 5s");
    assert_eq!(describe_duration(Duration::from_secs(61)), "1m 1s");
    assert_eq!(describe_duration(Duration::from_secs(4)), "4s");
}

#[test]
fn quoting_cuts_secrets_and_bounds_the_text() {
    let secrets = secrets_of(&[
        ("grant_type", "refresh_token"),
        ("client_secret", "s3cr3t/value"),
        ("refresh_token", "1//refresh"),
    ]);
    assert_eq!(
        secrets,
        [
            "s3cr3t%2Fvalue",
            "1%2F%2Frefresh",
            "s3cr3t/value",
            "1//refresh"
        ]
    );
    let quoted = quote(
        "bad token s3cr3t/value\nsee \"docs\" refresh_token=1%2F%2Frefresh",
        &secrets,
    );
    assert_eq!(
        quoted,
        "bad token [censored] see  docs  refresh_token=[censored]"
    );
    let long = "x".repeat(1000);
    assert_eq!(quote(&long, &[]).chars().count(), MAX_QUOTED_CHARS + 1);
}

#[test]
fn endpoints_are_shown_without_query_and_credentials_are_refused() {
    let url = parse_endpoint("https://oauth2.example.com:8443/token?key=abc#x").expect("valid");
    assert_eq!(
        display_endpoint(&url),
        "https://oauth2.example.com:8443/token"
    );
    for bad in [
        "",
        "oauth2.googleapis.com/token",
        "ftp://host/token",
        "file:///etc/passwd",
        "https://user:pw@oauth2.example.com/token",
        "https://user@oauth2.example.com/token",
    ] {
        assert!(parse_endpoint(bad).is_err(), "{bad}");
    }
}
