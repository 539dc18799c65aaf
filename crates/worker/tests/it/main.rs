//! The worker's tests: virtual-time tests against an in-memory fake of the API (`fake`), and end-to-end tests
//! against the reference server on 127.0.0.1 (`server_e2e`).

mod fake;
mod server_e2e;
mod virtual_time;
