//! JSON subset matching, as `expect.ok` and request `body` use it.
//!
//! `expected` is contained in `actual` when:
//! - objects: every key of `expected` is in `actual` with a contained value
//!   (`{}` accepts any object); an expected `null` also accepts a missing key;
//! - arrays: same length, each element contained in its counterpart;
//! - scalars: equal, where a number also equals a string holding the same
//!   integer (the int64 wire form: `retry_count: 1`, `leaseTimestamp: "…"`).

use serde_json::{Map, Value};

/// The first place where `actual` does not contain `expected`, as
/// `.items[0].id: expected "t1", got "t2"`; `None` when it does.
pub(crate) fn mismatch(expected: &Value, actual: &Value) -> Option<String> {
    walk(expected, actual, &mut String::new())
}

fn walk(expected: &Value, actual: &Value, path: &mut String) -> Option<String> {
    let here = |path: &str| if path.is_empty() { "." } else { path }.to_owned();
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, want_value) in want {
                let length = path.len();
                path.push('.');
                path.push_str(key);
                let problem = match have.get(key) {
                    Some(have_value) => walk(want_value, have_value, path),
                    None if want_value.is_null() => None,
                    None => Some(format!(
                        "{path}: missing (expected {})",
                        compact(want_value)
                    )),
                };
                path.truncate(length);
                if problem.is_some() {
                    return problem;
                }
            }
            None
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                return Some(format!(
                    "{}: expected {} item(s), got {}: {}",
                    here(path),
                    want.len(),
                    have.len(),
                    compact(actual)
                ));
            }
            for (index, (want_item, have_item)) in want.iter().zip(have).enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                let problem = walk(want_item, have_item, path);
                path.truncate(length);
                if problem.is_some() {
                    return problem;
                }
            }
            None
        }
        _ if scalar_equal(expected, actual) => None,
        _ => Some(format!(
            "{}: expected {}, got {}",
            here(path),
            compact(expected),
            compact(actual)
        )),
    }
}

fn scalar_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(number), Value::String(text))
        | (Value::String(text), Value::Number(number)) => number.to_string() == text.trim(),
        _ => expected == actual,
    }
}

/// `actual` cut down to the shape of `expected`: the keys `expected` names
/// (in its order), recursively; what a snapshot shows of a result.
pub(crate) fn project(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            let mut projected = Map::new();
            for (key, want_value) in want {
                if let Some(have_value) = have.get(key) {
                    projected.insert(key.clone(), project(want_value, have_value));
                }
            }
            Value::Object(projected)
        }
        (Value::Array(want), Value::Array(have)) => Value::Array(
            have.iter()
                .enumerate()
                .map(|(index, item)| match want.get(index) {
                    Some(want_item) => project(want_item, item),
                    None => item.clone(),
                })
                .collect(),
        ),
        _ => actual.clone(),
    }
}

/// One-line JSON.
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subsets_match_and_mismatches_name_the_path() {
        let actual = json!({
            "id": "t1", "retry_count": 1, "leaseTimestamp": "1893456060000000",
            "items": [{"id": "a", "tag": "x"}, {"id": "b"}]
        });
        for ok in [
            json!({}),
            json!({"id": "t1"}),
            json!({"retry_count": "1", "leaseTimestamp": 1_893_456_060_000_000_i64}),
            json!({"items": [{"id": "a"}, {}]}),
            json!({"absent": null}),
        ] {
            assert_eq!(mismatch(&ok, &actual), None, "{ok}");
        }
        let cases = [
            (json!({"id": "t2"}), r#".id: expected "t2", got "t1""#),
            (json!({"items": [{}]}), ".items: expected 1 item(s), got 2"),
            (
                json!({"items": [{}, {"id": "c"}]}),
                r#".items[1].id: expected "c", got "b""#,
            ),
            (
                json!({"payloadBase64": "aGk="}),
                r#".payloadBase64: missing (expected "aGk=")"#,
            ),
            (json!([]), ". : expected"),
        ];
        for (expected, message) in cases {
            let problem = mismatch(&expected, &actual).expect("mismatch");
            let message = message.replace(". : ", ".: ");
            assert!(problem.starts_with(&message), "{problem} vs {message}");
        }
    }

    #[test]
    fn projection_keeps_the_expected_keys_in_order() {
        let actual = json!({"id": "t1", "tag": "x", "items": [{"id": "a", "n": 1}]});
        let expected = json!({"items": [{"id": "z"}], "id": "t9", "gone": 1});
        assert_eq!(
            compact(&project(&expected, &actual)),
            r#"{"items":[{"id":"a"}],"id":"t1"}"#
        );
    }
}
