//! Integration tests of the conformance harness: one binary.
//!
//! - `api`: the runner's entry points from any runtime, with progress.
//! - `snapshots`: every scenario of `scenarios/` on the mock target against
//!   its reviewed snapshot in `conformance/snapshots/`, and no snapshot left
//!   without a scenario.
//! - `harness_fails`: broken scenarios and a wrong snapshot fail, with
//!   messages naming the file, the step and the problem.
//! - `matrix`: the behaviour × method × target matrix and the coverage
//!   check, as a reviewed snapshot.
//! - `server`: every scenario on the server target (the reference server in
//!   process) against its snapshot in `conformance/snapshots/server/`, skips
//!   with reasons, deliberately wrong scripts that fail, and secrets kept
//!   out of records.

mod api;
mod binary;
mod harness_fails;
mod matrix;
#[cfg(feature = "server")]
mod server;
mod snapshots;
