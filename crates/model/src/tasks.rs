//! [`Tasks`] (the lease response) and [`Tasks2`] (the list response).
//!
//! Both hold `kind` and `items`. The service leaves `items` out when there are none, so a missing (or `null`)
//! `items` reads as an empty list and an empty list is left out when writing. The two `kind` values were mixed up
//! by production docs and emulators alike (docs/wire-format.md §3.2): never branch on them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Task, kind};

/// Defines a task list type: fields, constructor, `len`, `iter` and `IntoIterator`.
macro_rules! task_list {
    ($(#[$meta:meta])* $name:ident, $kind:expr, $kind_doc:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[non_exhaustive]
        pub struct $name {
            #[doc = concat!("`kind`: ", $kind_doc, " by default. Ignored when reading.")]
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub kind: Option<String>,
            /// `items`: the tasks. Missing or `null` reads as empty; empty is left out.
            #[serde(
                default,
                deserialize_with = "crate::null_as_empty::deserialize",
                skip_serializing_if = "Vec::is_empty"
            )]
            pub items: Vec<Task>,
            /// Fields this crate does not know, kept for a lossless round trip.
            #[serde(flatten)]
            pub unknown_fields: Map<String, Value>,
        }

        impl $name {
            #[doc = concat!("A list of `items` with the discovery kind, ", $kind_doc, ".")]
            #[must_use]
            pub fn new(items: Vec<Task>) -> Self {
                Self {
                    kind: Some($kind.to_owned()),
                    items,
                    unknown_fields: Map::new(),
                }
            }

            /// The number of tasks.
            #[must_use]
            pub fn len(&self) -> usize {
                self.items.len()
            }

            /// Whether there are no tasks.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.items.is_empty()
            }

            /// The tasks, by reference.
            pub fn iter(&self) -> std::slice::Iter<'_, Task> {
                self.items.iter()
            }
        }

        impl IntoIterator for $name {
            type Item = Task;
            type IntoIter = std::vec::IntoIter<Task>;

            fn into_iter(self) -> Self::IntoIter {
                self.items.into_iter()
            }
        }

        impl<'a> IntoIterator for &'a $name {
            type Item = &'a Task;
            type IntoIter = std::slice::Iter<'a, Task>;

            fn into_iter(self) -> Self::IntoIter {
                self.items.iter()
            }
        }
    };
}

task_list! {
    /// The response of `tasks.lease` (discovery kind `taskqueue#tasks`): the leased tasks, possibly none.
    ///
    /// ```
    /// use taskqueue_model::Tasks;
    ///
    /// // An empty lease comes back without `items`.
    /// let leased: Tasks = serde_json::from_str(r#"{"kind": "taskqueues#tasks"}"#)?;
    /// assert!(leased.is_empty());
    /// let mut ids = Vec::new();
    /// for task in &leased {
    ///     ids.extend(task.id.clone());
    /// }
    /// assert!(ids.is_empty());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    Tasks, kind::LEASED_TASKS, "`taskqueue#tasks`"
}

task_list! {
    /// The response of `tasks.list` (discovery kind `taskqueues#tasks`): up to 100 tasks, without payloads.
    ///
    /// ```
    /// use taskqueue_model::Tasks2;
    ///
    /// let listed: Tasks2 = serde_json::from_str(r#"{"items": [{"id": "a"}, {"id": "b"}]}"#)?;
    /// let ids: Vec<_> = listed.into_iter().filter_map(|task| task.id).collect();
    /// assert_eq!(ids, ["a", "b"]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    Tasks2, kind::LISTED_TASKS, "`taskqueues#tasks`"
}
