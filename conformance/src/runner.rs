//! Running scenarios on the mock target.
//!
//! # Time
//!
//! Each scenario gets a fresh `VirtualClock`
//! at `clock.start`, shared by the client stack (token cache, token sources,
//! transport) and the mock's responders. Auto-advance stays off: time moves
//! only by `advance` steps and by the runner, which drives every call with
//! [`drive`]: while the call is pending and something sleeps on the clock
//! (a backoff between retries, of the transport or of a token source), it
//! moves the clock to that sleep's deadline at once. A call is sequential,
//! so a pending sleep is always the call waiting on its backoff, never on
//! I/O. Nothing sleeps for real and tokio's paused time is not used. The
//! step's sleeps are the delta of `VirtualClock::sleeps()`; they are the
//! step's `sleeps` and its `counters.retries`.
//!
//! # Determinism
//!
//! A scenario runs on its own OS thread with a current-thread tokio runtime,
//! whose thread-local `fastrand` generator is seeded with
//! `client.retry.jitter_seed` first: the token cache's refresh-ahead jitter
//! is drawn from it, so refresh points are reproducible. Backoff jitter comes
//! from the seeded retry policies (see [`crate::setup`]).
//!
//! # Failures
//!
//! [`run_mock`] never panics: a harness problem (bad `args`, a setup error,
//! a panic) becomes [`Outcome::Failed`] with a message naming the file and
//! the step. The scenario stops at its first failing step.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use taskqueue_clock::{Clock, VirtualClock};
use taskqueue_model::ApiMethod;

use crate::duration::parse_duration;
use crate::load::LoadedScenario;
use crate::report::{Outcome, ScenarioRecord, StepRecord, Target, WireCounters};
use crate::scenario::Step;
use crate::setup::Setup;
use crate::template::Window;
use crate::{dispatch, expect, setup, template};

/// The real-time bound on one call: a safety net should the client hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A scenario finished while running many, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// How many scenarios have finished, this one included.
    pub done: usize,
    /// How many run in all.
    pub total: usize,
    /// The scenario.
    pub scenario: &'a LoadedScenario,
    /// Its record.
    pub record: &'a ScenarioRecord,
}

/// What running one scenario on a target yields: its record, and maybe more.
pub(crate) trait ScenarioResult: Send + 'static {
    /// The result of a scenario the harness could not run, saying `why`.
    fn failed(scenario: &LoadedScenario, why: String) -> Self;
    /// Its record.
    fn record_mut(&mut self) -> &mut ScenarioRecord;
}

impl ScenarioResult for ScenarioRecord {
    fn failed(scenario: &LoadedScenario, why: String) -> Self {
        failed(scenario, why)
    }

    fn record_mut(&mut self) -> &mut ScenarioRecord {
        self
    }
}

/// Runs `run_blocking(scenario)` on a thread named `{thread} {id}` of its own, awaiting its result from any async
/// runtime.
pub(crate) async fn on_own_thread<R: ScenarioResult>(
    scenario: &LoadedScenario,
    thread: &str,
    run_blocking: fn(&LoadedScenario) -> R,
) -> R {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let owned = scenario.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("{thread} {}", scenario.scenario.id))
        .spawn(move || {
            let _ = sender.send(run_blocking(&owned));
        });
    if let Err(error) = spawned {
        return R::failed(
            scenario,
            format!("cannot start the scenario's thread: {error}"),
        );
    }
    receiver.await.unwrap_or_else(|_| {
        R::failed(
            scenario,
            "the scenario's thread ended without a record".to_owned(),
        )
    })
}

