//! The runner's entry points work from any caller: a multi-thread runtime,
//! a current-thread one, or none; progress is reported once per scenario.

use std::path::Path;

use taskqueue_conformance::{
    LoadedScenario, Outcome, load_file, run_all_mock_with_progress, run_mock, run_mock_blocking,
};

fn harness_scenarios() -> Vec<LoadedScenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/harness");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/harness")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| load_file(file).unwrap_or_else(|error| panic!("{error}")))
        .collect()
}

#[test]
fn run_mock_works_on_a_multi_thread_runtime() {
    let scenario = harness_scenarios().remove(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let record = runtime.block_on(run_mock(&scenario));
    assert_eq!(record.outcome, Outcome::Passed, "{:?}", record.outcome);
    assert_eq!(record.id, scenario.scenario.id);
}

#[test]
fn run_mock_blocking_inside_a_runtime_fails_cleanly_instead_of_panicking() {
    let scenario = harness_scenarios().remove(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let record = runtime.block_on(async { run_mock_blocking(&scenario) });
    match record.outcome {
        Outcome::Failed(message) => assert!(message.contains("use run_mock there"), "{message}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn run_all_reports_progress_once_per_scenario_and_keeps_the_input_order() {
    let scenarios = harness_scenarios();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut seen = Vec::new();
    let run = runtime.block_on(run_all_mock_with_progress(&scenarios, 3, |progress| {
        assert_eq!(progress.total, scenarios.len());
        assert_eq!(progress.record.id, progress.scenario.scenario.id);
        seen.push((progress.done, progress.scenario.scenario.id.clone()));
    }));
    assert_eq!(seen.len(), scenarios.len());
    assert_eq!(
        seen.iter().map(|(done, _)| *done).collect::<Vec<_>>(),
        (1..=scenarios.len()).collect::<Vec<_>>()
    );
    // The mock's secrets (its credentials and every token it minted) reach
    // the reports' scanner, as every target's do.
    assert!(
        run.secrets.len() >= 3,
        "the mock run hands its secrets to the scanner: {:?}",
        run.secrets
    );
    let records = run.records;
    let ids: Vec<_> = records.iter().map(|record| record.id.clone()).collect();
    let expected: Vec<_> = scenarios.iter().map(|s| s.scenario.id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(records.iter().all(|record| record.outcome.is_passed()));
}
