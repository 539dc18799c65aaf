//! Integration tests of `taskqueue-server`'s storage layer, one module per concern: the lease-semantics table
//! run against both stores, the SQLite store checked against the memory model on random operation sequences,
//! concurrent leases, durability across reopening, bad database files, and the wire conversions.
//!
//! Time is explicit: a `VirtualClock` or fixed instants, never a real sleep. The SIGKILL crash test needs the
//! server binary and belongs with it.

mod api_access;
mod api_bad_input;
mod api_clients;
mod api_lease;
mod api_methods;
mod api_model;
mod api_quirks;
mod api_support;
mod bad_files;
mod binary;
mod client_e2e;
mod concurrency;
mod config;
mod config_init;
mod connections;
mod crash;
mod durability;
mod equivalence;
mod health_metrics;
mod oauth_e2e;
mod oauth_metadata;
mod oauth_support;
mod oauth_token;
mod ops;
mod process;
mod refusals;
mod semantics;
mod support;
mod traces;
mod wire;
