//! Unit tests of the cache's pure parts: refresh points, jitter draws, the
//! per-entry state machine, error sharing and the scope-set hasher. The
//! behaviour under concurrency is tested in `tests/it/cache.rs`.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::time::UNIX_EPOCH;

use std::error::Error as StdError;

use super::*;
use crate::{ClockSkew, CredentialSource, OAuthErrorCode, Scope};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[test]
fn refresh_point_is_expiry_minus_ahead_minus_jitter_but_not_before_half_life() {
    let config = CacheConfig::default();
    // (expiry, fetched at, jitter drawn, expected refresh point)
    let cases = [
        // A one-hour token: the jitter moves the point inside the window.
        (3600, 0, 0, 3375),
        (3600, 0, 30, 3345),
        (3600, 0, 12, 3363),
        // A jitter above the configured maximum is capped.
        (3600, 0, 500, 3345),
        // A five-minute token: the window would start 45 s after the
        // fetch; half its usable life (290 s / 2) wins.
        (300, 0, 0, 145),
        // Fetched late, with 100 s left: no refresh before 45 s from now.
        (1100, 1000, 0, 1045),
    ];
    for (expiry, now, jitter, expected) in cases {
        let usable_until = at(expiry) - config.min_remaining;
        assert_eq!(
            refresh_point(at(expiry), usable_until, at(now), &config, secs(jitter)),
            at(expected),
            "expiry {expiry}, now {now}, jitter {jitter}"
        );
    }
}

#[test]
fn jitter_draws_are_uniform_in_range_and_varied() {
    assert_eq!(random_jitter(Duration::ZERO), Duration::ZERO);
    let max = secs(30);
    let draws: Vec<Duration> = (0..1000).map(|_| random_jitter(max)).collect();
    assert!(draws.iter().all(|draw| *draw <= max));
    let distinct: HashSet<_> = draws.iter().collect();
    assert!(distinct.len() > 900, "{} distinct draws", distinct.len());
    let below_half = draws.iter().filter(|draw| **draw < max / 2).count();
    assert!(
        (350..=650).contains(&below_half),
        "{below_half} of 1000 below half"
    );
    // A huge maximum does not overflow.
    assert!(random_jitter(Duration::MAX) <= Duration::MAX);
}

fn state_with(expires_at: Option<u64>) -> State {
    let token = AccessToken::new("ya29.unit");
    let token = match expires_at {
        Some(secs) => token.with_expires_at(at(secs)),
        None => token,
    };
    State {
        token: Some(Cached {
            usable_until: expires_at.map(|secs| at(secs - 10)),
            refresh_at: expires_at.map(|secs| at(secs - 225)),
            token,
        }),
        ..State::default()
    }
}

#[test]
fn the_state_machine_serves_refreshes_waits_and_fails_as_documented() {
    // Fresh, and a token that never expires: served.
    assert!(matches!(
        state_with(Some(3600)).next_step(at(0), None),
        Step::Serve(_)
    ));
    assert!(matches!(
        state_with(None).next_step(at(u64::from(u32::MAX)), None),
        Step::Serve(_)
    ));

    // Stale: the first caller fetches, the next ones are served meanwhile.
    let mut state = state_with(Some(3600));
    assert!(matches!(
        state.next_step(at(3400), None),
        Step::Fetch(FetchReason::RefreshAhead { remaining }) if remaining == secs(200)
    ));
    assert!(state.fetching);
    assert!(matches!(state.next_step(at(3400), None), Step::Serve(_)));

    // Stale, backing off after a failure: served without a fetch.
    let mut state = state_with(Some(3600));
    state.refresh_blocked_until = Some(at(3405));
    assert!(matches!(state.next_step(at(3404), None), Step::Serve(_)));
    assert!(matches!(state.next_step(at(3405), None), Step::Fetch(_)));

    // With one second above the minimum left the token may still be handed
    // out; with exactly the minimum left it may not: the first caller
    // fetches, the next ones wait.
    let mut state = state_with(Some(3600));
    assert!(matches!(
        state.next_step(at(3589), None),
        Step::Fetch(FetchReason::RefreshAhead { remaining }) if remaining == secs(11)
    ));
    assert!(matches!(state.next_step(at(3589), None), Step::Serve(_)));
    assert!(matches!(state.next_step(at(3590), None), Step::Wait(0)));
    let mut state = state_with(Some(3600));
    assert!(matches!(
        state.next_step(at(3590), None),
        Step::Fetch(FetchReason::Miss("expiring"))
    ));
    assert!(matches!(state.next_step(at(3590), None), Step::Wait(0)));
    assert!(matches!(state.next_step(at(3591), None), Step::Wait(0)));
    assert_eq!(state.waiters, 2);

    // The fetch failed: a caller that waited for it gets the error; a new
    // caller, or one that waited for an older fetch, tries again.
    state.fetching = false;
    state.generation = 1;
    state.last_failure = Some((1, Arc::new(Error::transient("down"))));
    assert!(matches!(state.next_step(at(3591), Some(0)), Step::Fail(_)));
    state.last_failure = Some((1, Arc::new(Error::transient("down"))));
    assert!(matches!(state.next_step(at(3591), Some(1)), Step::Fetch(_)));
    state.fetching = false;
    assert!(matches!(state.next_step(at(3591), None), Step::Fetch(_)));

    // Empty: fetch.
    assert!(matches!(
        State::default().next_step(at(0), None),
        Step::Fetch(FetchReason::Miss("empty"))
    ));
}

