//! The real target: the same scenarios against a real endpoint (Google's,
//! an emulator, or the `taskqueue-server` binary).
//!
//! # What runs
//!
//! The client talks to a recording `forwarder::Forwarder` on 127.0.0.1,
//! which passes every request to the endpoint, answers the step's scripted
//! faults itself (`faults`), and records what crossed the wire. Each
//! scenario is set up over the API (`endpoint`): a queue of the pool
//! (`--queues`) drained, the seed tasks inserted with their retry counts
//! made by real leases, task names made unique per run, the script's 2030
//! instants rebased onto the real clock. After each call the step's
//! scripted exchanges are held against the wire as on the server target
//! (`crate::check::exchanges::compare_all`: token exchanges by label, API
//! exchanges with the server target's wire-form equivalences), time
//! templates within `--time-tolerance` of the call, and the result against
//! `expect`.
//!
//! # Applicability
//!
//! What the server target skips is skipped here too
//! ([`crate::target::applicability`]), and so is what cannot be set up over
//! the API ([`not_applicable`]): a queue ACL or lease limit, credentials
//! registered wrongly on purpose, a token lifetime, a foreign scope the
//! credentials cannot be granted, an `advance` longer than `--max-wait`
//! (shorter ones wait in real time).
//!
//! # Credentials
//!
//! `--credentials FILE`: an `authorized_user` key file mints a token per
//! scope set at the endpoint's own token endpoint, through the forwarder,
//! so token exchanges are observed (labels, errors, refreshes); a
//! `service_account` key signs its assertions for the token endpoint named
//! in the file (their audience): an `http` one is reached through the
//! forwarder acting as the source's HTTP proxy, so its `jwt_bearer`
//! exchanges are observed too; an `https` one (Google's) is reached
//! directly (not observed). Without a file: a static token from `TQ_CONFORMANCE_TOKEN`
//! (only scenarios that need no token exchange run), else Application
//! Default Credentials. Every secret involved is handed to the secret
//! scanner.

pub(crate) mod endpoint;
pub mod reference;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use taskqueue_auth::{
    AccessToken, AdcEnvironment, AdcOptions, ApplicationDefaultCredentials,
    AuthorizedUserCredentials, SecretString, ServiceAccountKey, SharedTokenProvider,
    StaticTokenProvider,
};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::{Clock, SharedClock, Sleep, SystemClock};

use taskqueue_model::ApiMethod;

use crate::check::diff::Labels;
use crate::check::exchanges::Names;
use crate::report::secrets::SecretScanner;
use crate::report::{self, ScenarioRecord, StepRecord};
use crate::scenario::load::LoadedScenario;
use crate::scenario::{Grant, PrincipalMode, Scenario, ServerSpec, Step};
use crate::scenario::{setup, template};
use crate::target::applicability::{self, Applicability};
use crate::target::client::{self, ATTEMPT_TIMEOUT, Sources};
use crate::target::dispatch;
use crate::target::faults::TokenErrors;
use crate::target::forwarded::{CallClock, Rules, Wire, call_step};
use crate::target::forwarder::{Forwarder, ForwarderOptions};
use crate::target::{Ran, Refusal, Secrets, Session, Target, run_scenario};
use endpoint::Rebase;

/// The variable naming the real API's base URL (ending in `projects/`).
pub const ENV_BASE_URL: &str = "TQ_CONFORMANCE_BASE_URL";
/// The variable naming the project path segment (`s~my-app`).
pub const ENV_PROJECT: &str = "TQ_CONFORMANCE_PROJECT";
/// The variable naming the queue pool, comma-separated.
pub const ENV_QUEUES: &str = "TQ_CONFORMANCE_QUEUES";
/// The variable naming one queue (the pool of one), as before the pool.
pub const ENV_QUEUE: &str = "TQ_CONFORMANCE_QUEUE";
/// The variable naming a key file (`authorized_user` or `service_account`).
pub const ENV_CREDENTIALS: &str = "TQ_CONFORMANCE_CREDENTIALS";
/// The variable holding a static access token.
pub const ENV_TOKEN: &str = "TQ_CONFORMANCE_TOKEN";

/// The longest `advance` waited for in real time, by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);

/// How far a time the endpoint sends may lie outside the call, by default.
pub const DEFAULT_TIME_TOLERANCE: Duration = Duration::from_secs(3);

