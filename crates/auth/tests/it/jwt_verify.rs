//! RS256 JWT verification (`verify_rs256`, `UnverifiedJwt`,
//! `RsaVerifyingKey`, `JwtKeySet`, `JwtValidation`): round trips with
//! `encode_rs256`, a table of attacks each refused for the right reason, the
//! skew and lifetime boundaries to the second, a cross-check with the
//! independent jsonwebtoken crate, and mutation of every byte. Time is
//! always explicit: `START_SECS` or a virtual clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use taskqueue_auth::clock::{Clock as _, VirtualClock};
use taskqueue_auth::{
    JwtClaims, JwtKeySet, JwtSegment, JwtValidation, JwtVerifyError, MAX_JWT_LEN, MalformedJwt,
    RsaSigningKey, RsaVerifyingKey, UnverifiedJwt, encode_rs256, verify_rs256,
};

use crate::support::{
    START_SECS, pem_body_lines, pem_der, read_data, rsa_pkcs1_pem, rsa_pkcs8_pem, start_time,
};

const KID: &str = "0123456789abcdef0123456789abcdef01234567";
const OTHER_KID: &str = "other-key";
const ISS: &str = "queue-worker@taskqueue-test-project.iam.gserviceaccount.com";
/// What Google's Python library always sends as `aud`.
const GOOGLE_AUD: &str = "https://oauth2.googleapis.com/token";
/// The token URI of a local server.
const LOCAL_AUD: &str = "http://127.0.0.1:8080/token";
const SCOPE: &str = "https://www.googleapis.com/auth/taskqueue";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// `iat` as Go and this crate sign it: 10 s before now.
const IAT: u64 = START_SECS - 10;
const EXP: u64 = IAT + 3600;

/// A P-256 public key, SubjectPublicKeyInfo: valid PEM that is not RSA
/// (`openssl pkey -in test_ec_p256_pkcs8.pem -pubout`).
const EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9lt0F7KZlLgRoExyNF7kZ7T3W6Gq
70Kr+8UjitOGrSaRLrNW+XlPA0g5+1MMkYAh3d8Q71FjRXHen0ishXUUng==
-----END PUBLIC KEY-----
";

// ------------------------------------------------------------ fixtures ----

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn claims() -> JwtClaims {
    JwtClaims {
        iss: ISS.to_owned(),
        sub: None,
        aud: Some(GOOGLE_AUD.to_owned()),
        scope: Some(format!(
            "{SCOPE} https://www.googleapis.com/auth/cloud-taskqueue"
        )),
        iat: IAT,
        exp: EXP,
    }
}

fn claims_json() -> Value {
    serde_json::to_value(claims()).expect("claims JSON")
}

/// `claims_json()` with members set (`Some`) or removed (`None`).
fn claims_with(edits: &[(&str, Option<Value>)]) -> Value {
    let mut json = claims_json();
    let object = json.as_object_mut().expect("object");
    for (name, value) in edits {
        match value {
            Some(value) => object.insert((*name).to_owned(), value.clone()),
            None => object.remove(*name),
        };
    }
    json
}

fn header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": KID})
}

/// The token endpoint's requirements: either audience, the exact issuer.
fn validation() -> JwtValidation {
    JwtValidation::new([LOCAL_AUD, GOOGLE_AUD]).with_issuer(ISS)
}

fn test_key_pair() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(&pem_der(&rsa_pkcs8_pem())).expect("test key")
}

fn other_private_pem() -> String {
    read_data("test_rsa_other_pkcs8.pem")
}

/// The second, unrelated key: the "wrong key".
fn other_key_pair() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(&pem_der(&other_private_pem())).expect("other key")
}

fn public_key() -> RsaVerifyingKey {
    RsaVerifyingKey::from_pem(&read_data("test_rsa_public.pem")).expect("public key")
}

fn other_public_key() -> RsaVerifyingKey {
    RsaVerifyingKey::from_pkcs1_der(other_key_pair().public_key().as_ref()).expect("other public")
}

/// The test key under `KID`.
fn keys() -> JwtKeySet {
    JwtKeySet::new().with_key(KID, public_key())
}

/// The test key under `KID` and the other key under `OTHER_KID`.
fn both_keys() -> JwtKeySet {
    keys().with_key(OTHER_KID, other_public_key())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// A compact JWT of these raw segments, signed by `sign` over
/// `header.payload`.
fn jwt_of(header: &str, payload: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signing_input = format!("{header}.{payload}");
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

fn rs256(pair: &RsaKeyPair) -> impl FnOnce(&[u8]) -> Vec<u8> + '_ {
    move |message| {
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message,
            &mut signature,
        )
        .expect("sign");
        signature
    }
}

fn hmac_sha256(secret: &[u8]) -> impl FnOnce(&[u8]) -> Vec<u8> + '_ {
    move |message| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), message)
            .as_ref()
            .to_vec()
    }
}

/// `header` and `payload` as JSON, signed with the test key.
fn signed(header: &Value, payload: &Value) -> String {
    jwt_of(
        &b64_json(header),
        &b64_json(payload),
        rs256(&test_key_pair()),
    )
}

/// The standard header and `payload`, signed with the test key.
fn signed_claims(payload: &Value) -> String {
    signed(&header(), payload)
}

/// A well-formed, valid token.
fn valid_token() -> String {
    signed_claims(&claims_json())
}

/// The three segments of a token.
fn segments(token: &str) -> [String; 3] {
    let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts.try_into().expect("three segments")
}

/// Asserts that an error's messages are fit for an OAuth 2.0
/// `error_description` and quote none of `token`.
fn assert_safe_message(name: &str, error: &JwtVerifyError, token: &str) {
    let display = error.to_string();
    assert!(
        display
            .chars()
            .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
        "{name}: not an error_description: {display}"
    );
    let shown = format!("{display}\n{error:?}");
    if !token.is_empty() {
        assert!(!shown.contains(token), "{name}: quotes the token");
    }
    for segment in token.split('.').filter(|segment| segment.len() >= 16) {
        let probe = &segment[..16];
        assert!(!shown.contains(probe), "{name}: quotes a segment: {shown}");
    }
}

// ---------------------------------------------------------- round trip ----

#[test]
fn encode_rs256_tokens_verify_with_every_key_encoding() {
    let privates = [("PKCS#8", rsa_pkcs8_pem()), ("PKCS#1", rsa_pkcs1_pem())];
    let publics = [
        ("SPKI", read_data("test_rsa_public.pem")),
        ("PKCS#1", read_data("test_rsa_public_pkcs1.pem")),
    ];
    let mut with_subject = claims();
    with_subject.sub = Some("admin@example.com".to_owned());
    for (private_name, private_pem) in &privates {
        let signing_key = RsaSigningKey::from_pem(private_pem).expect("signing key");
        for (public_name, public_pem) in &publics {
            let key = RsaVerifyingKey::from_pem(public_pem).expect("verifying key");
            for kid in [Some(KID), None] {
                for claims in [claims(), with_subject.clone()] {
                    let name = format!("{private_name} -> {public_name}, kid {kid:?}");
                    let token = encode_rs256(&signing_key, kid, &claims).expect("sign");
                    let keys = JwtKeySet::new().with_key(KID, key.clone());
                    let verified = verify_rs256(token.expose(), &keys, &validation(), start_time())
                        .expect(&name);
                    assert_eq!(verified.claims(), &claims, "{name}");
                    assert_eq!(verified.kid(), kid, "{name}");
                    assert_eq!(verified.alg(), "RS256", "{name}");
                    assert_eq!(verified.clone().into_claims(), claims, "{name}");
                }
            }
        }
    }
}

