//! The real clock: `SystemTime`, `Instant` and tokio's timer.

use std::time::{Duration, Instant, SystemTime};

use crate::{Clock, Sleep};

/// The operating system's clock; sleeps on tokio's timer.
///
/// This is the only place in the workspace allowed to read the system time.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A system clock whose monotonic origin is now.
    #[allow(clippy::disallowed_methods)] // The one sanctioned read of the real clock.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one sanctioned read of the real clock.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    #[allow(clippy::disallowed_methods)] // The one sanctioned real sleep.
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}
