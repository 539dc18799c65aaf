//! GAE's `queue.yaml`: the pull queues, their ACLs and lease limits.
//!
//! ```yaml
//! queue:
//! - name: pull-queue
//!   mode: pull
//!   acl:
//!   - user_email: worker@dev-project.iam.gserviceaccount.com    # may get, list, lease, update, patch, delete
//!   - writer_email: worker@dev-project.iam.gserviceaccount.com  # may insert
//!   retry_parameters:
//!     task_retry_limit: 7                                       # maxLeases
//! ```
//!
//! What is read, per queue: `name` (checked with the model's `validate::queue_name`, unique in the file), `mode`
//! (must be `pull`), `acl` (a list of single-key entries, `user_email` or `writer_email`) and
//! `retry_parameters.task_retry_limit` (a whole number, the queue's `maxLeases`; absent: no limit).
//!
//! Accepted and ignored, because they only mean something for push queues or for App Engine's quotas:
//! `rate`, `bucket_size`, `max_concurrent_requests` and `target` on a queue; `task_age_limit`,
//! `min_backoff_seconds`, `max_backoff_seconds` and `max_doublings` in `retry_parameters`; `total_storage_limit`
//! and `resume_paused_queues` at the top level. Any other key is an error naming the key and its line.
//!
//! A queue without `mode: pull` is a push queue, which the REST API never served: it is refused with an error at
//! its entry, rather than skipped, so that a queue a worker expects never silently goes missing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;
use taskqueue_model::validate;

