//! The mock target: a wiremock server per scenario ([`crate::target::mock::script`]) plays
//! the token endpoint, the metadata server and the API from the script, on
//! a fresh `VirtualClock` at `clock.start` shared by the client stack and
//! the mock's responders.
//!
//! # Time
//!
//! Auto-advance stays off: time moves only by `advance` steps and while a
//! call is driven ([`super::pool::drive`]): whenever something sleeps on
//! the clock meanwhile (a backoff between retries, of the transport or of
//! a token source), the clock moves to that sleep's deadline at once.
//! Nothing sleeps for real and tokio's paused time is not used. The step's
//! sleeps are the delta of `VirtualClock::sleeps()`; they are the step's
//! `sleeps` and its `counters.retries`.
//!
//! # Credentials
//!
//! - `refresh_token`: an `authorized_user` key (made-up client and refresh
//!   token) whose `token_uri` is the mock's `/token`.
//! - `jwt_bearer`: the test `service_account` key of
//!   `tests/data/service_account.json` (embedded), `token_uri` the mock's
//!   `/token`.
//! - `metadata`: a metadata-server source at the mock's `host:port`.
//! - `static`: a static token holding the mock's secret for `at-1`.
//!
//! # Connection resets
//!
//! A scenario that scripts a reset (`reset: true`) talks to the mock
//! through its reset front ([`front`]), which drops the connection of each
//! scripted reset and passes every other request on to wiremock.

pub(crate) mod front;
pub(crate) mod script;

use std::time::{Duration, SystemTime};

use taskqueue_auth::{AccessToken, SharedTokenProvider, StaticTokenProvider};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::{Clock, VirtualClock};
use taskqueue_model::ApiMethod;

use super::client::{self, Sources};
use super::pool::{self, Progress, drive};
use super::{Ran, Refusal, Run, Secrets, Session, Target};
use crate::check::expect;
use crate::report::{self, ScenarioRecord, StepRecord};
use crate::scenario::load::LoadedScenario;
use crate::scenario::setup::{
    CLIENT_SECRET, REFRESH_TOKEN, SERVICE_ACCOUNT_KEY, STATIC_LABEL, terms,
};
use crate::scenario::template;
use crate::scenario::template::Window;
use crate::scenario::{Grant, Step};
use crate::target::dispatch;
use crate::target::forwarded::CallClock;
use front::ResetFront;
use script::{API_PREFIX, MockConfig, MockTarget};

/// The real-time bound on one call: a safety net should the client hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The mock target.
#[derive(Debug, Default)]
pub(crate) struct Mock;

/// One scenario on the mock.
#[derive(Debug)]
pub(crate) struct MockSession {
    clock: VirtualClock,
    mock: MockTarget,
    client: Client,
    queue: QueueRef,
    /// The reset front, kept running while the scenario does, if it
    /// scripts a reset.
    _front: Option<ResetFront>,
}

impl Target for Mock {
    type Session<'a> = MockSession;

    fn kind(&self) -> report::Target {
        report::Target::Mock
    }

    async fn open<'a>(
        &'a self,
        loaded: &'a LoadedScenario,
        _at: usize,
        _secrets: &mut Secrets,
    ) -> Result<MockSession, Refusal> {
        let scenario = &loaded.scenario;
        let terms = terms(scenario).map_err(Refusal::Setup)?;
        let credentials = &scenario.credentials;
        let mock = MockTarget::start(MockConfig {
            grant: credentials.grant,
            lifetime: terms.lifetime,
            granted: terms.granted.clone(),
            project: scenario.client.project.clone(),
            queue: scenario.client.queue.clone(),
            clock: terms.clock.clone(),
        })
        .await;
        let front = if scenario.scripts_reset() {
            Some(ResetFront::start(&mock).await.map_err(Refusal::Setup)?)
        } else {
            None
        };
        let (uri, host) = match &front {
            Some(front) => (front.uri(), front.host()),
            None => (mock.uri(), mock.host()),
        };
        let token_uri = format!("{uri}/token");
        let sources = Sources {
            clock: terms.shared.clone(),
            proxy: None,
            seed: Some(scenario.client.retry.jitter_seed),
        };
        let provider: SharedTokenProvider = match credentials.grant {
            Grant::RefreshToken => sources.authorized_user(
                &client::user_key_file(
                    "conformance-client.apps.googleusercontent.com",
                    CLIENT_SECRET,
                    REFRESH_TOKEN,
                    &token_uri,
                ),
                None,
            ),
            Grant::JwtBearer => sources.service_account(SERVICE_ACCOUNT_KEY, Some(&token_uri)),
            Grant::Metadata => sources.metadata(&host),
            Grant::Static => Ok(
                std::sync::Arc::new(StaticTokenProvider::new(AccessToken::new(
                    mock.secret_for(STATIC_LABEL),
                ))) as SharedTokenProvider,
            ),
        }
        .map_err(Refusal::Setup)?;
        let client = client::build(
            format!("{uri}{API_PREFIX}"),
            provider,
            terms.requested,
            terms.shared,
            Some(&scenario.client),
        )
        .map_err(Refusal::Setup)?;
        let queue = QueueRef::new(
            scenario.client.project.clone(),
            scenario.client.queue.clone(),
        );
        Ok(MockSession {
            clock: terms.clock,
            mock,
            client,
            queue,
            _front: front,
        })
    }
}