#[test]
fn the_public_key_files_are_the_signing_keys_public_half() {
    // ring derives the PKCS#1 public key from the private key: the SPKI and
    // PKCS#1 files must both parse to it.
    let derived =
        RsaVerifyingKey::from_pkcs1_der(test_key_pair().public_key().as_ref()).expect("derived");
    assert_eq!(public_key(), derived);
    assert_eq!(
        RsaVerifyingKey::from_pem(&read_data("test_rsa_public_pkcs1.pem")).expect("pkcs1"),
        derived
    );
    assert_eq!(derived.pkcs1_der(), test_key_pair().public_key().as_ref());
    assert_ne!(other_public_key(), derived);
    assert_eq!(other_public_key().modulus_bits(), 2048);
}

#[test]
fn verified_tokens_expose_kid_claims_and_scopes() {
    let token = valid_token();
    let jwt = UnverifiedJwt::parse(&token).expect("parse");
    assert_eq!(jwt.kid(), Some(KID));
    assert_eq!(jwt.issuer(), Some(ISS));
    let debug = format!("{jwt:?}");
    assert_eq!(
        debug,
        format!("UnverifiedJwt {{ kid: Some({KID:?}), iss: Some({ISS:?}), .. }}")
    );
    assert_safe_message_free(&debug, &token);
    let verified = jwt
        .verify(&keys(), &validation(), start_time())
        .expect("verify");
    assert_eq!(
        Ok(verified.clone()),
        verify_rs256(&token, &keys(), &validation(), start_time())
    );
    assert_eq!(
        verified.scopes().collect::<Vec<_>>(),
        [SCOPE, "https://www.googleapis.com/auth/cloud-taskqueue"]
    );
    let no_scope = signed_claims(&claims_with(&[("scope", None)]));
    let lenient = validation().with_require_scope(false);
    let verified = verify_rs256(&no_scope, &keys(), &lenient, start_time()).expect("no scope");
    assert_eq!(verified.scopes().count(), 0);
    assert_eq!(verified.claims().scope, None);
}

fn assert_safe_message_free(text: &str, token: &str) {
    for segment in token.split('.') {
        assert!(!text.contains(&segment[..16]), "quotes the token: {text}");
    }
}

#[test]
fn unknown_claims_and_header_members_are_ignored() {
    let payload = claims_with(&[
        ("jti", Some(json!("abc"))),
        ("prn", Some(json!("legacy@example.com"))),
        ("nested", Some(json!({"a": [1, 2, {"b": null}]}))),
        ("nbf", Some(json!(IAT))),
    ]);
    let header = json!({"alg": "RS256", "typ": "jwt", "kid": KID, "x5t": "whatever"});
    let token = signed(&header, &payload);
    let verified = verify_rs256(&token, &keys(), &validation(), start_time()).expect("verify");
    assert_eq!(verified.claims(), &claims());
    // No typ at all is fine too; so is a null kid (read as no kid).
    for header in [
        json!({"alg": "RS256", "kid": KID}),
        json!({"alg": "RS256", "kid": null}),
    ] {
        let token = signed(&header, &claims_json());
        assert!(
            verify_rs256(&token, &keys(), &validation(), start_time()).is_ok(),
            "{header}"
        );
    }
}

// ------------------------------------------------------------- attacks ----

struct Case {
    name: &'static str,
    token: String,
    keys: JwtKeySet,
    expected: JwtVerifyError,
}

fn case(name: &'static str, token: String, expected: JwtVerifyError) -> Case {
    Case {
        name,
        token,
        keys: keys(),
        expected,
    }
}

fn malformed(reason: MalformedJwt) -> JwtVerifyError {
    JwtVerifyError::Malformed(reason)
}

fn unsupported(alg: &str) -> JwtVerifyError {
    JwtVerifyError::UnsupportedAlgorithm {
        alg: alg.to_owned(),
    }
}

fn invalid_header(why: &'static str) -> JwtVerifyError {
    malformed(MalformedJwt::InvalidHeader(why))
}

fn invalid_claim(claim: &'static str, reason: &'static str) -> JwtVerifyError {
    JwtVerifyError::InvalidClaim { claim, reason }
}

