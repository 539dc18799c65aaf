//! [`PurgeHints`]: what the writer knows about the oldest rows of the tables the purge trims, so that the purge
//! run on the side of every delete and lease costs nothing while nothing can have expired.
//!
//! The purge on the side is three `DELETE … IN (SELECT … ORDER BY … LIMIT 8)` statements, one per table
//! (tombstones, the lease log, access tokens). Run on every delete while nothing had expired, they made a delete
//! cost about a third more than it does without them (measured through the server: about 16–18k deletes/s with
//! them, 23–25k without). The writer thread is the only one that writes the file (a second process is refused by
//! the file lock), so it can keep, per table, a lower bound on the oldest key: the bound is refreshed after each
//! purge of the table (`MIN` through the table's time index), lowered by every write of a row, put back as it was
//! when an operation fails (its savepoint is rolled back), and forgotten when a commit fails. A table is purged on the side only when its bound says a row may have expired; an explicit
//! purge always runs.

/// Per table, a lower bound on its oldest key, or `None` when it is not known (then the purge looks).
/// `Some(i64::MAX)`: the table was empty.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PurgeHints {
    /// The least `deleted_at` of `tombstones`.
    pub(crate) tombstones: Option<i64>,
    /// The least `second` of `lease_log`.
    pub(crate) lease_log: Option<i64>,
    /// The least `expires_at` of `access_tokens`.
    pub(crate) tokens: Option<i64>,
}

impl PurgeHints {
    /// Whether a table whose bound is `bound` may hold a row with a key `<= last` (the last expired key).
    pub(crate) fn may_hold_expired(bound: Option<i64>, last: i64) -> bool {
        bound.is_none_or(|least| least <= last)
    }

    /// Records the write of a row with key `key` into the table bounded by `bound`.
    pub(crate) fn wrote(bound: &mut Option<i64>, key: i64) {
        if let Some(least) = bound {
            *least = (*least).min(key);
        }
    }

    /// Forgets every bound (after a failed commit: what the purges of the batch removed is back).
    pub(crate) fn forget(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::PurgeHints;

    #[test]
    fn a_bound_says_when_a_purge_may_find_something() {
        // (bound, last expired key, may hold an expired row)
        let cases = [
            (None, i64::MIN, true),
            (Some(10), 9, false),
            (Some(10), 10, true),
            (Some(10), 11, true),
            (Some(i64::MAX), i64::MAX - 1, false),
        ];
        for (bound, last, expected) in cases {
            assert_eq!(
                PurgeHints::may_hold_expired(bound, last),
                expected,
                "{bound:?} {last}"
            );
        }
    }

    #[test]
    fn writes_lower_a_known_bound_and_leave_an_unknown_one_unknown() {
        // (bound, key written, bound after)
        let cases = [
            (None, 5, None),
            (Some(10), 5, Some(5)),
            (Some(10), 15, Some(10)),
            (Some(i64::MAX), 7, Some(7)),
        ];
        for (bound, key, expected) in cases {
            let mut after = bound;
            PurgeHints::wrote(&mut after, key);
            assert_eq!(after, expected, "{bound:?} {key}");
        }
        let mut hints = PurgeHints {
            tombstones: Some(1),
            lease_log: Some(2),
            tokens: Some(3),
        };
        hints.forget();
        assert_eq!(hints, PurgeHints::default());
    }
}
