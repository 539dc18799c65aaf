//! Integration tests of the token sources, the cache and ADC discovery,
//! against wiremock token endpoints and metadata servers on loopback, in
//! virtual time.

mod adc;
mod authorized_user;
mod cache;
#[cfg(feature = "gcp-auth")]
mod gcp_auth_adapter;
mod herd;
mod jwt_verify;
mod metadata;
mod network;
mod secrets;
mod service_account;
mod support;
