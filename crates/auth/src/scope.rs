//! OAuth 2.0 scopes: the four of the Task Queue API, typed, plus any other.

use std::collections::BTreeSet;
use std::fmt;

/// One OAuth 2.0 scope.
///
/// The four Task Queue scopes (docs/wire-format.md §7) are variants; anything
/// else is [`Scope::Other`]. Parsing a known URL always yields its variant,
/// so two equal strings always give equal scopes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `https://www.googleapis.com/auth/taskqueue`: read/write access.
    Taskqueue,
    /// `https://www.googleapis.com/auth/taskqueue.consumer`: read-only access.
    TaskqueueConsumer,
    /// `https://www.googleapis.com/auth/cloud-taskqueue`: read/write access
    /// for Compute Engine service accounts.
    CloudTaskqueue,
    /// `https://www.googleapis.com/auth/cloud-taskqueue.consumer`: read-only
    /// access for Compute Engine service accounts.
    CloudTaskqueueConsumer,
    /// Any other scope, kept verbatim. Build it with [`Scope::parse`].
    Other(OtherScope),
}

/// A scope string that is not one of the four Task Queue scopes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherScope(String);

impl OtherScope {
    /// The scope string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a call needs from a token: reading, or writing too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reading queues and tasks without changing them: `taskqueues.get`,
    /// `tasks.get`, `tasks.list` (the docs' "read-only").
    Read,
    /// Anything that changes a queue's state: `tasks.insert`, `tasks.lease`,
    /// `tasks.update`, `tasks.patch`, `tasks.delete` (the docs' "read/write").
    Write,
}

const TASKQUEUE: &str = "https://www.googleapis.com/auth/taskqueue";
const TASKQUEUE_CONSUMER: &str = "https://www.googleapis.com/auth/taskqueue.consumer";
const CLOUD_TASKQUEUE: &str = "https://www.googleapis.com/auth/cloud-taskqueue";
const CLOUD_TASKQUEUE_CONSUMER: &str = "https://www.googleapis.com/auth/cloud-taskqueue.consumer";

impl Scope {
    /// The four Task Queue scopes (docs/wire-format.md §7).
    pub const TASK_QUEUE_SCOPES: [Scope; 4] = [
        Scope::Taskqueue,
        Scope::TaskqueueConsumer,
        Scope::CloudTaskqueue,
        Scope::CloudTaskqueueConsumer,
    ];

    /// The scope named by `value`, surrounding whitespace ignored.
    pub fn parse(value: &str) -> Scope {
        match value.trim() {
            TASKQUEUE => Scope::Taskqueue,
            TASKQUEUE_CONSUMER => Scope::TaskqueueConsumer,
            CLOUD_TASKQUEUE => Scope::CloudTaskqueue,
            CLOUD_TASKQUEUE_CONSUMER => Scope::CloudTaskqueueConsumer,
            other => Scope::Other(OtherScope(other.to_owned())),
        }
    }

    /// The scope's URL as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::Taskqueue => TASKQUEUE,
            Scope::TaskqueueConsumer => TASKQUEUE_CONSUMER,
            Scope::CloudTaskqueue => CLOUD_TASKQUEUE,
            Scope::CloudTaskqueueConsumer => CLOUD_TASKQUEUE_CONSUMER,
            Scope::Other(other) => other.as_str(),
        }
    }

    /// What this scope allows on the Task Queue API, per the scope table (docs/wire-format.md §7);
    /// `None` for a foreign scope, which allows nothing there.
    pub fn task_queue_access(&self) -> Option<Access> {
        match self {
            Scope::Taskqueue | Scope::CloudTaskqueue => Some(Access::Write),
            Scope::TaskqueueConsumer | Scope::CloudTaskqueueConsumer => Some(Access::Read),
            Scope::Other(_) => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Scope {
    fn from(value: &str) -> Self {
        Scope::parse(value)
    }
}

/// A set of scopes, normalized: order and duplicates do not matter, so two
/// sets holding the same scopes compare equal (and hash equally, which makes
/// it a cache key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The scopes of a space-separated list, as in an OAuth `scope` parameter.
    pub fn parse_space_separated(value: &str) -> Self {
        value.split_whitespace().map(Scope::parse).collect()
    }

    /// The scopes joined by single spaces, in a stable order: the form the
    /// token endpoint and JWT `scope` claims take.
    pub fn to_space_separated(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// Adds a scope; returns whether it was new.
    pub fn insert(&mut self, scope: Scope) -> bool {
        self.0.insert(scope)
    }

    /// The scopes, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> + '_ {
        self.0.iter()
    }

    /// How many distinct scopes the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a token with these scopes may make a call that needs `access`,
    /// per the scope table (docs/wire-format.md §7): any Task Queue scope reads, only `taskqueue`
    /// and `cloud-taskqueue` write, and foreign scopes allow nothing.
    pub fn grants(&self, access: Access) -> bool {
        self.iter()
            .filter_map(Scope::task_queue_access)
            .any(|granted| granted == Access::Write || granted == access)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<const N: usize> From<[Scope; N]> for ScopeSet {
    fn from(scopes: [Scope; N]) -> Self {
        scopes.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::collections::btree_set::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_space_separated())
    }
}

#[cfg(test)]
mod tests;
