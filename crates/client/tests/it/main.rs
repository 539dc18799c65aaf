//! Integration tests of the client: every method's wire format against
//! wiremock on loopback, error mapping, validation before sending, retry
//! defaults per method, 401 refresh, scope and ACL denials (before sending
//! and from the server), faking the client through its trait, and trust
//! roots and proxies, and the emulator variable.

mod emulator;
mod errors;
mod fake;
mod methods;
mod network;
mod retries;
mod scopes;
mod support;
mod token_refresh;
mod unauthenticated;
mod validation;
