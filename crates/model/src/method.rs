//! [`ApiMethod`]: the identity of the 8 API methods, and which of them change a queue.

use std::fmt;

/// One of the 8 methods of the Task Queue REST API v1beta2, named as in the discovery document.
///
/// Client and server share it: the client to label calls and check its scopes before sending, a server to
/// decide what a token may do. It knows no scope, path or HTTP verb, only the method's identity and whether it
/// reads or writes.
///
/// ```
/// use taskqueue_model::ApiMethod;
///
/// assert_eq!(ApiMethod::TasksLease.id(), "taskqueue.tasks.lease");
/// assert_eq!(ApiMethod::from_id("taskqueue.tasks.lease"), Some(ApiMethod::TasksLease));
/// assert!(ApiMethod::TasksLease.is_write());
/// assert!(!ApiMethod::TasksList.is_write());
/// assert_eq!(ApiMethod::ALL.iter().filter(|method| method.is_write()).count(), 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiMethod {
    /// `taskqueue.taskqueues.get`: a queue's description. Reads.
    TaskqueuesGet,
    /// `taskqueue.tasks.delete`: deletes a task. Writes.
    TasksDelete,
    /// `taskqueue.tasks.get`: one task, without leasing it. Reads.
    TasksGet,
    /// `taskqueue.tasks.insert`: adds a task. Writes.
    TasksInsert,
    /// `taskqueue.tasks.lease`: leases tasks. Writes: it changes the tasks' lease and retry count.
    TasksLease,
    /// `taskqueue.tasks.list`: the queue's tasks, without leasing them. Reads.
    TasksList,
    /// `taskqueue.tasks.patch`: extends or releases a lease (PATCH). Writes.
    TasksPatch,
    /// `taskqueue.tasks.update`: extends or releases a lease (POST). Writes.
    TasksUpdate,
}

impl ApiMethod {
    /// The 8 methods, in the discovery document's order.
    pub const ALL: [ApiMethod; 8] = [
        ApiMethod::TaskqueuesGet,
        ApiMethod::TasksDelete,
        ApiMethod::TasksGet,
        ApiMethod::TasksInsert,
        ApiMethod::TasksLease,
        ApiMethod::TasksList,
        ApiMethod::TasksPatch,
        ApiMethod::TasksUpdate,
    ];

    /// The discovery document's method id, such as `taskqueue.tasks.lease`.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            ApiMethod::TaskqueuesGet => "taskqueue.taskqueues.get",
            ApiMethod::TasksDelete => "taskqueue.tasks.delete",
            ApiMethod::TasksGet => "taskqueue.tasks.get",
            ApiMethod::TasksInsert => "taskqueue.tasks.insert",
            ApiMethod::TasksLease => "taskqueue.tasks.lease",
            ApiMethod::TasksList => "taskqueue.tasks.list",
            ApiMethod::TasksPatch => "taskqueue.tasks.patch",
            ApiMethod::TasksUpdate => "taskqueue.tasks.update",
        }
    }

    /// The id without the API's `taskqueue.` prefix, such as `tasks.lease`: the form people write.
    #[must_use]
    pub const fn short_name(self) -> &'static str {
        match self {
            ApiMethod::TaskqueuesGet => "taskqueues.get",
            ApiMethod::TasksDelete => "tasks.delete",
            ApiMethod::TasksGet => "tasks.get",
            ApiMethod::TasksInsert => "tasks.insert",
            ApiMethod::TasksLease => "tasks.lease",
            ApiMethod::TasksList => "tasks.list",
            ApiMethod::TasksPatch => "tasks.patch",
            ApiMethod::TasksUpdate => "tasks.update",
        }
    }

    /// The method whose discovery id is `id`; `None` for any other string.
    #[must_use]
    pub fn from_id(id: &str) -> Option<ApiMethod> {
        ApiMethod::ALL.into_iter().find(|method| method.id() == id)
    }

    /// Whether the method changes the queue: insert, lease, update, patch and delete.
    ///
    /// The scope table (docs/wire-format.md §7) is the spec: the read/write scopes (`taskqueue`, `cloud-taskqueue`)
    /// allow every method, the read-only consumer scopes only the three that change nothing (`taskqueues.get`,
    /// `tasks.get`, `tasks.list`). A lease changes state (it takes the tasks and counts a retry), so it writes.
    /// The discovery document lists the consumer scope on all 8 methods; this crate follows the seed.
    #[must_use]
    pub const fn is_write(self) -> bool {
        match self {
            ApiMethod::TaskqueuesGet | ApiMethod::TasksGet | ApiMethod::TasksList => false,
            ApiMethod::TasksDelete
            | ApiMethod::TasksInsert
            | ApiMethod::TasksLease
            | ApiMethod::TasksPatch
            | ApiMethod::TasksUpdate => true,
        }
    }
}

impl fmt::Display for ApiMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::ApiMethod;

    use crate::DISCOVERY_DOCUMENT as DISCOVERY;

    /// Every `methods.*.id` under `resources`, recursively.
    fn discovery_ids(resource: &Value, ids: &mut BTreeSet<String>) {
        if let Some(methods) = resource.get("methods").and_then(Value::as_object) {
            for method in methods.values() {
                let id = method
                    .get("id")
                    .and_then(Value::as_str)
                    .expect("a method has an id");
                ids.insert(id.to_owned());
            }
        }
        if let Some(resources) = resource.get("resources").and_then(Value::as_object) {
            for child in resources.values() {
                discovery_ids(child, ids);
            }
        }
    }

    #[test]
    fn ids_are_exactly_the_discovery_documents_methods() {
        let document: Value =
            serde_json::from_str(DISCOVERY).expect("the discovery document is JSON");
        let mut expected = BTreeSet::new();
        discovery_ids(&document, &mut expected);
        let ours: BTreeSet<String> = ApiMethod::ALL
            .iter()
            .map(|method| method.id().to_owned())
            .collect();
        assert_eq!(ours, expected);
        assert_eq!(
            ours.len(),
            ApiMethod::ALL.len(),
            "no two methods share an id"
        );
    }

    #[test]
    fn ids_parse_back_and_short_names_drop_the_api_prefix() {
        for method in ApiMethod::ALL {
            assert_eq!(ApiMethod::from_id(method.id()), Some(method));
            assert_eq!(method.to_string(), method.id());
            assert_eq!(
                Some(method.short_name()),
                method.id().strip_prefix("taskqueue.")
            );
        }
        for other in [
            "",
            "tasks.lease",
            "taskqueue.tasks.LEASE",
            "taskqueue.tasks.lease ",
            "taskqueue.taskqueues.list",
        ] {
            assert_eq!(ApiMethod::from_id(other), None, "{other:?}");
        }
    }

    #[test]
    fn the_seed_table_decides_what_writes() {
        // The consumer scopes are read-only (docs/wire-format.md §7): they allow these three methods and nothing else.
        let reads = [
            ApiMethod::TaskqueuesGet,
            ApiMethod::TasksGet,
            ApiMethod::TasksList,
        ];
        for method in ApiMethod::ALL {
            assert_eq!(method.is_write(), !reads.contains(&method), "{method}");
        }
    }
}
