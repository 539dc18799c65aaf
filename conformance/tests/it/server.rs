//! The server target: every scenario against the reference server in
//! process. Those that apply pass (with the expected-failures ledger) and
//! match their reviewed snapshots in `conformance/snapshots/server/`; those
//! that do not are skipped, each with its reason; deliberately wrong
//! scripts (`tests/data/broken-server/`) fail, naming the difference; and
//! no secret of a run reaches a record.

use std::collections::BTreeSet;
use std::path::Path;

use taskqueue_conformance::check::ledger::{self, Ledger, Verdict};
use taskqueue_conformance::report::secrets::SecretScanner;
use taskqueue_conformance::target::applicability::{self, Applicability};
use taskqueue_conformance::{
    LoadedScenario, Outcome, ScenarioRecord, load_file, run_all_server, run_server_blocking,
};

use crate::snapshots::load_scenarios;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn every_scenario_that_applies_passes_on_the_server_and_matches_its_snapshot() {
    let scenarios = load_scenarios();
    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let run = runtime().block_on(run_all_server(&scenarios, parallelism));
    let ledger = Ledger::load(&crate_dir().join("expected-failures.yaml"))
        .unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let known: BTreeSet<String> = scenarios.iter().map(|s| s.scenario.id.clone()).collect();
    let applied = ledger::apply(&ledger, &known, run.records.clone());
    assert_eq!(applied.problems, Vec::<String>::new());

    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    let mut ran = 0;
    for (scenario, result) in scenarios.iter().zip(&applied.results) {
        let record = &result.record;
        // What is skipped is exactly what applicability says, with its reason.
        match (applicability::decide(&scenario.scenario), &record.outcome) {
            (Applicability::Skip(reason), Outcome::Skipped(shown)) => {
                assert!(
                    !reason.trim().is_empty(),
                    "{}: a skip without a reason",
                    record.id
                );
                assert_eq!(&reason, shown, "{}", record.id);
                assert!(
                    shown.starts_with("server.skip: ")
                        || shown.starts_with("not applicable (derived from the script): "),
                    "{}: {shown}",
                    record.id
                );
            }
            (Applicability::Skip(reason), other) => {
                failures.push(format!(
                    "{}: should be skipped ({reason}), got {other:?}",
                    record.id
                ));
            }
            (Applicability::Run { .. }, Outcome::Skipped(why)) => {
                failures.push(format!("{}: applies but was skipped: {why}", record.id));
            }
            (Applicability::Run { .. }, _) => ran += 1,
        }
        if result.verdict.fails_run() {
            failures.push(format!("{}@server: {}", record.id, result.verdict));
            continue;
        }
        if matches!(result.verdict, Verdict::ExpectedFailure { .. }) {
            continue;
        }
        let input = crate_dir().parent().expect("root").join(&scenario.path);
        if let Err(message) = taskqueue_conformance::report::snapshot::check_snapshot(
            record,
            scenario,
            &crate_dir().join("snapshots/server"),
            &input,
            &run.secrets,
        ) {
            mismatches.push(message);
        }
    }
    assert!(
        failures.is_empty() && mismatches.is_empty(),
        "{} failure(s) on the server target:\n{}\n{} snapshot(s) differ (review, then accept \
         with INSTA_UPDATE=always or cargo insta review):\n{}",
        failures.len(),
        failures.join("\n"),
        mismatches.len(),
        mismatches.join("\n")
    );
    // Most of the suite runs against the server, not a handful.
    assert!(ran >= 100, "only {ran} scenarios ran on the server target");
    // Every run touched secrets (tokens, client secrets, the test key).
    assert!(
        run.secrets.len() >= ran,
        "{} secrets for {ran} runs",
        run.secrets.len()
    );
}

/// Runs `tests/data/{relative}` on the server target.
fn run(relative: &str) -> ScenarioRecord {
    let path = crate_dir().join("tests/data").join(relative);
    let mut loaded: LoadedScenario = load_file(&path).unwrap_or_else(|error| panic!("{error}"));
    loaded.path = Path::new("tests/data").join(relative);
    run_server_blocking(&loaded).record
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
fn a_wrong_scripted_status_fails_against_the_servers_answer() {
    let record = run("broken-server/wrong-status.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken-server/wrong-status.yaml:7: step 1 (call tasks.get): ",
            "exchange 2 (scripted api GET tasks/t1 token at-1 -> 410; observed GET tasks/t1 [<at-1>] -> 200)",
            "status: expected 410, got 200",
            "reason: expected `deleted`, got none",
            "expected error not_found, got success",
        ],
    );
}

