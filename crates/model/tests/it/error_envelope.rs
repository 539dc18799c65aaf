//! `ErrorEnvelope`: Google's error bodies, full or simplified, and the helpers that build and read them.

use serde_json::json;
use taskqueue_model::ErrorEnvelope;

use crate::TestResult;

/// What a test expects to read from an envelope.
#[derive(Debug, PartialEq)]
struct Reading<'a> {
    code: Option<u16>,
    reason: Option<&'a str>,
    message: Option<&'a str>,
    status: Option<&'a str>,
    location: Option<(&'a str, &'a str)>,
    details: usize,
}

fn read(envelope: &ErrorEnvelope) -> Reading<'_> {
    let first = envelope.error.errors.first();
    Reading {
        code: envelope.code(),
        reason: envelope.reason(),
        message: envelope.message(),
        status: envelope.error.status.as_deref(),
        location: first.and_then(|d| Some((d.location_type.as_deref()?, d.location.as_deref()?))),
        details: envelope.error.errors.len(),
    }
}

#[test]
fn error_envelopes_of_every_shape_parse() -> TestResult {
    let cases = [
        (
            "full Google envelope, with a location",
            json!({"error": {
                "errors": [{"domain": "global", "reason": "required", "message": "Login Required",
                            "locationType": "header", "location": "Authorization"}],
                "code": 401, "message": "Login Required"}}),
            Reading {
                code: Some(401),
                reason: Some("required"),
                message: Some("Login Required"),
                status: None,
                location: Some(("header", "Authorization")),
                details: 1,
            },
        ),
        (
            "later Google envelope with `status`",
            json!({"error": {
                "code": 403, "message": "Insufficient Permission",
                "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
                "status": "PERMISSION_DENIED"}}),
            Reading {
                code: Some(403),
                reason: Some("insufficientPermissions"),
                message: Some("Insufficient Permission"),
                status: Some("PERMISSION_DENIED"),
                location: None,
                details: 1,
            },
        ),
        (
            "AppScale's envelope without `errors`",
            json!({"error": {"code": 500, "message": "x"}}),
            Reading {
                code: Some(500),
                reason: None,
                message: Some("x"),
                status: None,
                location: None,
                details: 0,
            },
        ),
        (
            "details only: the message falls back to the first detail's",
            json!({"error": {"errors": [{"reason": "notFound", "message": "Not Found"}, {"reason": "other"}]}}),
            Reading {
                code: None,
                reason: Some("notFound"),
                message: Some("Not Found"),
                status: None,
                location: None,
                details: 2,
            },
        ),
        (
            "null errors, and fields beside `error`",
            json!({"error": {"code": 404, "errors": null}, "trace": "abc"}),
            Reading {
                code: Some(404),
                reason: None,
                message: None,
                status: None,
                location: None,
                details: 0,
            },
        ),
    ];
    for (name, input, expected) in cases {
        let envelope: ErrorEnvelope = serde_json::from_value(input)?;
        assert_eq!(read(&envelope), expected, "{name}");
    }
    Ok(())
}

#[test]
fn unknown_fields_inside_error_survive() -> TestResult {
    let input = json!({"error": {"code": 400, "details": [{"@type": "x"}],
                                 "errors": [{"reason": "invalid", "extendedHelp": "https://example.com"}]}});
    let envelope: ErrorEnvelope = serde_json::from_value(input.clone())?;
    assert_eq!(
        envelope.error.unknown_fields.get("details"),
        Some(&json!([{"@type": "x"}]))
    );
    assert_eq!(serde_json::to_value(&envelope)?, input);
    Ok(())
}

#[test]
fn constructors_build_the_google_envelope() -> TestResult {
    let cases = [
        (
            ErrorEnvelope::new(404, "notFound", "Queue not found."),
            json!({"error": {"code": 404, "message": "Queue not found.",
                             "errors": [{"domain": "global", "reason": "notFound", "message": "Queue not found."}]}}),
        ),
        (
            ErrorEnvelope::new(401, "authError", "Invalid Credentials")
                .with_location("header", "Authorization"),
            json!({"error": {"code": 401, "message": "Invalid Credentials",
                             "errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                                         "locationType": "header", "location": "Authorization"}]}}),
        ),
        (
            ErrorEnvelope::default().with_location("parameter", "numTasks"),
            json!({"error": {"errors": [{"locationType": "parameter", "location": "numTasks"}]}}),
        ),
    ];
    for (envelope, expected) in cases {
        assert_eq!(serde_json::to_value(&envelope)?, expected);
    }
    Ok(())
}
