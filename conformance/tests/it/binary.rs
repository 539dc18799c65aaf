//! The `taskqueue-conformance` binary checks snapshots like the tests do:
//! a wrong stored snapshot makes the run fail, and nothing is rewritten.

use std::path::Path;
use std::process::Command;

const SCENARIO: &str = "methods.tasks-get-happy";

fn run(snapshots: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    Command::new(env!("CARGO_BIN_EXE_taskqueue-conformance"))
        .current_dir(root)
        .args(["--target", "mock", "--filter", SCENARIO, "--snapshots"])
        .arg(snapshots)
        .env("INSTA_UPDATE", "no")
        .env("CI", "true")
        .output()
        .expect("the binary runs")
}

fn stored_snapshot() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{SCENARIO}@mock.snap"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_binary_passes_with_the_reviewed_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join(format!("{SCENARIO}@mock.snap")),
        stored_snapshot(),
    )
    .expect("copy the snapshot");
    let output = run(dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 pass"), "{stdout}");
}

#[test]
fn the_binary_fails_on_a_wrong_snapshot_and_rewrites_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{SCENARIO}@mock.snap"));
    let wrong = stored_snapshot().replace("tasks/t1", "tasks/t9");
    assert_ne!(
        wrong,
        stored_snapshot(),
        "the edit must change the snapshot"
    );
    std::fs::write(&path, &wrong).expect("write the wrong snapshot");
    let output = run(dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{SCENARIO}@mock")) && stdout.contains("snapshot"),
        "the failure names the snapshot:\n{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("still there"),
        wrong,
        "the stored snapshot is left alone"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no .snap.new written: {leftovers:?}");
}

#[cfg(feature = "server")]
#[test]
fn the_binary_runs_the_server_target_against_its_reviewed_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let output = Command::new(env!("CARGO_BIN_EXE_taskqueue-conformance"))
        .current_dir(root)
        .args(["--target", "server", "--filter", "lease."])
        .env("INSTA_UPDATE", "no")
        .env("CI", "true")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("lease.stale-holder-refused") && stdout.contains(" server "),
        "{stdout}"
    );
    assert!(stdout.contains("scenario(s) on server: "), "{stdout}");
    assert!(
        stdout.contains("coverage: not checked (checked on the mock target only)"),
        "{stdout}"
    );
}
