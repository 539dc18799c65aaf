//! Test fixtures shared by the taskqueue-rs crates (not published).
//!
//! [`tls`]: an HTTPS server on 127.0.0.1 whose certificate is signed by a
//! test CA, to show that clients trust it only once the CA is added.
//! [`RotatingTokens`]: a token provider that rotates on invalidation.
//! [`bench`](mod@bench): the statistics and plumbing the benchmark reports share.
//! [`keys`]: test keys and credential files (PEM, JSON key files).

pub mod bench;
pub mod keys;
pub mod tls;
mod tokens;

pub use tokens::RotatingTokens;
