//! Why a command failed, and the exit code that says so.

use std::process::ExitCode;

/// The exit codes of `taskqueue`, as `--help` documents them.
pub(crate) mod code {
    /// The command did what it was asked.
    pub(crate) const OK: u8 = 0;
    /// The API call failed (the server refused it, or could not be reached).
    pub(crate) const API: u8 = 1;
    /// Bad usage or bad input: an unknown option, an unreadable payload file, a malformed `--eta`.
    pub(crate) const USAGE: u8 = 2;
    /// No credentials could be found, or the server refused them (HTTP 401, or a failed token exchange).
    pub(crate) const CREDENTIALS: u8 = 3;
    /// The queue or task does not exist (HTTP 404).
    pub(crate) const NOT_FOUND: u8 = 4;
    /// The caller lacks a scope or is not in the queue's ACL (HTTP 403).
    pub(crate) const DENIED: u8 = 5;
}

/// A failed command: the message for stderr and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: code::USAGE,
        }
    }

    pub(crate) fn credentials(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: code::CREDENTIALS,
        }
    }

    pub(crate) fn other(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    /// An API error, classified: what was being done, then the error (which never holds a secret).
    pub(crate) fn api(doing: &str, error: &taskqueue_client::Error) -> Self {
        let code = if error.is_not_found() {
            code::NOT_FOUND
        } else if error.is_unauthenticated() || error.is_auth() {
            code::CREDENTIALS
        } else if error.is_permission_denied() {
            code::DENIED
        } else if error.is_validation() {
            code::USAGE
        } else {
            code::API
        };
        let mut message = format!("{doing}: {error}");
        if error.is_not_found() {
            message.push_str(" (check --project and --queue, or the task name)");
        }
        if let Some(auth) = error.transport().and_then(|t| t.auth_error()) {
            message.push_str(&format!(": {auth}"));
        }
        Self { message, code }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}
