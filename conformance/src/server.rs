//! What the server target (see [`crate::target::server`]) is built from:
//! which scenarios apply ([`applicability`]), the reference server started
//! per scenario ([`target`]), its seed tasks, and the comparison of what
//! crossed the forwarder with the script ([`compare`]).

pub mod applicability;
pub mod compare;
mod seed;
pub mod target;
