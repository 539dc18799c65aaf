//! Queue paths and the validated names of tasks, queues and projects.
//!
//! Production answered with the long queue form `projects/s~app/taskqueues/q` in `queueName`, where the request used
//! the short form `q` (docs/wire-format.md §3.1 and §9.2): compare queue names with [`short_queue_name`].

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::validate;

/// A queue in its long form, `projects/{project}/taskqueues/{queue}`.
///
/// [`parse`](Self::parse) checks the shape only, not the characters, so that it accepts whatever the server sends.
///
/// ```
/// use taskqueue_model::QueuePath;
///
/// let path = QueuePath::parse("projects/s~app/taskqueues/pull").ok_or("not a queue path")?;
/// assert_eq!((path.project.as_str(), path.queue.as_str()), ("s~app", "pull"));
/// assert_eq!(path.to_string(), "projects/s~app/taskqueues/pull");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueuePath {
    /// The project segment, verbatim, including any partition prefix such as `s~`.
    pub project: String,
    /// The short queue name.
    pub queue: String,
}

impl QueuePath {
    /// Builds a path from its two segments.
    #[must_use]
    pub fn new(project: impl Into<String>, queue: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            queue: queue.into(),
        }
    }

    /// Parses `projects/{project}/taskqueues/{queue}`.
    ///
    /// Returns `None` for anything else: the short form, an empty segment, or extra segments.
    #[must_use]
    pub fn parse(text: &str) -> Option<QueuePath> {
        split_queue_path(text).map(|(project, queue)| Self::new(project, queue))
    }
}

impl fmt::Display for QueuePath {
    /// Writes the long form, `projects/{project}/taskqueues/{queue}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "projects/{}/taskqueues/{}", self.project, self.queue)
    }
}

/// The queue segment of a long-form queue name; any other input unchanged.
///
/// ```
/// use taskqueue_model::short_queue_name;
///
/// assert_eq!(short_queue_name("projects/s~app/taskqueues/pull"), "pull");
/// assert_eq!(short_queue_name("pull"), "pull");
/// ```
#[must_use]
pub fn short_queue_name(queue_name: &str) -> &str {
    split_queue_path(queue_name).map_or(queue_name, |(_, queue)| queue)
}

/// Splits `projects/{project}/taskqueues/{queue}` into its two non-empty segments.
fn split_queue_path(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("projects/")?;
    let (project, rest) = rest.split_once('/')?;
    let queue = rest.strip_prefix("taskqueues/")?;
    if project.is_empty() || queue.is_empty() || queue.contains('/') {
        return None;
    }
    Some((project, queue))
}

/// Defines a `String` newtype checked by a `validate` function.
macro_rules! validated_name {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks the name and wraps it.
            ///
            /// # Errors
            ///
            /// The [`ValidationError`] describing the broken rule.
            pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
                let name = name.into();
                $check(&name)?;
                Ok(Self(name))
            }

            /// The name.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Takes the name out.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(name: &str) -> Result<Self, ValidationError> {
                Self::new(name)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;

            fn try_from(name: &str) -> Result<Self, ValidationError> {
                Self::new(name)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(name: String) -> Result<Self, ValidationError> {
                Self::new(name)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

validated_name! {
    /// A task name (`id`): 1 to 500 characters from `[A-Za-z0-9_-]` (docs/wire-format.md §6).
    ///
    /// ```
    /// use taskqueue_model::TaskName;
    ///
    /// assert_eq!(TaskName::new("f32a7aab42bdaf6f")?.as_str(), "f32a7aab42bdaf6f");
    /// assert!("no spaces".parse::<TaskName>().is_err());
    /// # Ok::<(), taskqueue_model::ValidationError>(())
    /// ```
    TaskName, validate::task_name
}

validated_name! {
    /// A short queue name: 1 to 100 characters from `[A-Za-z0-9-]` (docs/wire-format.md §6).
    ///
    /// ```
    /// use taskqueue_model::QueueName;
    ///
    /// assert_eq!(QueueName::new("wms-test-pull-queue")?.to_string(), "wms-test-pull-queue");
    /// assert!(QueueName::new("under_score").is_err());
    /// # Ok::<(), taskqueue_model::ValidationError>(())
    /// ```
    QueueName, validate::queue_name
}

validated_name! {
    /// A project as it goes in the URL path, verbatim: 1 to 100 characters, each an ASCII letter, a digit, `-`, `~`, `.` or `:`.
    ///
    /// Callers often had to add a partition prefix such as `s~` or `b~` (docs/wire-format.md §1), and domain-scoped
    /// ids look like `example.com:app`; both are accepted as given.
    ///
    /// ```
    /// use taskqueue_model::ProjectId;
    ///
    /// assert_eq!(ProjectId::new("s~neuromancer-seung-import")?.as_str(), "s~neuromancer-seung-import");
    /// assert!(ProjectId::new("a/b").is_err());
    /// # Ok::<(), taskqueue_model::ValidationError>(())
    /// ```
    ProjectId, validate::project
}
