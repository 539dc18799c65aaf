//! The harness can fail: broken scenarios (`tests/data/broken/`) fail on the
//! mock target with a message naming the file, the step and the problem,
//! and a deliberately wrong stored snapshot makes insta's assertion fail.
//!
//! The wrong-snapshot check runs the real insta assertion in a child process
//! (this test binary, running the ignored `wrong_snapshot_child`) with
//! `INSTA_UPDATE=no` set in the child's environment only, so neither
//! `INSTA_UPDATE=always` in the parent's environment nor a parallel test can
//! make insta accept (or rewrite) the wrong snapshot. The child asserts
//! against a copy in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use taskqueue_conformance::{Outcome, ScenarioRecord, load_file, run_mock_blocking};

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative)
}

/// Runs `tests/data/{relative}`, naming it by that relative path.
fn run(relative: &str) -> ScenarioRecord {
    let mut loaded = load_file(&data(relative)).unwrap_or_else(|error| panic!("{error}"));
    loaded.path = Path::new("tests/data").join(relative);
    run_mock_blocking(&loaded)
}

fn failure(record: &ScenarioRecord) -> &str {
    match &record.outcome {
        Outcome::Failed(message) => message,
        other => panic!("{} should fail, but: {other:?}", record.id),
    }
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "the message lacks `{part}`:\n{message}"
        );
    }
}

#[test]
fn a_wrong_expected_status_fails_and_the_scenario_stops() {
    let record = run("broken/wrong-status.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/wrong-status.yaml:9: step 1 (call tasks.get): ",
            "expected status 410, got 404",
        ],
    );
    assert_eq!(
        record.steps.len(),
        1,
        "the steps after a failure do not run"
    );
    assert_eq!(record.steps[0].result, "error not_found 404 notFound");
}

#[test]
fn an_exchange_never_consumed_fails() {
    let record = run("broken/never-consumed.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/never-consumed.yaml:17: step 2 (call tasks.get): ",
            "exchange #2 `token issue at-2` (line 23) was never consumed",
        ],
    );
    assert_eq!(record.steps[1].counters.unconsumed, 1);
    assert_eq!(record.counters.unconsumed, 1);
}

#[test]
fn an_unexpected_request_names_the_nearest_scripted_exchange() {
    let record = run("broken/unexpected-request.yaml");
    let message = failure(&record);
    assert_contains(
        message,
        &[
            "tests/data/broken/unexpected-request.yaml:11: step 1 (call tasks.get): ",
            "unexpected request `GET tasks/t2 [<at-1>]`",
            "the nearest scripted exchange is the next one, #1 `api GET tasks/t1 token at-1 -> 200` (line 14)",
            "path: expected `tasks/t1`, got `tasks/t2`",
            // The client saw the mock's 500, and the exchange stayed unconsumed.
            "expected success, got error transient 500",
            "exchange #1 `api GET tasks/t1 token at-1 -> 200` (line 14) was never consumed",
        ],
    );
    assert_eq!(
        record.steps[0].wire,
        ["GET tasks/t2 [<at-1>] -> 500 UNEXPECTED"]
    );
    assert_eq!(record.counters.unexpected, 1);
}

#[test]
fn a_reset_is_played_only_for_the_request_it_scripts() {
    // The reset front passes the request on, since it is not the one the
    // reset scripts; wiremock names what differs.
    let record = run("broken/reset-not-matched.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/reset-not-matched.yaml:11: step 1 (call tasks.get): ",
            "unexpected request `GET tasks/t2 [<at-1>]`",
            "the nearest scripted exchange is the next one, #1 `api GET tasks/t1 token at-1 -> reset` (line 14)",
            "path: expected `tasks/t1`, got `tasks/t2`",
            "exchange #1 `api GET tasks/t1 token at-1 -> reset` (line 14) was never consumed",
        ],
    );
    assert_eq!(
        record.steps[0].wire,
        ["GET tasks/t2 [<at-1>] -> 500 UNEXPECTED"]
    );
    assert_eq!(record.counters.unexpected, 1);
}