/// The queue a scenario whose queue must not exist (`server.queue_exists:
/// false`) addresses.
const MISSING_QUEUE: &str = "conformance-no-such-queue";

/// How the client gets its tokens on the real target.
#[derive(Clone)]
pub enum RealCredentials {
    /// A fixed token, from `TQ_CONFORMANCE_TOKEN`.
    Static(SecretString),
    /// A key file: `authorized_user` or `service_account`.
    File(PathBuf),
    /// Application Default Credentials.
    ApplicationDefault,
}

impl fmt::Debug for RealCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RealCredentials::Static(_) => f.write_str("Static([censored])"),
            RealCredentials::File(path) => write!(f, "File({})", path.display()),
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
    /// The queue pool: one scenario at a time on each, several at once.
    pub queues: Vec<String>,
    /// The credentials.
    pub credentials: RealCredentials,
    /// The longest `advance` waited for in real time.
    pub max_wait: Duration,
    /// How far a time the endpoint sends may lie outside the call.
    pub time_tolerance: Duration,
}

/// What the command line gives the real target; the environment fills in
/// the rest.
#[derive(Debug, Clone, Default)]
pub struct RealArgs<'a> {
    /// `--base-url`.
    pub base_url: Option<&'a str>,
    /// `--project`.
    pub project: Option<&'a str>,
    /// `--queues` (or `--queue`).
    pub queues: Option<&'a str>,
    /// `--credentials`.
    pub credentials: Option<&'a str>,
    /// `--token`.
    pub token: Option<&'a SecretString>,
    /// `--max-wait`.
    pub max_wait: Option<Duration>,
    /// `--time-tolerance`.
    pub time_tolerance: Option<Duration>,
}

impl RealConfig {
    /// The configuration from command-line values (which win) and the
    /// environment `env`. The base URL defaults to production's.
    pub fn resolve(
        args: &RealArgs<'_>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RealConfig, String> {
        let pick = |given: Option<&str>, name: &str| {
            given
                .map(str::to_owned)
                .or_else(|| env(name))
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let base_url = pick(args.base_url, ENV_BASE_URL)
            .unwrap_or_else(|| taskqueue_client::DEFAULT_BASE_URL.to_owned());
        let project = pick(args.project, ENV_PROJECT).ok_or_else(|| {
            format!("the real target needs a project: pass --project or set {ENV_PROJECT}")
        })?;
        let queues: Vec<String> = pick(args.queues, ENV_QUEUES)
            .or_else(|| env(ENV_QUEUE))
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|queue| !queue.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if queues.is_empty() {
            return Err(format!(
                "the real target needs queues: pass --queues q1,q2 or set {ENV_QUEUES}"
            ));
        }
        let credentials = match pick(args.credentials, ENV_CREDENTIALS) {
            Some(path) => RealCredentials::File(PathBuf::from(path)),
            None => match args
                .token
                .map(|token| token.expose().to_owned())
                .or_else(|| env(ENV_TOKEN))
                .filter(|token| !token.trim().is_empty())
            {
                Some(token) => RealCredentials::Static(SecretString::new(token.trim())),
                None => RealCredentials::ApplicationDefault,
            },
        };
        Ok(RealConfig {
            base_url,
            project,
            queues,
            credentials,
            max_wait: args.max_wait.unwrap_or(DEFAULT_MAX_WAIT),
            time_tolerance: args.time_tolerance.unwrap_or(DEFAULT_TIME_TOLERANCE),
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
    /// The run header: endpoint, queues, credentials, isolation, time.
    pub header: String,
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

/// The credentials of a run, loaded once.
#[derive(Clone)]
enum Minting {
    /// `authorized_user`: a source per scenario, its token endpoint behind
    /// the forwarder (token exchanges observed).
    AuthorizedUser { json: String, token_uri: String },
    /// `service_account`: a source per scenario signing its assertions for
    /// the file's token endpoint. An `http` token endpoint is reached
    /// through the forwarder acting as the source's HTTP proxy, so the
    /// assertion's audience stays the file's and the exchanges are observed;
    /// an `https` one (Google's) is reached directly (not observed).
    ServiceAccount { json: String, token_uri: String },
    /// One provider for every scenario (a static token or ADC; not
    /// observed).
    Fixed(SharedTokenProvider),
}

impl fmt::Debug for Minting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Minting::AuthorizedUser { .. } => "AuthorizedUser([censored])",
            Minting::ServiceAccount { .. } => "ServiceAccount([censored])",
            Minting::Fixed(_) => "Fixed",
        })
    }
}

impl Minting {
    fn observed(&self) -> bool {
        match self {
            Minting::AuthorizedUser { .. } => true,
            Minting::ServiceAccount { token_uri, .. } => token_uri.starts_with("http://"),
            Minting::Fixed(_) => false,
        }
    }

