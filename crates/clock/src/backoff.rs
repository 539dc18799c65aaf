//! The retry policy: exponential backoff with full jitter, bounded in
//! attempts and in total time. Shared by the transport (API calls) and the
//! auth providers (token endpoints), whose sleeps go through a [`crate::Clock`].

use std::time::Duration;

/// When and how long to wait before retrying a failed attempt.
///
/// The wait before retry `n` (1-based) is drawn uniformly from
/// `0..=min(max_backoff, initial_backoff * multiplier^(n-1))` ("full
/// jitter"), or the server's `Retry-After` if that is longer. The loop stops
/// after `max_attempts` attempts, or when the next wait would end past
/// `max_elapsed` since the first attempt.
///
/// Which failures are retried is the caller's decision; the transport, for
/// one, retries only transient failures of requests marked retryable.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    max_elapsed: Duration,
    jitter_seed: Option<u64>,
}

impl RetryPolicy {
    /// The default: 5 attempts, backoff from 1 s doubling up to 32 s, and at
    /// most 60 s spent in total.
    pub fn new() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            multiplier: 2.0,
            max_elapsed: Duration::from_secs(60),
            jitter_seed: None,
        }
    }

    /// Never retry: one attempt only.
    pub fn no_retries() -> Self {
        Self::new().with_max_attempts(1)
    }

    /// The most attempts per call, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff ceiling before the first retry.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff ceiling.
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// How much the ceiling grows per retry (at least 1.0).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The most time a call may spend, from its first attempt to the end of
    /// its last backoff.
    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// Draws the jitter from a generator seeded with `seed`, so the backoff
    /// sequence is reproducible (tests, conformance runs). Without it the
    /// jitter is random.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The most attempts per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The most time a call may spend.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// The ceiling of the wait before retry `retry` (1-based).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = self.multiplier.powi(exponent);
        let ceiling = self.initial_backoff.as_secs_f64() * factor;
        if !ceiling.is_finite() || ceiling >= self.max_backoff.as_secs_f64() {
            self.max_backoff
        } else {
            Duration::from_secs_f64(ceiling)
        }
    }

    /// A fresh random source for one call's backoff sequence (seeded when
    /// [`RetryPolicy::with_jitter_seed`] was set).
    pub fn jitter(&self) -> Jitter {
        Jitter(match self.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        })
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// The random source of one call's backoff sequence.
#[derive(Debug)]
pub struct Jitter(fastrand::Rng);

impl Jitter {
    /// A wait drawn uniformly from `0..=ceiling`, at microsecond resolution.
    pub fn draw(&mut self, ceiling: Duration) -> Duration {
        let max = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.0.u64(0..=max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let policy = RetryPolicy::new()
            .with_initial_backoff(Duration::from_millis(500))
            .with_max_backoff(Duration::from_secs(5));
        let ceilings: Vec<_> = (1..=6).map(|n| policy.backoff_ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 5000, 5000].map(Duration::from_millis)
        );
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_is_reproducible_with_a_seed() {
        let policy = RetryPolicy::new().with_jitter_seed(7);
        let draw = |policy: &RetryPolicy| {
            let mut jitter = policy.jitter();
            (1..=20)
                .map(|n| jitter.draw(policy.backoff_ceiling(n)))
                .collect::<Vec<_>>()
        };
        let first = draw(&policy);
        assert_eq!(first, draw(&policy));
        for (n, wait) in (1..).zip(&first) {
            assert!(*wait <= policy.backoff_ceiling(n), "retry {n}: {wait:?}");
        }
        // Full jitter spreads the waits: not all at the ceiling.
        assert!(
            first
                .iter()
                .zip(1..)
                .any(|(w, n)| *w < policy.backoff_ceiling(n) / 2)
        );
    }

    #[test]
    fn settings_are_clamped_to_sane_values() {
        let policy = RetryPolicy::new()
            .with_max_attempts(0)
            .with_multiplier(f64::NAN);
        assert_eq!(policy.max_attempts(), 1);
        assert_eq!(policy.backoff_ceiling(3), policy.backoff_ceiling(1));
        assert_eq!(RetryPolicy::no_retries().max_attempts(), 1);
    }
}