/// Runs `execute(scenario)` on the calling thread, on a current-thread runtime of its own (dropped before the
/// run is timed), with `fastrand` seeded by the scenario's jitter seed; a panic becomes a failed result. Refuses
/// to run inside an async runtime: `blocking` and `async_variant` name the caller and what to use there instead.
pub(crate) fn on_own_runtime<'a, R, F>(
    scenario: &'a LoadedScenario,
    blocking: &str,
    async_variant: &str,
    execute: impl FnOnce(&'a LoadedScenario) -> F,
) -> R
where
    R: ScenarioResult,
    F: Future<Output = R>,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return R::failed(
            scenario,
            format!("{blocking} was called inside an async runtime; use {async_variant} there"),
        );
    }
    let wall = taskqueue_clock::system();
    let started = wall.monotonic();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return R::failed(scenario, format!("cannot build a tokio runtime: {error}")),
    };
    fastrand::seed(scenario.scenario.client.retry.jitter_seed);
    let outcome =
        std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(execute(scenario))));
    drop(runtime);
    let mut result = outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "a panic".to_owned());
        R::failed(scenario, format!("the harness panicked: {message}"))
    });
    result.record_mut().elapsed = wall.monotonic().saturating_sub(started);
    result
}

/// Runs `scenario` on the mock target, on a thread of its own (see the
/// module documentation), from any async runtime.
pub async fn run_mock(scenario: &LoadedScenario) -> ScenarioRecord {
    on_own_thread(scenario, "scenario", run_mock_blocking).await
}

/// Runs `scenario` on the mock target on the calling thread, with a
/// current-thread runtime of its own. Must not be called from inside an
/// async runtime (use [`run_mock`] there).
pub fn run_mock_blocking(scenario: &LoadedScenario) -> ScenarioRecord {
    on_own_runtime(scenario, "run_mock_blocking", "run_mock", execute)
}

/// Runs every scenario on the mock target, `parallelism` at a time (each
/// with its own server, clock and client); records in the input's order.
pub async fn run_all_mock(scenarios: &[LoadedScenario], parallelism: usize) -> Vec<ScenarioRecord> {
    run_all_mock_with_progress(scenarios, parallelism, |_| {}).await
}

/// [`run_all_mock`], calling `on_progress` as each scenario finishes (in
/// the order they finish), on the caller's task.
pub async fn run_all_mock_with_progress(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Vec<ScenarioRecord> {
    let total = scenarios.len();
    run_pool(
        scenarios,
        parallelism,
        run_mock_blocking,
        |scenario| failed(scenario, "no worker thread could run it".to_owned()),
        |done, index, record| {
            on_progress(Progress {
                done,
                total,
                scenario: &scenarios[index],
                record,
            });
        },
    )
    .await
}

/// Runs `run` on every scenario on worker threads, `parallelism` at a time,
/// calling `on_done(done, index, result)` on the caller's task as each
/// finishes; the results come back in the input's order (`fallback` for a
/// scenario no worker could run).
pub(crate) async fn run_pool<T: Send + 'static>(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    run: fn(&LoadedScenario) -> T,
    fallback: impl Fn(&LoadedScenario) -> T,
    mut on_done: impl FnMut(usize, usize, &T),
) -> Vec<T> {
    let total = scenarios.len();
    let shared: Arc<Vec<LoadedScenario>> = Arc::new(scenarios.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    for worker in 0..parallelism.clamp(1, total.max(1)) {
        let (shared, next, sender) = (shared.clone(), next.clone(), sender.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("conformance worker {worker}"))
            .spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(scenario) = shared.get(index) else {
                        break;
                    };
                    if sender.send((index, run(scenario))).is_err() {
                        break;
                    }
                }
            });
        if spawned.is_err() {
            // Without this worker, the others take its share.
            continue;
        }
    }
    drop(sender);
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut done = 0;
    while let Some((index, result)) = receiver.recv().await {
        done += 1;
        on_done(done, index, &result);
        results[index] = Some(result);
    }
    results
        .into_iter()
        .zip(scenarios)
        .map(|(result, scenario)| result.unwrap_or_else(|| fallback(scenario)))
        .collect()
}

