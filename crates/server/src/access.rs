//! Authorization after authentication: which scopes allow which method ([`ScopePolicy`]), and whether the caller's
//! email is in the queue's ACL ([`check_acl`]).

use taskqueue_auth::{Scope, ScopeSet, accepted_scopes};
use taskqueue_model::ApiMethod;

use crate::config::QueueAcl;

/// An authenticated caller: who, and with which scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The principal's email: a service account's `client_email` or a user's email.
    pub email: String,
    /// The scopes the caller's token was granted.
    pub scopes: ScopeSet,
}

/// Which scopes allow which method.
///
/// The scope table of docs/wire-format.md §7 is the default; the discovery document's lists differ (docs/wire-format.md §7), so
/// servers that must accept what production's discovery document promised choose [`ScopePolicy::Discovery`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopePolicy {
    /// The scope table (docs/wire-format.md §7): `taskqueue` and `cloud-taskqueue` read/write; `taskqueue.consumer` and
    /// `cloud-taskqueue.consumer` read-only (`taskqueues.get`, `tasks.get`, `tasks.list`).
    #[default]
    Seed,
    /// The discovery document's: `taskqueue` and `taskqueue.consumer` on every method, and nothing else (the
    /// `cloud-taskqueue*` scopes are in no discovery revision).
    Discovery,
}

impl ScopePolicy {
    /// The scopes, any one of which allows `method`.
    ///
    /// ```
    /// use taskqueue_auth::{Scope, ScopeSet};
    /// use taskqueue_model::ApiMethod;
    /// use taskqueue_server::ScopePolicy;
    ///
    /// let consumer = ScopeSet::from([Scope::TaskqueueConsumer]);
    /// assert!(!ScopePolicy::Seed.allows(&consumer, ApiMethod::TasksInsert));
    /// assert!(ScopePolicy::Discovery.allows(&consumer, ApiMethod::TasksInsert));
    /// assert_eq!(ScopePolicy::Seed.accepted_scopes(ApiMethod::TasksList).len(), 4);
    /// ```
    #[must_use]
    pub fn accepted_scopes(self, method: ApiMethod) -> ScopeSet {
        match self {
            Self::Seed => accepted_scopes(method),
            Self::Discovery => ScopeSet::from([Scope::Taskqueue, Scope::TaskqueueConsumer]),
        }
    }

    /// Whether a token with `scopes` may call `method`.
    #[must_use]
    pub fn allows(self, scopes: &ScopeSet, method: ApiMethod) -> bool {
        self.accepted_scopes(method)
            .iter()
            .any(|scope| scopes.contains(scope))
    }

    /// The name used in configuration files: `seed` or `discovery`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Discovery => "discovery",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "seed" => Some(Self::Seed),
            "discovery" => Some(Self::Discovery),
            _ => None,
        }
    }
}

/// Whether `email` may call `method` on a queue with `acl`: `writer_email` for `tasks.insert`, `user_email` for
/// every other method; an open ACL (no entries) admits everyone. Emails compare case-insensitively.
///
/// ```
/// use taskqueue_model::ApiMethod;
/// use taskqueue_server::{check_acl, QueueAcl};
///
/// let acl = QueueAcl::new(vec!["worker@app.iam.gserviceaccount.com".into()], vec!["web@app.iam.gserviceaccount.com".into()]);
/// assert!(check_acl(&acl, "worker@app.iam.gserviceaccount.com", ApiMethod::TasksLease));
/// assert!(!check_acl(&acl, "worker@app.iam.gserviceaccount.com", ApiMethod::TasksInsert));
/// assert!(check_acl(&acl, "WEB@app.iam.gserviceaccount.com", ApiMethod::TasksInsert));
/// ```
#[must_use]
pub fn check_acl(acl: &QueueAcl, email: &str, method: ApiMethod) -> bool {
    if acl.is_open() {
        return true;
    }
    let list = if method == ApiMethod::TasksInsert {
        &acl.writer_emails
    } else {
        &acl.user_emails
    };
    list.iter().any(|entry| entry.eq_ignore_ascii_case(email))
}
