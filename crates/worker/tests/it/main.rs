//! The worker's tests: virtual-time tests against an in-memory fake of the API (`fake`, set up by `scene`), and
//! end-to-end tests against the reference server on 127.0.0.1 (`server_e2e`). The tracing spans are checked in a
//! test binary of their own (`tests/spans.rs`).

mod fake;
mod scene;
mod server_e2e;
mod virtual_time;
