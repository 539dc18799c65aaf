//! The server target: every scenario that applies runs against the
//! reference server `taskqueue-server`, started in process per scenario
//! ([`crate::target::server::start`]).
//!
//! # What runs
//!
//! [`applicability::decide`] says whether a scenario applies: a script
//! whose answers a faithful server cannot give (production variants) is
//! skipped with its reason, unless the scenario's `server` block says
//! otherwise; faults are injected by the recording forwarder. A scenario
//! that applies gets a fresh server: one virtual clock at `clock.start`
//! shared by the client stack and the server, a memory store holding the
//! tasks of `server.seed`, the queue (with `server.acl` and
//! `server.max_leases`), and the grant's principal. The client talks to the
//! recording forwarder for everything: the API, the token endpoint and the
//! metadata server.
//!
//! # Time
//!
//! As on the mock target, time moves only by `advance` steps and while a
//! call is driven ([`super::pool::drive`]): the server itself never sleeps
//! on the clock, so a token or a lease expires the instant an `advance`
//! passes its expiry.
//!
//! # Comparison
//!
//! After each call, the step's scripted exchanges are held against what
//! crossed the forwarder ([`crate::target::forwarded::call_step`]), the call's
//! result against `expect`, and every counter against `counters`.
//!
//! # Secrets
//!
//! Tokens are labels (`at-1`: the n-th token the server issues is `at-n`);
//! the forwarder never records a token's value, a token request's form, or
//! a secret field of an answer. Every secret of the run (client secrets,
//! refresh tokens, the test key, every token issued) is handed to the
//! secret scanner, and a record showing one fails its scenario.

mod seed;
pub(crate) mod start;

use std::time::Duration;

use taskqueue_model::ApiMethod;

use super::mock::advance_virtual;
use super::pool::{self, Progress};
use super::{Ran, Refusal, Run, Secrets, Session, Target};
use crate::check::diff::Labels;
use crate::check::exchanges::Names;
use crate::report::{self, ScenarioRecord, StepRecord};
use crate::scenario::load::LoadedScenario;
use crate::scenario::template;
use crate::scenario::{ServerSpec, Step};
use crate::target::applicability::{self, Applicability};
use crate::target::faults::TokenErrors;
use crate::target::forwarded::{Rules, Wire, call_step};
use crate::target::forwarder::Recorded;
use start::ServerTarget;

/// The server target.
#[derive(Debug, Default)]
pub(crate) struct Server;

/// One scenario on the reference server.
#[derive(Debug)]
pub(crate) struct ServerSession<'a> {
    target: ServerTarget,
    scenario: &'a crate::scenario::Scenario,
    spec: ServerSpec,
    labels: Labels,
    names: Names,
    token_errors: TokenErrors,
    notes: Vec<String>,
}

impl Target for Server {
    type Session<'a> = ServerSession<'a>;

    fn kind(&self) -> report::Target {
        report::Target::Server
    }

    async fn open<'a>(
        &'a self,
        loaded: &'a LoadedScenario,
        _at: usize,
        secrets: &mut Secrets,
    ) -> Result<ServerSession<'a>, Refusal> {
        let scenario = &loaded.scenario;
        let (note, injected) = match applicability::decide(scenario) {
            Applicability::Skip(reason) => return Err(Refusal::NotApplicable(reason)),
            Applicability::Run { note, injected } => (note, injected),
        };
        let target = start::start(scenario, secrets)
            .await
            .map_err(Refusal::Setup)?;
        let spec = scenario
            .server
            .as_ref()
            .map(|server| server.value.clone())
            .unwrap_or_default();
        let mut notes = vec![format!("note: server: {}", target.summary)];
        if let Some(note) = note {
            notes.push(format!("note: runs although its script has faults: {note}"));
        }
        if !injected.is_empty() {
            notes.push(format!(
                "note: the forwarder injects: {}",
                injected.join("; ")
            ));
        }
        Ok(ServerSession {
            target,
            scenario,
            labels: Labels::default(),
            names: Names::new(&spec.generated),
            token_errors: if spec.run.is_some() {
                TokenErrors::Upstream
            } else {
                TokenErrors::Injected
            },
            spec,
            notes,
        })
    }
}

impl Session for ServerSession<'_> {
    fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    async fn before_step(&mut self, number: usize) -> Result<(), String> {
        if number > 1 {
            self.target
                .seed_before(&self.spec, number, &self.scenario.client.queue)
                .await?;
        }
        self.target
            .forwarder
            .set_revoked(self.spec.revoked_at(number));
        Ok(())
    }

    fn at(&self) -> String {
        template::offset(self.target.clock.elapsed())
    }

    async fn advance(&mut self, by: Duration, record: &mut StepRecord) {
        advance_virtual(&self.target.clock, by, record);
    }

    async fn call(
        &mut self,
        _number: usize,
        method: ApiMethod,
        step: &Step,
        record: &mut StepRecord,
    ) -> Vec<String> {
        let step = self.names.apply_step(step);
        let rules = Rules {
            grant: self.scenario.credentials.grant,
            tolerance: Duration::ZERO,
            tokens_observed: true,
            enqueue_times_seeded: true,
            token_errors: self.token_errors,
        };
        let wire = Wire {
            client: &self.target.client,
            queue: &self.target.queue,
            forwarder: &self.target.forwarder,
            clock: &self.target.clock,
            // Token expiries relative to `clock.start`.
            start: Some(self.target.start),
        };
        let (problems, _) = call_step(
            wire,
            rules,
            method,
            &step,
            record,
            &mut self.labels,
            &mut self.names,
        )
        .await;
        problems
    }

    async fn finish(&mut self, _record: &mut ScenarioRecord) -> Result<(), String> {
        let stray = self.target.forwarder.take();
        if stray.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = stray.iter().map(Recorded::line).collect();
        Err(format!(
            "after the last step: request(s) no step made: {}",
            lines.join("; ")
        ))
    }

    fn secrets(&self, secrets: &mut Secrets) {
        for secret in self.target.forwarder.secrets() {
            secrets.push(secret);
        }
    }
}

/// Runs `scenario` on the server target, on a thread of its own, from any
/// async runtime.
pub async fn run_server(scenario: &LoadedScenario) -> Ran {
    pool::on_own_thread(scenario, report::Target::Server, run_server_blocking).await
}

/// Runs `scenario` on the server target on the calling thread, with a
/// current-thread runtime of its own (the server, the forwarder and the
/// client all run on it). Must not be called from inside an async runtime.
pub fn run_server_blocking(scenario: &LoadedScenario) -> Ran {
    pool::on_own_runtime::<Server>(scenario, "run_server_blocking", "run_server")
}

/// Runs every scenario on the server target, `parallelism` at a time (each
/// with its own server, clock and client); records in the input's order.
pub async fn run_all_server(scenarios: &[LoadedScenario], parallelism: usize) -> Run {
    run_all_server_with_progress(scenarios, parallelism, |_| {}).await
}

/// [`run_all_server`], calling `on_progress` as each scenario finishes (in
/// the order they finish), on the caller's task.
pub async fn run_all_server_with_progress(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    on_progress: impl FnMut(Progress<'_>),
) -> Run {
    Run::collect(
        pool::run_pool(
            scenarios,
            parallelism,
            report::Target::Server,
            run_server_blocking,
            on_progress,
        )
        .await,
    )
}
