//! The commands of the `taskqueue-server` binary that are more than serving: [`init`] writes a ready-to-run
//! development setup. Only with the `cli` feature (the key generation needs `rsa`); the configuration they write
//! is read by [`crate::config`], which knows nothing of them.

pub mod init;