/// Polls `future` to completion, moving `clock` to the next sleep's
/// deadline whenever something sleeps on it meanwhile.
pub async fn drive<F: std::future::Future>(clock: &VirtualClock, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        tokio::select! {
            biased;
            output = &mut future => return output,
            () = clock.wait_for_sleepers(1) => {
                clock.advance_to_next_sleeper();
            }
        }
    }
}

/// The method ids (discovery form, `taskqueue.tasks.lease`) a scenario
/// calls, in order of first call.
pub fn methods_of(loaded: &LoadedScenario) -> Vec<String> {
    let mut methods: Vec<String> = Vec::new();
    for step in &loaded.scenario.steps {
        if let Some(method) = step
            .value
            .call
            .as_ref()
            .and_then(|call| dispatch::method(&call.value))
        {
            let id = method.id().to_owned();
            if !methods.contains(&id) {
                methods.push(id);
            }
        }
    }
    methods
}

fn empty_record(loaded: &LoadedScenario) -> ScenarioRecord {
    empty_record_on(loaded, Target::Mock)
}

/// A passing record of `loaded` on `target`, with no step yet.
pub(crate) fn empty_record_on(loaded: &LoadedScenario, target: Target) -> ScenarioRecord {
    ScenarioRecord {
        id: loaded.scenario.id.clone(),
        target,
        behaviors: loaded.scenario.behaviors.clone(),
        outcome: Outcome::Passed,
        steps: Vec::new(),
        counters: WireCounters::default(),
        methods: methods_of(loaded),
        elapsed: Duration::ZERO,
    }
}

fn failed(loaded: &LoadedScenario, why: String) -> ScenarioRecord {
    let mut record = empty_record(loaded);
    record.outcome = Outcome::Failed(format!("{}: {why}", loaded.path.display()));
    record
}

async fn execute(loaded: &LoadedScenario) -> ScenarioRecord {
    let file = loaded.path.display().to_string();
    let mut record = empty_record(loaded);
    let setup = match setup::setup(&loaded.scenario).await {
        Ok(setup) => setup,
        Err(why) => {
            record.outcome = Outcome::Failed(format!("{file}: setup: {why}"));
            return record;
        }
    };
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        let number = index + 1;
        let (step_record, problems) = run_step(&setup, number, &step.value).await;
        record.counters += step_record.counters;
        let action = step_record.action.clone();
        record.steps.push(step_record);
        if !problems.is_empty() {
            record.outcome = failed_step(&file, step.referenced.line(), number, &action, problems);
            return record;
        }
    }
    let stray = setup.mock.drain();
    if !stray.unexpected.is_empty() {
        record.counters += stray.counters;
        record.outcome = Outcome::Failed(format!(
            "{file}: after the last step: {}",
            stray.unexpected.join("; ")
        ));
    }
    if let Some(leak) = leaked_secret(&record, &setup) {
        record.outcome = Outcome::Failed(format!("{file}: the record shows {leak}"));
    }
    record
}

/// Which secret, if any, the record would put in a snapshot: a minted
/// token or the key's client secret or refresh token.
fn leaked_secret(record: &ScenarioRecord, setup: &Setup) -> Option<&'static str> {
    let text = format!("{record:?}");
    if setup
        .mock
        .secrets()
        .iter()
        .any(|secret| text.contains(secret.as_str()))
    {
        return Some("an access token's secret");
    }
    [setup::CLIENT_SECRET, setup::REFRESH_TOKEN]
        .into_iter()
        .any(|secret| text.contains(secret))
        .then_some("a credential secret")
}

/// The outcome of a scenario stopped by a failing step: `file:line: step N
/// (action): problems`, repeated identical problems shown once with a count.
pub(crate) fn failed_step(
    file: &str,
    line: u64,
    number: usize,
    action: &str,
    problems: Vec<String>,
) -> Outcome {
    Outcome::Failed(format!(
        "{file}:{line}: step {number} ({action}): {}",
        counted(problems).join("; ")
    ))
}

