//! Holding what happened against the script: a call's result against
//! `expect` and its counters (`expect`), a request against the scripted
//! one (`request_match`, `subset`), what crossed the recording
//! forwarder against the script's exchanges (`exchanges`, `diff`), and
//! a run's records against the expected-failures ledger ([`ledger`]).

pub(crate) mod diff;
pub(crate) mod exchanges;
pub(crate) mod expect;
pub mod ledger;
pub(crate) mod request_match;
pub(crate) mod subset;
