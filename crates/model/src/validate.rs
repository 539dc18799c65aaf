//! Checks of names, lease parameters and tasks against the service's [`limits`](crate::limits).
//!
//! Shared by the client (to fail before sending) and a server or emulator (to answer 400 `invalid`). Each check
//! returns the [`ValidationError`] of the first broken rule; [`ValidationError::field`] names the offending field.
//!
//! ```
//! use taskqueue_model::validate;
//!
//! validate::lease_request(100, 300, true, Some("batch-7"))?;
//! let error = validate::lease_request(100, 300, false, Some("batch-7")).err();
//! assert_eq!(error.map(|e| e.field()), Some("tag"));
//! # Ok::<(), taskqueue_model::ValidationError>(())
//! ```

pub use crate::ValidationError;

use std::time::Duration;

use crate::limits::{
    MAX_ETA_AHEAD, MAX_LEASE_SECONDS, MAX_LEASE_TASKS, MAX_PAYLOAD_BYTES, MAX_QUEUE_NAME_LEN,
    MAX_TAG_BYTES, MAX_TASK_NAME_LEN, MIN_LEASE_TASKS,
};
use crate::{Task, Timestamp};

/// The longest project, in bytes.
const MAX_PROJECT_BYTES: usize = 100;

/// A task name (`id`): 1 to [`MAX_TASK_NAME_LEN`] characters from `[A-Za-z0-9_-]`.
///
/// # Errors
///
/// [`ValidationError::InvalidTaskName`].
pub fn task_name(name: &str) -> Result<(), ValidationError> {
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if is_within(name, MAX_TASK_NAME_LEN, valid_char) {
        Ok(())
    } else {
        Err(ValidationError::invalid_task_name(name))
    }
}

/// A short queue name: 1 to [`MAX_QUEUE_NAME_LEN`] characters from `[A-Za-z0-9-]`.
///
/// # Errors
///
/// [`ValidationError::InvalidQueueName`].
pub fn queue_name(name: &str) -> Result<(), ValidationError> {
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    if is_within(name, MAX_QUEUE_NAME_LEN, valid_char) {
        Ok(())
    } else {
        Err(ValidationError::invalid_queue_name(name))
    }
}

/// A project as sent in the path, prefix included (`s~app`, `example.com:app`): 1 to 100 characters, each an
/// ASCII letter, a digit, `-`, `~`, `.` or `:`.
///
/// # Errors
///
/// [`ValidationError::InvalidProject`].
pub fn project(project: &str) -> Result<(), ValidationError> {
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'~' | b'.' | b':');
    if is_within(project, MAX_PROJECT_BYTES, valid_char) {
        Ok(())
    } else {
        Err(ValidationError::invalid_project(project))
    }
}

/// A tag: at most [`MAX_TAG_BYTES`] bytes of UTF-8. The empty tag is allowed.
///
/// # Errors
///
/// [`ValidationError::TagTooLong`].
pub fn tag(tag: &str) -> Result<(), ValidationError> {
    if tag.len() <= MAX_TAG_BYTES {
        Ok(())
    } else {
        Err(ValidationError::TagTooLong { bytes: tag.len() })
    }
}

/// A payload length in bytes (decoded): at most [`MAX_PAYLOAD_BYTES`].
///
/// # Errors
///
/// [`ValidationError::PayloadTooLarge`].
pub fn payload_len(bytes: usize) -> Result<(), ValidationError> {
    if bytes <= MAX_PAYLOAD_BYTES {
        Ok(())
    } else {
        Err(ValidationError::PayloadTooLarge { bytes })
    }
}

/// The lease's `numTasks`: [`MIN_LEASE_TASKS`] to [`MAX_LEASE_TASKS`].
///
/// # Errors
///
/// [`ValidationError::NumTasksOutOfRange`].
pub fn num_tasks(value: i64) -> Result<(), ValidationError> {
    if (i64::from(MIN_LEASE_TASKS)..=i64::from(MAX_LEASE_TASKS)).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::NumTasksOutOfRange { value })
    }
}