    /// Where the forwarder sends `POST /token`, for credentials whose token
    /// exchanges it observes.
    fn token_upstream(&self) -> Result<Option<url::Url>, String> {
        match self {
            Minting::AuthorizedUser { token_uri, .. }
            | Minting::ServiceAccount { token_uri, .. }
                if self.observed() =>
            {
                url::Url::parse(token_uri)
                    .map(Some)
                    .map_err(|error| format!("token_uri `{token_uri}`: {error}"))
            }
            _ => Ok(None),
        }
    }

    /// The grant the token exchanges on the wire use.
    fn grant(&self) -> Grant {
        match self {
            Minting::AuthorizedUser { .. } => Grant::RefreshToken,
            Minting::ServiceAccount { .. } => Grant::JwtBearer,
            Minting::Fixed(_) => Grant::Static,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Minting::AuthorizedUser { .. } => {
                "authorized_user key file: a token per scope set from the endpoint's token \
                 endpoint, observed through the forwarder"
            }
            Minting::ServiceAccount { .. } if self.observed() => {
                "service_account key file: a token per scope set from the file's token endpoint, \
                 observed through the forwarder (its HTTP proxy)"
            }
            Minting::ServiceAccount { .. } => {
                "service_account key file: a token per scope set from the file's https token \
                 endpoint (token exchanges not observed)"
            }
            Minting::Fixed(_) => "one token for every scenario (token exchanges not observed)",
        }
    }
}

async fn minting(config: &RealConfig, secrets: &mut SecretScanner) -> Result<Minting, String> {
    match &config.credentials {
        RealCredentials::Static(token) => {
            secrets.add(token.expose());
            Ok(Minting::Fixed(Arc::new(StaticTokenProvider::new(
                AccessToken::new(token.clone()),
            ))))
        }
        RealCredentials::File(path) => {
            let json = std::fs::read_to_string(path)
                .map_err(|error| format!("--credentials {}: {error}", path.display()))?;
            secrets.add_key_file(&json);
            let kind = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|value| value.get("type")?.as_str().map(str::to_owned));
            match kind.as_deref() {
                Some("authorized_user") => {
                    let credentials = AuthorizedUserCredentials::from_json(&json)
                        .map_err(|error| format!("--credentials {}: {error}", path.display()))?;
                    Ok(Minting::AuthorizedUser {
                        token_uri: credentials.token_uri().to_owned(),
                        json,
                    })
                }
                Some("service_account") => {
                    let key = ServiceAccountKey::from_json(&json)
                        .map_err(|error| format!("--credentials {}: {error}", path.display()))?;
                    Ok(Minting::ServiceAccount {
                        token_uri: key.token_uri().to_owned(),
                        json,
                    })
                }
                other => Err(format!(
                    "--credentials {}: type {other:?}: expected authorized_user or service_account",
                    path.display()
                )),
            }
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
                        "no credentials for the real target: pass --credentials FILE, set \
                         {ENV_TOKEN}, or configure Application Default Credentials: {error}"
                    )
                })?;
            Ok(Minting::Fixed(adc.provider()))
        }
    }
}

/// One worker's share of the run: a queue of the pool.
struct Worker<'a> {
    config: &'a RealConfig,
    minting: &'a Minting,
    /// Talks to the endpoint directly, for setup and drains.
    setup: Client,
    queue: String,
    run_id: String,
}

