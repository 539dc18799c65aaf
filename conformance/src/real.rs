//! The real target: the same scenarios against a real endpoint.
//!
//! The client talks to a recording [`forwarder::Forwarder`] on 127.0.0.1,
//! which passes every request to the real base URL and records what crossed
//! the wire. After each call, the step's scripted API exchanges are held
//! against the records ([`mod@compare`]): status, error reason, the request's
//! method, path, query, token label and body subset, and the JSON fields the
//! script gives. The call's result is checked against `expect` as on the
//! mock target.
//!
//! What a real target cannot show is skipped, and the record says so (as
//! `note:` wire lines): token exchanges (the client talks to the real token
//! endpoint, or holds a static token), `counters.token_requests`, and steps
//! that need virtual time: an `advance` follows `clock.real_policy` (`skip`:
//! the rest of the scenario is skipped; `wait`: sleep for real, up to
//! `clock.max_wait`, else skip the rest).
//!
//! Configuration comes from the command line or the environment
//! (`TQ_CONFORMANCE_BASE_URL`, `TQ_CONFORMANCE_PROJECT`,
//! `TQ_CONFORMANCE_QUEUE`); credentials only from the environment: a static
//! token in `TQ_CONFORMANCE_TOKEN`, else Application Default Credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, the metadata server).
//! Every secret involved is handed to the secret scanner.

pub mod compare;
pub mod faults;
pub mod forwarder;
mod http1;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use taskqueue_auth::{
    AccessToken, AdcEnvironment, AdcOptions, ApplicationDefaultCredentials, SecretString,
    SharedTokenProvider, StaticTokenProvider,
};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::{Clock, SharedClock, Sleep, SystemClock};

use crate::duration::parse_duration;
use crate::load::LoadedScenario;
use crate::report::{Outcome, ScenarioRecord, StepRecord, Target, WireCounters};
use crate::reports::secrets::SecretScanner;
use crate::scenario::{RealPolicy, Step};
use crate::template::Window;
use crate::{dispatch, expect, runner, setup, template};
use compare::{Labels, compare};
use forwarder::Forwarder;

/// The variable naming the real API's base URL (ending in `projects/`).
pub const ENV_BASE_URL: &str = "TQ_CONFORMANCE_BASE_URL";
/// The variable naming the project path segment (`s~my-app`).
pub const ENV_PROJECT: &str = "TQ_CONFORMANCE_PROJECT";
/// The variable naming the queue.
pub const ENV_QUEUE: &str = "TQ_CONFORMANCE_QUEUE";
/// The variable holding a static access token.
pub const ENV_TOKEN: &str = "TQ_CONFORMANCE_TOKEN";

/// How far a time the endpoint sends may lie outside the call (its clock
/// is not ours).
const TIME_TOLERANCE: Duration = Duration::from_secs(5);

/// The real-time bound on one HTTP attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the client gets its tokens on the real target.
#[derive(Clone)]
pub enum RealCredentials {
    /// A fixed token, from `TQ_CONFORMANCE_TOKEN`.
    Static(SecretString),
    /// Application Default Credentials.
    ApplicationDefault,
}

impl fmt::Debug for RealCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RealCredentials::Static(_) => f.write_str("Static([censored])"),
            RealCredentials::ApplicationDefault => f.write_str("ApplicationDefault"),
        }
    }
}

/// Where and as whom the real target runs.
#[derive(Debug, Clone)]
pub struct RealConfig {
    /// The API's base URL, ending in `projects/`.
    pub base_url: String,
    /// The project path segment, sent verbatim (`s~my-app`).
    pub project: String,
    /// The queue.
    pub queue: String,
    /// The credentials.
    pub credentials: RealCredentials,
}

