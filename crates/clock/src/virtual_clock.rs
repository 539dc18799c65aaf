//! A virtual clock: time moves only when a test advances it.
//!
//! Unlike tokio's paused time, it never advances on its own while tasks wait
//! on sockets, so a test driving a real loopback server keeps exact control.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::{Clock, Sleep};

/// A clock whose time moves only through [`VirtualClock::advance`] (or, with
/// auto-advance on, through the sleeps themselves).
///
/// Clones share the same time. Every requested sleep is logged, so tests can
/// assert an exact backoff sequence.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    sleeper_added: Notify,
}

#[derive(Debug)]
struct State {
    wall_origin: SystemTime,
    elapsed: Duration,
    auto_advance: bool,
    next_id: u64,
    /// Pending sleeps by id: deadline (on the monotonic axis) and waker.
    sleepers: BTreeMap<u64, (Duration, Option<Waker>)>,
    sleep_log: Vec<Duration>,
}

impl VirtualClock {
    /// A virtual clock reading `start` as its wall time, with auto-advance off.
    pub fn new(start: SystemTime) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    wall_origin: start,
                    elapsed: Duration::ZERO,
                    auto_advance: false,
                    next_id: 0,
                    sleepers: BTreeMap::new(),
                    sleep_log: Vec::new(),
                }),
                sleeper_added: Notify::new(),
            }),
        }
    }

    /// With auto-advance on, every sleep moves virtual time forward by its
    /// duration and completes at once. Handy for sequential code such as a
    /// retry loop; use [`VirtualClock::advance`] for concurrent scenarios.
    pub fn set_auto_advance(&self, on: bool) {
        self.lock().auto_advance = on;
    }

    /// Moves time forward by `by`, waking every sleep that is now over.
    pub fn advance(&self, by: Duration) {
        let wakers = {
            let mut state = self.lock();
            state.elapsed = state.elapsed.saturating_add(by);
            state.take_due_wakers()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Moves time to the earliest pending sleep's deadline and wakes it.
    /// Returns how far time moved, or `None` when nothing sleeps.
    pub fn advance_to_next_sleeper(&self) -> Option<Duration> {
        let step = {
            let state = self.lock();
            let next = state
                .sleepers
                .values()
                .map(|(deadline, _)| *deadline)
                .min()?;
            next.saturating_sub(state.elapsed)
        };
        self.advance(step);
        Some(step)
    }

    /// Waits (without moving time) until at least `count` sleeps are pending.
    pub async fn wait_for_sleepers(&self, count: usize) {
        loop {
            let notified = self.shared.sleeper_added.notified();
            if self.pending_sleepers() >= count {
                return;
            }
            notified.await;
        }
    }

    /// How far time has moved since the clock was created.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    /// How many sleeps are waiting for time to move.
    pub fn pending_sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// Every sleep requested so far, in order, including finished ones.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleep_log.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent:
        // every mutation is a single assignment or map operation.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn take_due_wakers(&mut self) -> Vec<Waker> {
        let now = self.elapsed;
        self.sleepers
            .values_mut()
            .filter(|(deadline, _)| *deadline <= now)
            .filter_map(|(_, waker)| waker.take())
            .collect()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        let state = self.lock();
        state.wall_origin + state.elapsed
    }

    fn monotonic(&self) -> Duration {
        self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let mut state = self.lock();
        state.sleep_log.push(duration);
        if state.auto_advance {
            state.elapsed = state.elapsed.saturating_add(duration);
            let wakers = state.take_due_wakers();
            drop(state);
            for waker in wakers {
                waker.wake();
            }
            return Box::pin(std::future::ready(()));
        }
        let id = state.next_id;
        state.next_id += 1;
        let deadline = state.elapsed.saturating_add(duration);
        state.sleepers.insert(id, (deadline, None));
        drop(state);
        self.shared.sleeper_added.notify_waiters();
        Box::pin(VirtualSleep {
            clock: self.clone(),
            id,
            deadline,
        })
    }
}

/// One pending sleep on a [`VirtualClock`]; deregisters itself when dropped,
/// so a cancelled sleep never blocks [`VirtualClock::advance_to_next_sleeper`].
struct VirtualSleep {
    clock: VirtualClock,
    id: u64,
    deadline: Duration,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.clock.lock();
        if state.elapsed >= self.deadline {
            state.sleepers.remove(&self.id);
            return Poll::Ready(());
        }
        if let Some(entry) = state.sleepers.get_mut(&self.id) {
            entry.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        self.clock.lock().sleepers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests;