/// A JSON object with `iss` and `alg` right, and `member` nested 5000
/// arrays deep.
fn deep(member: &str) -> Vec<u8> {
    let (open, close) = ("[".repeat(5000), "]".repeat(5000));
    format!(r#"{{"alg":"RS256","iss":"{ISS}","{member}":{open}{close}}}"#).into_bytes()
}

/// JSON text whose base64 encoding needs padding.
fn json_needing_padding(value: &Value) -> String {
    let mut text = value.to_string();
    while text.len().is_multiple_of(3) {
        text.push(' ');
    }
    text
}

fn attack_cases() -> Vec<Case> {
    let valid = valid_token();
    let [valid_header, valid_payload, valid_signature] = segments(&valid);
    let payload = b64_json(&claims_json());
    let spki_pem = read_data("test_rsa_public.pem");
    let pkcs1_pem = read_data("test_rsa_public_pkcs1.pem");
    let spki_der = pem_der(&spki_pem);
    let header_as = |alg: &str| b64_json(&json!({"alg": alg, "typ": "JWT", "kid": KID}));
    let test_pair = test_key_pair();
    let other_pair = other_key_pair();
    let now = START_SECS;
    let huge_signed = signed_claims(&claims_with(&[(
        "padding",
        Some(json!("x".repeat(MAX_JWT_LEN))),
    )]));
    let repeated_exp = format!(
        r#"{{"iss":"{ISS}","aud":"{GOOGLE_AUD}","scope":"s","iat":{IAT},"exp":{EXP},"exp":1}}"#
    );

    let mut cases = vec![
        // alg: only RS256, before any key or signature is looked at.
        case(
            "alg none, empty signature",
            format!(
                "{}.{payload}.",
                b64_json(&json!({"alg": "none", "typ": "JWT"}))
            ),
            unsupported("none"),
        ),
        case(
            "alg None, empty signature",
            format!("{}.{payload}.", header_as("None")),
            unsupported("None"),
        ),
        case(
            "alg NONE, RS256 signature",
            jwt_of(&header_as("NONE"), &payload, rs256(&test_pair)),
            unsupported("NONE"),
        ),
        case(
            "HS256 keyed with the SPKI PEM (key confusion)",
            jwt_of(
                &header_as("HS256"),
                &payload,
                hmac_sha256(spki_pem.as_bytes()),
            ),
            unsupported("HS256"),
        ),
        case(
            "HS256 keyed with the PKCS#1 PEM (key confusion)",
            jwt_of(
                &header_as("HS256"),
                &payload,
                hmac_sha256(pkcs1_pem.as_bytes()),
            ),
            unsupported("HS256"),
        ),
        case(
            "HS256 keyed with the SPKI DER (key confusion)",
            jwt_of(&header_as("HS256"), &payload, hmac_sha256(&spki_der)),
            unsupported("HS256"),
        ),
        case(
            "HS384",
            jwt_of(&header_as("HS384"), &payload, hmac_sha256(b"k")),
            unsupported("HS384"),
        ),
        case(
            "HS512",
            jwt_of(&header_as("HS512"), &payload, hmac_sha256(b"k")),
            unsupported("HS512"),
        ),
        case(
            "HMAC signature under alg RS256",
            jwt_of(&valid_header, &payload, hmac_sha256(spki_pem.as_bytes())),
            JwtVerifyError::BadSignature,
        ),
        case(
            "RS384",
            jwt_of(&header_as("RS384"), &payload, rs256(&test_pair)),
            unsupported("RS384"),
        ),
        case(
            "PS256",
            jwt_of(&header_as("PS256"), &payload, rs256(&test_pair)),
            unsupported("PS256"),
        ),
        case(
            "ES256",
            jwt_of(&header_as("ES256"), &payload, rs256(&test_pair)),
            unsupported("ES256"),
        ),
        case(
            "lower-case rs256",
            jwt_of(&header_as("rs256"), &payload, rs256(&test_pair)),
            unsupported("rs256"),
        ),
        case(
            "RS256 with a trailing space",
            jwt_of(&header_as("RS256 "), &payload, rs256(&test_pair)),
            unsupported("RS256 "),
        ),
        case(
            "a long, hostile alg is cut and defanged",
            jwt_of(
                &header_as(&format!("\"\\`\n{}", "A".repeat(100))),
                &payload,
                rs256(&test_pair),
            ),
            unsupported(&format!("????{}...", "A".repeat(60))),
        ),
        case(
            "no alg",
            jwt_of(
                &b64_json(&json!({"typ": "JWT", "kid": KID})),
                &payload,
                rs256(&test_pair),
            ),
            invalid_header("has no `alg`"),
        ),
        case(
            "alg not a string",
            jwt_of(
                &b64_json(&json!({"alg": ["RS256"]})),
                &payload,
                rs256(&test_pair),
            ),
            invalid_header("has an `alg` that is not a string"),
        ),
        case(
            "repeated alg (parser differential)",
            jwt_of(
                &b64(br#"{"alg":"RS256","alg":"none","kid":"k"}"#),
                &payload,
                rs256(&test_pair),
            ),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
        case(
            "crit header",
            signed(
                &json!({"alg": "RS256", "kid": KID, "crit": ["exp"], "exp": 1}),
                &claims_json(),
            ),
            invalid_header("has `crit`, naming extensions this verifier does not implement"),
        ),
        case(
            "typ other than JWT",
            signed(
                &json!({"alg": "RS256", "typ": "at+jwt", "kid": KID}),
                &claims_json(),
            ),
            invalid_header("has a `typ` other than `JWT`"),
        ),
        case(
            "kid not a string",
            signed(&json!({"alg": "RS256", "kid": 7}), &claims_json()),
            invalid_header("has a `kid` that is not a string"),
        ),
        // Keys and signatures.
        case(
            "the wrong key, claiming the right kid",
            jwt_of(&valid_header, &payload, rs256(&other_pair)),
            JwtVerifyError::BadSignature,
        ),
        case(
            "the wrong key, no kid",
            jwt_of(
                &b64_json(&json!({"alg": "RS256", "typ": "JWT"})),
                &payload,
                rs256(&other_pair),
            ),
            JwtVerifyError::BadSignature,
        ),
        case(
            "the wrong key, its own kid, which is not registered",
            jwt_of(
                &b64_json(&json!({"alg": "RS256", "kid": OTHER_KID})),
                &payload,
                rs256(&other_pair),
            ),
            JwtVerifyError::UnknownKey {
                kid: Some(OTHER_KID.to_owned()),
            },
        ),
        case(
            "the wrong key with its public key embedded as jwk",
            jwt_of(
                &b64_json(&json!({
                    "alg": "RS256",
                    "jwk": {"kty": "RSA", "e": "AQAB", "n": b64(other_pair.public_key().as_ref())},
                })),
                &payload,
                rs256(&other_pair),
            ),
            JwtVerifyError::BadSignature,
        ),
        case(
            "tampered payload (scope widened)",
            format!(
                "{valid_header}.{}.{valid_signature}",
                b64_json(&claims_with(&[("scope", Some(json!(CLOUD_PLATFORM)))]))
            ),
            JwtVerifyError::BadSignature,
        ),
        case(
            "tampered payload (exp extended)",
            format!(
                "{valid_header}.{}.{valid_signature}",
                b64_json(&claims_with(&[("exp", Some(json!(EXP + 86_400)))]))
            ),
            JwtVerifyError::BadSignature,
        ),
        case(
            "tampered header kid, unknown",
            format!(
                "{}.{valid_payload}.{valid_signature}",
                b64_json(&json!({"alg": "RS256", "typ": "JWT", "kid": "forged"}))
            ),
            JwtVerifyError::UnknownKey {
                kid: Some("forged".to_owned()),
            },
        ),
        Case {
            name: "tampered header kid, naming the other registered key",
            token: format!(
                "{}.{valid_payload}.{valid_signature}",
                b64_json(&json!({"alg": "RS256", "typ": "JWT", "kid": OTHER_KID}))
            ),
            keys: both_keys(),
            expected: JwtVerifyError::BadSignature,
        },
        Case {
            name: "tampered header, kid removed (every key tried)",
            token: format!(
                "{}.{valid_payload}.{valid_signature}",
                b64_json(&json!({"alg": "RS256", "typ": "JWT"}))
            ),
            keys: both_keys(),
            expected: JwtVerifyError::BadSignature,
        },
        Case {
            name: "a valid token checked against an empty key set",
            token: valid.clone(),
            keys: JwtKeySet::new(),
            expected: JwtVerifyError::UnknownKey {
                kid: Some(KID.to_owned()),
            },
        },
        Case {
            name: "a kid-less token checked against an empty key set",
            token: signed(&json!({"alg": "RS256"}), &claims_json()),
            keys: JwtKeySet::new(),
            expected: JwtVerifyError::UnknownKey { kid: None },
        },
        case(
            "empty signature under RS256",
            format!("{valid_header}.{valid_payload}."),
            JwtVerifyError::BadSignature,
        ),
        case(
            "truncated signature",
            {
                let signature = URL_SAFE_NO_PAD.decode(&valid_signature).expect("sig");
                format!("{valid_header}.{valid_payload}.{}", b64(&signature[..255]))
            },
            JwtVerifyError::BadSignature,
        ),
        case(
            "signature with one bit flipped",
            {
                let mut signature = URL_SAFE_NO_PAD.decode(&valid_signature).expect("sig");
                signature[100] ^= 1;
                format!("{valid_header}.{valid_payload}.{}", b64(&signature))
            },
            JwtVerifyError::BadSignature,
        ),
        case(
            "signature of another token",
            {
                let other = signed_claims(&claims_with(&[("sub", Some(json!("x")))]));
                format!("{valid_header}.{valid_payload}.{}", segments(&other)[2])
            },
            JwtVerifyError::BadSignature,
        ),
        // Form.
        case(
            "extra segment",
            format!("{valid}.{valid_payload}"),
            malformed(MalformedJwt::SegmentCount { count: 4 }),
        ),
        case(
            "five segments (JWE)",
            format!("{valid}.e30.e30"),
            malformed(MalformedJwt::SegmentCount { count: 5 }),
        ),
        case(
            "two segments",
            format!("{valid_header}.{valid_payload}"),
            malformed(MalformedJwt::SegmentCount { count: 2 }),
        ),
        case(
            "empty token",
            String::new(),
            malformed(MalformedJwt::SegmentCount { count: 1 }),
        ),
        case(
            "only dots",
            "..".to_owned(),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
        case(
            "padded signature",
            format!(
                "{valid_header}.{valid_payload}.{}",
                URL_SAFE.encode(URL_SAFE_NO_PAD.decode(&valid_signature).expect("sig"))
            ),
            malformed(MalformedJwt::Padded(JwtSegment::Signature)),
        ),
        case(
            "padded payload",
            {
                let text = json_needing_padding(&claims_json());
                let padded = URL_SAFE.encode(&text);
                assert!(padded.ends_with('='), "the payload is padded");
                jwt_of(&valid_header, &padded, rs256(&test_pair))
            },
            malformed(MalformedJwt::Padded(JwtSegment::Payload)),
        ),
        case(
            "padded header",
            {
                let padded = URL_SAFE.encode(json_needing_padding(&header()));
                assert!(padded.ends_with('='), "the header is padded");
                jwt_of(&padded, &payload, rs256(&test_pair))
            },
            malformed(MalformedJwt::Padded(JwtSegment::Header)),
        ),
        case(
            "standard base64 alphabet in the signature",
            {
                let signature = URL_SAFE_NO_PAD.decode(&valid_signature).expect("sig");
                let signature = STANDARD_NO_PAD.encode(signature);
                assert!(signature.contains(['+', '/']), "not url-safe");
                format!("{valid_header}.{valid_payload}.{signature}")
            },
            malformed(MalformedJwt::NotBase64Url(JwtSegment::Signature)),
        ),
        case(
            "whitespace in the payload",
            {
                let (start, end) = valid_payload.split_at(10);
                format!("{valid_header}.{start} {end}.{valid_signature}")
            },
            malformed(MalformedJwt::NotBase64Url(JwtSegment::Payload)),
        ),
        case(
            "non-JSON header",
            jwt_of(&b64(b"RS256"), &payload, rs256(&test_pair)),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
        case(
            "header a JSON array",
            jwt_of(&b64(br#"["RS256",null,"k"]"#), &payload, rs256(&test_pair)),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
        case(
            "header not UTF-8",
            jwt_of(
                &b64(b"{\"alg\":\"RS256\xff\"}"),
                &payload,
                rs256(&test_pair),
            ),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
        case(
            "non-JSON payload, correctly signed",
            jwt_of(&valid_header, &b64(b"iss=me&exp=never"), rs256(&test_pair)),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Payload)),
        ),
        case(
            "repeated exp (parser differential), correctly signed",
            jwt_of(
                &valid_header,
                &b64(repeated_exp.as_bytes()),
                rs256(&test_pair),
            ),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Payload)),
        ),
        case(
            "huge token",
            "a".repeat(MAX_JWT_LEN + 1),
            malformed(MalformedJwt::TooLong {
                len: MAX_JWT_LEN + 1,
            }),
        ),
        case(
            "huge signed token",
            huge_signed.clone(),
            malformed(MalformedJwt::TooLong {
                len: huge_signed.len(),
            }),
        ),
        case(
            "ten megabytes of dots",
            ".".repeat(10 << 20),
            malformed(MalformedJwt::TooLong { len: 10 << 20 }),
        ),
        // Claims, correctly signed.
        case(
            "missing exp",
            signed_claims(&claims_with(&[("exp", None)])),
            JwtVerifyError::MissingClaim { claim: "exp" },
        ),
        case(
            "null exp",
            signed_claims(&claims_with(&[("exp", Some(Value::Null))])),
            JwtVerifyError::MissingClaim { claim: "exp" },
        ),
        case(
            "missing iat",
            signed_claims(&claims_with(&[("iat", None)])),
            JwtVerifyError::MissingClaim { claim: "iat" },
        ),
        case(
            "exp a string",
            signed_claims(&claims_with(&[("exp", Some(json!(EXP.to_string())))])),
            invalid_claim("exp", "is not a number"),
        ),
        case(
            "exp fractional",
            signed_claims(&claims_with(&[("exp", Some(json!(EXP as f64 + 0.5)))])),
            invalid_claim("exp", "is not a whole, non-negative number of seconds"),
        ),
        case(
            "iat negative",
            signed_claims(&claims_with(&[("iat", Some(json!(-1)))])),
            invalid_claim("iat", "is not a whole, non-negative number of seconds"),
        ),
        case(
            "exp beyond u64",
            signed_claims(&claims_with(&[("exp", Some(json!(1e30)))])),
            invalid_claim("exp", "is not a whole, non-negative number of seconds"),
        ),
        case(
            "nbf a string",
            signed_claims(&claims_with(&[("nbf", Some(json!("now")))])),
            invalid_claim("nbf", "is not a number"),
        ),
        case(
            "missing iss",
            signed_claims(&claims_with(&[("iss", None)])),
            JwtVerifyError::MissingClaim { claim: "iss" },
        ),
        case(
            "iss a number",
            signed_claims(&claims_with(&[("iss", Some(json!(42)))])),
            invalid_claim("iss", "is not a string"),
        ),
        case(
            "sub an object",
            signed_claims(&claims_with(&[("sub", Some(json!({"id": 1})))])),
            invalid_claim("sub", "is not a string"),
        ),
        case(
            "scope an array",
            signed_claims(&claims_with(&[("scope", Some(json!([SCOPE])))])),
            invalid_claim("scope", "is not a string"),
        ),
        case(
            "wrong iss",
            signed_claims(&claims_with(&[(
                "iss",
                Some(json!("attacker@evil.example")),
            )])),
            JwtVerifyError::IssuerMismatch {
                expected: ISS.to_owned(),
                actual: "attacker@evil.example".to_owned(),
            },
        ),
        case(
            "iss differing in case",
            signed_claims(&claims_with(&[("iss", Some(json!(ISS.to_uppercase())))])),
            JwtVerifyError::IssuerMismatch {
                expected: ISS.to_owned(),
                actual: ISS.to_uppercase(),
            },
        ),
        case(
            "wrong aud",
            signed_claims(&claims_with(&[(
                "aud",
                Some(json!("https://evil.example/token")),
            )])),
            JwtVerifyError::AudienceMismatch {
                expected: vec![LOCAL_AUD.to_owned(), GOOGLE_AUD.to_owned()],
                actual: "https://evil.example/token".to_owned(),
            },
        ),
        case(
            "aud with a trailing slash",
            signed_claims(&claims_with(&[(
                "aud",
                Some(json!(format!("{GOOGLE_AUD}/"))),
            )])),
            JwtVerifyError::AudienceMismatch {
                expected: vec![LOCAL_AUD.to_owned(), GOOGLE_AUD.to_owned()],
                actual: format!("{GOOGLE_AUD}/"),
            },
        ),
        case(
            "missing aud",
            signed_claims(&claims_with(&[("aud", None)])),
            JwtVerifyError::MissingClaim { claim: "aud" },
        ),
        case(
            "aud an array",
            signed_claims(&claims_with(&[("aud", Some(json!([GOOGLE_AUD])))])),
            invalid_claim("aud", "is an array: it must be one string"),
        ),
        case(
            "lifetime over an hour",
            signed_claims(&claims_with(&[("exp", Some(json!(IAT + 3601)))])),
            JwtVerifyError::LifetimeTooLong {
                lifetime_secs: 3601,
                max_secs: 3600,
            },
        ),
        case(
            "lifetime of a year",
            signed_claims(&claims_with(&[("exp", Some(json!(IAT + 365 * 86_400)))])),
            JwtVerifyError::LifetimeTooLong {
                lifetime_secs: 365 * 86_400,
                max_secs: 3600,
            },
        ),
        case(
            "exp equal to iat",
            signed_claims(&claims_with(&[("exp", Some(json!(IAT)))])),
            invalid_claim("exp", "is not after `iat`"),
        ),
        case(
            "exp before iat",
            signed_claims(&claims_with(&[("exp", Some(json!(IAT - 1)))])),
            invalid_claim("exp", "is not after `iat`"),
        ),
        case(
            "expired",
            signed_claims(&claims_with(&[
                ("iat", Some(json!(now - 3700))),
                ("exp", Some(json!(now - 100))),
            ])),
            JwtVerifyError::Expired {
                exp: now - 100,
                now,
                max_skew_secs: 60,
            },
        ),
        case(
            "iat in the future",
            signed_claims(&claims_with(&[
                ("iat", Some(json!(now + 120))),
                ("exp", Some(json!(now + 120 + 3600))),
            ])),
            JwtVerifyError::IssuedInFuture {
                iat: now + 120,
                now,
                max_skew_secs: 60,
            },
        ),
        case(
            "nbf in the future",
            signed_claims(&claims_with(&[("nbf", Some(json!(now + 120)))])),
            JwtVerifyError::NotYetValid {
                nbf: now + 120,
                now,
                max_skew_secs: 60,
            },
        ),
        case(
            "iat and exp near u64::MAX",
            signed_claims(&claims_with(&[
                ("iat", Some(json!(u64::MAX - 10))),
                ("exp", Some(json!(u64::MAX))),
            ])),
            JwtVerifyError::IssuedInFuture {
                iat: u64::MAX - 10,
                now,
                max_skew_secs: 60,
            },
        ),
        case(
            "missing scope",
            signed_claims(&claims_with(&[("scope", None)])),
            JwtVerifyError::MissingScope,
        ),
        case(
            "blank scope",
            signed_claims(&claims_with(&[("scope", Some(json!(" \t ")))])),
            JwtVerifyError::MissingScope,
        ),
        case(
            "deeply nested unknown claim: skipped without recursion",
            jwt_of(&valid_header, &b64(&deep("deep")), rs256(&test_pair)),
            JwtVerifyError::MissingClaim { claim: "aud" },
        ),
        case(
            "deeply nested aud: past serde_json's recursion limit",
            jwt_of(&valid_header, &b64(&deep("aud")), rs256(&test_pair)),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Payload)),
        ),
        case(
            "deeply nested kid: past serde_json's recursion limit",
            jwt_of(&b64(&deep("kid")), &payload, rs256(&test_pair)),
            malformed(MalformedJwt::NotJsonObject(JwtSegment::Header)),
        ),
    ];
    // The precedence of the checks: a token wrong in every claim reports
    // the issuer first; one malformed and unsupported reports the form.
    cases.push(case(
        "every claim wrong: iss reported first",
        signed_claims(&json!({
            "iss": "x", "aud": "y", "iat": now + 1000, "exp": now + 999_999,
        })),
        JwtVerifyError::IssuerMismatch {
            expected: ISS.to_owned(),
            actual: "x".to_owned(),
        },
    ));
    cases.push(case(
        "alg none with a bad signature segment: the form first",
        format!("{}.{payload}.!!", header_as("none")),
        malformed(MalformedJwt::NotBase64Url(JwtSegment::Signature)),
    ));
    cases
}

#[test]
fn attacks_and_broken_tokens_are_refused_for_the_right_reason() {
    let cases = attack_cases();
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    for Case {
        name,
        token,
        keys,
        expected,
    } in &cases
    {
        let error = verify_rs256(token, keys, &validation(), start_time()).expect_err(name);
        assert_eq!(&error, expected, "{name}");
        assert_safe_message(name, &error, token);
        // Parsing alone agrees on form errors, and says nothing else.
        match (UnverifiedJwt::parse(token), expected) {
            (Err(parse_error), _) => assert_eq!(&parse_error, expected, "{name}: parse"),
            (Ok(_), JwtVerifyError::Malformed(_) | JwtVerifyError::UnsupportedAlgorithm { .. }) => {
                panic!("{name}: parse accepted a malformed token")
            }
            (Ok(_), _) => {}
        }
    }
}

#[test]
fn error_messages_say_what_is_wrong() {
    let now = START_SECS;
    let cases: [(JwtVerifyError, &str); 9] = [
        (
            unsupported("HS256"),
            "the JWT algorithm `HS256` is not accepted: only RS256 is",
        ),
        (
            malformed(MalformedJwt::Padded(JwtSegment::Signature)),
            "malformed JWT: its signature ends in `=` padding, which a JWT's base64url must not \
             have",
        ),
        (
            malformed(MalformedJwt::TooLong { len: 20_000 }),
            "malformed JWT: it is 20000 bytes long, more than the 16384 accepted",
        ),
        (
            JwtVerifyError::UnknownKey {
                kid: Some("k1".to_owned()),
            },
            "the JWT key id (kid) `k1` names no registered key",
        ),
        (JwtVerifyError::BadSignature, "the JWT signature is invalid"),
        (
            JwtVerifyError::AudienceMismatch {
                expected: vec!["a".to_owned(), "b".to_owned()],
                actual: "c".to_owned(),
            },
            "the JWT audience (aud) `c` is not the expected `a` or `b`",
        ),
        (
            JwtVerifyError::AudienceMismatch {
                expected: vec![],
                actual: "c".to_owned(),
            },
            "the JWT audience (aud) `c` is not accepted: no audience is",
        ),
        (
            JwtVerifyError::Expired {
                exp: now - 61,
                now,
                max_skew_secs: 60,
            },
            "the JWT has expired: exp 1699999939 plus 60 s is not after now (1700000000)",
        ),
        (
            JwtVerifyError::IssuedInFuture {
                iat: now + 61,
                now,
                max_skew_secs: 60,
            },
            "the JWT was issued in the future: iat 1700000061 is more than 60 s after now \
             (1700000000); check the signer's clock",
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(error.to_string(), expected);
    }
}

// ---------------------------------------------------- skew and lifetime ----

#[test]
fn skew_and_lifetime_boundaries_hold_to_the_second() {
    const N: u64 = START_SECS;
    let skew = |secs: u64| validation().with_max_skew(Duration::from_secs(secs));
    // (name, iat, exp, nbf, validation, now, expected)
    type Row = (
        &'static str,
        u64,
        u64,
        Option<u64>,
        JwtValidation,
        SystemTime,
        Result<(), JwtVerifyError>,
    );
    let future = |iat: u64, skew: u64| {
        Err(JwtVerifyError::IssuedInFuture {
            iat,
            now: N,
            max_skew_secs: skew,
        })
    };
    let expired = |exp: u64, skew: u64| {
        Err(JwtVerifyError::Expired {
            exp,
            now: N,
            max_skew_secs: skew,
        })
    };
    let rows: Vec<Row> = vec![
        (
            "iat = now + skew",
            N + 60,
            N + 3660,
            None,
            skew(60),
            at(N),
            Ok(()),
        ),
        (
            "iat = now + skew + 1",
            N + 61,
            N + 3661,
            None,
            skew(60),
            at(N),
            future(N + 61, 60),
        ),
        (
            "exp = now - skew + 1",
            N - 3599 - 60,
            N - 60 + 1,
            None,
            skew(60),
            at(N),
            Ok(()),
        ),
        (
            "exp = now - skew",
            N - 3600 - 60,
            N - 60,
            None,
            skew(60),
            at(N),
            expired(N - 60, 60),
        ),
        (
            "exp + skew one nanosecond after now",
            N - 3600,
            N - 60,
            None,
            skew(60),
            at(N) - Duration::from_nanos(1),
            Ok(()),
        ),
        (
            "nbf = now + skew",
            IAT,
            EXP,
            Some(N + 60),
            skew(60),
            at(N),
            Ok(()),
        ),
        (
            "nbf = now + skew + 1",
            IAT,
            EXP,
            Some(N + 61),
            skew(60),
            at(N),
            Err(JwtVerifyError::NotYetValid {
                nbf: N + 61,
                now: N,
                max_skew_secs: 60,
            }),
        ),
        (
            "no skew: iat = now",
            N,
            N + 3600,
            None,
            skew(0),
            at(N),
            Ok(()),
        ),
        (
            "no skew: iat = now + 1",
            N + 1,
            N + 3601,
            None,
            skew(0),
            at(N),
            future(N + 1, 0),
        ),
        (
            "no skew: exp = now + 1",
            N - 3599,
            N + 1,
            None,
            skew(0),
            at(N),
            Ok(()),
        ),
        (
            "no skew: exp = now",
            N - 3600,
            N,
            None,
            skew(0),
            at(N),
            expired(N, 0),
        ),
        (
            "5 min skew: iat = now + 300",
            N + 300,
            N + 3900,
            None,
            skew(300),
            at(N),
            Ok(()),
        ),
        (
            "5 min skew: iat = now + 301",
            N + 301,
            N + 3901,
            None,
            skew(300),
            at(N),
            future(N + 301, 300),
        ),
        (
            "5 min skew: exp = now - 299",
            N - 3899,
            N - 299,
            None,
            skew(300),
            at(N),
            Ok(()),
        ),
        (
            "5 min skew: exp = now - 300",
            N - 3900,
            N - 300,
            None,
            skew(300),
            at(N),
            expired(N - 300, 300),
        ),
        (
            "default skew is 60 s",
            N + 60,
            N + 3660,
            None,
            validation(),
            at(N),
            Ok(()),
        ),
        (
            "default skew is 60 s, not 61",
            N + 61,
            N + 3661,
            None,
            validation(),
            at(N),
            future(N + 61, 60),
        ),
        (
            "lifetime exactly 3600 s",
            IAT,
            IAT + 3600,
            None,
            validation(),
            at(N),
            Ok(()),
        ),
        (
            "lifetime 3601 s",
            IAT,
            IAT + 3601,
            None,
            validation(),
            at(N),
            Err(JwtVerifyError::LifetimeTooLong {
                lifetime_secs: 3601,
                max_secs: 3600,
            }),
        ),
        (
            "lifetime 300 s of 300",
            N,
            N + 300,
            None,
            validation().with_max_lifetime(Duration::from_secs(300)),
            at(N),
            Ok(()),
        ),
        (
            "lifetime 301 s of 300",
            N,
            N + 301,
            None,
            validation().with_max_lifetime(Duration::from_secs(300)),
            at(N),
            Err(JwtVerifyError::LifetimeTooLong {
                lifetime_secs: 301,
                max_secs: 300,
            }),
        ),
        (
            "unbounded skew accepts an old token",
            1,
            2,
            None,
            validation().with_max_skew(Duration::MAX),
            at(N),
            Ok(()),
        ),
        (
            "a clock before 1970 reads as 1970",
            IAT,
            EXP,
            None,
            validation(),
            UNIX_EPOCH - Duration::from_secs(5),
            Err(JwtVerifyError::IssuedInFuture {
                iat: IAT,
                now: 0,
                max_skew_secs: 60,
            }),
        ),
    ];
    for (name, iat, exp, nbf, validation, now, expected) in rows {
        let mut edits = vec![("iat", Some(json!(iat))), ("exp", Some(json!(exp)))];
        if let Some(nbf) = nbf {
            edits.push(("nbf", Some(json!(nbf))));
        }
        let token = signed_claims(&claims_with(&edits));
        let result = verify_rs256(&token, &keys(), &validation, now).map(|_| ());
        assert_eq!(result, expected, "{name}");
    }
}

#[test]
fn a_token_lives_from_iat_minus_skew_until_exp_plus_skew_on_a_virtual_clock() {
    let clock = VirtualClock::new(start_time());
    let signing_key = RsaSigningKey::from_pem(&rsa_pkcs8_pem()).expect("key");
    let now = clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let mut claims = claims();
    claims.iat = now + 60;
    claims.exp = now + 60 + 3600;
    let token = encode_rs256(&signing_key, Some(KID), &claims).expect("sign");
    let verify = |clock: &VirtualClock| {
        verify_rs256(token.expose(), &keys(), &validation(), clock.now()).map(|_| ())
    };

    // Issued a minute ahead of this clock: just within the skew.
    assert_eq!(verify(&clock), Ok(()));
    clock.advance(Duration::from_secs(3600 + 60 + 59));
    assert_eq!(verify(&clock), Ok(()), "a second before exp + skew");
    clock.advance(Duration::from_millis(999));
    assert_eq!(verify(&clock), Ok(()), "a millisecond before exp + skew");
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        verify(&clock),
        Err(JwtVerifyError::Expired {
            exp: claims.exp,
            now: claims.exp + 60,
            max_skew_secs: 60,
        })
    );
}

// ------------------------------------------------------ jsonwebtoken ----

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (RFC 5208
/// §5: version, algorithm, then the key in an OCTET STRING), which is what
/// jsonwebtoken's `EncodingKey::from_rsa_der` takes.
fn pkcs8_to_pkcs1(der: &[u8]) -> Vec<u8> {
    /// (tag, contents, rest) of the first DER element of `input`.
    fn element(input: &[u8]) -> (u8, &[u8], &[u8]) {
        let (length, header) = match input[1] {
            short if short < 0x80 => (usize::from(short), 2),
            0x81 => (usize::from(input[2]), 3),
            0x82 => ((usize::from(input[2]) << 8) | usize::from(input[3]), 4),
            other => panic!("unexpected DER length byte {other:#x}"),
        };
        let end = header + length;
        (input[0], &input[header..end], &input[end..])
    }
    let (_, info, _) = element(der);
    let (_, _, rest) = element(info);
    let (_, _, rest) = element(rest);
    let (tag, key, _) = element(rest);
    assert_eq!(tag, 0x04, "an OCTET STRING");
    key.to_vec()
}

#[test]
fn jsonwebtoken_signed_tokens_cross_check() {
    let payload = claims_json();
    let rs256_header = jsonwebtoken::Header {
        kid: Some(KID.to_owned()),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)
    };
    let pkcs1 = pem_der(&rsa_pkcs1_pem());
    assert_eq!(pkcs8_to_pkcs1(&pem_der(&rsa_pkcs8_pem())), pkcs1);
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1);
    for (name, kid) in [("kid", Some(KID)), ("no kid", None)] {
        let header = jsonwebtoken::Header {
            kid: kid.map(str::to_owned),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)
        };
        let token = jsonwebtoken::encode(&header, &payload, &key).expect(name);
        let verified = verify_rs256(&token, &keys(), &validation(), start_time()).expect(name);
        assert_eq!(verified.claims(), &claims(), "{name}");
        assert_eq!(verified.kid(), kid, "{name}");
    }

    // The same library signing with the wrong key, or another RSA
    // algorithm, is refused.
    let other =
        jsonwebtoken::EncodingKey::from_rsa_der(&pkcs8_to_pkcs1(&pem_der(&other_private_pem())));
    let token = jsonwebtoken::encode(&rs256_header, &payload, &other).expect("other key");
    assert_eq!(
        verify_rs256(&token, &keys(), &validation(), start_time()),
        Err(JwtVerifyError::BadSignature),
        "wrong key"
    );
    for algorithm in [
        jsonwebtoken::Algorithm::RS384,
        jsonwebtoken::Algorithm::RS512,
        jsonwebtoken::Algorithm::PS256,
    ] {
        let header = jsonwebtoken::Header {
            kid: Some(KID.to_owned()),
            ..jsonwebtoken::Header::new(algorithm)
        };
        let token = jsonwebtoken::encode(&header, &payload, &key).expect("other algorithm");
        assert_eq!(
            verify_rs256(&token, &keys(), &validation(), start_time()),
            Err(unsupported(&format!("{algorithm:?}"))),
            "{algorithm:?}"
        );
    }

    // HS256 keyed with the public key, by a library that does it for real.
    for secret in [
        read_data("test_rsa_public.pem").into_bytes(),
        read_data("test_rsa_public_pkcs1.pem").into_bytes(),
        pem_der(&read_data("test_rsa_public.pem")),
    ] {
        let header = jsonwebtoken::Header {
            kid: Some(KID.to_owned()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        };
        let key = jsonwebtoken::EncodingKey::from_secret(&secret);
        let token = jsonwebtoken::encode(&header, &payload, &key).expect("hs256");
        let error = verify_rs256(&token, &keys(), &validation(), start_time()).expect_err("hs256");
        assert_eq!(error, unsupported("HS256"));
        assert_safe_message("jsonwebtoken HS256", &error, &token);
    }
}

// ------------------------------------------------------------ mutation ----

#[test]
fn every_mutation_of_a_valid_token_is_refused_and_nothing_panics() {
    let token = valid_token();
    assert!(verify_rs256(&token, &keys(), &validation(), start_time()).is_ok());
    let bytes = token.as_bytes();
    let mut tried = 0;
    for index in 0..bytes.len() {
        // Another base64url character in this place, a dot, a padding sign.
        let original = bytes[index];
        let replacement = match original {
            b'A' => b'B',
            b'.' => b'A',
            _ => b'A',
        };
        for byte in [replacement, b'.', b'='] {
            if byte == original {
                continue;
            }
            let mut mutated = bytes.to_vec();
            mutated[index] = byte;
            let mutated = String::from_utf8(mutated).expect("ASCII");
            let result = verify_rs256(&mutated, &keys(), &validation(), start_time());
            assert!(result.is_err(), "mutation at {index} to {byte} verified");
            tried += 1;
        }
        // And the token cut short here.
        assert!(
            verify_rs256(&token[..index], &keys(), &validation(), start_time()).is_err(),
            "prefix of {index} bytes verified"
        );
    }
    assert!(tried > 2 * bytes.len());

    // Random strings over the characters that matter never panic.
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet: Vec<char> = "AZaz09-_.=+/{}\"é\0 ".chars().collect();
    for _ in 0..2000 {
        let len = rng.usize(0..400);
        let garbage: String = (0..len)
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect();
        let _ = verify_rs256(&garbage, &keys(), &validation(), start_time());
    }
    // And random JSON-ish segments, correctly encoded.
    for _ in 0..500 {
        let len = rng.usize(0..64);
        let header: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let token = format!(
            "{}.{}.{}",
            b64(&header),
            segments(&token)[1],
            segments(&token)[2]
        );
        assert!(verify_rs256(&token, &keys(), &validation(), start_time()).is_err());
    }
}

// ----------------------------------------------------------- key loading ----

/// A PEM section labelled `label` holding `der`.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A PKCS#1 `RSA PUBLIC KEY` PEM of `der`.
fn pkcs1_pem(der: &[u8]) -> String {
    pem("RSA PUBLIC KEY", der)
}

#[test]
fn public_keys_load_from_either_pem_whichever_comes_first() {
    let spki = read_data("test_rsa_public.pem");
    let other = pkcs1_pem(other_public_key().pkcs1_der());
    assert_eq!(
        RsaVerifyingKey::from_pem(&other).expect("other"),
        other_public_key()
    );
    assert_eq!(
        RsaVerifyingKey::from_pem(&format!("{other}{spki}")).expect("pkcs1 first"),
        other_public_key()
    );
    assert_eq!(
        RsaVerifyingKey::from_pem(&format!("{spki}{other}")).expect("spki first"),
        public_key()
    );
    // Line breaks written `\n`, CRLF, and text around the PEM are fine.
    for text in [
        spki.trim().replace('\n', "\\n"),
        other.trim().replace('\n', "\\n"),
        spki.replace('\n', "\r\n"),
        other.replace('\n', "\r\n"),
        format!("the key:\n{spki}\nend\n"),
    ] {
        assert!(RsaVerifyingKey::from_pem(&text).is_ok(), "{text}");
    }
    // Comparison, hashing and Debug.
    let set: std::collections::HashSet<RsaVerifyingKey> =
        [public_key(), public_key(), other_public_key()]
            .into_iter()
            .collect();
    assert_eq!(set.len(), 2);
    assert_eq!(
        format!("{:?}", public_key()),
        "RsaVerifyingKey { modulus_bits: 2048, .. }"
    );
}

#[test]
fn unusable_public_keys_are_refused_with_clear_messages_that_quote_nothing() {
    let spki = read_data("test_rsa_public.pem");
    let pkcs1 = read_data("test_rsa_public_pkcs1.pem");
    let body_line = pem_body_lines(&spki)[1].clone();
    let pkcs1_body_line = pem_body_lines(&pkcs1)[1].clone();
    let truncated: String = spki.lines().take(4).collect::<Vec<_>>().join("\n");
    let truncated_pkcs1: String = pkcs1.lines().take(4).collect::<Vec<_>>().join("\n");
    let corrupted = spki.replacen(&body_line, &"!".repeat(body_line.len()), 1);
    let corrupted_pkcs1 = pkcs1.replacen(&pkcs1_body_line, &"!".repeat(pkcs1_body_line.len()), 1);
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "the public key is empty"),
        ("blank", " \n ".to_owned(), "the public key is empty"),
        ("not pem", "hello".to_owned(), "not PEM text"),
        (
            "pkcs8 private key",
            rsa_pkcs8_pem(),
            "holds a private key, not a public key",
        ),
        (
            "pkcs1 private key",
            rsa_pkcs1_pem(),
            "holds a private key, not a public key",
        ),
        (
            "certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_owned(),
            "holds a certificate",
        ),
        (
            "other section",
            "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".to_owned(),
            "holds no public key",
        ),
        (
            "ec public key",
            EC_PUBLIC_PEM.to_owned(),
            "elliptic-curve key, not an RSA key",
        ),
        ("truncated spki", truncated, "truncated"),
        ("truncated pkcs1", truncated_pkcs1, "truncated"),
        ("corrupted spki", corrupted, "not valid base64"),
        ("corrupted pkcs1", corrupted_pkcs1, "not valid base64"),
        (
            "line breaks lost",
            spki.replace('\n', ""),
            "line breaks were lost",
        ),
        (
            "garbage spki der",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_owned(),
            "SubjectPublicKeyInfo public key is unusable",
        ),
        (
            "pkcs1 der in an spki label",
            pem("PUBLIC KEY", &pem_der(&pkcs1)),
            "SubjectPublicKeyInfo public key is unusable",
        ),
        (
            "spki der in a pkcs1 label",
            pkcs1_pem(&pem_der(&spki)),
            "PKCS#1 public key is unusable",
        ),
    ];
    for (name, pem, expected) in cases {
        let error = RsaVerifyingKey::from_pem(&pem).expect_err(name);
        let shown = format!("{error} {error:?}");
        assert!(shown.contains(expected), "{name}: {shown}");
        assert!(
            !shown.contains(&body_line),
            "{name} quotes the key: {shown}"
        );
        assert!(
            !shown.contains(&pkcs1_body_line),
            "{name} quotes the key: {shown}"
        );
        assert!(!error.is_transient(), "{name}");
    }
}