impl RealConfig {
    /// The configuration from command-line values (which win) and the
    /// environment `env`. The base URL defaults to production's.
    pub fn resolve(
        base_url: Option<&str>,
        project: Option<&str>,
        queue: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RealConfig, String> {
        let pick = |given: Option<&str>, name: &str| {
            given
                .map(str::to_owned)
                .or_else(|| env(name))
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let base_url = pick(base_url, ENV_BASE_URL)
            .unwrap_or_else(|| taskqueue_client::DEFAULT_BASE_URL.to_owned());
        let project = pick(project, ENV_PROJECT).ok_or_else(|| {
            format!("the real target needs a project: pass --project or set {ENV_PROJECT}")
        })?;
        let queue = pick(queue, ENV_QUEUE).ok_or_else(|| {
            format!("the real target needs a queue: pass --queue or set {ENV_QUEUE}")
        })?;
        let credentials = match env(ENV_TOKEN).filter(|token| !token.trim().is_empty()) {
            Some(token) => RealCredentials::Static(SecretString::new(token.trim())),
            None => RealCredentials::ApplicationDefault,
        };
        Ok(RealConfig {
            base_url,
            project,
            queue,
            credentials,
        })
    }
}

/// What a real run produced.
#[derive(Debug)]
pub struct RealRun {
    /// One record per scenario, in order.
    pub records: Vec<ScenarioRecord>,
    /// Every secret the run touched, for the reports' scan.
    pub secrets: SecretScanner,
}

/// The system clock, recording the sleeps taken on it (the client's
/// backoff), so a real run can count retries.
#[derive(Debug, Default)]
struct RecordingClock {
    inner: SystemClock,
    sleeps: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        self.inner.now()
    }

    fn monotonic(&self) -> Duration {
        self.inner.monotonic()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        self.inner.sleep(duration)
    }
}

/// Runs `scenarios` on the real target described by `config`, calling
/// `on_start(index from 1, scenario)` before each. `Err` when the target
/// cannot be set up at all (no credentials, a bad base URL); scenario
/// failures are records.
pub async fn run_real(
    config: &RealConfig,
    scenarios: &[LoadedScenario],
    mut on_start: impl FnMut(usize, &LoadedScenario),
) -> Result<RealRun, String> {
    let mut secrets = SecretScanner::new();
    let (provider, credentials_note): (SharedTokenProvider, String) = match &config.credentials {
        RealCredentials::Static(token) => {
            secrets.add(token.expose());
            (
                Arc::new(StaticTokenProvider::new(AccessToken::new(token.clone()))),
                format!(
                    "static token from {ENV_TOKEN}; the scenario's grant and scopes do not apply to it"
                ),
            )
        }
        RealCredentials::ApplicationDefault => {
            let env = AdcEnvironment::from_process_env();
            for file in [
                env.google_application_credentials.clone(),
                env.well_known_file(),
            ]
            .into_iter()
            .flatten()
            {
                if let Ok(text) = std::fs::read_to_string(&file) {
                    secrets.add_key_file(&text);
                }
            }
            let adc = ApplicationDefaultCredentials::discover(&AdcOptions::default(), &env)
                .await
                .map_err(|error| {
                    format!(
                        "no credentials for the real target: set {ENV_TOKEN} to an access token, \
                         or configure Application Default Credentials: {error}"
                    )
                })?;
            (
                adc.provider(),
                format!(
                    "application default credentials ({:?}); the scenario's grant does not apply",
                    adc.credential_source()
                ),
            )
        }
    };
    let forwarder = Forwarder::start(
        &config.base_url,
        &config.project,
        &config.queue,
        ATTEMPT_TIMEOUT,
    )
    .await?;
    let mut records = Vec::new();
    for (index, loaded) in scenarios.iter().enumerate() {
        on_start(index + 1, loaded);
        let record = run_one(config, &forwarder, &provider, &credentials_note, loaded).await;
        records.push(record);
    }
    for token in forwarder.secrets() {
        secrets.add(&token);
    }
    Ok(RealRun { records, secrets })
}

async fn run_one(
    config: &RealConfig,
    forwarder: &Forwarder,
    provider: &SharedTokenProvider,
    credentials_note: &str,
    loaded: &LoadedScenario,
) -> ScenarioRecord {
    let wall = SystemClock::new();
    let scenario = &loaded.scenario;
    let file = loaded.path.display().to_string();
    let mut record = ScenarioRecord {
        id: scenario.id.clone(),
        target: Target::Real,
        behaviors: scenario.behaviors.clone(),
        outcome: Outcome::Passed,
        steps: Vec::new(),
        counters: WireCounters::default(),
        methods: runner::methods_of(loaded),
        elapsed: Duration::ZERO,
    };
    forwarder.reset();
    let clock = Arc::new(RecordingClock::default());
    let client = match build_client(forwarder, provider, clock.clone(), loaded) {
        Ok(client) => client,
        Err(why) => {
            record.outcome = Outcome::Failed(format!("{file}: setup: {why}"));
            return record;
        }
    };
    let queue = QueueRef::new(config.project.clone(), config.queue.clone());
    let mut labels = Labels::default();
    let mut first_note = Some(format!("note: credentials: {credentials_note}"));
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        let at = template::offset(wall.monotonic());
        if let Some(advance) = &step.value.advance {
            let by = parse_duration(&advance.value).unwrap_or_default();
            let bound = scenario
                .clock
                .max_wait
                .as_deref()
                .and_then(parse_duration)
                .unwrap_or_default();
            if scenario.clock.real_policy == RealPolicy::Wait && by <= bound {
                wall.sleep(by).await;
                let mut waited = StepRecord::new(number, at);
                waited.action = format!("advance {}", advance.value);
                waited.result = format!("waited {} in real time (real_policy wait)", advance.value);
                record.steps.push(waited);
                continue;
            }
            let why = match scenario.clock.real_policy {
                RealPolicy::Skip => "needs virtual time (real_policy skip)".to_owned(),
                RealPolicy::Wait => format!(
                    "needs virtual time: longer than max_wait {}",
                    scenario.clock.max_wait.as_deref().unwrap_or("(none)")
                ),
            };
            record.outcome = Outcome::Skipped(format!(
                "{file}:{}: step {number} (advance {}) {why}: steps {number}-{} not run on a real \
                 target",
                step.referenced.line(),
                advance.value,
                scenario.steps.len()
            ));
            break;
        }
        let (mut step_record, problems) = run_call(
            &client,
            &queue,
            forwarder,
            &clock,
            &mut labels,
            number,
            &step.value,
        )
        .await;
        step_record.at = at;
        if let Some(note) = first_note.take() {
            step_record.wire.insert(0, note);
        }
        record.counters += step_record.counters;
        let action = step_record.action.clone();
        record.steps.push(step_record);
        if !problems.is_empty() {
            record.outcome =
                runner::failed_step(&file, step.referenced.line(), number, &action, problems);
            break;
        }
    }
    record.elapsed = wall.monotonic();
    record
}

