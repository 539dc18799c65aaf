//! One harness, three targets.
//!
//! A `Target` is where scenarios run: the mock (`mock`: wiremock per
//! scenario, virtual time), the reference server in process (`server`:
//! virtual time, behind the recording forwarder) or a real endpoint
//! ([`real`]: real time, behind the recording forwarder). A target opens a
//! `Session` per scenario (or refuses: not applicable, or a setup that
//! failed), and `run_scenario`, the one step loop, drives every session
//! the same way: the session's notes, seeding and revocations before each
//! step, `advance` steps and `call` steps, the first failing step stopping
//! the scenario, the session's last word (stray requests, a drain), and
//! the secret scan of the record. Adding a target means implementing
//! `Target` and `Session`; the loop, the thread pool (`pool`) and the
//! client under test (`client`) are shared.

pub mod applicability;
pub(crate) mod client;
pub(crate) mod dispatch;
pub(crate) mod faults;
pub(crate) mod forwarded;
pub(crate) mod forwarder;
pub(crate) mod front;
pub(crate) mod mock;
pub(crate) mod pool;
pub mod real;
#[cfg(feature = "server")]
pub(crate) mod server;

use std::fmt;
use std::time::Duration;

use taskqueue_clock::{Clock, SystemClock};
use taskqueue_model::ApiMethod;

use crate::report::secrets::SecretScanner;
use crate::report::{self, Outcome, ScenarioRecord, StepRecord, WireCounters};
use crate::scenario::Step;
use crate::scenario::load::LoadedScenario;

/// Why a target does not run a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The scenario cannot run there; the reason is reported as the skip.
    NotApplicable(String),
    /// Setting the scenario up failed; the scenario fails.
    Setup(String),
}

/// Where scenarios run: opens a [`Session`] per scenario.
pub(crate) trait Target {
    /// One scenario's run on this target.
    type Session<'a>: Session
    where
        Self: 'a;

    /// Which target this is, for the records.
    fn kind(&self) -> report::Target;

    /// Prepares `loaded` (the `at`-th scenario of the run): decides whether
    /// it applies, sets the target up, builds the client. Every secret made
    /// before a refusal goes to `secrets`.
    async fn open<'a>(
        &'a self,
        loaded: &'a LoadedScenario,
        at: usize,
        secrets: &mut Secrets,
    ) -> Result<Self::Session<'a>, Refusal>;
}

/// One scenario on a target, driven by [`run_scenario`].
pub(crate) trait Session {
    /// Lines put before the first step's wire lines: what was set up.
    fn notes(&mut self) -> Vec<String>;
    /// Runs before step `number` (from 1): seeding due then, revocations.
    async fn before_step(&mut self, number: usize) -> Result<(), String>;
    /// The record's time of the step about to run.
    fn at(&self) -> String;
    /// Moves time by `by`; the record's `result` says where time is.
    async fn advance(&mut self, by: Duration, record: &mut StepRecord);
    /// Runs the call of step `number`: fills `record` (wire, counters,
    /// sleeps, result) and returns the problems found.
    async fn call(
        &mut self,
        number: usize,
        method: ApiMethod,
        step: &Step,
        record: &mut StepRecord,
    ) -> Vec<String>;
    /// Rewrites a finished step's record for presentation.
    fn after_step(&self, _record: &mut StepRecord) {}
    /// After the steps (whether or not they passed): `Err` if something is
    /// left over (a request no step made, a queue that does not drain).
    async fn finish(&mut self, record: &mut ScenarioRecord) -> Result<(), String>;
    /// Every secret the scenario made or saw.
    fn secrets(&self, secrets: &mut Secrets);
}

/// Secret values of a run, kept for the secret scanner only; `Debug` shows
/// how many.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one.
    pub(crate) fn push(&mut self, secret: impl Into<String>) {
        self.0.push(secret.into());
    }

    /// Adds every secret field of a JSON key file.
    pub(crate) fn push_key_file(&mut self, json: &str) {
        self.0
            .extend(crate::report::secrets::key_file_secrets(json));
    }

    /// Hands every one to `scanner`.
    pub fn add_to(&self, scanner: &mut SecretScanner) {
        for secret in &self.0 {
            scanner.add(secret);
        }
    }

    /// A scanner knowing these secrets.
    fn scanner(&self) -> SecretScanner {
        let mut scanner = SecretScanner::new();
        self.add_to(&mut scanner);
        scanner
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} censored)", self.0.len())
    }
}

/// One scenario run on a target: its record and the secrets it made.
#[derive(Debug, Clone)]
pub struct Ran {
    /// What ran.
    pub record: ScenarioRecord,
    /// Every secret the scenario made or saw.
    pub secrets: Secrets,
}