/// The `Display` of every error below `error`, outermost first.
fn chain(error: &(dyn StdError + 'static)) -> Vec<String> {
    let mut shown = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        shown.push(cause.to_string());
        next = cause.source();
    }
    shown
}

#[test]
fn shared_errors_keep_message_predicates_and_source_chain() {
    let io = std::io::Error::other("connection reset");
    let skew = ClockSkew {
        difference: secs(90),
        local_ahead: true,
    };
    let original = Error::permanent("token endpoint refused the grant")
        .with_source(io)
        .with_credential_source(CredentialSource::ServiceAccount)
        .with_status(400)
        .with_oauth_error(OAuthErrorCode::InvalidGrant)
        .with_clock_skew(skew);
    let shared = Arc::new(original);
    let copy = share(&shared);
    assert_eq!(copy.to_string(), shared.to_string());
    assert_eq!(
        copy.to_string(),
        "service account: token endpoint refused the grant"
    );
    assert!(!copy.is_transient());
    assert_eq!(
        copy.credential_source(),
        Some(CredentialSource::ServiceAccount)
    );
    assert_eq!(copy.status(), Some(400));
    assert_eq!(copy.oauth_error(), Some(&OAuthErrorCode::InvalidGrant));
    assert_eq!(copy.clock_skew(), Some(skew));
    assert_eq!(chain(&copy), ["connection reset"]);
    assert_eq!(chain(&copy), chain(shared.as_ref()));

    let bare = share(&Arc::new(Error::transient("no source")));
    assert_eq!(bare.to_string(), "no source");
    assert!(bare.is_transient());
    assert!(bare.source().is_none());
    assert_eq!(bare.credential_source(), None);
}

#[test]
fn the_hasher_agrees_with_scope_set_equality() {
    let build = BuildHasherDefault::<ScopeHasher>::default();
    let set = |scopes: &[&str]| scopes.iter().map(|s| Scope::parse(s)).collect::<ScopeSet>();
    let urls = [
        "https://www.googleapis.com/auth/taskqueue",
        "https://www.googleapis.com/auth/taskqueue.consumer",
        "https://www.googleapis.com/auth/cloud-taskqueue",
        "https://www.googleapis.com/auth/cloud-taskqueue.consumer",
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/userinfo.email",
    ];
    // Same set, another order or with duplicates: same hash.
    assert_eq!(
        build.hash_one(set(&[urls[0], urls[4], urls[1]])),
        build.hash_one(set(&[urls[4], urls[1], urls[0], urls[4]]))
    );
    // Every single scope and every pair hashes differently.
    let mut hashes = HashSet::new();
    let mut sets = 0;
    for (i, a) in urls.iter().enumerate() {
        hashes.insert(build.hash_one(set(&[a])));
        sets += 1;
        for b in &urls[i + 1..] {
            hashes.insert(build.hash_one(set(&[a, b])));
            sets += 1;
        }
    }
    hashes.insert(build.hash_one(ScopeSet::new()));
    assert_eq!(hashes.len(), sets + 1);
}

#[test]
fn config_builders_set_each_field() {
    let config = CacheConfig::default()
        .with_refresh_ahead(secs(1))
        .with_refresh_jitter(secs(2))
        .with_min_remaining(secs(3))
        .with_refresh_failure_backoff(secs(4));
    assert_eq!(
        config,
        CacheConfig {
            refresh_ahead: secs(1),
            refresh_jitter: secs(2),
            min_remaining: secs(3),
            refresh_failure_backoff: secs(4),
        }
    );
    let defaults = CacheConfig::default();
    assert_eq!(
        (
            defaults.refresh_ahead,
            defaults.refresh_jitter,
            defaults.min_remaining,
            defaults.refresh_failure_backoff
        ),
        (secs(225), secs(30), secs(10), secs(5))
    );
}
