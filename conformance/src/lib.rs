//! The conformance harness of taskqueue-rs.
//!
//! It replays the YAML scenarios of `scenarios/` against a target: a
//! wiremock server per scenario (the mock target) or a real endpoint. One
//! virtual clock is shared by the client stack and the mock responders, so
//! token expiry, refresh-ahead and backoff run instantly. `scenarios/README.md`
//! documents the format.

pub mod duration;
pub mod load;
pub mod report;
pub mod scenario;

pub use load::{LoadError, LoadedScenario, load_dir, load_file, load_str};
pub use scenario::Scenario;
