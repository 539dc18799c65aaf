//! Unit tests of RS256 signing: the encoded header and claims, deterministic signatures, escaped key line breaks,
//! unusable keys, and a `Debug` that shows no key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

const PKCS8: &str = taskqueue_test_support::keys::RSA_PKCS8_PEM;
const PKCS1: &str = taskqueue_test_support::keys::RSA_PKCS1_PEM;
const EC: &str = taskqueue_test_support::keys::EC_P256_PKCS8_PEM;
const PUBLIC: &str = taskqueue_test_support::keys::RSA_PUBLIC_PEM;

fn claims() -> JwtClaims {
    JwtClaims {
        iss: "sa@example.iam.gserviceaccount.com".to_owned(),
        sub: None,
        aud: Some("https://oauth2.googleapis.com/token".to_owned()),
        scope: Some("https://www.googleapis.com/auth/taskqueue".to_owned()),
        iat: 1_700_000_000,
        exp: 1_700_003_600,
    }
}

fn decode_segment(segment: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

#[test]
fn encodes_header_and_claims_unpadded_and_signs_deterministically() {
    let key = RsaSigningKey::from_pem(PKCS8).expect("pkcs8 key");
    assert_eq!(key.modulus_bits(), 2048);
    let jwt = encode_rs256(&key, Some("kid-1"), &claims()).expect("jwt");
    let parts: Vec<&str> = jwt.expose().split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|part| !part.contains('=')));
    assert_eq!(
        decode_segment(parts[0]),
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
    );
    assert_eq!(
        decode_segment(parts[1]),
        serde_json::json!({
            "iss": "sa@example.iam.gserviceaccount.com",
            "aud": "https://oauth2.googleapis.com/token",
            "scope": "https://www.googleapis.com/auth/taskqueue",
            "iat": 1_700_000_000,
            "exp": 1_700_003_600,
        })
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).expect("sig").len(), 256);
    // PKCS#1 v1.5 signatures are deterministic: the same key in PKCS#1 form
    // signs identically, which proves both parsers read the same key.
    let pkcs1 = RsaSigningKey::from_pem(PKCS1).expect("pkcs1 key");
    let again = encode_rs256(&pkcs1, Some("kid-1"), &claims()).expect("jwt");
    assert_eq!(jwt, again);
    // Without a kid, the header has none.
    let no_kid = encode_rs256(&key, None, &claims()).expect("jwt");
    let header = no_kid.expose().split('.').next().expect("header");
    assert_eq!(
        decode_segment(header),
        serde_json::json!({"alg": "RS256", "typ": "JWT"})
    );
}

#[test]
fn accepts_a_key_whose_line_breaks_were_escaped() {
    let flattened = PKCS8.trim().replace('\n', "\\n");
    assert!(RsaSigningKey::from_pem(&flattened).is_ok());
}

#[test]
fn rejects_unusable_keys_with_clear_messages_that_quote_nothing() {
    let body_line = PKCS8.lines().nth(3).expect("a body line");
    let truncated: String = PKCS8.lines().take(10).collect::<Vec<_>>().join("\n");
    let one_line = PKCS8.replace('\n', "");
    let corrupted = PKCS8.replacen(body_line, &"!".repeat(body_line.len()), 1);
    let cases: &[(&str, &str, &str)] = &[
        ("empty", "", "empty"),
        ("not pem", "hello", "not PEM"),
        ("public key only", PUBLIC, "holds no private key"),
        ("truncated", &truncated, "truncated"),
        ("line breaks lost", &one_line, "line breaks were lost"),
        ("corrupted base64", &corrupted, "not valid base64"),
        ("ec key", EC, "not an RSA key"),
        (
            "encrypted",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
        (
            "sec1",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "elliptic-curve",
        ),
        (
            "garbage der",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "PKCS#8 private key is unusable",
        ),
    ];
    for (name, pem, expected) in cases {
        let error = RsaSigningKey::from_pem(pem).expect_err(name);
        let shown = format!("{error} {error:?}");
        assert!(shown.contains(expected), "{name}: {shown}");
        assert!(!shown.contains(body_line), "{name} leaks the key: {shown}");
        assert!(!error.is_transient(), "{name}");
    }
}

#[test]
fn debug_shows_the_size_not_the_key() {
    let key = RsaSigningKey::from_pem(PKCS8).expect("key");
    assert_eq!(
        format!("{key:?}"),
        "RsaSigningKey { modulus_bits: 2048, key: [censored] }"
    );
}
