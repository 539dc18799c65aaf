//! [`ApiChoices`]: the answers the server picks where production's behaviour is unknown or the sources disagree,
//! each with the other answer a user may need (the `choices:` section of the configuration file).
//!
//! The defaults follow what real clients sent to production and what they expected back; the README's choices
//! table gives the evidence for each.

use crate::wire::UnleasedLeaseTimestamp;

/// The configurable answers of the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ApiChoices {
    /// Whether a PATCH must prove lease ownership with `leaseTimestamp` (`choices.patch_lease_timestamp`).
    pub patch_lease_timestamp: PatchLeaseTimestamp,
    /// The answer to deleting a task that was already deleted (`choices.repeated_delete`).
    pub repeated_delete: RepeatedDelete,
    /// The answer to updating or patching a task that does not exist or was deleted
    /// (`choices.modify_missing_task`).
    pub modify_missing_task: ModifyMissingTask,
    /// The `leaseTimestamp` of a task no lease holds (`choices.unleased_lease_timestamp`).
    pub unleased_lease_timestamp: UnleasedLeaseTimestamp,
}

impl ApiChoices {
    /// Sets [`patch_lease_timestamp`](Self::patch_lease_timestamp).
    #[must_use]
    pub fn with_patch_lease_timestamp(mut self, choice: PatchLeaseTimestamp) -> Self {
        self.patch_lease_timestamp = choice;
        self
    }

    /// Sets [`repeated_delete`](Self::repeated_delete).
    #[must_use]
    pub fn with_repeated_delete(mut self, choice: RepeatedDelete) -> Self {
        self.repeated_delete = choice;
        self
    }

    /// Sets [`modify_missing_task`](Self::modify_missing_task).
    #[must_use]
    pub fn with_modify_missing_task(mut self, choice: ModifyMissingTask) -> Self {
        self.modify_missing_task = choice;
        self
    }

    /// Sets [`unleased_lease_timestamp`](Self::unleased_lease_timestamp).
    #[must_use]
    pub fn with_unleased_lease_timestamp(mut self, choice: UnleasedLeaseTimestamp) -> Self {
        self.unleased_lease_timestamp = choice;
        self
    }
}

/// Whether `tasks.patch` needs `leaseTimestamp` in its body. `tasks.update` (POST) always does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PatchLeaseTimestamp {
    /// A patch without `leaseTimestamp`, or with `0`, extends or releases the lease if it is unexpired,
    /// whoever holds it; with a non-zero `leaseTimestamp` the ownership check applies. Real clients renewed
    /// leases this way against production.
    #[default]
    Optional,
    /// A patch needs `leaseTimestamp` like an update: without it 400 `required`, and `0` proves nothing.
    Required,
}

/// The answer to a `tasks.delete` of a task whose name is still tombstoned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RepeatedDelete {
    /// 200 with an empty body, as for the first delete: the task is gone either way, and a client that retries
    /// its delete after a lost answer, or treats every status but 200 and 400 as worth retrying, stops.
    #[default]
    Ok,
    /// 404 `notFound`, as for a task that never existed.
    NotFound,
}

/// The answer to `tasks.update` or `tasks.patch` on a task that does not exist, or was deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ModifyMissingTask {
    /// 400 `invalid` "The task lease has expired.", the answer AppScale reproduced from App Engine.
    #[default]
    LeaseExpired,
    /// 404 `notFound`.
    NotFound,
}
