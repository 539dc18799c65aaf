//! Broken scenario files are refused with `file:line:column` and the key.

use super::*;

const GOOD: &str = "\
schema: 1
id: demo.get
title: A task is read
behaviors: [TQ-DEMO]
credentials:
  grant: static
  scopes: [taskqueue]
steps:
  - call: tasks.get
    args: { task: t1 }
    exchanges:
      - api:
          request: { method: GET, path: tasks/t1, token: at-1 }
          response: { status: 200, json: { id: t1 } }
    expect: { ok: { id: t1 } }
  - advance: 30m
";

fn error_of(text: &str) -> String {
    load_str(Path::new("scenarios/demo.yaml"), text)
        .expect_err("the file is broken")
        .message
}

#[test]
fn a_good_file_loads() {
    let loaded = load_str(Path::new("scenarios/demo.yaml"), GOOD).expect("valid");
    assert_eq!(loaded.scenario.id, "demo.get");
    assert_eq!(loaded.scenario.steps.len(), 2);
    assert_eq!(loaded.scenario.steps[1].referenced.line(), 16);
}

#[test]
fn broken_files_name_the_place_and_the_problem() {
    // (edit applied to GOOD, expected message)
    let cases: &[(&str, &str, &str)] = &[
        (
            "title: A task is read",
            "titel: A task is read",
            "scenarios/demo.yaml:3:1: unknown field `titel`",
        ),
        (
            "args: { task: t1 }",
            "args: { task: t1 }\n    retries: 3",
            "scenarios/demo.yaml:11:5: unknown field `retries`",
        ),
        (
            "grant: static",
            "grant: password",
            "scenarios/demo.yaml:6:10: unknown variant `password`",
        ),
        (
            "call: tasks.get",
            "call: tasks.fetch",
            "scenarios/demo.yaml:9:11: unknown method `tasks.fetch`",
        ),
        (
            "advance: 30m",
            "advance: soon",
            "scenarios/demo.yaml:16:14: `advance: soon` is not a duration",
        ),
        (
            "schema: 1",
            "schema: 2",
            "scenarios/demo.yaml: `schema: 2` is not supported",
        ),
        (
            "  - advance: 30m\n",
            "  - args: {}\n",
            "scenarios/demo.yaml:16:5: step 2: give exactly one of `call` and `advance`",
        ),
        (
            "expect: { ok: { id: t1 } }",
            "expect: { error: { kind: exploded } }",
            "step 1: unknown error kind `exploded`",
        ),
        ("status: 200,", "status: OK,", "scenarios/demo.yaml:14:"),
        (
            "schema: 1\n",
            "schema: 1\nschema: 1\n",
            "scenarios/demo.yaml:2:1: duplicate",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(GOOD.contains(from), "the case edits `{from}`");
        let message = error_of(&GOOD.replacen(from, to, 1));
        assert!(
            message.contains(expected),
            "editing `{from}` to `{to}`:\n  got      {message}\n  expected {expected}"
        );
    }
}
