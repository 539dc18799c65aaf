//! One call step on a target behind the recording forwarder: the server
//! target and the real target run their calls through [`call_step`], and
//! differ only in their [`CallClock`] (how a call is awaited, what the
//! clock reads) and in [`Rules`].
//!
//! A call step: the step's faults planned in the forwarder, the call
//! dispatched, what crossed the wire recorded and held against the script
//! (`compare_all`: token and API exchanges in order), the result against
//! `expect`, and the counters.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use taskqueue_client::{Client, Error, QueueRef};
use taskqueue_model::ApiMethod;

use crate::check::diff::Labels;
use crate::check::exchanges::{Names, align, compare_all};
use crate::check::expect;
use crate::report::StepRecord;
use crate::scenario::template::Window;
use crate::scenario::{Exchange, Grant, Step};
use crate::target::dispatch::{self, CallFuture};
use crate::target::faults::{self, Plan, TokenErrors};
use crate::target::forwarder::{Forwarder, Recorded};
use crate::target::real::endpoint;

/// What a call step runs on: the client under test, the queue every call
/// addresses, the forwarder the client talks to, and the clock.
#[derive(Debug)]
pub(crate) struct Wire<'a, C> {
    /// The client under test.
    pub(crate) client: &'a Client,
    /// The queue every call addresses.
    pub(crate) queue: &'a QueueRef,
    /// The forwarder the client talks to.
    pub(crate) forwarder: &'a Forwarder,
    /// The clock the calls run on.
    pub(crate) clock: &'a C,
    /// The scenario's start, when token expiries in wire lines are written
    /// relative to it (on a clock the endpoint shares).
    pub(crate) start: Option<SystemTime>,
}

/// The clock a target's calls run on: virtual and driven, or real.
pub(crate) trait CallClock {
    /// The clock's time.
    fn time(&self) -> SystemTime;
    /// Every sleep taken on the clock so far.
    fn sleeps(&self) -> Vec<Duration>;
    /// Awaits `call`; `Err` says why it did not finish.
    async fn finish(&self, call: CallFuture<'_>) -> Result<Result<Value, Error>, String>;
}

/// How a target's observations are judged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// The grant token requests use on the wire.
    pub(crate) grant: Grant,
    /// How far a time the endpoint sends may lie outside the call.
    pub(crate) tolerance: Duration,
    /// Whether token requests cross the forwarder (else the script's token
    /// exchanges and `counters.token_requests` are not checked).
    pub(crate) tokens_observed: bool,
    /// Whether the endpoint's `enqueueTimestamp` is the seeded task's (in process)
    /// or its own (over the API, which cannot set it).
    pub(crate) enqueue_times_seeded: bool,
    /// Who answers a scripted token-endpoint error.
    pub(crate) token_errors: TokenErrors,
}

/// Runs the call `step` (names applied, times rebased) of `method` on
/// `wire`, on `clock`: fills the record's wire, counters, sleeps and result, and
/// returns the problems and what crossed the wire.
pub(crate) async fn call_step(
    wire: Wire<'_, impl CallClock>,
    rules: Rules,
    method: ApiMethod,
    step: &Step,
    record: &mut StepRecord,
    labels: &mut Labels,
    names: &mut Names,
) -> (Vec<String>, Vec<Recorded>) {
    let clock = wire.clock;
    let mut problems = Vec::new();
    let forwarder = wire.forwarder;
    let mut script = step.exchanges.clone();
    if !rules.tokens_observed {
        script.retain(|exchange| matches!(exchange.value, Exchange::Api(_)));
    }
    forwarder.take();
    forwarder.set_plan(faults::plan(
        &script,
        step.expect.as_ref(),
        rules.token_errors,
    ));
    let sleeps_before = clock.sleeps().len();
    let now = clock.time();
    let outcome = match dispatch::start(wire.client, wire.queue, method, &step.args, now) {
        Ok(call) => match clock.finish(call).await {
            Ok(outcome) => Some(outcome),
            Err(why) => {
                problems.push(why);
                None
            }
        },
        Err(error) => {
            problems.push(format!("bad args: {error}"));
            None
        }
    };
    forwarder.set_plan(Plan::default());
    let recorded = forwarder.take();
    record.wire = recorded
        .iter()
        .map(|exchange| exchange.line_since(wire.start))
        .collect();
    let tokens = recorded
        .iter()
        .filter(|exchange| exchange.token_exchange.is_some())
        .count();
    record.counters.token_requests = u32::try_from(tokens).unwrap_or(u32::MAX);
    record.counters.api_requests = u32::try_from(recorded.len() - tokens).unwrap_or(u32::MAX);
    let sleeps: Vec<Duration> = clock.sleeps().into_iter().skip(sleeps_before).collect();
    record.record_sleeps(&sleeps);
    if !rules.enqueue_times_seeded {
        let mut answers = recorded.iter().filter(|r| r.token_exchange.is_none());
        for exchange in &mut script {
            if let Exchange::Api(api) = &mut exchange.value
                && let Some(got) = answers.next()
                && let (Some(want), Some(have)) = (&api.response.json, &got.json)
            {
                api.response.json = Some(endpoint::relax_enqueue_times(want, have));
            }
        }
    }
    let comparison = compare_all(
        &script,
        &recorded,
        rules.grant,
        labels,
        names,
        now,
        rules.tolerance,
    );
    problems.extend(comparison.problems);
    if !rules.tokens_observed {
        record.wire.push(
            "note: token exchanges not observed: the credentials' token requests do not cross \
             the forwarder"
                .to_owned(),
        );
    }
    match outcome {
        None => record.result = "not run".to_owned(),
        Some(outcome) => {
            let mut expected = step.expect.as_ref().map(|e| names.apply_expect(e));
            if let (Some(expected), Ok(actual)) = (&mut expected, &outcome)
                && let Some(ok) = &expected.ok
            {
                let aligned = align(ok, actual);
                expected.ok = Some(if rules.enqueue_times_seeded {
                    aligned
                } else {
                    endpoint::relax_enqueue_times(&aligned, actual)
                });
            }
            let checked = expect::judge(
                expected.as_ref(),
                &outcome,
                Window::between(now, clock.time(), rules.tolerance),
            );
            record.result = checked.result;
            problems.extend(checked.problems);
        }
    }
    if let Some(counters) = &step.counters {
        let mut observable = counters.clone();
        if !rules.tokens_observed {
            observable.token_requests = None;
        }
        problems.extend(expect::counter_problems(&observable, &record.counters));
    }
    (problems, recorded)
}