/// A lease length in seconds: 0 to [`MAX_LEASE_SECONDS`].
///
/// `parameter` names the query parameter checked, `"leaseSecs"` (lease) or `"newLeaseSeconds"` (update, patch),
/// and ends up in the error.
///
/// # Errors
///
/// [`ValidationError::LeaseSecondsOutOfRange`].
pub fn lease_seconds(parameter: &'static str, value: i64) -> Result<(), ValidationError> {
    if (0..=i64::from(MAX_LEASE_SECONDS)).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::LeaseSecondsOutOfRange { parameter, value })
    }
}

/// A lease length given as a [`Duration`]: rounded up to whole seconds (the wire carries seconds, and a lease
/// a little longer than asked never loses the task early), then checked like [`lease_seconds`].
///
/// ```
/// use std::time::Duration;
/// use taskqueue_model::validate;
///
/// assert_eq!(validate::lease_duration("leaseSecs", Duration::from_millis(1500))?, 2);
/// assert_eq!(validate::lease_duration("leaseSecs", Duration::ZERO)?, 0);
/// assert!(validate::lease_duration("leaseSecs", Duration::from_secs(604_801)).is_err());
/// # Ok::<(), taskqueue_model::ValidationError>(())
/// ```
///
/// # Errors
///
/// [`ValidationError::LeaseSecondsOutOfRange`], with the rounded number of seconds.
pub fn lease_duration(parameter: &'static str, lease: Duration) -> Result<u32, ValidationError> {
    let whole = lease
        .as_secs()
        .saturating_add(u64::from(lease.subsec_nanos() > 0));
    let seconds = i64::try_from(whole).unwrap_or(i64::MAX);
    lease_seconds(parameter, seconds)?;
    u32::try_from(seconds).map_err(|_| ValidationError::LeaseSecondsOutOfRange {
        parameter,
        value: seconds,
    })
}

/// An ETA: at most [`MAX_ETA_AHEAD`] (30 days) after `now`. ETAs in the past are allowed.
///
/// # Errors
///
/// [`ValidationError::EtaTooFar`].
pub fn eta(eta: Timestamp, now: Timestamp) -> Result<(), ValidationError> {
    let latest = now.saturating_add(MAX_ETA_AHEAD);
    if eta <= latest {
        Ok(())
    } else {
        Err(ValidationError::EtaTooFar { eta, latest })
    }
}

/// All the query parameters of `tasks.lease`: `numTasks`, `leaseSecs`, and `tag`, which needs `groupByTag`.
///
/// # Errors
///
/// The first of [`ValidationError::NumTasksOutOfRange`], [`ValidationError::LeaseSecondsOutOfRange`] (for
/// `leaseSecs`), [`ValidationError::TagWithoutGroupByTag`] and [`ValidationError::TagTooLong`].
pub fn lease_request(
    num_tasks: i64,
    lease_secs: i64,
    group_by_tag: bool,
    tag: Option<&str>,
) -> Result<(), ValidationError> {
    self::num_tasks(num_tasks)?;
    lease_seconds("leaseSecs", lease_secs)?;
    match tag {
        Some(_) if !group_by_tag => Err(ValidationError::TagWithoutGroupByTag),
        Some(tag) => self::tag(tag),
        None => Ok(()),
    }
}

/// A task about to be inserted: its `id` if present, its `tag`, its payload size, and its ETA (`leaseTimestamp`,
/// if present) against `now`.
///
/// `queueName` is not checked: the URL names the queue, and the body may carry the long form.
///
/// # Errors
///
/// The first of [`ValidationError::InvalidTaskName`], [`ValidationError::TagTooLong`],
/// [`ValidationError::PayloadTooLarge`] and [`ValidationError::EtaTooFar`].
pub fn task_for_insert(task: &Task, now: Timestamp) -> Result<(), ValidationError> {
    if let Some(id) = &task.id {
        task_name(id)?;
    }
    if let Some(tag) = &task.tag {
        self::tag(tag)?;
    }
    if let Some(payload) = &task.payload {
        payload_len(payload.len())?;
    }
    if let Some(lease_timestamp) = task.lease_timestamp {
        eta(lease_timestamp, now)?;
    }
    Ok(())
}

/// Whether `text` has 1 to `max_len` bytes, all accepted by `valid_char`.
fn is_within(text: &str, max_len: usize, valid_char: impl Fn(u8) -> bool) -> bool {
    (1..=max_len).contains(&text.len()) && text.bytes().all(valid_char)
}
