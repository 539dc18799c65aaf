//! One step: a cargo command with its environment, printed, then run.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::process::{Command, ExitStatus};

/// What a step does before its command, given the workspace root.
pub(crate) type Prepare = fn(&Path) -> Result<(), String>;

/// A cargo command to run from the workspace root.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    args: Vec<String>,
    envs: Vec<(&'static str, &'static str)>,
    prepare: Option<Prepare>,
}

impl Step {
    /// `cargo <args>`.
    pub(crate) fn cargo(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            envs: Vec::new(),
            prepare: None,
        }
    }

    /// Runs `prepare` from the workspace root before the command.
    pub(crate) fn prepared_by(mut self, prepare: Prepare) -> Self {
        self.prepare = Some(prepare);
        self
    }

    /// Sets `key=value` in the command's environment.
    pub(crate) fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.envs.push((key, value));
        self
    }

    /// Runs the step from `root`, inheriting stdio; `Err` names the step and
    /// how it failed.
    pub(crate) fn run(&self, root: &Path) -> Result<(), String> {
        if let Some(prepare) = self.prepare {
            prepare(root)
                .map_err(|error| format!("step `{self}` could not be prepared: {error}"))?;
        }
        let status = Command::new(cargo())
            .args(&self.args)
            .envs(self.envs.iter().copied())
            .current_dir(root)
            .status()
            .map_err(|error| format!("step `{self}` could not be started: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("step `{self}` failed with {}", describe(status)))
        }
    }
}

/// The cargo that runs xtask (`$CARGO`), so the toolchain stays the same.
fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// "exit status 101", or the platform's wording for a signal.
fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// `INSTA_UPDATE=no CI=true cargo test --workspace --locked`, quoting values
/// with spaces (`RUSTDOCFLAGS='-D warnings'`).
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in &self.envs {
            if value.contains(' ') {
                write!(f, "{key}='{value}' ")?;
            } else {
                write!(f, "{key}={value} ")?;
            }
        }
        write!(f, "cargo")?;
        for arg in &self.args {
            if arg.contains(' ') {
                write!(f, " '{arg}'")?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}