/// Runs `scenarios` on the real target described by `config`, one worker
/// per queue of the pool, calling `on_done(records so far, scenario)` as
/// each finishes. `Err` when the target cannot be set up at all (no
/// credentials, a bad base URL); scenario failures are records.
pub async fn run_real(
    config: &RealConfig,
    scenarios: &[LoadedScenario],
    on_done: impl FnMut(usize, &LoadedScenario) + Send,
) -> Result<RealRun, String> {
    let mut secrets = SecretScanner::new();
    let minting = minting(config, &mut secrets).await?;
    let run_id = format!("{:06x}", fastrand::u32(..0x100_0000));
    let setup = setup_client(config, &minting)?;
    let mut workers = Vec::new();
    for queue in &config.queues {
        workers.push(Worker {
            config,
            minting: &minting,
            setup: setup.clone(),
            queue: queue.clone(),
            run_id: run_id.clone(),
        });
    }
    let on_done = Mutex::new(on_done);
    let done = std::sync::atomic::AtomicUsize::new(0);
    // Per scenario, in order: its record and the secrets it saw.
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new(vec![None; scenarios.len()]);
    let jobs = workers.iter().enumerate().map(|(index, worker)| {
        let done = &done;
        let on_done = &on_done;
        let results = &results;
        async move {
            for (at, loaded) in scenarios
                .iter()
                .enumerate()
                .skip(index)
                .step_by(config.queues.len())
            {
                let outcome = run_scenario(worker, loaded, at).await;
                results.lock().unwrap_or_else(PoisonError::into_inner)[at] = Some(outcome);
                let count = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                (on_done.lock().unwrap_or_else(PoisonError::into_inner))(count, loaded);
            }
        }
    });
    futures_join_all(jobs).await;
    let mut records = Vec::new();
    for (index, result) in results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .enumerate()
    {
        match result {
            Some(ran) => {
                ran.secrets.add_to(&mut secrets);
                records.push(ran.record);
            }
            None => records.push(
                Ran::failed(&scenarios[index], report::Target::Real, "no worker ran it").record,
            ),
        }
    }
    let header = format!(
        "real target: {} project {}; queues {} (one scenario at a time per queue, each drained \
         before and after); credentials: {}; times within {} s; advances up to {} s waited in \
         real time",
        config.base_url,
        config.project,
        config.queues.join(", "),
        minting.describe(),
        config.time_tolerance.as_secs_f64(),
        config.max_wait.as_secs_f64(),
    );
    Ok(RealRun {
        records,
        secrets,
        header,
    })
}

