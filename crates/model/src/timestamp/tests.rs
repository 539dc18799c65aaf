//! Unit tests of the private saturation helper of [`Timestamp::to_system_time`](super::Timestamp::to_system_time).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::saturate;

#[test]
fn saturate_finds_the_largest_representable_offset() {
    let limit = Duration::from_secs(1_000);
    let apply = |d: Duration| (d <= limit).then(|| UNIX_EPOCH + d);
    let cases: [(Duration, SystemTime); 3] = [
        (Duration::from_secs(5_000), UNIX_EPOCH + limit),
        (Duration::from_secs(1_000), UNIX_EPOCH + limit),
        (
            Duration::from_secs(10),
            UNIX_EPOCH + Duration::from_secs(10),
        ),
    ];
    for (wanted, expected) in cases {
        let got = saturate(apply, wanted);
        let shortfall = expected.duration_since(got);
        assert!(
            shortfall.is_ok_and(|d| d <= Duration::from_micros(1)),
            "wanted {wanted:?}: got {got:?}, expected about {expected:?}"
        );
    }
}
