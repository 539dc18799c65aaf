//! The worker's tests: virtual-time tests against an in-memory fake of the API (`fake`, set up by `scene`), and
//! end-to-end tests against the reference server on 127.0.0.1 (`server_e2e`). The tracing spans are checked in a
//! test binary of their own (`tests/spans.rs`).
//!
//! Why a suite here rather than worker scenarios in `scenarios/`: a scenario scripts one client call per step,
//! each with the exact exchanges it causes, in order. A worker makes its own calls, concurrently (leases while
//! handlers run, renewals on their own schedule, deletes as handlers finish), so the order of its exchanges is
//! not fixed and a step-by-step script cannot state it. The virtual-time suite checks the same behaviours
//! (renewal at half-life, lost lease, dead letter, shutdown with tasks in flight, empty-queue backoff) as
//! properties of the whole run's events instead, and the end-to-end test repeats them against the server.

mod fake;
mod scene;
mod server_e2e;
mod virtual_time;
