//! Unit tests of the name quoting and the error's auto traits.

use super::{ValidationError, quote};

#[test]
fn quote_cuts_long_names_on_character_boundaries() {
    let cases = [
        (String::new(), String::new()),
        ("a".repeat(64), "a".repeat(64)),
        ("a".repeat(65), format!("{}…", "a".repeat(64))),
        ("é".repeat(100), format!("{}…", "é".repeat(64))),
    ];
    for (input, expected) in cases {
        assert_eq!(quote(&input), expected, "input {input:?}");
    }
}

#[test]
fn error_is_send_sync_static() {
    fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<ValidationError>();
}
