//! The server target: every scenario that applies runs against the
//! reference server `taskqueue-server`, started in process per scenario.
//!
//! # What runs
//!
//! [`applicability::decide`] says whether a scenario applies: a script
//! whose answers a faithful server cannot give (faults, token-endpoint
//! errors, narrower grants) is skipped with its reason, unless the
//! scenario's `server` block says otherwise. A scenario that applies gets a
//! fresh server ([`target`]): one virtual clock at `clock.start` shared by
//! the client stack and the server, a memory store holding the tasks of
//! `server.seed`, the queue (with `server.acl` and `server.max_leases`),
//! and the grant's principal. The client talks to the recording forwarder
//! for everything: the API, the token endpoint and the metadata server.
//!
//! # Time
//!
//! As on the mock target, time moves only by `advance` steps and by the
//! runner moving the clock to a pending sleep's deadline
//! ([`crate::runner::drive`]): the server itself never sleeps on the
//! clock, so a token or a lease expires the instant an `advance` passes
//! its expiry.
//!
//! # Comparison
//!
//! After each call, the step's scripted exchanges are held against what
//! crossed the forwarder ([`compare::compare_all`]): token exchanges (the
//! grant, the issued token's label, or the error) and API exchanges (the
//! request's method, path, query, token label and body subset; the answer's
//! status, error reason and scripted JSON fields, time templates expanded
//! on the shared clock). The call's result is checked against `expect`, and
//! every counter, `token_requests` included, against `counters`. The first
//! failing step stops the scenario.
//!
//! # Secrets
//!
//! Tokens are labels (`at-1`: the n-th token the server issues is `at-n`);
//! the forwarder never records a token's value, a token request's form, or
//! a secret field of an answer. Every secret of the run (client secrets,
//! refresh tokens, the test key, every token issued) is handed to the
//! secret scanner, and a record showing one fails its scenario.

pub mod applicability;
pub mod compare;
mod seed;
pub mod target;

use std::fmt;
use std::time::Duration;

use taskqueue_clock::Clock;

use crate::forwarded::{Behind, Rules, call_step};
use crate::load::LoadedScenario;
use crate::real::compare::Labels;
use crate::real::faults::TokenErrors;
use crate::report::{Outcome, ScenarioRecord, StepRecord, Target};
use crate::reports::secrets::SecretScanner;
use crate::runner::{
    Progress, ScenarioResult, drive, empty_record_on, failed_step, on_own_runtime, on_own_thread,
    run_advance, run_pool, step_method,
};
use crate::scenario::Step;
use crate::{dispatch, template};
use applicability::Applicability;
use compare::Names;
use target::ServerTarget;

/// The real-time bound on one call: a safety net should the client hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// Hands every one to `scanner`.
    pub fn add_to(&self, scanner: &mut SecretScanner) {
        for secret in &self.0 {
            scanner.add(secret);
        }
    }

    /// Whether `text` contains one.
    fn found_in(&self, text: &str) -> bool {
        self.0.iter().any(|secret| text.contains(secret.as_str()))
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} censored)", self.0.len())
    }
}

/// One scenario on the server target: its record and the secrets it made.
#[derive(Debug, Clone)]
pub struct ServerScenario {
    /// What ran.
    pub record: ScenarioRecord,
    /// Every secret the scenario made or saw.
    pub secrets: Secrets,
}

/// What a server run produced.
#[derive(Debug)]
pub struct ServerRun {
    /// One record per scenario, in order.
    pub records: Vec<ScenarioRecord>,
    /// Every secret of the run, for the reports' scan.
    pub secrets: SecretScanner,
}

/// Runs `scenario` on the server target, on a thread of its own, from any
/// async runtime.
pub async fn run_server(scenario: &LoadedScenario) -> ServerScenario {
    on_own_thread(scenario, "server scenario", run_server_blocking).await
}

/// Runs `scenario` on the server target on the calling thread, with a
/// current-thread runtime of its own (the server, the forwarder and the
/// client all run on it). Must not be called from inside an async runtime.
pub fn run_server_blocking(scenario: &LoadedScenario) -> ServerScenario {
    on_own_runtime(scenario, "run_server_blocking", "run_server", execute)
}

impl ScenarioResult for ServerScenario {
    fn failed(scenario: &LoadedScenario, why: String) -> Self {
        failed(scenario, why)
    }

    fn record_mut(&mut self) -> &mut ScenarioRecord {
        &mut self.record
    }
}

/// Runs every scenario on the server target, `parallelism` at a time (each
/// with its own server, clock and client); records in the input's order.
pub async fn run_all_server(scenarios: &[LoadedScenario], parallelism: usize) -> ServerRun {
    run_all_server_with_progress(scenarios, parallelism, |_| {}).await
}

