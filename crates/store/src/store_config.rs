//! [`StoreConfig`]: the policies every [`Store`](crate::Store) implementation applies the same way.

use std::time::Duration;

use taskqueue_model::Timestamp;

use crate::OverLimit;

/// How long a deleted task's name stays blocked by default: 7 days. The pull-queue guide says a name "remains in
/// the system for up to seven days" and AppScale purges after 7 days; the general overview says 10 days
/// (docs/wire-format.md §5 and §11).
pub const DEFAULT_TOMBSTONE_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Store policies: the tombstone lifetime, the over-limit policy, and the seed of generated names.
///
/// ```
/// use std::time::Duration;
/// use taskqueue_store::{OverLimit, StoreConfig};
///
/// let config = StoreConfig::default()
///     .with_tombstone_ttl(Duration::from_secs(600))
///     .with_over_limit(OverLimit::Skip);
/// assert_eq!(config.tombstone_ttl, Duration::from_secs(600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// How long a deleted name stays blocked ([`StoreError::Tombstoned`](crate::StoreError::Tombstoned)).
    /// Default [`DEFAULT_TOMBSTONE_TTL`].
    pub tombstone_ttl: Duration,
    /// What a lease does with a task past the queue's lease limit. Default [`OverLimit::Delete`].
    pub over_limit: OverLimit,
    /// The seed of the generator of task names; `None` (the default) seeds it randomly. Two stores given the
    /// same seed generate the same names in the same order, which the model-equivalence tests rely on.
    pub name_seed: Option<u64>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
            over_limit: OverLimit::Delete,
            name_seed: None,
        }
    }
}

impl StoreConfig {
    /// Sets [`tombstone_ttl`](Self::tombstone_ttl).
    #[must_use]
    pub fn with_tombstone_ttl(mut self, ttl: Duration) -> Self {
        self.tombstone_ttl = ttl;
        self
    }

    /// Sets [`over_limit`](Self::over_limit).
    #[must_use]
    pub fn with_over_limit(mut self, over_limit: OverLimit) -> Self {
        self.over_limit = over_limit;
        self
    }

    /// Sets [`name_seed`](Self::name_seed).
    #[must_use]
    pub fn with_name_seed(mut self, seed: u64) -> Self {
        self.name_seed = Some(seed);
        self
    }

    /// Tombstones deleted at or before this instant have expired at `now`; later ones still block their name.
    pub(crate) fn tombstone_cutoff(&self, now: Timestamp) -> Timestamp {
        now.checked_sub(self.tombstone_ttl)
            .unwrap_or(Timestamp::from_micros(i64::MIN))
    }
}

/// Whether a task leased `retry_count` times so far may not be leased again under `max_leases`.
pub(crate) fn is_over_limit(retry_count: u32, max_leases: Option<u32>) -> bool {
    max_leases.is_some_and(|max| retry_count >= max)
}

/// The lease log counts leased tasks per second: the second holding `now` (floor division, so instants before the
/// epoch fall in the right second too).
pub(crate) fn lease_second(now: Timestamp) -> i64 {
    now.as_micros().div_euclid(1_000_000)
}

/// The first second of the window of `seconds` seconds that ends with the second holding `now`.
pub(crate) fn window_start(now: Timestamp, seconds: i64) -> i64 {
    lease_second(now).saturating_sub(seconds - 1)
}

/// The lease-log window of `leasedLastMinute`, in seconds.
pub(crate) const MINUTE: i64 = 60;

/// The lease-log window of `leasedLastHour`, in seconds; older entries are purged.
pub(crate) const HOUR: i64 = 3600;

/// A random or seeded generator of task names: 16 lowercase hex digits, like production's `f32a7aab42bdaf6f`.
///
/// The name is time-ordered: its high 41 bits are the millisecond of `now` (wrapping every 70 years), its low
/// [`RANDOM_BITS`] random. Names generated in a row therefore sort in time order (within a millisecond at
/// random), so that a new task's entry in the SQLite primary-key index lands on the index's last page, already in
/// memory and written once per batch, rather than on a random page. Uniqueness is the caller's (it retries while
/// the name is taken); 8 million names per millisecond leave collisions rare even under a frozen clock.
#[derive(Debug)]
pub(crate) struct NameGenerator(fastrand::Rng);

/// The random low bits of a generated name.
const RANDOM_BITS: u32 = 23;

impl NameGenerator {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Self(seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed))
    }

    /// The next candidate name at `now`; the caller retries while it is taken.
    pub(crate) fn next_name(&mut self, now: Timestamp) -> String {
        let millisecond = now.as_micros().div_euclid(1000).cast_unsigned();
        let random = self.0.u64(..1 << RANDOM_BITS);
        format!("{:016x}", millisecond.wrapping_shl(RANDOM_BITS) | random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_16_hex_digits_in_time_order_and_seeded() {
        let mut names = NameGenerator::new(Some(7));
        let mut again = NameGenerator::new(Some(7));
        let mut previous = String::new();
        for (index, micros) in [
            -5_000_i64,
            0,
            1_000,
            1_700_000_000_000_000,
            1_700_000_000_001_000,
        ]
        .into_iter()
        .enumerate()
        {
            let now = Timestamp::from_micros(micros);
            let name = names.next_name(now);
            assert_eq!(
                name,
                again.next_name(now),
                "the same seed gives the same names"
            );
            assert_eq!(name.len(), 16, "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{name}"
            );
            // Past the wrap of the negative instant, later milliseconds sort later.
            if index > 1 {
                assert!(name > previous, "{name} after {previous}");
            }
            previous = name;
        }
    }
}
