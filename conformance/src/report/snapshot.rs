//! insta snapshots of scenario records, one per scenario × target:
//! `<dir>/<id>@<target>.snap`. Shared by the snapshot test and the
//! `taskqueue-conformance` binary, so both check the same files the same way.
//!
//! insta decides what happens to a new or changed snapshot: with
//! `INSTA_UPDATE=no` (and on CI) the check fails and nothing is written;
//! otherwise a `.snap.new` is written for review (`cargo insta review`, or
//! `INSTA_UPDATE=always` after reading the diff).

use std::panic::AssertUnwindSafe;
use std::path::Path;

use crate::report::ScenarioRecord;
use crate::report::secrets::SecretScanner;
use crate::scenario::load::LoadedScenario;

/// The snapshot name of `record`: `<id>@<target>`.
pub fn snapshot_name(record: &ScenarioRecord) -> String {
    format!("{}@{}", record.id, record.target.name())
}

/// Asserts `record` against its snapshot in `dir` (an absolute path).
/// `input` is the scenario file, recorded in the snapshot's header.
///
/// Before anything can be written, the record is scanned for every secret
/// `secrets` knows; a hit is an error and nothing is written.
pub fn check_snapshot(
    record: &ScenarioRecord,
    scenario: &LoadedScenario,
    dir: &Path,
    input: &Path,
    secrets: &SecretScanner,
) -> Result<(), String> {
    let name = snapshot_name(record);
    let text = serde_json::to_string(record)
        .map_err(|error| format!("{name}: the record cannot be serialized: {error}"))?;
    secrets
        .scan(&format!("snapshot {name}"), &text)
        .map_err(|hit| hit.to_string())?;
    let asserted = std::panic::catch_unwind(AssertUnwindSafe(|| {
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            description => scenario.scenario.title.as_str(),
            input_file => input,
            omit_expression => true,
        }, {
            insta::assert_yaml_snapshot!(name.as_str(), record);
        });
    }));
    asserted.map_err(|_| {
        format!(
            "{name}: the snapshot in {} is new or differs (insta printed the diff above); \
             review it, then accept it with `cargo insta review` or INSTA_UPDATE=always",
            dir.display()
        )
    })
}
