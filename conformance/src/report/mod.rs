//! What a run records: per scenario and target, its outcome, and per step
//! the wire exchanges (tokens as labels, times relative to the start) and
//! counters. The snapshot of a scenario is its [`ScenarioRecord`].

pub mod card;
pub mod coverage;
pub mod junit;
pub mod matrix;
pub mod secrets;
pub mod snapshot;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Where the scenarios run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A wiremock server per scenario, programmed from its exchanges.
    Mock,
    /// A real endpoint; exchanges are expectations on what crossed the wire.
    Real,
    /// The reference server `taskqueue-server`, in process, in virtual time;
    /// exchanges are expectations on what crossed the wire, token exchanges
    /// included.
    Server,
}

impl Target {
    /// The target's name, as in snapshot names (`id@mock`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Mock => "mock",
            Target::Real => "real",
            Target::Server => "server",
        }
    }
}

impl Target {
    /// The target `name` names (`mock`, `real`, `server`).
    pub fn parse(name: &str) -> Option<Target> {
        [Target::Mock, Target::Real, Target::Server]
            .into_iter()
            .find(|target| target.name() == name)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a scenario ended on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum Outcome {
    /// Every step met its expectation and the wire matched the script.
    Passed,
    /// A step failed; the message says which and why.
    Failed(String),
    /// Not run on this target (or stopped early), and why.
    Skipped(String),
}

impl Outcome {
    /// Whether the scenario passed.
    pub fn is_passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
}

/// Counts of what crossed the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WireCounters {
    /// Requests to the token endpoint or metadata server.
    pub token_requests: u32,
    /// Requests to the API.
    pub api_requests: u32,
    /// Backoff sleeps taken by the client (retries after transient failures).
    pub retries: u32,
    /// Requests that matched no scripted exchange (mock target).
    pub unexpected: u32,
    /// Scripted exchanges never consumed (mock target).
    pub unconsumed: u32,
}

impl std::ops::AddAssign for WireCounters {
    fn add_assign(&mut self, other: Self) {
        self.token_requests += other.token_requests;
        self.api_requests += other.api_requests;
        self.retries += other.retries;
        self.unexpected += other.unexpected;
        self.unconsumed += other.unconsumed;
    }
}

/// One step as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    /// The step's number, from 1.
    pub step: usize,
    /// Virtual time since the scenario's start when the step began, e.g. `+1800s`.
    pub at: String,
    /// `call tasks.get` or `advance 30m`.
    pub action: String,
    /// One line per exchange, in order, e.g.
    /// `POST /token refresh_token -> 200 <at-1> expires +3600s` or
    /// `GET tasks/t1 [<at-1>] -> 401 authError`.
    pub wire: Vec<String>,
    /// `ok {"id":"t1"}` (the fields the scenario expected) or `error scope_denied 403 insufficientPermissions`.
    pub result: String,
    /// What crossed the wire during the step.
    pub counters: WireCounters,
    /// Backoff sleeps the client took during the step, e.g. `0.84s`.
    pub sleeps: Vec<String>,
}

impl StepRecord {
    /// The record of step `number`, begun at `at`, before anything ran.
    pub(crate) fn new(number: usize, at: String) -> Self {
        Self {
            step: number,
            at,
            action: String::new(),
            wire: Vec::new(),
            result: String::new(),
            counters: WireCounters::default(),
            sleeps: Vec::new(),
        }
    }

    /// Records the backoff sleeps the client took during the step: each in `sleeps`, their number in
    /// `counters.retries`.
    pub(crate) fn record_sleeps(&mut self, sleeps: &[std::time::Duration]) {
        self.counters.retries = u32::try_from(sleeps.len()).unwrap_or(u32::MAX);
        self.sleeps = sleeps
            .iter()
            .map(|sleep| crate::scenario::template::seconds(*sleep))
            .collect();
    }
}

/// One scenario on one target: what its snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioRecord {
    /// The scenario id.
    pub id: String,
    /// The target.
    pub target: Target,
    /// The behaviours the scenario checks.
    pub behaviors: Vec<String>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The steps that ran.
    pub steps: Vec<StepRecord>,
    /// Totals over the steps.
    pub counters: WireCounters,
    /// The method ids the scenario called (for coverage and the matrix).
    pub methods: Vec<String>,
    /// Real (wall) time the scenario took; not part of snapshots.
    #[serde(skip)]
    pub elapsed: Duration,
}
