//! The conformance harness of taskqueue-rs.
//!
//! It replays the YAML scenarios of `scenarios/` against a target: a
//! wiremock server per scenario (the mock target), the reference server
//! `taskqueue-server` in process per scenario (the server target), or a real
//! endpoint. On the mock and server targets one virtual clock is shared by
//! the client stack and the server side, so token expiry, lease expiry,
//! refresh-ahead and backoff run instantly. `scenarios/README.md`
//! documents the format.

pub mod check;
pub mod report;
pub mod scenario;
pub mod target;

pub use report::{Outcome, ScenarioRecord, StepRecord, Target, WireCounters};
pub use scenario::Scenario;
pub use scenario::load::{LoadError, LoadedScenario, load_dir, load_file, load_str};
pub use target::mock::{run_all_mock, run_all_mock_with_progress, run_mock, run_mock_blocking};
pub use target::pool::Progress;
#[cfg(feature = "server")]
pub use target::server::{
    run_all_server, run_all_server_with_progress, run_server, run_server_blocking,
};
pub use target::{Ran, Run, Secrets};
