//! [`ConfigError`]: why a configuration file, a `queue.yaml` or `init` failed, naming the file and, where known,
//! the line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration that cannot be used, or a development setup that cannot be written.
///
/// It names the file and, where known, the line and column: `Display` prints `path:line:column: message` (or
/// `path: message` for a problem with the whole file, such as one that cannot be read). An error about a file a
/// configuration refers to (a public key file, the queue file) names the configuration file and the line of the
/// reference, and the referenced file in the message. Messages never quote a key file's contents.
///
/// ```
/// use std::path::Path;
/// use taskqueue_server::config::parse_queue_yaml;
///
/// let error = parse_queue_yaml("queue:\n- name: bad_name\n  mode: pull\n", Path::new("queue.yaml")).unwrap_err();
/// assert_eq!(error.path(), Path::new("queue.yaml"));
/// assert_eq!(error.line(), Some(2));
/// assert!(error.to_string().starts_with("queue.yaml:2:9: invalid queue name"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    path: PathBuf,
    position: Option<(u64, u64)>,
    message: String,
}

impl ConfigError {
    /// An error about the whole of `path`.
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    /// An error at `line`:`column` of `path` (1-based; a zero line means unknown).
    pub(crate) fn at(path: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            position: (line > 0).then_some((line, column)),
            message: message.into(),
        }
    }

    /// An I/O failure on `path`, while doing `what` (`"cannot read"`, `"cannot write"`).
    pub(crate) fn io(path: &Path, what: &str, error: &std::io::Error) -> Self {
        Self::file(path, format!("{what}: {error}"))
    }

    /// The file the error is about: the configuration file, the queue file, or a file `init` writes.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based line, when the error is about one place in the file.
    #[must_use]
    pub fn line(&self) -> Option<u64> {
        self.position.map(|(line, _)| line)
    }

    /// The 1-based column, when the error is about one place in the file.
    #[must_use]
    pub fn column(&self) -> Option<u64> {
        self.position.map(|(_, column)| column)
    }

    /// What is wrong, without the file and position.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}
