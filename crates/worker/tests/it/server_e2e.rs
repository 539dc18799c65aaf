//! End to end against the reference server (filled in below).
