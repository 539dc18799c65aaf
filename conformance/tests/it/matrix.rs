//! The behaviour × method × target matrix of the current scenarios on the
//! mock target, with the coverage inventory, is itself a reviewed snapshot
//! (`tests/it/snapshots/it__matrix__conformance-matrix.snap`): adding,
//! removing or breaking a scenario changes it, and the change is reviewed
//! like code. The coverage check must pass too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskqueue_conformance::check::ledger::{self, Ledger};
use taskqueue_conformance::report::card::RunReport;
use taskqueue_conformance::report::coverage::{self, Inventory};
use taskqueue_conformance::report::matrix;
use taskqueue_conformance::{LoadedScenario, Target, load_dir, run_all_mock};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

/// Every scenario, with paths relative to the workspace root.
fn scenarios() -> Vec<LoadedScenario> {
    let root = workspace_root();
    let mut scenarios = load_dir(&root.join("scenarios")).unwrap_or_else(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the scenarios do not load:\n{}", errors.join("\n"))
    });
    for scenario in &mut scenarios {
        if let Ok(relative) = scenario.path.strip_prefix(&root) {
            scenario.path = relative.to_owned();
        }
    }
    scenarios
}

#[test]
fn the_matrix_of_the_mock_run_is_reviewed_and_coverage_has_no_gap() {
    let scenarios = scenarios();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let records = runtime.block_on(run_all_mock(&scenarios, parallelism));

    let inventory = Inventory::builtin().expect("the discovery document");
    let ineligible = coverage::load_ineligible(&crate_dir().join("coverage/ineligible.yaml"))
        .unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let derivation = coverage::derive(&scenarios, &records);
    let coverage = coverage::check(&inventory, &ineligible, &derivation);

    let ledger = Ledger::load(&crate_dir().join("expected-failures.yaml"))
        .unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let known: BTreeSet<String> = scenarios.iter().map(|s| s.scenario.id.clone()).collect();
    let applied = ledger::apply(&ledger, &known, records);

    let report = RunReport {
        target: Target::Mock,
        results: applied.results,
        coverage: Some(coverage),
        coverage_skipped: None,
        ledger_problems: applied.problems,
        snapshot_problems: Vec::new(),
        wall: Duration::ZERO,
    };
    let rendered = matrix::render(&report);
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("conformance-matrix", rendered);
    });
    let problems = report.problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