use super::yaml::{at, email, from_yaml};
use super::{ConfigError, QueueAcl, QueueDef, QueueRegistry};

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueueFile {
    /// "zero or more named queues"; `queue:` with nothing after it is none.
    #[serde(default)]
    queue: Option<Vec<Spanned<RawQueue>>>,
    /// App Engine's storage quota for all queues: ignored.
    #[serde(default, rename = "total_storage_limit")]
    _total_storage_limit: Option<IgnoredAny>,
    /// A deployment option of `appcfg`: ignored.
    #[serde(default, rename = "resume_paused_queues")]
    _resume_paused_queues: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    name: Spanned<String>,
    #[serde(default)]
    mode: Option<Spanned<RawMode>>,
    #[serde(default)]
    acl: Option<Vec<Spanned<RawAclEntry>>>,
    #[serde(default)]
    retry_parameters: Option<RawRetryParameters>,
    // Push-queue settings: accepted and ignored.
    #[serde(default, rename = "rate")]
    _rate: Option<IgnoredAny>,
    #[serde(default, rename = "bucket_size")]
    _bucket_size: Option<IgnoredAny>,
    #[serde(default, rename = "max_concurrent_requests")]
    _max_concurrent_requests: Option<IgnoredAny>,
    #[serde(default, rename = "target")]
    _target: Option<IgnoredAny>,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RawMode {
    Pull,
    Push,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAclEntry {
    #[serde(default)]
    user_email: Option<Spanned<String>>,
    #[serde(default)]
    writer_email: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetryParameters {
    #[serde(default)]
    /// Read as text (YAML keeps a number's text) so that a bad value gets our message.
    task_retry_limit: Option<Spanned<String>>,
    // Push-queue retry settings: accepted and ignored.
    #[serde(default, rename = "task_age_limit")]
    _task_age_limit: Option<IgnoredAny>,
    #[serde(default, rename = "min_backoff_seconds")]
    _min_backoff_seconds: Option<IgnoredAny>,
    #[serde(default, rename = "max_backoff_seconds")]
    _max_backoff_seconds: Option<IgnoredAny>,
    #[serde(default, rename = "max_doublings")]
    _max_doublings: Option<IgnoredAny>,
}

/// Reads a GAE `queue.yaml` file.
///
/// # Errors
///
/// A [`ConfigError`] naming `path` (and the line, except when the file cannot be read): see [`parse_queue_yaml`].
pub fn load_queue_yaml(path: &Path) -> Result<QueueRegistry, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::io(path, "cannot read", &error))?;
    parse_queue_yaml(&text, path)
}

/// Parses the text of a GAE `queue.yaml`, naming `path` in errors.
///
/// # Errors
///
/// A [`ConfigError`] at `path:line:column` for bad YAML, a wrong type, an unknown key, an invalid or duplicate
/// queue name, a push queue, an ACL entry that is not exactly one of `user_email` and `writer_email`, an
/// invalid email, or a `task_retry_limit` that is negative or too large.
///
/// ```
/// use std::path::Path;
/// use taskqueue_server::config::parse_queue_yaml;
/// use taskqueue_server::{QueueAcl, QueueDef};
///
/// # fn main() -> Result<(), taskqueue_server::config::ConfigError> {
/// let text = "queue:\n- name: pull-queue\n  mode: pull\n  acl:\n  - user_email: w@example.com\n  retry_parameters:\n    task_retry_limit: 7\n";
/// let queues = parse_queue_yaml(text, Path::new("queue.yaml"))?;
/// let expected = QueueDef::new("pull-queue")
///     .with_acl(QueueAcl::new(vec!["w@example.com".into()], vec![]))
///     .with_max_leases(Some(7));
/// assert_eq!(queues.get("pull-queue"), Some(&expected));
/// # Ok(())
/// # }
/// ```
pub fn parse_queue_yaml(text: &str, path: &Path) -> Result<QueueRegistry, ConfigError> {
    let file: RawQueueFile = from_yaml(text, path)?;
    let mut registry = QueueRegistry::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for entry in file.queue.unwrap_or_default() {
        let raw = entry.value;
        let name = &raw.name;
        validate::queue_name(&name.value).map_err(|error| at(path, name, error.to_string()))?;
        if let Some(first) = seen.insert(name.value.clone(), name.referenced.line()) {
            return Err(at(
                path,
                name,
                format!(
                    "queue `{}` is defined twice (first at line {first})",
                    name.value
                ),
            ));
        }
        match &raw.mode {
            Some(mode) if mode.value == RawMode::Pull => {}
            Some(mode) => {
                return Err(at(
                    path,
                    mode,
                    format!("queue `{}` is a push queue: {PULL_ONLY}", name.value),
                ));
            }
            None => {
                return Err(at(
                    path,
                    name,
                    format!(
                        "queue `{}` has no `mode: pull`, so it is a push queue (App Engine's default): {PULL_ONLY}",
                        name.value
                    ),
                ));
            }
        }
        let acl = acl(path, raw.acl.unwrap_or_default())?;
        let max_leases = match raw
            .retry_parameters
            .and_then(|retry| retry.task_retry_limit)
        {
            None => None,
            Some(limit) => Some(limit.value.trim().parse::<u32>().map_err(|_| {
                at(
                    path,
                    &limit,
                    format!(
                        "`task_retry_limit: {}` must be a whole number from 0 to {}",
                        limit.value,
                        u32::MAX
                    ),
                )
            })?),
        };
        registry.insert(
            QueueDef::new(name.value.clone())
                .with_acl(acl)
                .with_max_leases(max_leases),
        );
    }
    Ok(registry)
}

/// Why a push queue is refused.
const PULL_ONLY: &str = "this server serves pull queues only, as the Task Queue REST API did; add `mode: pull` or remove the queue";

fn acl(path: &Path, entries: Vec<Spanned<RawAclEntry>>) -> Result<QueueAcl, ConfigError> {
    let mut acl = QueueAcl::default();
    for entry in entries {
        match (&entry.value.user_email, &entry.value.writer_email) {
            (Some(user), None) => acl.user_emails.push(email(path, "user_email", user)?),
            (None, Some(writer)) => acl.writer_emails.push(email(path, "writer_email", writer)?),
            _ => {
                return Err(at(
                    path,
                    &entry,
                    "an `acl` entry holds exactly one of `user_email` and `writer_email` (write `- user_email: \
                     a@example.com` and `- writer_email: a@example.com` as two entries)",
                ));
            }
        }
    }
    Ok(acl)
}
