//! Unit tests of the private pieces: public key DER parsing, segment
//! decoding and quoting. The verifier as a whole is tested from outside, in
//! `tests/it/jwt_verify.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;

const SPKI: &str = taskqueue_test_support::keys::RSA_PUBLIC_PEM;
const PKCS1: &str = taskqueue_test_support::keys::RSA_PUBLIC_PKCS1_PEM;

/// The DER of a PEM text's first section.
fn der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).expect("PEM body")
}

/// A DER element with a definite, minimal length.
fn element(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    match len {
        0..=0x7f => out.push(u8::try_from(len).expect("short")),
        0x80..=0xff => out.extend([0x81, u8::try_from(len).expect("one byte")]),
        _ => out.extend([
            0x82,
            u8::try_from(len >> 8).expect("two bytes"),
            u8::try_from(len & 0xff).expect("low"),
        ]),
    }
    out.extend_from_slice(contents);
    out
}

/// A PKCS#1 `RSAPublicKey` with these integer contents.
fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut body = element(0x02, modulus);
    body.extend(element(0x02, exponent));
    element(0x30, &body)
}

/// An odd modulus of `bits` bits (a DER INTEGER's contents).
fn modulus(bits: usize) -> Vec<u8> {
    let mut bytes = vec![0xff_u8; bits / 8];
    if bytes.first().is_some_and(|first| first & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    bytes
}

#[test]
fn spki_and_pkcs1_read_the_same_key() {
    let spki = RsaVerifyingKey::from_pem(SPKI).expect("spki");
    let pkcs1 = RsaVerifyingKey::from_pem(PKCS1).expect("pkcs1");
    assert_eq!(spki, pkcs1);
    assert_eq!(spki.modulus_bits(), 2048);
    assert_eq!(spki.pkcs1_der(), der(PKCS1).as_slice());
    assert_eq!(
        RsaVerifyingKey::from_spki_der(&der(SPKI)).expect("spki der"),
        spki
    );
    assert_eq!(
        format!("{spki:?}"),
        "RsaVerifyingKey { modulus_bits: 2048, .. }"
    );
}

#[test]
fn accepts_spki_without_algorithm_parameters() {
    // rsaEncryption with the NULL parameters left out, as some encoders do.
    let mut algorithm = element(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    algorithm = element(0x30, &algorithm);
    let mut bits = vec![0];
    bits.extend(der(PKCS1));
    let mut body = algorithm;
    body.extend(element(0x03, &bits));
    let spki = element(0x30, &body);
    assert_eq!(
        RsaVerifyingKey::from_spki_der(&spki).expect("spki"),
        RsaVerifyingKey::from_pem(PKCS1).expect("pkcs1")
    );
}

#[test]
fn refuses_keys_ring_would_refuse_and_non_der_encodings() {
    let good = der(PKCS1);
    let mut trailing = good.clone();
    trailing.push(0);
    let mut indefinite = good.clone();
    indefinite[1] = 0x80;
    let mut long_length = vec![0x30, 0x83, 0x00];
    long_length.extend_from_slice(&good[2..]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "truncated"),
        ("truncated", good[..good.len() - 1].to_vec(), "truncated"),
        ("trailing data", trailing, "trailing data"),
        ("indefinite length", indefinite, "bad length"),
        ("non-minimal length", long_length, "bad length"),
        ("not a sequence", element(0x02, &[1]), "unexpected element"),
        (
            "1024-bit",
            rsa_public_key(&modulus(1024), &[1, 0, 1]),
            "1024 bits long, shorter",
        ),
        (
            "2040-bit",
            rsa_public_key(&modulus(2040), &[1, 0, 1]),
            "2040 bits long, shorter",
        ),
        (
            "16384-bit",
            rsa_public_key(&modulus(16384), &[1, 0, 1]),
            "longer than the 8192",
        ),
        (
            "tiny modulus",
            rsa_public_key(&[0x00, 0xff, 0xfd], &[3]),
            "16 bits long, shorter",
        ),
        (
            "negative modulus",
            rsa_public_key(&[0x80; 256], &[3]),
            "modulus or public exponent is negative",
        ),
        (
            "zero modulus",
            rsa_public_key(&[0], &[3]),
            "modulus is zero",
        ),
        (
            "empty modulus",
            rsa_public_key(&[], &[3]),
            "empty or not minimally encoded",
        ),
        (
            "padded modulus",
            rsa_public_key(&[0, 0x7f], &[3]),
            "empty or not minimally encoded",
        ),
        (
            "exponent 1",
            rsa_public_key(&modulus(2048), &[1]),
            "public exponent is unusable",
        ),
        (
            "even exponent",
            rsa_public_key(&modulus(2048), &[4]),
            "public exponent is unusable",
        ),
        (
            "huge exponent",
            rsa_public_key(&modulus(2048), &[2, 0, 0, 0, 1]),
            "public exponent is unusable",
        ),
        (
            "very long exponent",
            rsa_public_key(&modulus(2048), &[1; 12]),
            "public exponent is unusable",
        ),
    ];
    for (name, der, expected) in cases {
        let error = RsaVerifyingKey::from_pkcs1_der(&der).expect_err(name);
        assert!(error.to_string().contains(expected), "{name}: {error}");
        assert!(
            error
                .to_string()
                .starts_with("the PKCS#1 public key is unusable"),
            "{name}"
        );
    }
    let mut even = modulus(2048);
    if let Some(last) = even.last_mut() {
        *last = 0xfe;
    }
    let error =
        RsaVerifyingKey::from_pkcs1_der(&rsa_public_key(&even, &[1, 0, 1])).expect_err("even");
    assert!(error.to_string().contains("modulus is even"), "{error}");
    // The largest exponent ring takes, 2^33 - 1, is fine.
    assert!(
        RsaVerifyingKey::from_pkcs1_der(&rsa_public_key(
            &modulus(2048),
            &[1, 0xff, 0xff, 0xff, 0xff]
        ))
        .is_ok()
    );
}

#[test]
fn refuses_spki_of_other_algorithms() {
    let spki_with = |oid: &[u8], params: &[u8]| {
        let mut algorithm = element(0x06, oid);
        algorithm.extend_from_slice(params);
        let mut bits = vec![0];
        bits.extend(der(PKCS1));
        let mut body = element(0x30, &algorithm);
        body.extend(element(0x03, &bits));
        element(0x30, &body)
    };
    let ec = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let pss = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    let ed25519 = [0x2b, 0x65, 0x70];
    let rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("ec", spki_with(&ec, &[]), "elliptic-curve key"),
        ("pss", spki_with(&pss, &[]), "RSASSA-PSS key"),
        ("ed25519", spki_with(&ed25519, &[]), "not an RSA key"),
        (
            "rsa, params not NULL",
            spki_with(&rsa, &[0x05, 0x01, 0x00]),
            "not NULL",
        ),
        (
            "rsa, params and more",
            spki_with(&rsa, &[0x05, 0x00, 0x05, 0x00]),
            "trailing data",
        ),
    ];
    for (name, der, expected) in cases {
        let error = RsaVerifyingKey::from_spki_der(&der).expect_err(name);
        assert!(error.to_string().contains(expected), "{name}: {error}");
    }
}

