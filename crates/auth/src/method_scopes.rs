//! The scope table (docs/wire-format.md §7) applied to the 8 methods: which access each needs and which scopes allow it.
//! Shared by the client (its preflight check) and the reference server (its default scope policy).

use crate::{Access, Scope, ScopeSet};
use taskqueue_model::ApiMethod;

/// What a token must allow for `method` to succeed: [`Access::Write`] for the
/// methods that change the queue (insert, lease, update, patch, delete),
/// [`Access::Read`] for `taskqueues.get`, `tasks.get` and `tasks.list`.
///
/// ```
/// use taskqueue_auth::Access;
/// use taskqueue_auth::required_access;
/// use taskqueue_model::ApiMethod;
///
/// assert_eq!(required_access(ApiMethod::TasksList), Access::Read);
/// assert_eq!(required_access(ApiMethod::TasksLease), Access::Write);
/// ```
pub fn required_access(method: ApiMethod) -> Access {
    if method.is_write() {
        Access::Write
    } else {
        Access::Read
    }
}

/// The Task Queue scopes that allow `method`, any one of which suffices:
/// the read/write scopes `taskqueue` and `cloud-taskqueue` for every method,
/// and the read-only `taskqueue.consumer` and `cloud-taskqueue.consumer`
/// for the three reads.
///
/// ```
/// use taskqueue_auth::{Scope, ScopeSet};
/// use taskqueue_auth::accepted_scopes;
/// use taskqueue_model::ApiMethod;
///
/// assert_eq!(
///     accepted_scopes(ApiMethod::TasksInsert),
///     ScopeSet::from([Scope::Taskqueue, Scope::CloudTaskqueue])
/// );
/// assert_eq!(accepted_scopes(ApiMethod::TasksGet).len(), 4);
/// ```
pub fn accepted_scopes(method: ApiMethod) -> ScopeSet {
    let access = required_access(method);
    Scope::TASK_QUEUE_SCOPES
        .into_iter()
        .filter(|scope| ScopeSet::from([scope.clone()]).grants(access))
        .collect()
}

/// Whether a token with `scopes` may call `method` under the scope table (docs/wire-format.md §7).
pub fn allows(scopes: &ScopeSet, method: ApiMethod) -> bool {
    scopes.grants(required_access(method))
}
