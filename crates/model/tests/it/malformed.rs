//! Malformed input: each case is a serde error with a useful message, never a panic.

use serde::de::DeserializeOwned;
use taskqueue_model::{ErrorEnvelope, Task, TaskQueue, Tasks};

/// A parser under test: the error message for some JSON text, or `None` if it parsed.
type Parser = fn(&str) -> Option<String>;

/// Parses `json` as `T` and returns the error message, or `None` if it parsed.
fn error_of<T: DeserializeOwned>(json: &str) -> Option<String> {
    serde_json::from_str::<T>(json).err().map(|e| e.to_string())
}

#[test]
fn malformed_input_gives_a_useful_error() {
    // (input, the parser, a fragment the message must contain)
    let cases: &[(&str, Parser, &str)] = &[
        ("", error_of::<Task>, "EOF while parsing a value"),
        (
            r#"{"kind": "taskqueues#task", "id": "f3"#,
            error_of::<Task>,
            "EOF while parsing a string",
        ),
        (
            r#"{"kind": "taskqueues#task","#,
            error_of::<Task>,
            "EOF while parsing a value at line 1 column 27",
        ),
        (
            "[]",
            error_of::<Task>,
            "invalid type: sequence, expected struct Task",
        ),
        (
            r#"{"retry_count": "x"}"#,
            error_of::<Task>,
            r#"invalid type: string "x", expected i32"#,
        ),
        (
            r#"{"retry_count": 3000000000}"#,
            error_of::<Task>,
            "invalid value: integer `3000000000`, expected i32",
        ),
        (
            r#"{"leaseTimestamp": true}"#,
            error_of::<Task>,
            "invalid type: boolean `true`, expected a timestamp in microseconds since the Unix epoch",
        ),
        (
            r#"{"enqueueTimestamp": 1498510174.5}"#,
            error_of::<Task>,
            "invalid value: floating point `1498510174.5`, expected a timestamp in microseconds",
        ),
        (
            r#"{"enqueueTimestamp": "1498510174.5"}"#,
            error_of::<Task>,
            r#"invalid value: string "1498510174.5", expected a timestamp in microseconds"#,
        ),
        (
            r#"{"payloadBase64": "not base64!"}"#,
            error_of::<Task>,
            "invalid base64 in `payloadBase64`",
        ),
        (
            r#"{"id": 5}"#,
            error_of::<Task>,
            "invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"items": 5}"#,
            error_of::<Tasks>,
            "invalid type: integer `5`, expected a sequence",
        ),
        (
            r#"{"items": [{"leaseTimestamp": "soon"}]}"#,
            error_of::<Tasks>,
            r#"invalid value: string "soon""#,
        ),
        (
            r#"{"items": [5]}"#,
            error_of::<Tasks>,
            "invalid type: integer `5`, expected struct Task",
        ),
        (
            r#"{"maxLeases": "7"}"#,
            error_of::<TaskQueue>,
            r#"invalid type: string "7", expected i32"#,
        ),
        (
            r#"{"stats": {"oldestTask": "soon"}}"#,
            error_of::<TaskQueue>,
            r#"invalid value: string "soon", expected an int64"#,
        ),
        (
            r#"{"stats": {"leasedLastHour": 0.5}}"#,
            error_of::<TaskQueue>,
            "invalid value: floating point `0.5`, expected an int64",
        ),
        (
            r#"{"acl": {"adminEmails": "a@b.c"}}"#,
            error_of::<TaskQueue>,
            "expected a sequence",
        ),
        ("{}", error_of::<ErrorEnvelope>, "missing field `error`"),
        (
            r#"{"error": {"code": 70000}}"#,
            error_of::<ErrorEnvelope>,
            "invalid value: integer `70000`, expected u16",
        ),
        (
            r#"{"error": {"errors": {}}}"#,
            error_of::<ErrorEnvelope>,
            "expected a sequence",
        ),
        (
            r#"{"error": "boom"}"#,
            error_of::<ErrorEnvelope>,
            "invalid type: string \"boom\"",
        ),
    ];
    for &(input, parse, fragment) in cases {
        match parse(input) {
            Some(message) => assert!(message.contains(fragment), "{input}: {message}"),
            None => panic!("{input}: parsed, expected an error containing {fragment:?}"),
        }
    }
}