#[test]
fn padded_segments_are_accepted_only_when_allowed_and_correct() {
    for (segment, decoded) in [
        ("e30=", b"{}".to_vec()),
        ("e30", b"{}".to_vec()),
        ("AA==", vec![0]),
        ("AAA=", vec![0, 0]),
        ("", vec![]),
    ] {
        assert_eq!(
            decode_padded_segment(segment, JwtSegment::Payload),
            Ok(decoded),
            "{segment:?}"
        );
    }
    for bad in ["e30==", "e3=", "AA=", "AA===", "AAAA=", "=", "A==="] {
        assert!(
            matches!(
                decode_padded_segment(bad, JwtSegment::Payload),
                Err(MalformedJwt::Padded(_) | MalformedJwt::NotBase64Url(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn segments_must_be_canonical_unpadded_base64url() {
    assert_eq!(decode_segment("", JwtSegment::Header), Ok(vec![]));
    assert_eq!(
        decode_segment("e30", JwtSegment::Header),
        Ok(b"{}".to_vec())
    );
    assert_eq!(
        decode_segment("e30=", JwtSegment::Header),
        Err(MalformedJwt::Padded(JwtSegment::Header))
    );
    // `e31` has non-zero trailing bits: a second spelling of `{}`.
    for bad in ["e31", "e3", "e30+", "e30/", "e3 0", "e30\n", "é30"] {
        assert_eq!(
            decode_segment(bad, JwtSegment::Payload),
            Err(MalformedJwt::NotBase64Url(JwtSegment::Payload)),
            "{bad:?}"
        );
    }
}

#[test]
fn json_must_be_one_object_without_repeated_members() {
    let parse =
        |json: &str| parse_object::<RawHeader>(json.as_bytes(), JwtSegment::Header).map(|_| ());
    assert_eq!(parse(" \t\r\n{}"), Ok(()));
    assert_eq!(parse(r#"{"alg":"RS256","x":{"y":[1,2]}}"#), Ok(()));
    for bad in [
        "",
        "[]",
        r#"["RS256", null, "k"]"#,
        "null",
        r#""x""#,
        "{",
        "{} {}",
        r#"{"alg":"RS256","alg":"none"}"#,
        "\u{feff}{}",
    ] {
        assert_eq!(
            parse(bad),
            Err(MalformedJwt::NotJsonObject(JwtSegment::Header)),
            "{bad:?}"
        );
    }
}

#[test]
fn quoted_values_are_short_safe_ascii() {
    assert_eq!(sanitize("HS256"), "HS256");
    assert_eq!(sanitize("a\"b\\c`d\ne\u{7f}é"), "a?b?c?d?e??");
    let long = "x".repeat(65);
    assert_eq!(sanitize(&long), format!("{}...", "x".repeat(64)));
    assert_eq!(sanitize(&long[..64]), "x".repeat(64));
}