// ---------------------------------------------------- sets and options ----

#[test]
fn key_sets_hold_keys_by_id() {
    let mut set = JwtKeySet::new();
    assert!(set.is_empty());
    assert_eq!(set.insert("b", public_key()), None);
    assert_eq!(set.insert("a", other_public_key()), None);
    assert_eq!(set.insert("b", other_public_key()), Some(public_key()));
    assert_eq!(set.len(), 2);
    assert_eq!(set.key_ids().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(set.get("a"), Some(&other_public_key()));
    assert_eq!(set.get("c"), None);
    assert_eq!(set.remove("a"), Some(other_public_key()));
    assert_eq!(set.remove("a"), None);
    assert_eq!(set.len(), 1);

    let collected: JwtKeySet = [(KID, public_key()), (OTHER_KID, other_public_key())]
        .into_iter()
        .collect();
    assert_eq!(collected, both_keys());
    assert!(format!("{collected:?}").contains(OTHER_KID));

    // Without a kid, each key is tried: the other key's token verifies with
    // a set holding both.
    let token = jwt_of(
        &b64_json(&json!({"alg": "RS256"})),
        &b64_json(&claims_json()),
        rs256(&other_key_pair()),
    );
    let verified =
        verify_rs256(&token, &both_keys(), &validation(), start_time()).expect("any key");
    assert_eq!(verified.kid(), None);
    assert_eq!(
        verify_rs256(&token, &keys(), &validation(), start_time()),
        Err(JwtVerifyError::BadSignature)
    );
}

#[test]
fn validation_defaults_and_options() {
    let validation = JwtValidation::new([GOOGLE_AUD]);
    assert_eq!(validation.issuer, None);
    assert_eq!(validation.audience, [GOOGLE_AUD]);
    assert_eq!(validation.max_skew, Duration::from_secs(60));
    assert_eq!(validation.max_skew, JwtValidation::DEFAULT_MAX_SKEW);
    assert_eq!(validation.max_lifetime, Duration::from_secs(3600));
    assert_eq!(validation.max_lifetime, JwtValidation::DEFAULT_MAX_LIFETIME);
    assert!(validation.require_scope);

    let token = valid_token();
    // Any issuer when none is set.
    let any_issuer = signed_claims(&claims_with(&[("iss", Some(json!("someone@else")))]));
    assert!(verify_rs256(&any_issuer, &keys(), &validation, start_time()).is_ok());
    // Audiences accumulate.
    let local = signed_claims(&claims_with(&[("aud", Some(json!(LOCAL_AUD)))]));
    assert!(verify_rs256(&local, &keys(), &validation, start_time()).is_err());
    let both = validation.clone().with_audience(LOCAL_AUD);
    assert!(verify_rs256(&local, &keys(), &both, start_time()).is_ok());
    assert!(verify_rs256(&token, &keys(), &both, start_time()).is_ok());
    // No audience accepts nothing.
    let none = JwtValidation::new(Vec::<String>::new());
    assert_eq!(
        verify_rs256(&token, &keys(), &none, start_time()),
        Err(JwtVerifyError::AudienceMismatch {
            expected: vec![],
            actual: GOOGLE_AUD.to_owned(),
        })
    );
}
