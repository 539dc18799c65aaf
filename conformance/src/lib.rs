//! The conformance harness of taskqueue-rs.
//!
//! It replays the YAML scenarios of `scenarios/` against a target: a
//! wiremock server per scenario (the mock target), the reference server
//! `taskqueue-server` in process per scenario (the server target), or a real
//! endpoint. On the mock and server targets one virtual clock is shared by
//! the client stack and the server side, so token expiry, lease expiry,
//! refresh-ahead and backoff run instantly. `scenarios/README.md`
//! documents the format.

pub mod coverage;
pub mod dispatch;
pub mod expect;
mod forwarded;
pub mod ledger;
pub mod load;
pub mod mock;
pub mod real;
pub mod report;
pub mod reports;
pub mod request_match;
pub mod scenario;
pub mod server;
pub mod setup;
pub mod snapshot;
pub mod subset;
pub mod target;
pub mod template;
pub mod values;

pub use load::{LoadError, LoadedScenario, load_dir, load_file, load_str};
pub use report::{Outcome, ScenarioRecord, StepRecord, Target, WireCounters};
pub use scenario::Scenario;
pub use target::mock::{run_all_mock, run_all_mock_with_progress, run_mock, run_mock_blocking};
pub use target::pool::Progress;
pub use target::server::{
    run_all_server, run_all_server_with_progress, run_server, run_server_blocking,
};
pub use target::{Ran, Run, Secrets};