impl Session for MockSession {
    fn notes(&mut self) -> Vec<String> {
        Vec::new()
    }

    async fn before_step(&mut self, _number: usize) -> Result<(), String> {
        Ok(())
    }

    fn at(&self) -> String {
        template::offset(self.clock.elapsed())
    }

    async fn advance(&mut self, by: Duration, record: &mut StepRecord) {
        advance_virtual(&self.clock, by, record);
    }

    async fn call(
        &mut self,
        number: usize,
        method: ApiMethod,
        step: &Step,
        record: &mut StepRecord,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(why) = self.mock.begin_step(number, &step.exchanges) {
            problems.push(why);
            self.mock.end_step();
            return problems;
        }
        let sleeps_before = self.clock.sleeps().len();
        let outcome = self.call_once(method, step).await;
        let wire = self.mock.end_step();
        let sleeps: Vec<Duration> = self
            .clock
            .sleeps()
            .into_iter()
            .skip(sleeps_before)
            .collect();
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
                let checked =
                    expect::judge(step.expect.as_ref(), &outcome, Window::at(self.clock.now()));
                record.result = checked.result;
                problems.extend(checked.problems);
            }
        }
        if let Some(counters) = &step.counters {
            problems.extend(expect::counter_problems(counters, &record.counters));
        }
        problems.extend(wire.unconsumed);
        problems
    }

    async fn finish(&mut self, record: &mut ScenarioRecord) -> Result<(), String> {
        let stray = self.mock.drain();
        if stray.unexpected.is_empty() {
            return Ok(());
        }
        record.counters += stray.counters;
        Err(format!(
            "after the last step: {}",
            stray.unexpected.join("; ")
        ))
    }

    fn secrets(&self, secrets: &mut Secrets) {
        for secret in self.mock.secrets() {
            secrets.push(secret);
        }
        secrets.push(CLIENT_SECRET);
        secrets.push(REFRESH_TOKEN);
        secrets.push_key_file(SERVICE_ACCOUNT_KEY);
    }
}

impl MockSession {
    /// Starts and drives one call; `Err` is a harness problem (bad args, a
    /// hang).
    async fn call_once(
        &self,
        method: ApiMethod,
        step: &Step,
    ) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
        let future = dispatch::start(
            &self.client,
            &self.queue,
            method,
            &step.args,
            self.clock.now(),
        )
        .map_err(|error| format!("bad args: {error}"))?;
        finish_virtual(&self.clock, future).await
    }
}

/// Moves the virtual `clock` by `by`; the record's result is the new time.
pub(crate) fn advance_virtual(clock: &VirtualClock, by: Duration, record: &mut StepRecord) {
    clock.advance(by);
    record.result = format!("now {}", template::offset(clock.elapsed()));
}

/// The virtual clock of the targets in virtual time: a call is driven
/// ([`finish_virtual`]).
impl CallClock for VirtualClock {
    fn time(&self) -> SystemTime {
        Clock::now(self)
    }

    fn sleeps(&self) -> Vec<Duration> {
        VirtualClock::sleeps(self)
    }

    async fn finish(
        &self,
        call: dispatch::CallFuture<'_>,
    ) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
        finish_virtual(self, call).await
    }
}

/// Drives `call` on the virtual `clock` (see [`drive`]), within a real-time
/// bound should the client hang.
pub(crate) async fn finish_virtual(
    clock: &VirtualClock,
    call: dispatch::CallFuture<'_>,
) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
    tokio::time::timeout(CALL_TIMEOUT, drive(clock, call))
        .await
        .map_err(|_| {
            format!(
                "the call did not finish within {} s of real time",
                CALL_TIMEOUT.as_secs()
            )
        })
}

/// Runs `scenario` on the mock target, on a thread of its own, from any
/// async runtime.
pub async fn run_mock(scenario: &LoadedScenario) -> ScenarioRecord {
    pool::on_own_thread(scenario, report::Target::Mock, run_blocking)
        .await
        .record
}

/// Runs `scenario` on the mock target on the calling thread, with a
/// current-thread runtime of its own. Must not be called from inside an
/// async runtime (use [`run_mock`] there).
pub fn run_mock_blocking(scenario: &LoadedScenario) -> ScenarioRecord {
    run_blocking(scenario).record
}

fn run_blocking(scenario: &LoadedScenario) -> Ran {
    pool::on_own_runtime::<Mock>(scenario, "run_mock_blocking", "run_mock")
}

/// Runs every scenario on the mock target, `parallelism` at a time (each
/// with its own server, clock and client); records in the input's order.
pub async fn run_all_mock(scenarios: &[LoadedScenario], parallelism: usize) -> Vec<ScenarioRecord> {
    run_all_mock_with_progress(scenarios, parallelism, |_| {})
        .await
        .records
}

/// Every scenario on the mock target, calling `on_progress` as each
/// finishes (in the order they finish), on the caller's task: the records
/// and every secret of the run.
pub async fn run_all_mock_with_progress(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    on_progress: impl FnMut(Progress<'_>),
) -> Run {
    Run::collect(
        pool::run_pool(
            scenarios,
            parallelism,
            report::Target::Mock,
            run_blocking,
            on_progress,
        )
        .await,
    )
}
