//! Integration tests of the transport against a wiremock server on loopback,
//! in virtual time.

mod denials;
mod errors;
mod retries;
mod support;
mod unauthenticated;
