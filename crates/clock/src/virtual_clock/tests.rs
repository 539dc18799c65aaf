//! Tests of the virtual clock: time moves only when told, sleeps wake in order.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::system;

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000)
}

#[test]
fn wall_and_monotonic_time_move_together_only_on_advance() {
    let clock = VirtualClock::new(start());
    assert_eq!(clock.now(), start());
    assert_eq!(clock.monotonic(), Duration::ZERO);
    clock.advance(Duration::from_millis(1500));
    assert_eq!(clock.now(), start() + Duration::from_millis(1500));
    assert_eq!(clock.monotonic(), Duration::from_millis(1500));
}

#[tokio::test(flavor = "current_thread")]
async fn sleep_completes_only_after_enough_virtual_time() {
    let clock = VirtualClock::new(start());
    let sleeper = tokio::spawn({
        let clock = clock.clone();
        async move { clock.sleep(Duration::from_secs(10)).await }
    });
    clock.wait_for_sleepers(1).await;
    clock.advance(Duration::from_secs(9));
    tokio::task::yield_now().await;
    assert!(!sleeper.is_finished(), "woke one second early");
    assert_eq!(clock.pending_sleepers(), 1);
    clock.advance(Duration::from_secs(1));
    sleeper.await.expect("sleeper task");
    assert_eq!(clock.pending_sleepers(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn advance_to_next_sleeper_jumps_to_the_earliest_deadline() {
    let clock = VirtualClock::new(start());
    let long = tokio::spawn({
        let clock = clock.clone();
        async move { clock.sleep(Duration::from_secs(30)).await }
    });
    let short = tokio::spawn({
        let clock = clock.clone();
        async move { clock.sleep(Duration::from_secs(5)).await }
    });
    clock.wait_for_sleepers(2).await;
    assert_eq!(
        clock.advance_to_next_sleeper(),
        Some(Duration::from_secs(5))
    );
    short.await.expect("short sleeper");
    assert!(!long.is_finished());
    assert_eq!(
        clock.advance_to_next_sleeper(),
        Some(Duration::from_secs(25))
    );
    long.await.expect("long sleeper");
    assert_eq!(clock.advance_to_next_sleeper(), None);
    assert_eq!(clock.elapsed(), Duration::from_secs(30));
}

#[tokio::test(flavor = "current_thread")]
async fn auto_advance_completes_sleeps_at_once_and_logs_them() {
    let clock = VirtualClock::new(start());
    clock.set_auto_advance(true);
    for secs in [1, 2, 4] {
        clock.sleep(Duration::from_secs(secs)).await;
    }
    assert_eq!(clock.elapsed(), Duration::from_secs(7));
    assert_eq!(
        clock.sleeps(),
        vec![
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
}

#[test]
fn a_dropped_sleep_deregisters_itself() {
    let clock = VirtualClock::new(start());
    let sleep = clock.sleep(Duration::from_secs(3));
    assert_eq!(clock.pending_sleepers(), 1);
    drop(sleep);
    assert_eq!(clock.pending_sleepers(), 0);
    assert_eq!(clock.advance_to_next_sleeper(), None);
}

#[test]
fn clones_share_time() {
    let clock = VirtualClock::new(start());
    let other = clock.clone();
    other.advance(Duration::from_secs(2));
    assert_eq!(clock.elapsed(), Duration::from_secs(2));
}

#[tokio::test(flavor = "current_thread")]
async fn system_clock_monotonic_time_never_goes_backwards() {
    let clock = system();
    let before = clock.monotonic();
    // A zero sleep completes without waiting for real time.
    clock.sleep(Duration::ZERO).await;
    assert!(clock.monotonic() >= before);
    assert!(clock.now() > UNIX_EPOCH);
}
