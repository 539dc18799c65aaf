//! Every scenario of `scenarios/` runs on the mock target and must match its
//! snapshot `conformance/snapshots/<id>@mock.snap` (its `ScenarioRecord`, as
//! YAML). Review new or changed snapshots before accepting them; CI runs with
//! `INSTA_UPDATE=no`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskqueue_conformance::check::ledger::Ledger;
use taskqueue_conformance::{LoadedScenario, Outcome, Target, load_dir, run_all_mock};

/// The workspace root (the parent of this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the workspace")
        .to_owned()
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots")
}

/// Every scenario, with paths relative to the workspace root so failure
/// messages (and the snapshots of expected failures) read the same anywhere.
pub(crate) fn load_scenarios() -> Vec<LoadedScenario> {
    let root = workspace_root();
    let mut scenarios = load_dir(&root.join("scenarios")).unwrap_or_else(|errors| {
        panic!(
            "the scenarios do not load:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    for scenario in &mut scenarios {
        if let Ok(relative) = scenario.path.strip_prefix(&root) {
            scenario.path = relative.to_owned();
        }
    }
    scenarios
}

fn ledger() -> Ledger {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected-failures.yaml");
    if !path.exists() {
        return Ledger::default();
    }
    Ledger::load(&path).unwrap_or_else(|errors| panic!("{}", errors.join("\n")))
}

#[test]
fn every_scenario_matches_its_mock_snapshot() {
    let scenarios = load_scenarios();
    let ledger = ledger();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let wall = taskqueue_clock::system();
    let started = wall.monotonic();
    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get() * 4);
    let records = runtime.block_on(run_all_mock(&scenarios, parallelism));
    let elapsed = wall.monotonic().saturating_sub(started);
    eprintln!(
        "{} scenarios on the mock target in {:.2} s (wall), {parallelism} at a time",
        scenarios.len(),
        elapsed.as_secs_f64()
    );

    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    for (scenario, record) in scenarios.iter().zip(&records) {
        let name = format!("{}@mock", record.id);
        let listed = ledger.entry(&record.id, Target::Mock);
        match (&record.outcome, listed) {
            (Outcome::Failed(message), None) => {
                failures.push(format!("{name}: {message}"));
                continue;
            }
            (Outcome::Passed, Some(entry)) => failures.push(format!(
                "{name}: passes, so its expected-failures entry ({}) is stale",
                entry.place
            )),
            _ => {}
        }
        let input = workspace_root().join(&scenario.path);
        if let Err(message) = taskqueue_conformance::report::snapshot::check_snapshot(
            record,
            scenario,
            &snapshot_dir(),
            &input,
            &taskqueue_conformance::report::secrets::SecretScanner::new(),
        ) {
            mismatches.push(message);
        }
    }
    assert!(
        failures.is_empty() && mismatches.is_empty(),
        "{} scenario(s) failed on the mock target:\n{}\n{} snapshot(s) differ (review them, \
         then accept with INSTA_UPDATE=always or cargo insta review):\n{}",
        failures.len(),
        failures.join("\n"),
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Snapshot files (`.snap`) under `dir`, recursively.
fn snapshot_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            snapshot_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "snap") {
            files.push(path);
        }
    }
}

#[test]
fn no_snapshot_is_unreferenced() {
    let ids: BTreeSet<String> = load_scenarios()
        .into_iter()
        .map(|scenario| scenario.scenario.id)
        .collect();
    let mut files = Vec::new();
    snapshot_files(&snapshot_dir(), &mut files);
    files.sort();
    let unreferenced: Vec<String> = files
        .iter()
        .filter(|file| {
            let stem = file
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            match stem.rsplit_once('@') {
                Some((id, "mock" | "server" | "real")) => !ids.contains(id),
                _ => true,
            }
        })
        .map(|file| {
            file.strip_prefix(workspace_root())
                .unwrap_or(file)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        unreferenced.is_empty(),
        "snapshot file(s) whose `<id>@<target>` names no current scenario (delete them, or \
         restore the scenario):\n{}",
        unreferenced.join("\n")
    );
}
