//! `taskqueue-conformance`: runs the scenarios (being built).

fn main() {}
