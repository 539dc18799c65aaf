//! Integration tests of `taskqueue-store`: the suite every backend must pass. The lease-semantics table runs
//! against the memory, SQLite and PostgreSQL stores; random operation sequences check SQLite and PostgreSQL
//! against the memory model; concurrent leases (one store, and three PostgreSQL stores on one database as three
//! server instances would have them); durability across reopening; bad database files; the SQLite store's purge
//! on the side of deletes.
//!
//! Time is explicit: a `VirtualClock` or fixed instants, never a real sleep. PostgreSQL runs on a throwaway
//! cluster the tests start (`pg_cluster`), or on the database `TASKQUEUE_TEST_POSTGRES_URL` names.

mod bad_files;
mod batching;
mod concurrency;
mod durability;
mod equivalence;
mod pg_cluster;
mod purge_on_the_side;
mod semantics;
mod support;