impl Ran {
    /// The result of a scenario the harness could not run on `kind`, saying
    /// `why`.
    pub(crate) fn failed(loaded: &LoadedScenario, kind: report::Target, why: &str) -> Ran {
        let mut record = empty_record(loaded, kind);
        record.outcome = Outcome::Failed(format!("{}: {why}", loaded.path.display()));
        Ran {
            record,
            secrets: Secrets::default(),
        }
    }
}

/// What a run of many scenarios produced.
#[derive(Debug)]
pub struct Run {
    /// One record per scenario, in order.
    pub records: Vec<ScenarioRecord>,
    /// Every secret of the run, for the reports' scan.
    pub secrets: SecretScanner,
}

impl Run {
    /// The records and every secret of `results`.
    pub(crate) fn collect(results: Vec<Ran>) -> Run {
        let mut secrets = SecretScanner::new();
        let records = results
            .into_iter()
            .map(|ran| {
                ran.secrets.add_to(&mut secrets);
                ran.record
            })
            .collect();
        Run { records, secrets }
    }
}

/// Runs `loaded`, the `at`-th scenario of the run, on `target`: the one
/// step loop of every target. Never panics on a scenario's account: a
/// setup failure, a failing step or a leaked secret is the record's
/// outcome.
pub(crate) async fn run_scenario<T: Target>(target: &T, loaded: &LoadedScenario, at: usize) -> Ran {
    let wall = SystemClock::new();
    let began = wall.monotonic();
    let file = loaded.path.display().to_string();
    let mut record = empty_record(loaded, target.kind());
    let mut secrets = Secrets::default();
    let mut session = match target.open(loaded, at, &mut secrets).await {
        Ok(session) => session,
        Err(Refusal::NotApplicable(reason)) => {
            record.outcome = Outcome::Skipped(reason);
            return Ran { record, secrets };
        }
        Err(Refusal::Setup(why)) => {
            record.outcome = Outcome::Failed(format!("{file}: setup: {why}"));
            return Ran { record, secrets };
        }
    };
    let mut notes = session.notes();
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        let number = index + 1;
        if let Err(why) = session.before_step(number).await {
            record.outcome =
                Outcome::Failed(format!("{file}: seeding before step {number}: {why}"));
            break;
        }
        let mut step_record = StepRecord::new(number, session.at());
        let mut problems = Vec::new();
        match (&step.value.advance, &step.value.call) {
            (Some(advance), _) => {
                step_record.action = format!("advance {}", advance.value);
                session.advance(advance.value.get(), &mut step_record).await;
            }
            (None, Some(call)) => {
                let method = call.value.0;
                step_record.action = format!("call {}", method.short_name());
                problems.extend(
                    session
                        .call(number, method, &step.value, &mut step_record)
                        .await,
                );
            }
            (None, None) => {
                // Refused at load; a scenario built in code may still say nothing.
                step_record.action = "nothing".to_owned();
                problems.push("the step is neither a call nor an advance".to_owned());
            }
        }
        session.after_step(&mut step_record);
        if index == 0 {
            step_record.wire.splice(0..0, notes.drain(..));
        }
        record.counters += step_record.counters;
        let action = step_record.action.clone();
        record.steps.push(step_record);
        if !problems.is_empty() {
            record.outcome = failed_step(&file, step.referenced.line(), number, &action, problems);
            break;
        }
    }
    let finished = session.finish(&mut record).await;
    if let Err(why) = finished
        && record.outcome.is_passed()
    {
        record.outcome = Outcome::Failed(format!("{file}: {why}"));
    }
    session.secrets(&mut secrets);
    drop(session);
    if secrets
        .scanner()
        .scan("record", &format!("{record:?}"))
        .is_err()
    {
        record.outcome = Outcome::Failed(format!("{file}: the record shows a secret"));
        record.steps.clear();
    }
    record.elapsed = wall.monotonic().saturating_sub(began);
    Ran { record, secrets }
}

/// The method ids (discovery form, `taskqueue.tasks.lease`) a scenario
/// calls, in order of first call.
pub fn methods_of(loaded: &LoadedScenario) -> Vec<String> {
    let mut methods: Vec<String> = Vec::new();
    for step in &loaded.scenario.steps {
        if let Some(call) = &step.value.call {
            let id = call.value.0.id().to_owned();
            if !methods.contains(&id) {
                methods.push(id);
            }
        }
    }
    methods
}

/// A passing record of `loaded` on `kind`, with no step yet.
pub(crate) fn empty_record(loaded: &LoadedScenario, kind: report::Target) -> ScenarioRecord {
    ScenarioRecord {
        id: loaded.scenario.id.clone(),
        target: kind,
        behaviors: loaded.scenario.behaviors.clone(),
        outcome: Outcome::Passed,
        steps: Vec::new(),
        counters: WireCounters::default(),
        methods: methods_of(loaded),
        elapsed: Duration::ZERO,
    }
}

/// The outcome of a scenario stopped by a failing step: `file:line: step N
/// (action): problems`, repeated identical problems shown once with a count.
fn failed_step(
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
