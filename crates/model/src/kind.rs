//! The `kind` strings of the v1beta2 resources.
//!
//! These are the discovery-document defaults (docs/wire-format.md §3.1–§3.3). Production and the emulators
//! disagree about the kind of the two task lists (§3.2), so write these values but never branch on them when reading.

/// Kind of a [`Task`](crate::Task): `taskqueues#task`.
pub const TASK: &str = "taskqueues#task";

/// Kind of a lease response, [`Tasks`](crate::Tasks): `taskqueue#tasks` (singular "taskqueue", as in the discovery doc).
pub const LEASED_TASKS: &str = "taskqueue#tasks";

/// Kind of a list response, [`Tasks2`](crate::Tasks2): `taskqueues#tasks`.
pub const LISTED_TASKS: &str = "taskqueues#tasks";

/// Kind of a [`TaskQueue`](crate::TaskQueue): `taskqueues#taskqueue`.
pub const TASK_QUEUE: &str = "taskqueues#taskqueue";
