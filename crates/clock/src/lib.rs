//! The one clock of taskqueue-rs: wall time, monotonic time and sleeping.
//!
//! Every time computation in the client stack (token expiry, JWT timestamps,
//! retry backoff, total retry budgets) and in the reference server (lease
//! expiry, tombstones) reads a [`Clock`]. Production code uses
//! [`SystemClock`]; tests and the conformance suite use [`VirtualClock`],
//! whose time only moves when the test says so, so nothing ever sleeps for
//! real.
//!
//! [`RetryPolicy`] describes backoff schedules (exponential, full jitter,
//! bounded in attempts and total time) for anything that sleeps on a clock.
//!
//! This crate knows nothing about HTTP or serde, so both the client stack and
//! the server can depend on it.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use taskqueue_clock::{Clock, VirtualClock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! clock.set_auto_advance(true);
//! // With auto-advance on, a sleep completes at once and moves virtual time.
//! clock.sleep(Duration::from_secs(30)).await;
//! assert_eq!(clock.elapsed(), Duration::from_secs(30));
//! assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
//! # }
//! ```

// This crate's README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

pub mod backoff;
mod system;
mod virtual_clock;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use backoff::RetryPolicy;
pub use system::SystemClock;
pub use virtual_clock::VirtualClock;

/// A future that completes when a [`Clock::sleep`] is over.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A clock shared between the components of one client or server.
pub type SharedClock = Arc<dyn Clock>;

/// Wall time, monotonic time and sleeping, behind one object-safe trait.
///
/// Implementations must be cheap to call; they are read on every request.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current wall-clock time, used for anything that crosses the wire
    /// (JWT `iat`/`exp`, token `expires_in`, lease timestamps).
    fn now(&self) -> SystemTime;

    /// Time elapsed since an arbitrary fixed origin; never goes backwards.
    ///
    /// Use it to measure durations (retry budgets, latency), never for wire values.
    fn monotonic(&self) -> Duration;

    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock, shared: what every builder uses unless told otherwise.
pub fn system() -> SharedClock {
    Arc::new(SystemClock::new())
}