/// Polls every future of `jobs` to completion on the caller's task.
async fn futures_join_all<F: std::future::Future<Output = ()>>(jobs: impl Iterator<Item = F>) {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = jobs.map(Box::pin).collect();
    std::future::poll_fn(move |context| {
        pending.retain_mut(|job| job.as_mut().poll(context).is_pending());
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// The client that sets queues up: straight to the endpoint, the Task
/// Queue scope, the default retry policy.
fn setup_client(config: &RealConfig, minting: &Minting) -> Result<Client, String> {
    let clock: SharedClock = Arc::new(SystemClock::new());
    let scopes = setup::scopes(&["taskqueue".to_owned()])?;
    let provider = provider(minting, None, &clock)?;
    client::build(config.base_url.clone(), provider, scopes, clock, None)
        .map_err(|error| format!("the setup client: {error}"))
}

/// A token provider from `minting`; `forwarder` the forwarder's origin,
/// for credentials whose token exchanges it observes (`None`: straight to
/// the token endpoint).
fn provider(
    minting: &Minting,
    forwarder: Option<&str>,
    clock: &SharedClock,
) -> Result<SharedTokenProvider, String> {
    let forwarder = forwarder.filter(|_| minting.observed());
    let sources = Sources {
        clock: clock.clone(),
        seed: None,
        proxy: None,
    };
    match minting {
        Minting::AuthorizedUser { json, .. } => sources.authorized_user(
            json,
            forwarder.map(|origin| format!("{origin}/token")).as_deref(),
        ),
        // Through the forwarder as the source's proxy: the assertion's
        // audience stays the file's token endpoint.
        Minting::ServiceAccount { json, .. } => Sources {
            proxy: forwarder.map(str::to_owned),
            ..sources
        }
        .service_account(json, None),
        Minting::Fixed(provider) => Ok(provider.clone()),
    }
}

/// Why `scenario` cannot run on a real endpoint (with credentials whose
/// token exchanges are `observed` or not, and use `grant`), beyond what
/// the server target skips: what the API cannot set up.
pub fn not_applicable(
    scenario: &Scenario,
    max_wait: Duration,
    observed: bool,
    grant: Grant,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let spec = scenario
        .server
        .as_ref()
        .map(|server| server.value.clone())
        .unwrap_or_default();
    if spec.acl.is_some() {
        reasons.push("needs a queue ACL (server.acl), which the API cannot set".to_owned());
    }
    if let Some(max) = spec.max_leases {
        reasons.push(format!(
            "needs a queue whose task_retry_limit is {max} (server.max_leases), which the API \
             cannot set"
        ));
    }
    if spec.principal != PrincipalMode::Registered {
        reasons.push(format!(
            "needs credentials registered wrongly on purpose (server.principal: {})",
            spec.principal.name()
        ));
    }
    let start = setup::terms(scenario).map(|terms| template::micros_since_epoch(terms.start));
    for seed in &spec.seed {
        let seed = &seed.value;
        let fixed = seed
            .lease_timestamp
            .as_ref()
            .zip(start.as_ref().ok())
            .filter(|(value, _)| !value.as_str().is_some_and(|text| text.contains("{{")))
            .and_then(|(value, start)| {
                let micros = template::micros_of(value, SystemTime::UNIX_EPOCH).ok()?;
                ((micros - start).abs() > 30 * 24 * 3600 * 1_000_000).then_some(micros)
            });
        if seed.retry_count > 0 && fixed.is_some() {
            reasons.push(format!(
                "seed `{}` is a lease that ran out at a fixed instant, which no lease made over \
                 the API reproduces",
                seed.id
            ));
        }
    }
    if grant == Grant::JwtBearer && scenario.credentials.granted.is_some() {
        reasons.push(
            "needs a grant narrower than the scopes asked for (credentials.granted), which no \
             forwarder can arrange for a service account: its scopes are in its signed assertion"
                .to_owned(),
        );
    }
    if let Some(lifetime) = &scenario.credentials.lifetime {
        reasons.push(format!(
            "needs tokens living {lifetime} (credentials.lifetime); the endpoint's tokens live \
             as long as it says"
        ));
    }
    let dated_retry_after = scenario.steps.iter().any(|step| {
        step.value
            .exchanges
            .iter()
            .any(|exchange| match &exchange.value {
                crate::scenario::Exchange::Api(api) => {
                    api.response.headers.iter().any(|(name, value)| {
                        name.eq_ignore_ascii_case("retry-after") && value.parse::<u64>().is_err()
                    })
                }
                crate::scenario::Exchange::Token(_) => false,
            })
    });
    if dated_retry_after {
        reasons.push(
            "scripts a Retry-After date on the virtual clock, which no real clock reaches"
                .to_owned(),
        );
    }
    if !observed && scripts_token_exchanges_beyond_one(scenario) {
        reasons.push(
            "scripts token-endpoint exchanges (errors, refreshes, several tokens), which these \
             credentials do not send through the forwarder; pass --credentials with an \
             authorized_user key file"
                .to_owned(),
        );
    }
    if let Some((step, by)) = endpoint::longest_advance(scenario)
        && by > max_wait
    {
        reasons.push(format!(
            "step {step} advances {} s, longer than --max-wait {} s",
            by.as_secs_f64(),
            max_wait.as_secs_f64()
        ));
    }
    reasons
}

fn scripts_token_exchanges_beyond_one(scenario: &Scenario) -> bool {
    let mut issues = 0;
    for step in &scenario.steps {
        for exchange in &step.value.exchanges {
            if let crate::scenario::Exchange::Token(token) = &exchange.value {
                if token.error.is_some() {
                    return true;
                }
                issues += 1;
            }
        }
    }
    issues > 1
        || scenario
            .server
            .as_ref()
            .is_some_and(|s| !s.value.revoke.is_empty())
}

impl<'w> Target for Worker<'w> {
    type Session<'s>
        = RealSession<'s>
    where
        Self: 's;

    fn kind(&self) -> report::Target {
        report::Target::Real
    }

    async fn open<'s>(
        &'s self,
        loaded: &'s LoadedScenario,
        at: usize,
        _secrets: &mut Secrets,
    ) -> Result<RealSession<'s>, Refusal> {
        let scenario = &loaded.scenario;
        let injected = match applicability::decide(scenario) {
            Applicability::Skip(reason) => return Err(Refusal::NotApplicable(reason)),
            Applicability::Run { injected, .. } => injected,
        };
        let reasons = not_applicable(
            scenario,
            self.config.max_wait,
            self.minting.observed(),
            self.minting.grant(),
        );
        if !reasons.is_empty() {
            return Err(Refusal::NotApplicable(format!(
                "not applicable on a real endpoint: {}",
                reasons.join("; ")
            )));
        }
        self.open_session(scenario, at, injected)
            .await
            .map_err(Refusal::Setup)
    }
}

impl<'w> Worker<'w> {
    /// Sets the endpoint up for `scenario` and builds its client.
    async fn open_session<'s>(
        &'s self,
        scenario: &'s Scenario,
        at: usize,
        injected: Vec<String>,
    ) -> Result<RealSession<'s>, String> {
        let spec: ServerSpec = scenario
            .server
            .as_ref()
            .map(|server| server.value.clone())
            .unwrap_or_default();
        // A scenario that sends nothing (the client refuses every call)
        // keeps its own project and queue: those are what it shows.
        let sends = scenario
            .steps
            .iter()
            .any(|step| !step.value.exchanges.is_empty());
        let project = if sends {
            self.config.project.clone()
        } else {
            scenario.client.project.clone()
        };
        let queue_name = if !sends {
            scenario.client.queue.clone()
        } else if spec.queue_exists {
            self.queue.clone()
        } else {
            MISSING_QUEUE.to_owned()
        };
        let setup_queue = QueueRef::new(self.config.project.clone(), self.queue.clone());
        endpoint::drain(&self.setup, &setup_queue)
            .await
            .map_err(|why| format!("draining {}: {why}", self.queue))?;

        // Unique task names, the pool's queue for the script's.
        let mut names = Names::new(&spec.generated);
        let mut renamed: Vec<(String, String)> = Vec::new();
        for (index, name) in endpoint::task_names(scenario).iter().enumerate() {
            // `lease` stays: the path it makes is what its scenario shows.
            if spec.generated.contains(name) || name == "lease" {
                continue;
            }
            let unique = format!("{name}-{}-{at}-{}", self.run_id, index + 1);
            names = names.with_fixed(name, &unique);
            renamed.push((name.clone(), unique));
        }
        if scenario.client.queue != queue_name {
            names = names.with_fixed(&scenario.client.queue, &queue_name);
        }
        if sends {
            names = names.with_fixed(
                &format!(
                    "projects/{}/taskqueues/{}",
                    scenario.client.project, scenario.client.queue
                ),
                &format!("projects/{project}/taskqueues/{queue_name}"),
            );
        }

        let terms = setup::terms(scenario)?;
        let clock = Arc::new(RecordingClock::default());
        let shared: SharedClock = clock.clone();
        let forwarder = Forwarder::start_with(
            &self.config.base_url,
            &project,
            &queue_name,
            ATTEMPT_TIMEOUT,
            ForwarderOptions {
                clock: Some(shared.clone()),
                revoke: Vec::new(),
                grant_scopes: (terms.granted != terms.requested).then(|| {
                    terms
                        .granted
                        .iter()
                        .map(|scope| scope.as_str().to_owned())
                        .collect()
                }),
                token_upstream: self.minting.token_upstream()?,
            },
        )
        .await?;
        let origin = clock.now();
        let rebase = endpoint::seed(
            &self.setup,
            &setup_queue,
            &spec.seed,
            1,
            terms.start,
            Rebase::new(terms.start, origin),
            &|id: &str| renamed_to(&renamed, id),
        )
        .await
        .map_err(|why| format!("over the API: {why}"))?;

        let provider = provider(self.minting, Some(&forwarder.origin()), &shared)?;
        let provider: SharedTokenProvider =
            if scenario.credentials.grant == Grant::Static && self.minting.observed() {
                // The static grant: one token, minted now for the scopes asked.
                let token = provider
                    .token(&terms.requested)
                    .await
                    .map_err(|error| format!("the static grant's token: {error}"))?;
                Arc::new(StaticTokenProvider::new(token))
            } else {
                provider
            };
        let client = client::build(
            forwarder.base_url(),
            provider,
            terms.requested.clone(),
            shared.clone(),
            Some(&scenario.client),
        )?;
        let client_queue = QueueRef::new(project.clone(), queue_name.clone());
        // The static token's request, if any, is setup, not step 1.
        forwarder.take();

        let mut notes = vec![format!(
            "note: real: queue {}{}, credentials {}",
            if spec.queue_exists {
                "of the pool"
            } else {
                "that does not exist"
            },
            if spec.seed.is_empty() {
                String::new()
            } else {
                format!(
                    ", seeded {} over the API",
                    spec.seed
                        .iter()
                        .map(|seed| seed.value.id.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            self.minting.grant_name()
        )];
        if !injected.is_empty() {
            notes.push(format!(
                "note: the forwarder injects: {}",
                injected.join("; ")
            ));
        }
        let token_errors = if spec.run.is_some() {
            TokenErrors::Upstream
        } else {
            TokenErrors::Injected
        };
        Ok(RealSession {
            worker: self,
            start: terms.start,
            spec,
            client,
            queue: client_queue,
            forwarder,
            clock,
            setup_queue,
            origin,
            rebase,
            labels: Labels::default(),
            names,
            leases: Vec::new(),
            renamed,
            token_errors,
            notes,
        })
    }
}

/// The script's name for `id`, a name made unique per run.
fn renamed_to(renamed: &[(String, String)], id: &str) -> String {
    renamed
        .iter()
        .find(|(script, _)| script == id)
        .map_or_else(|| id.to_owned(), |(_, unique)| unique.clone())
}

/// One scenario on the real target.
pub(crate) struct RealSession<'s> {
    worker: &'s Worker<'s>,
    /// `clock.start`: the script's origin.
    start: SystemTime,
    spec: ServerSpec,
    /// The client under test.
    client: Client,
    /// The queue the client addresses.
    queue: QueueRef,
    /// The forwarder in front of the endpoint.
    forwarder: Forwarder,
    /// The real clock, recording the client's backoff sleeps.
    clock: Arc<RecordingClock>,
    /// The pool's queue, as the setup client addresses it.
    setup_queue: QueueRef,
    /// When the scenario began, in real time.
    origin: SystemTime,
    rebase: Rebase,
    labels: Labels,
    names: Names,
    leases: Vec<(String, serde_json::Value)>,
    /// (script name, unique name) of every task.
    renamed: Vec<(String, String)>,
    token_errors: TokenErrors,
    notes: Vec<String>,
}

impl Session for RealSession<'_> {
    fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    async fn before_step(&mut self, number: usize) -> Result<(), String> {
        if number > 1
            && self
                .spec
                .seed
                .iter()
                .any(|seed| seed.value.before() == number)
        {
            let renamed = &self.renamed;
            self.rebase = endpoint::seed(
                &self.worker.setup,
                &self.setup_queue,
                &self.spec.seed,
                number,
                self.start,
                self.rebase,
                &|id: &str| renamed_to(renamed, id),
            )
            .await?;
        }
        self.forwarder.set_revoked(self.spec.revoked_at(number));
        Ok(())
    }

    /// Set after the step, by [`Session::after_step`].
    fn at(&self) -> String {
        String::new()
    }

    async fn advance(&mut self, by: Duration, record: &mut StepRecord) {
        self.clock.inner.sleep(by).await;
        record.result = format!("waited {} in real time", template::seconds(by));
    }

    async fn call(
        &mut self,
        _number: usize,
        method: ApiMethod,
        step: &Step,
        record: &mut StepRecord,
    ) -> Vec<String> {
        let now = self.clock.now();
        let tolerance = self.worker.config.time_tolerance;
        let mut step = self.rebase.apply_step(&self.names.apply_step(step), now);
        bind_lease_timestamp(&mut step, &self.leases, now, tolerance);
        let rules = Rules {
            grant: self.worker.minting.grant(),
            tolerance,
            tokens_observed: self.worker.minting.observed(),
            enqueue_times_seeded: false,
            token_errors: self.token_errors,
        };
        let wire = Wire {
            client: &self.client,
            queue: &self.queue,
            forwarder: &self.forwarder,
            clock: &*self.clock,
            start: None,
        };
        let (problems, recorded) = call_step(
            wire,
            rules,
            method,
            &step,
            record,
            &mut self.labels,
            &mut self.names,
        )
        .await;
        for answer in recorded
            .iter()
            .filter_map(|exchange| exchange.json.as_ref())
        {
            remember_leases(answer, &mut self.leases);
        }
        problems
    }

    /// The step's time since the scenario began, and the script's task
    /// names for the unique ones.
    fn after_step(&self, record: &mut StepRecord) {
        record.at = template::offset(
            self.clock
                .now()
                .duration_since(self.origin)
                .unwrap_or_default(),
        );
        for line in &mut record.wire {
            for (script, unique) in &self.renamed {
                *line = line.replace(unique.as_str(), script);
            }
        }
    }

    async fn finish(&mut self, _record: &mut ScenarioRecord) -> Result<(), String> {
        endpoint::drain(&self.worker.setup, &self.setup_queue)
            .await
            .map(|_| ())
            .map_err(|why| format!("draining after: {why}"))
    }

    fn secrets(&self, secrets: &mut Secrets) {
        for secret in self.forwarder.secrets() {
            secrets.push(secret);
        }
    }
}

