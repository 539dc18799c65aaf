//! Integration tests of `taskqueue-model`: one binary, one module per concern.

mod error_envelope;
mod int64;
mod malformed;
mod names;
mod payload;
mod production_task;
mod roundtrip;
mod snapshots;
mod strategies;
mod tasks;
mod timestamp;
mod validate;

/// The result type of fallible tests.
type TestResult = Result<(), Box<dyn std::error::Error>>;