/// [`run_all_server`], calling `on_progress` as each scenario finishes (in
/// the order they finish), on the caller's task.
pub async fn run_all_server_with_progress(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    mut on_progress: impl FnMut(Progress<'_>),
) -> ServerRun {
    let total = scenarios.len();
    let results = run_pool(
        scenarios,
        parallelism,
        run_server_blocking,
        |scenario| failed(scenario, "no worker thread could run it".to_owned()),
        |done, index, result: &ServerScenario| {
            on_progress(Progress {
                done,
                total,
                scenario: &scenarios[index],
                record: &result.record,
            });
        },
    )
    .await;
    let mut secrets = SecretScanner::new();
    let records = results
        .into_iter()
        .map(|result| {
            result.secrets.add_to(&mut secrets);
            result.record
        })
        .collect();
    ServerRun { records, secrets }
}

fn failed(loaded: &LoadedScenario, why: String) -> ServerScenario {
    let mut record = empty_record_on(loaded, Target::Server);
    record.outcome = Outcome::Failed(format!("{}: {why}", loaded.path.display()));
    ServerScenario {
        record,
        secrets: Secrets::default(),
    }
}

async fn execute(loaded: &LoadedScenario) -> ServerScenario {
    let file = loaded.path.display().to_string();
    let scenario = &loaded.scenario;
    let mut record = empty_record_on(loaded, Target::Server);
    let mut secrets = Vec::new();
    let (note, injected_note) = match applicability::decide(scenario) {
        Applicability::Skip(reason) => {
            record.outcome = Outcome::Skipped(reason);
            return ServerScenario {
                record,
                secrets: Secrets::default(),
            };
        }
        Applicability::Run { note, injected } => (
            note,
            (!injected.is_empty())
                .then(|| format!("note: the forwarder injects: {}", injected.join("; "))),
        ),
    };
    let target = match target::start(scenario, &mut secrets).await {
        Ok(target) => target,
        Err(why) => {
            record.outcome = Outcome::Failed(format!("{file}: setup: {why}"));
            return ServerScenario {
                record,
                secrets: Secrets(secrets),
            };
        }
    };
    let spec = scenario
        .server
        .as_ref()
        .map(|server| server.value.clone())
        .unwrap_or_default();
    let mut run = Run {
        target: &target,
        labels: Labels::default(),
        names: Names::new(&spec.generated),
        grant: scenario.credentials.grant,
        revoke: spec.revoke.clone(),
        token_errors: if spec.run.is_some() {
            TokenErrors::Upstream
        } else {
            TokenErrors::Injected
        },
    };
    let mut first_notes = vec![format!("note: server: {}", target.summary)];
    if let Some(note) = note {
        first_notes.push(format!("note: runs although its script has faults: {note}"));
    }
    first_notes.extend(injected_note);
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        if number > 1
            && let Err(why) = target
                .seed_before(&spec, number, &scenario.client.queue)
                .await
        {
            record.outcome =
                Outcome::Failed(format!("{file}: seeding before step {number}: {why}"));
            break;
        }
        let (mut step_record, problems) = run.step(number, &step.value).await;
        if index == 0 {
            step_record.wire.splice(0..0, first_notes.drain(..));
        }
        record.counters += step_record.counters;
        let action = step_record.action.clone();
        record.steps.push(step_record);
        if !problems.is_empty() {
            record.outcome = failed_step(&file, step.referenced.line(), number, &action, problems);
            break;
        }
    }
    if record.outcome.is_passed() {
        let stray = target.forwarder.take();
        if !stray.is_empty() {
            let lines: Vec<String> = stray.iter().map(|r| r.line()).collect();
            record.outcome = Outcome::Failed(format!(
                "{file}: after the last step: request(s) no step made: {}",
                lines.join("; ")
            ));
        }
    }
    secrets.extend(target.forwarder.secrets());
    let secrets = Secrets(secrets);
    if secrets.found_in(&format!("{record:?}")) {
        record.outcome = Outcome::Failed(format!("{file}: the record shows a secret"));
        record.steps.clear();
    }
    ServerScenario { record, secrets }
}

impl Behind for ServerTarget {
    fn client(&self) -> &taskqueue_client::Client {
        &self.client
    }

    fn queue(&self) -> &taskqueue_client::QueueRef {
        &self.queue
    }

    fn forwarder(&self) -> &crate::real::forwarder::Forwarder {
        &self.forwarder
    }

    fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.clock.sleeps()
    }

    /// Drives the virtual clock to each sleep the call takes, within a
    /// real-time bound should the client hang.
    async fn finish(
        &self,
        call: dispatch::CallFuture<'_>,
    ) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
        tokio::time::timeout(CALL_TIMEOUT, drive(&self.clock, call))
            .await
            .map_err(|_| {
                format!(
                    "the call did not finish within {} s of real time",
                    CALL_TIMEOUT.as_secs()
                )
            })
    }

    /// Token expiries relative to `clock.start`.
    fn line(&self, exchange: &crate::real::forwarder::Recorded) -> String {
        exchange.line_since(Some(self.start))
    }
}

/// One scenario's run on its target.
struct Run<'a> {
    target: &'a ServerTarget,
    labels: Labels,
    names: Names,
    grant: crate::scenario::Grant,
    revoke: Vec<crate::scenario::Revocation>,
    token_errors: TokenErrors,
}

impl Run<'_> {
    async fn step(&mut self, number: usize, step: &Step) -> (StepRecord, Vec<String>) {
        let clock = &self.target.clock;
        let mut record = StepRecord::new(number, template::offset(clock.elapsed()));
        let mut problems = Vec::new();
        self.target.forwarder.set_revoked(
            self.revoke
                .iter()
                .filter(|revocation| revocation.from_step() <= number)
                .map(|revocation| revocation.label().to_owned())
                .collect(),
        );
        if run_advance(step, clock, &mut record, &mut problems) {
            return (record, problems);
        }
        let Some(method) = step_method(step, &mut record, &mut problems) else {
            return (record, problems);
        };
        let step = self.names.apply_step(step);
        let rules = Rules {
            grant: self.grant,
            tolerance: Duration::ZERO,
            tokens_observed: true,
            enqueue_times_seeded: true,
            token_errors: self.token_errors,
        };
        let (found, _) = call_step(
            self.target,
            rules,
            method,
            &step,
            &mut record,
            &mut self.labels,
            &mut self.names,
        )
        .await;
        problems.extend(found);
        (record, problems)
    }
}
