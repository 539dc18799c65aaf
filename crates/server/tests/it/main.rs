//! Integration tests of `taskqueue-server`, one module per concern: the API methods and their quirks, access
//! control, OAuth, configuration, the binary, SIGKILL crashes, several instances on one store, and the wire
//! conversions. The store's own suite lives in `taskqueue-store`.
//!
//! Time is explicit: a `VirtualClock` or fixed instants, except where the binary runs on the system clock.

mod api_access;
mod api_bad_input;
mod api_clients;
mod api_lease;
mod api_methods;
mod api_model;
mod api_quirks;
mod api_support;
mod binary;
mod client_e2e;
mod config;
mod config_init;
mod connections;
mod crash;
mod health_metrics;
mod instances;
mod oauth_e2e;
mod oauth_metadata;
mod oauth_support;
mod oauth_token;
mod ops;
mod process;
mod refusals;
mod traces;
mod wire;
// The store's fixtures and throwaway PostgreSQL cluster, shared with taskqueue-store's tests rather than copied;
// these tests use only part of them.
#[allow(dead_code)]
#[path = "../../../store/tests/it/pg_cluster.rs"]
mod pg_cluster;
#[allow(dead_code)]
#[path = "../../../store/tests/it/support.rs"]
mod support;