#[test]
fn a_wrong_scripted_field_fails_against_the_servers_answer() {
    let record = run("broken-server/wrong-field.yaml");
    assert_contains(
        failure(&record),
        &["response.items[0].retry_count: expected 2, got 1"],
    );
}

#[test]
fn a_scripted_time_one_second_off_fails_since_the_clocks_are_shared() {
    let record = run("broken-server/wrong-time.yaml");
    assert_contains(
        failure(&record),
        &[
            "response.items[0].leaseTimestamp: expected \"1893456061000000\", got \"1893456060000000\"",
        ],
    );
}

#[test]
fn a_scripted_token_request_that_does_not_happen_fails() {
    let record = run("broken-server/wrong-token.yaml");
    let message = failure(&record);
    assert_contains(
        message,
        &[
            "step 2 (call tasks.list): ",
            "exchange 1: a token request was scripted (token issue at-2), an API request came: GET tasks [<at-1>] -> 200",
            "exchange 2 (scripted api GET tasks token at-2 -> 200) did not happen",
            "counters.token_requests: expected 1, got 0",
        ],
    );
    // The first step passed: the token exchange was observed and compared.
    assert_eq!(record.steps[0].counters.token_requests, 1);
    assert!(
        record.steps[0].wire[1].starts_with(
            "GET /computeMetadata/v1/instance/service-accounts/default/token scope=taskqueue -> 200 <at-1>"
        ),
        "{:?}",
        record.steps[0].wire
    );
}

#[test]
fn a_seed_that_cannot_be_written_fails_the_setup_naming_the_task() {
    let record = run("broken-server/bad-seed.yaml");
    assert_contains(
        failure(&record),
        &[
            "tests/data/broken-server/bad-seed.yaml: setup: seed `t1`: a lease held at clock.start \
             must end a whole number of seconds",
        ],
    );
}

/// Scenarios of every grant, from `scenarios/`.
fn by_id(ids: &[&str]) -> Vec<LoadedScenario> {
    load_scenarios()
        .into_iter()
        .filter(|scenario| ids.contains(&scenario.scenario.id.as_str()))
        .collect()
}

#[test]
fn the_runs_secrets_are_known_to_the_scanner_and_absent_from_records() {
    let scenarios = by_id(&[
        "auth.refresh-on-401-tasks-get",
        "auth.jwt-bearer-refresh-on-401",
        "auth.metadata-refresh-on-401",
        "auth.static-token-401-not-resent",
    ]);
    assert_eq!(scenarios.len(), 4);
    for scenario in &scenarios {
        let result = run_server_blocking(scenario);
        let record = &result.record;
        assert_eq!(record.outcome, Outcome::Passed, "{}", record.id);
        let mut scanner = SecretScanner::new();
        result.secrets.add_to(&mut scanner);
        // Two tokens (one for the static grant), and the grant's own secrets.
        let minimum = match scenario.scenario.credentials.grant.name() {
            "refresh_token" => 4, // client secret, refresh token, at-1, at-2
            "jwt_bearer" => 4,    // the private key and its id, at-1, at-2
            "metadata" => 2,      // at-1, at-2
            _ => 1,               // the static token
        };
        assert!(
            scanner.len() >= minimum,
            "{}: {} secrets, expected at least {minimum}",
            record.id,
            scanner.len()
        );
        let text = serde_json::to_string(record).expect("serializes");
        scanner
            .scan(&record.id, &text)
            .expect("no secret in the record");
        let wire = record.steps[0].wire.join("\n");
        assert!(
            wire.contains("<at-1>") && wire.contains("revoked"),
            "{wire}"
        );
    }
    // A negative control: the scanner does find the test key of the JWT run.
    let jwt = scenarios
        .iter()
        .find(|scenario| scenario.scenario.id == "auth.jwt-bearer-refresh-on-401")
        .map(run_server_blocking)
        .expect("the JWT scenario");
    let mut scanner = SecretScanner::new();
    jwt.secrets.add_to(&mut scanner);
    let key: serde_json::Value =
        serde_json::from_str(taskqueue_conformance::scenario::setup::SERVICE_ACCOUNT_KEY)
            .expect("json");
    let leaked = format!(
        "oops: {}",
        key["private_key_id"].as_str().expect("a key id")
    );
    assert!(scanner.scan("a report", &leaked).is_err());
}
