//! Scope parsing, normalization and the scope table of docs/wire-format.md §7.

use super::*;

#[test]
fn known_urls_parse_to_their_variants_and_back() {
    for scope in Scope::TASK_QUEUE_SCOPES {
        assert_eq!(Scope::parse(scope.as_str()), scope);
        assert_eq!(Scope::parse(&format!("  {scope} ")), scope);
    }
    let other = Scope::parse("https://www.googleapis.com/auth/cloud-platform");
    assert!(matches!(other, Scope::Other(_)));
    assert_eq!(
        other.as_str(),
        "https://www.googleapis.com/auth/cloud-platform"
    );
}

#[test]
fn scope_sets_ignore_order_and_duplicates() {
    let a = ScopeSet::parse_space_separated(
        "https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/taskqueue.consumer",
    );
    let b = ScopeSet::parse_space_separated(
        "https://www.googleapis.com/auth/taskqueue.consumer  https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/taskqueue",
    );
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    assert_eq!(a.to_space_separated(), b.to_space_separated());
}

#[test]
fn the_seed_table_decides_read_and_write_access() {
    // (scopes, may read, may write)
    let cases: &[(&[Scope], bool, bool)] = &[
        (&[Scope::Taskqueue], true, true),
        (&[Scope::CloudTaskqueue], true, true),
        (&[Scope::TaskqueueConsumer], true, false),
        (&[Scope::CloudTaskqueueConsumer], true, false),
        (&[Scope::TaskqueueConsumer, Scope::Taskqueue], true, true),
        (&[], false, false),
    ];
    for (scopes, read, write) in cases {
        let set: ScopeSet = scopes.iter().cloned().collect();
        assert_eq!(set.grants(Access::Read), *read, "{set} read");
        assert_eq!(set.grants(Access::Write), *write, "{set} write");
    }
    let foreign = ScopeSet::from([Scope::parse(
        "https://www.googleapis.com/auth/cloud-platform",
    )]);
    assert!(!foreign.grants(Access::Read));
    assert!(!foreign.grants(Access::Write));
}