fn counted(problems: Vec<String>) -> Vec<String> {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for problem in problems {
        match runs.last_mut() {
            Some((last, count)) if *last == problem => *count += 1,
            _ => runs.push((problem, 1)),
        }
    }
    runs.into_iter()
        .map(|(problem, count)| {
            if count == 1 {
                problem
            } else {
                format!("{problem} ({count} times)")
            }
        })
        .collect()
}

/// Runs `step` if it is an `advance`, moving `clock` and filling `record`; whether it was one.
pub(crate) fn run_advance(
    step: &Step,
    clock: &VirtualClock,
    record: &mut StepRecord,
    problems: &mut Vec<String>,
) -> bool {
    let Some(advance) = &step.advance else {
        return false;
    };
    record.action = format!("advance {}", advance.value);
    match parse_duration(&advance.value) {
        Some(by) => clock.advance(by),
        None => problems.push(format!("`{}` is not a duration", advance.value)),
    }
    record.result = format!("now {}", template::offset(clock.elapsed()));
    true
}

/// The method a `call` step calls, with `record.action` set; `None`, with the problem noted, for a step that is
/// neither a call nor an advance, or calls an unknown method.
pub(crate) fn step_method(
    step: &Step,
    record: &mut StepRecord,
    problems: &mut Vec<String>,
) -> Option<ApiMethod> {
    let Some(call) = &step.call else {
        record.action = "nothing".to_owned();
        problems.push("the step is neither a call nor an advance".to_owned());
        return None;
    };
    let Some(method) = dispatch::method(&call.value) else {
        record.action = format!("call {}", call.value);
        problems.push(format!("unknown method `{}`", call.value));
        return None;
    };
    record.action = format!("call {}", method.short_name());
    Some(method)
}

async fn run_step(setup: &Setup, number: usize, step: &Step) -> (StepRecord, Vec<String>) {
    let clock = &setup.clock;
    let mut record = StepRecord::new(number, template::offset(clock.elapsed()));
    let mut problems = Vec::new();
    if run_advance(step, clock, &mut record, &mut problems) {
        return (record, problems);
    }
    let Some(method) = step_method(step, &mut record, &mut problems) else {
        return (record, problems);
    };
    if let Err(why) = setup.mock.begin_step(number, &step.exchanges) {
        problems.push(why);
        setup.mock.end_step();
        return (record, problems);
    }
    let sleeps_before = clock.sleeps().len();
    let outcome = call_once(setup, method, step).await;
    let wire = setup.mock.end_step();
    let sleeps: Vec<Duration> = clock.sleeps().into_iter().skip(sleeps_before).collect();
    record.wire = wire.wire;
    record.counters = wire.counters;
    record.record_sleeps(&sleeps);
    problems.extend(wire.unexpected);
    match outcome {
        Err(harness) => {
            record.result = "not run".to_owned();
            problems.push(harness);
        }
        Ok(outcome) => {
            let checked = expect::judge(step.expect.as_ref(), &outcome, Window::at(clock.now()));
            record.result = checked.result;
            problems.extend(checked.problems);
        }
    }
    if let Some(counters) = &step.counters {
        problems.extend(expect::counter_problems(counters, &record.counters));
    }
    problems.extend(wire.unconsumed);
    (record, problems)
}

/// Starts and drives one call; `Err` is a harness problem (bad args, a hang).
async fn call_once(
    setup: &Setup,
    method: ApiMethod,
    step: &Step,
) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
    let future = dispatch::start(
        &setup.client,
        &setup.queue,
        method,
        &step.args,
        setup.clock.now(),
    )
    .map_err(|error| format!("bad args: {error}"))?;
    tokio::time::timeout(CALL_TIMEOUT, drive(&setup.clock, future))
        .await
        .map_err(|_| {
            format!(
                "the call did not finish within {} s of real time",
                CALL_TIMEOUT.as_secs()
            )
        })
}