impl Minting {
    fn grant_name(&self) -> &'static str {
        match self {
            Minting::AuthorizedUser { .. } => "authorized_user (refresh_token grant)",
            Minting::ServiceAccount { .. } if self.observed() => {
                "service_account (jwt_bearer grant, through the forwarder)"
            }
            Minting::ServiceAccount { .. } => "service_account (jwt_bearer grant, not observed)",
            Minting::Fixed(_) => "one token (not observed)",
        }
    }
}

/// Records the `leaseTimestamp` of every task in `answer` (a task or a
/// collection of them) under its name.
fn remember_leases(answer: &serde_json::Value, leases: &mut Vec<(String, serde_json::Value)>) {
    let tasks = match answer.get("items").and_then(serde_json::Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![answer],
    };
    for task in tasks {
        if let (Some(name), Some(lease)) = (
            task.get("id").and_then(serde_json::Value::as_str),
            task.get("leaseTimestamp"),
        ) {
            leases.retain(|(known, _)| known != name);
            leases.push((name.to_owned(), lease.clone()));
        }
    }
}

/// The real clock: a call runs in real time, bounded by its own timeouts.
impl CallClock for RecordingClock {
    fn time(&self) -> SystemTime {
        Clock::now(self)
    }

    fn sleeps(&self) -> Vec<Duration> {
        RecordingClock::sleeps(self)
    }

