//! Pacing the lease calls: [`Backoff`] (capped exponential with jitter) after empty leases and errors, and
//! [`LeaseRateLimit`], the ceiling on lease calls per queue.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use taskqueue_clock::Clock;

/// Capped exponential backoff with "equal jitter": the wait before try `n` is drawn uniformly from
/// `ceiling/2..=ceiling`, where `ceiling = min(cap, initial * 2^(n-1))`.
///
/// Half of each wait is fixed, so a worker never polls faster than half its ceiling; the other half spreads the
/// workers out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    initial: Duration,
    cap: Duration,
}

impl BackoffPolicy {
    /// From `initial` doubling up to `cap` (at least `initial`).
    #[must_use]
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap: cap.max(initial),
        }
    }

    /// The first ceiling.
    #[must_use]
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The largest ceiling.
    #[must_use]
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The ceiling of the wait before try `n` (1-based).
    #[must_use]
    pub fn ceiling(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let factor = u32::try_from(factor).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.cap)
    }
}

/// One running backoff sequence.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: BackoffPolicy,
    tries: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(policy: BackoffPolicy, seed: Option<u64>) -> Self {
        Self {
            policy,
            tries: 0,
            rng: seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        }
    }

    /// The next wait.
    pub(crate) fn next_wait(&mut self) -> Duration {
        self.tries = self.tries.saturating_add(1);
        let ceiling = self.policy.ceiling(self.tries);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(self.rng.u64(0..=spread))
    }

    /// Starts over after a success.
    pub(crate) fn reset(&mut self) {
        self.tries = 0;
    }
}

/// A ceiling on lease calls: at most `per_second` of them, evenly spaced, on the worker's clock.
///
/// Each worker has its own (10 per second by default, the rate beyond which the service said lease calls come back
/// empty); share one `Arc<LeaseRateLimit>` between the workers of one queue in one process to cap them together.
#[derive(Debug)]
pub struct LeaseRateLimit {
    interval: Duration,
    /// The earliest monotonic time the next call may start.
    next_slot: Mutex<Option<Duration>>,
}

impl LeaseRateLimit {
    /// At most `per_second` lease calls per second (clamped to at least one per hour).
    #[must_use]
    pub fn per_second(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() {
            per_second.max(1.0 / 3600.0)
        } else {
            1.0 / 3600.0
        };
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next_slot: Mutex::new(None),
        }
    }

    /// The spacing between calls.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for the next slot on `clock` and takes it.
    pub(crate) async fn acquire(&self, clock: &dyn Clock) {
        let now = clock.monotonic();
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let slot = next.map_or(now, |next| next.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        if slot > now {
            clock.sleep(slot - now).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let policy = BackoffPolicy::new(Duration::from_millis(250), Duration::from_secs(2));
        let ceilings: Vec<_> = (1..=6).map(|n| policy.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [250, 500, 1000, 2000, 2000, 2000].map(Duration::from_millis)
        );
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn waits_lie_between_half_the_ceiling_and_the_ceiling() {
        let policy = BackoffPolicy::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut backoff = Backoff::new(policy, Some(3));
        let waits: Vec<_> = (1..=40).map(|_| backoff.next_wait()).collect();
        for (n, wait) in (1..).zip(&waits) {
            let ceiling = policy.ceiling(n);
            assert!(
                *wait >= ceiling / 2 && *wait <= ceiling,
                "try {n}: {wait:?}"
            );
        }
        assert!(waits.windows(2).any(|w| w[0] != w[1]), "jittered");
        backoff.reset();
        assert!(backoff.next_wait() <= policy.initial());
    }
}
