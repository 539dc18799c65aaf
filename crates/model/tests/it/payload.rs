//! `Payload`: base64 in both alphabets, with and without padding; written URL-safe with padding.

use serde_json::json;
use taskqueue_model::{Payload, Task};

use crate::TestResult;

#[test]
fn from_base64_accepts_both_alphabets_padded_or_not() {
    // (input, decoded bytes or the error message)
    let cases: &[(&str, Result<&[u8], &str>)] = &[
        ("aGVsbG8/Pg==", Ok(b"hello?>")),
        ("aGVsbG8_Pg==", Ok(b"hello?>")),
        ("aGVsbG8/Pg", Ok(b"hello?>")),
        ("aGVsbG8_Pg", Ok(b"hello?>")),
        ("+/8=", Ok(&[0xfb, 0xff])),
        ("-_8", Ok(&[0xfb, 0xff])),
        ("aGk=", Ok(b"hi")),
        ("aGk", Ok(b"hi")),
        ("", Ok(b"")),
        (
            "aGk!",
            Err("invalid base64 in `payloadBase64`: Invalid symbol 33, offset 3."),
        ),
        (
            "+_8=",
            Err(
                "invalid base64 in `payloadBase64`: mixes the standard (`+`, `/`) and URL-safe (`-`, `_`) alphabets",
            ),
        ),
        (
            "aGk= ",
            Err("invalid base64 in `payloadBase64`: Invalid symbol 32, offset 4."),
        ),
        (
            "aGk\n",
            Err("invalid base64 in `payloadBase64`: Invalid symbol 10, offset 3."),
        ),
        // Partial padding is accepted too (the base64 crate's `Indifferent` mode).
        ("aA=", Ok(b"h")),
        ("aA", Ok(b"h")),
        (
            "aGk==",
            Err("invalid base64 in `payloadBase64`: Invalid symbol 61, offset 3."),
        ),
        (
            "a",
            Err("invalid base64 in `payloadBase64`: Invalid input length: 1"),
        ),
        (
            "aGl=",
            Err("invalid base64 in `payloadBase64`: Invalid last symbol 108, offset 2."),
        ),
    ];
    for &(input, expected) in cases {
        let decoded = Payload::from_base64(input);
        match expected {
            Ok(bytes) => assert_eq!(
                decoded.as_ref().map(Payload::as_bytes),
                Ok(bytes),
                "{input:?}"
            ),
            Err(message) => assert_eq!(
                decoded.map_err(|e| e.to_string()),
                Err(message.to_owned()),
                "{input:?}"
            ),
        }
    }
}

#[test]
fn to_base64_writes_url_safe_with_padding() -> TestResult {
    let cases: &[(&[u8], &str)] = &[
        (b"", ""),
        (b"h", "aA=="),
        (b"hi", "aGk="),
        (b"hi!", "aGkh"),
        (b"hello?>", "aGVsbG8_Pg=="),
        (&[0xfb, 0xff], "-_8="),
    ];
    for &(bytes, base64) in cases {
        let payload = Payload::new(bytes);
        assert_eq!(payload.to_base64(), base64, "{bytes:?}");
        assert_eq!(serde_json::to_value(&payload)?, json!(base64));
        let task = {
            let mut value = Task::default();
            value.payload = Some(payload);
            value
        };
        assert_eq!(
            serde_json::to_value(&task)?,
            json!({"payloadBase64": base64})
        );
    }
    Ok(())
}

#[test]
fn payload_field_errors_name_payload_base64() {
    let cases = [
        (
            json!({"payloadBase64": "a+b_"}),
            "invalid base64 in `payloadBase64`: mixes",
        ),
        (
            json!({"payloadBase64": "@@@@"}),
            "invalid base64 in `payloadBase64`: Invalid symbol 64, offset 0.",
        ),
        (
            json!({"payloadBase64": 5}),
            "expected a base64 string in `payloadBase64`",
        ),
        (
            json!({"payloadBase64": ["aGk="]}),
            "expected a base64 string in `payloadBase64`",
        ),
    ];
    for (input, fragment) in cases {
        let message = serde_json::from_value::<Task>(input.clone())
            .map(drop)
            .map_err(|e| e.to_string());
        assert!(
            matches!(&message, Err(m) if m.contains(fragment)),
            "{input}: {message:?}"
        );
    }
}

#[test]
fn payload_conversions_keep_the_bytes() {
    let bytes = b"caf\xc3\xa9".to_vec();
    let payloads = [
        Payload::new(bytes.clone()),
        Payload::from(bytes.clone()),
        Payload::from(&bytes[..]),
        Payload::from("café"),
        Payload::from(String::from("café")),
    ];
    for payload in payloads {
        assert_eq!(payload.as_bytes(), &bytes[..]);
        assert_eq!(payload.len(), 5);
        assert!(!payload.is_empty());
        assert_eq!(payload.into_bytes(), bytes);
    }
    assert!(Payload::default().is_empty());
}

#[test]
fn debug_shows_only_the_length() {
    let secret = Payload::new("password=hunter2");
    let debug = format!("{secret:?}");
    assert_eq!(debug, "Payload { len: 16 }");
    let task_debug = format!("{:?}", Task::new(secret));
    assert!(!task_debug.contains("hunter2"), "{task_debug}");
    assert!(task_debug.contains("Payload { len: 16 }"), "{task_debug}");
}
