//! Integration tests of the client: every method's wire format against
//! wiremock on loopback, error mapping, validation before sending, retry
//! defaults per method, and faking the client through its trait.

mod errors;
mod fake;
mod methods;
mod retries;
mod support;
mod validation;
