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
            "scenarios/demo.yaml:16:14: `soon` is not a duration such as `30m`",
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
            "unknown variant `exploded`",
        ),
        ("status: 200,", "status: OK,", "scenarios/demo.yaml:14:"),
        (
            "  scopes: [taskqueue]\n",
            "  scopes: [taskqueue]\n  lifetime: an hour\n",
            "scenarios/demo.yaml:8:13: `an hour` is not a duration",
        ),
        (
            "steps:\n",
            "clock: { start: 2030-01-01 }\nsteps:\n",
            "scenarios/demo.yaml:8:17: `2030-01-01` is not a UTC time",
        ),
        (
            "steps:\n",
            "client: { retry: { max_backoff: 32 } }\nsteps:\n",
            "scenarios/demo.yaml:8:",
        ),
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

#[test]
fn server_blocks_load_and_broken_ones_name_the_place() {
    let good = format!(
        "{GOOD}server:\n  seed:\n    - {{ id: t1, payloadBase64: aGVsbG8=, enqueueTimestamp: \"{{{{now-1h}}}}\", \
         retry_count: 2, leaseTimestamp: 1893456000000000 }}\n    - {{ id: t2, before_step: 2 }}\n  \
         acl: {{ user_emails: [a@example.com] }}\n  max_leases: 3\n  revoke: [at-1, {{ token: at-2, \
         from_step: 2 }}]\n"
    );
    let loaded = load_str(Path::new("scenarios/demo.yaml"), &good).expect("valid");
    let server = loaded.scenario.server.expect("a server block").value;
    assert_eq!(server.seed.len(), 2);
    assert_eq!(server.seed[0].value.retry_count, 2);
    assert_eq!(server.seed[1].value.before(), 2);
    assert_eq!(server.max_leases, Some(3));
    assert!(server.queue_exists);
    let revoked: Vec<(String, usize)> = server
        .revoke
        .iter()
        .map(|r| (r.label().to_owned(), r.from_step()))
        .collect();
    assert_eq!(revoked, [("at-1".to_owned(), 1), ("at-2".to_owned(), 2)]);

    let cases: &[(&str, &str)] = &[
        (
            "server:\n  skip: ''\n",
            "scenarios/demo.yaml:18:3: `server.skip` needs a reason",
        ),
        (
            "server:\n  skip: faults\n  run: faults\n",
            "scenarios/demo.yaml:18:3: `server` takes `skip` or `run`, not both",
        ),
        (
            "server:\n  seed:\n    - { id: ../t1 }\n",
            "scenarios/demo.yaml:19:7: seed `../t1`: invalid task name",
        ),
        (
            "server:\n  seed:\n    - { id: t1 }\n    - { id: t1 }\n",
            "scenarios/demo.yaml:20:7: seed `t1` is listed twice",
        ),
        (
            "server:\n  seed:\n    - { id: t1, payloadBase64: '*' }\n",
            "scenarios/demo.yaml:19:7: seed `t1`: payloadBase64: ",
        ),
        (
            "server:\n  seed:\n    - { id: t1, enqueueTimestamp: yesterday }\n",
            "scenarios/demo.yaml:19:7: seed `t1`: enqueueTimestamp: `yesterday` is neither",
        ),
        (
            "server:\n  seed:\n    - { id: t1, before_step: 3 }\n",
            "scenarios/demo.yaml:19:7: seed `t1`: before_step 3: the scenario has steps 1 to 2",
        ),
        (
            "server:\n  revoke: [token-1]\n",
            "scenarios/demo.yaml:18:3: `server.revoke`: `token-1` is not a token label",
        ),
        (
            "server:\n  revoke: [{ token: at-1, from_step: 5 }]\n",
            "`server.revoke`: `at-1` from step 5: the scenario has steps 1 to 2",
        ),
        (
            "server:\n  principal: wrong_key\n",
            "scenarios/demo.yaml:18:3: `server.principal: wrong_key` does not apply to the `static` grant",
        ),
        (
            "server:\n  seeds: []\n",
            "scenarios/demo.yaml:18:3: unknown field `seeds`",
        ),
    ];
    for (block, expected) in cases {
        let message = error_of(&format!("{GOOD}{block}"));
        assert!(
            message.contains(expected),
            "`{block}`:\n  got      {message}\n  expected {expected}"
        );
    }
}

#[test]
fn a_reset_is_a_response_alone_and_bad_combinations_name_the_place() {
    let reset = GOOD.replacen(
        "response: { status: 200, json: { id: t1 } }",
        "response: { reset: true }",
        1,
    );
    let loaded = load_str(Path::new("scenarios/demo.yaml"), &reset).expect("valid");
    let Exchange::Api(api) = &loaded.scenario.steps[0].value.exchanges[0].value else {
        panic!("an api exchange");
    };
    assert!(api.response.reset);
    assert_eq!(api.response.status, 0, "a reset answers no status");
    let token_reset = GOOD
        .replacen("grant: static", "grant: refresh_token", 1)
        .replacen(
            "    exchanges:\n",
            "    exchanges:\n      - token: { error: { reset: true } }\n      - token: { issue: at-1 }\n",
            1,
        );
    load_str(Path::new("scenarios/demo.yaml"), &token_reset).expect("a token reset loads");

    // (response, expected message)
    let cases: &[(&str, &str)] = &[
        (
            "{ status: 503, reset: true }",
            "scenarios/demo.yaml:12:9: a `reset: true` response answers nothing: it takes no \
             `status`",
        ),
        (
            "{ reset: true, json: { id: t1 } }",
            "scenarios/demo.yaml:12:9: a `reset: true` response answers nothing",
        ),
        (
            "{ reset: true, headers: { retry-after: '1' } }",
            "scenarios/demo.yaml:12:9: a `reset: true` response answers nothing",
        ),
        (
            "{ json: { id: t1 } }",
            "scenarios/demo.yaml:12:9: a response needs a `status` from 100 to 599, or `reset: \
             true`",
        ),
        (
            "{ reset: false, status: 0 }",
            "scenarios/demo.yaml:12:9: a response needs a `status` from 100 to 599",
        ),
        (
            "{ status: 200, json: {}, body: x }",
            "scenarios/demo.yaml:12:9: a response has either `json` or `body`, not both",
        ),
        ("{ reset: yes please }", "scenarios/demo.yaml:14:"),
    ];
    for (response, expected) in cases {
        let message = error_of(&GOOD.replacen("{ status: 200, json: { id: t1 } }", response, 1));
        assert!(
            message.contains(expected),
            "`{response}`:\n  got      {message}\n  expected {expected}"
        );
    }
    let token = error_of(&token_reset.replacen(
        "{ error: { reset: true } }",
        "{ error: { reset: true, status: 400 } }",
        1,
    ));
    assert!(
        token.contains("scenarios/demo.yaml:12:") && token.contains("answers nothing"),
        "{token}"
    );
}