#[test]
fn an_out_of_order_request_names_the_exchange_it_matches() {
    let record = run("broken/out-of-order.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/out-of-order.yaml:11: step 1 (call tasks.list): ",
            "unexpected request `POST /token jwt_bearer scope=taskqueue`",
            "it matches scripted exchange #2 `token issue at-1` (line 16), but #1 `api GET tasks token at-1 -> 200` (line 13) comes first: exchanges are served in order (3 times)",
        ],
    );
}

#[test]
fn bad_args_name_the_key_and_nothing_is_sent() {
    let record = run("broken/bad-args.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/bad-args.yaml:10: step 2 (call tasks.lease): ",
            "bad args: args.num_tasks: expected a whole number from 0 to 4294967295, got \"many\" (for tasks.lease)",
        ],
    );
    assert_eq!(record.steps[1].result, "not run");
    assert_eq!(record.counters.api_requests, 0);
}

#[test]
fn a_wrong_result_and_wrong_counters_name_the_field() {
    let record = run("broken/wrong-result.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken/wrong-result.yaml:9: step 1 (call tasks.lease): ",
            r#"result.items[0].id: expected "t2", got "t1""#,
            "counters.api_requests: expected 2, got 1",
        ],
    );
}

#[test]
fn a_scenario_file_that_does_not_exist_is_a_load_error_not_a_panic() {
    let error = load_file(&data("broken/no-such-file.yaml")).expect_err("missing");
    assert_contains(&error.message, &["no-such-file.yaml: cannot read"]);
}

/// The environment variable that hands the child the snapshot directory.
const CHILD_DIR: &str = "TQ_CONFORMANCE_WRONG_SNAPSHOT_DIR";

#[test]
fn a_wrong_stored_snapshot_fails_the_insta_assertion() {
    let stored = data("wrong-snapshots/harness.wrong-snapshot@mock.snap");
    let wrong = std::fs::read_to_string(&stored).expect("the wrong snapshot is stored");
    assert!(
        wrong.contains(r#"result: "ok {\"id\":\"t9\"}""#),
        "the stored snapshot must stay deliberately wrong"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join("harness.wrong-snapshot@mock.snap");
    std::fs::copy(&stored, &copy).expect("copied");

    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "harness_fails::wrong_snapshot_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("INSTA_UPDATE", "no")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("INSTA_FORCE_UPDATE")
        .env(CHILD_DIR, dir.path())
        .output()
        .expect("the child runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "insta accepted a wrong snapshot:\n{text}"
    );
    assert_contains(
        &text,
        &[
            "wrong_snapshot_child",
            "snapshot assertion for 'harness.wrong-snapshot@mock' failed",
            // The diff shows the stored (wrong) line and the actual one.
            r#"result: "ok {\"id\":\"t9\"}""#,
            r#"result: "ok {\"id\":\"t1\"}""#,
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&copy).expect("still there"),
        wrong,
        "insta must not rewrite the stored snapshot"
    );
}

/// Run only by `a_wrong_stored_snapshot_fails_the_insta_assertion`, in a
/// child process: asserts the record of `wrong-snapshots/scenario.yaml`
/// against the stored wrong snapshot copied to the directory it is given.
#[test]
#[ignore = "run in a child process by a_wrong_stored_snapshot_fails_the_insta_assertion"]
fn wrong_snapshot_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        eprintln!("{CHILD_DIR} is not set: nothing to do outside the parent test");
        return;
    };
    let record = run("wrong-snapshots/scenario.yaml");
    assert_eq!(record.outcome, Outcome::Passed, "{:?}", record.outcome);
    insta::with_settings!({
        snapshot_path => PathBuf::from(dir),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_yaml_snapshot!("harness.wrong-snapshot@mock", record);
    });
}