    async fn finish(
        &self,
        call: dispatch::CallFuture<'_>,
    ) -> Result<Result<serde_json::Value, taskqueue_client::Error>, String> {
        Ok(call.await)
    }
}

/// A lease's proof of ownership: an update's or patch's scripted
/// `lease_timestamp` within `tolerance` of the `leaseTimestamp` the
/// endpoint last answered for that task becomes that exact value, since a
/// real clock cannot reproduce the instant a lease was taken at.
fn bind_lease_timestamp(
    step: &mut Step,
    leases: &[(String, serde_json::Value)],
    now: SystemTime,
    tolerance: Duration,
) {
    let Some(serde_json::Value::String(task)) = step.args.get("task") else {
        return;
    };
    let Some((_, observed)) = leases.iter().find(|(name, _)| name == task) else {
        return;
    };
    let Some(scripted) = step.args.get("lease_timestamp") else {
        return;
    };
    let (Ok(scripted_micros), Ok(observed_micros)) = (
        template::micros_of(scripted, now),
        template::micros_of(observed, now),
    ) else {
        return;
    };
    let tolerance = i64::try_from(tolerance.as_micros()).unwrap_or(i64::MAX);
    if (scripted_micros - observed_micros).abs() > tolerance {
        return;
    }
    let observed = observed.clone();
    step.args
        .insert("lease_timestamp".to_owned(), observed.clone());
    // The request body carries it too.
    for exchange in &mut step.exchanges {
        if let crate::scenario::Exchange::Api(api) = &mut exchange.value
            && let Some(serde_json::Value::Object(body)) = &mut api.request.body
            && let Some(value) = body.get("leaseTimestamp")
            && template::micros_of(value, now)
                .is_ok_and(|micros| (micros - observed_micros).abs() <= tolerance)
        {
            body.insert("leaseTimestamp".to_owned(), observed.clone());
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[cfg(feature = "server")]
mod broken_tests;
