//! [`Timestamp`]: an instant in microseconds since the Unix epoch, written on the wire as a JSON string.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::int64::Int64Visitor;

#[cfg(test)]
mod tests;

/// An instant, in whole microseconds since the Unix epoch (negative before it).
///
/// The unit is microseconds because production sent microseconds (`"leaseTimestamp": "1498952638063392"`), although
/// the discovery document says seconds (docs/wire-format.md §3.1). It is used for `enqueueTimestamp` and
/// `leaseTimestamp`.
///
/// On the wire it is a JSON string holding the integer, as the discovery document's `format: int64` requires. It
/// reads from a string or a JSON integer; fractions, exponents and other text are refused.
///
/// ```
/// use std::time::Duration;
/// use taskqueue_model::Timestamp;
///
/// let enqueued = Timestamp::from_micros(1_498_510_174_000_000);
/// let eta = enqueued.checked_add(Duration::from_secs(60)).ok_or("overflow")?;
/// assert_eq!(eta.duration_since(enqueued), Some(Duration::from_secs(60)));
/// assert_eq!(serde_json::to_string(&eta)?, r#""1498510234000000""#);
/// assert_eq!(serde_json::from_str::<Timestamp>("1498510234000000")?, eta);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, `0`. Also what the API uses for "never leased" in `leaseTimestamp`.
    pub const ZERO: Self = Self(0);

    /// Wraps a count of microseconds since the Unix epoch.
    #[must_use]
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// The count of microseconds since the Unix epoch.
    #[must_use]
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Converts a [`SystemTime`], rounding down to a whole microsecond.
    ///
    /// Times before the epoch give negative values. Times beyond the `i64` range saturate at its ends.
    #[must_use]
    pub fn from_system_time(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Self(i64::try_from(after.as_micros()).unwrap_or(i64::MAX)),
            Err(before) => {
                let before = before.duration();
                // Round down: a time 0.5 µs before the epoch is -1 µs, not 0.
                let partial = u128::from(before.subsec_nanos() % 1_000 != 0);
                let micros = before.as_micros() + partial;
                Self(i64::try_from(micros).map_or(i64::MIN, |m| -m))
            }
        }
    }

    /// Converts to a [`SystemTime`].
    ///
    /// On platforms whose `SystemTime` cannot represent the instant, the result saturates at the representable
    /// instant closest to it. On Linux every `Timestamp` is representable.
    #[must_use]
    pub fn to_system_time(self) -> SystemTime {
        let offset = Duration::from_micros(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH
                .checked_add(offset)
                .unwrap_or_else(|| saturate(|d| UNIX_EPOCH.checked_add(d), offset))
        } else {
            UNIX_EPOCH
                .checked_sub(offset)
                .unwrap_or_else(|| saturate(|d| UNIX_EPOCH.checked_sub(d), offset))
        }
    }

    /// `self + duration`, or `None` on overflow. Sub-microsecond parts of `duration` are dropped.
    #[must_use]
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        let micros = i64::try_from(duration.as_micros()).ok()?;
        self.0.checked_add(micros).map(Self)
    }

    /// `self + duration`, saturating at the largest `Timestamp`. Sub-microsecond parts of `duration` are dropped.
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        self.checked_add(duration).unwrap_or(Self(i64::MAX))
    }

    /// `self - duration`, or `None` on overflow. Sub-microsecond parts of `duration` are dropped.
    #[must_use]
    pub fn checked_sub(self, duration: Duration) -> Option<Self> {
        let micros = i64::try_from(duration.as_micros()).ok()?;
        self.0.checked_sub(micros).map(Self)
    }

    /// How long after `earlier` this instant is, or `None` if it is before `earlier`.
    #[must_use]
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        let micros = i128::from(self.0) - i128::from(earlier.0);
        u64::try_from(micros).ok().map(Duration::from_micros)
    }
}

/// Finds the largest `d <= wanted` for which `apply(d)` succeeds, by bisection. `apply(ZERO)` must succeed.
fn saturate(apply: impl Fn(Duration) -> Option<SystemTime>, wanted: Duration) -> SystemTime {
    let (mut good, mut bad) = (Duration::ZERO, wanted);
    while bad.saturating_sub(good) > Duration::from_micros(1) {
        let middle = good + (bad - good) / 2;
        if apply(middle).is_some() {
            good = middle;
        } else {
            bad = middle;
        }
    }
    apply(good).unwrap_or(UNIX_EPOCH)
}

impl fmt::Display for Timestamp {
    /// Prints the integer count of microseconds, as on the wire but without quotes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const VISITOR: Int64Visitor = Int64Visitor {
            what: "a timestamp in microseconds since the Unix epoch",
        };
        deserializer.deserialize_any(VISITOR).map(Self)
    }
}