fn build_client(
    forwarder: &Forwarder,
    provider: &SharedTokenProvider,
    clock: Arc<RecordingClock>,
    loaded: &LoadedScenario,
) -> Result<Client, String> {
    let scenario = &loaded.scenario;
    let scopes = setup::scopes(&scenario.credentials.scopes)
        .map_err(|why| format!("credentials.scopes: {why}"))?;
    let clock: SharedClock = clock;
    Client::builder()
        .base_url(forwarder.base_url())
        .token_provider(provider.clone())
        .scopes(scopes)
        .preflight_scope_check(scenario.client.preflight_scope_check)
        .retry_policy(setup::retry_policy(&scenario.client.retry)?)
        .clock(clock)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|error| format!("client: {error}"))
}

async fn run_call(
    client: &Client,
    queue: &QueueRef,
    forwarder: &Forwarder,
    clock: &RecordingClock,
    labels: &mut Labels,
    number: usize,
    step: &Step,
) -> (StepRecord, Vec<String>) {
    let mut record = StepRecord::new(number, String::new());
    let mut problems = Vec::new();
    let Some(method) = runner::step_method(step, &mut record, &mut problems) else {
        return (record, problems);
    };
    forwarder.take();
    let sleeps_before = clock.sleeps().len();
    let now = clock.now();
    let outcome = match dispatch::start(client, queue, method, &step.args, now) {
        Ok(call) => Some(call.await),
        Err(error) => {
            problems.push(format!("bad args: {error}"));
            None
        }
    };
    let recorded = forwarder.take();
    let sleeps: Vec<Duration> = clock.sleeps().into_iter().skip(sleeps_before).collect();
    record.wire = recorded.iter().map(|exchange| exchange.line()).collect();
    record.counters.api_requests = u32::try_from(recorded.len()).unwrap_or(u32::MAX);
    record.record_sleeps(&sleeps);
    let comparison = compare(&step.exchanges, &recorded, labels, now);
    record
        .wire
        .extend(comparison.notes.iter().map(|note| format!("note: {note}")));
    problems.extend(comparison.problems);
    let Some(outcome) = outcome else {
        record.result = "not run".to_owned();
        return (record, problems);
    };
    let checked = expect::judge(
        step.expect.as_ref(),
        &outcome,
        Window::between(now, clock.now(), TIME_TOLERANCE),
    );
    record.result = checked.result;
    problems.extend(checked.problems);
    if let Some(counters) = &step.counters {
        let mut observable = counters.clone();
        if observable.token_requests.take().is_some() {
            record.wire.push(
                "note: counters.token_requests not checked: token requests are not observable on \
                 a real target"
                    .to_owned(),
            );
        }
        problems.extend(expect::counter_problems(&observable, &record.counters));
    }
    (record, problems)
}

#[cfg(test)]
mod tests;
