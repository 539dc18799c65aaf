//! Running scenarios on threads of their own: the mock and server targets
//! run each scenario on a current-thread tokio runtime of its own, on one
//! of `--jobs` worker threads, so scenarios never share a clock or a
//! runtime.
//!
//! # Determinism
//!
//! A scenario's thread-local `fastrand` generator is seeded with
//! `client.retry.jitter_seed` first: the token cache's refresh-ahead jitter
//! is drawn from it, so refresh points are reproducible. Backoff jitter
//! comes from the seeded retry policies (see [`super::client`]).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use taskqueue_clock::VirtualClock;

use super::{Ran, Target, run_scenario};
use crate::report::{self, ScenarioRecord};
use crate::scenario::load::LoadedScenario;

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

/// Runs `scenario` on a target made by `T::default()` on the calling
/// thread, on a current-thread runtime of its own (dropped before the run
/// is timed), with `fastrand` seeded by the scenario's jitter seed; a panic
/// becomes a failed result. Refuses to run inside an async runtime:
/// `blocking` and `async_variant` name the caller and what to use there
/// instead.
pub(crate) fn on_own_runtime<T: Target + Default>(
    scenario: &LoadedScenario,
    blocking: &str,
    async_variant: &str,
) -> Ran {
    let target = T::default();
    let kind = target.kind();
    if tokio::runtime::Handle::try_current().is_ok() {
        return Ran::failed(
            scenario,
            kind,
            &format!("{blocking} was called inside an async runtime; use {async_variant} there"),
        );
    }
    let wall = taskqueue_clock::system();
    let started = wall.monotonic();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Ran::failed(
                scenario,
                kind,
                &format!("cannot build a tokio runtime: {error}"),
            );
        }
    };
    fastrand::seed(scenario.scenario.client.retry.jitter_seed);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(run_scenario(&target, scenario, 0))
    }));
    drop(runtime);
    let mut result = outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "a panic".to_owned());
        Ran::failed(scenario, kind, &format!("the harness panicked: {message}"))
    });
    result.record.elapsed = wall.monotonic().saturating_sub(started);
    result
}

/// Runs `run_blocking(scenario)` on a thread named `{thread} {id}` of its
/// own, awaiting its result from any async runtime.
pub(crate) async fn on_own_thread(
    scenario: &LoadedScenario,
    kind: report::Target,
    run_blocking: fn(&LoadedScenario) -> Ran,
) -> Ran {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let owned = scenario.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("{kind} scenario {}", scenario.scenario.id))
        .spawn(move || {
            let _ = sender.send(run_blocking(&owned));
        });
    if let Err(error) = spawned {
        return Ran::failed(
            scenario,
            kind,
            &format!("cannot start the scenario's thread: {error}"),
        );
    }
    receiver.await.unwrap_or_else(|_| {
        Ran::failed(
            scenario,
            kind,
            "the scenario's thread ended without a record",
        )
    })
}

/// Runs `run` on every scenario on worker threads, `parallelism` at a time,
/// calling `on_progress` on the caller's task as each finishes; the results
/// come back in the input's order.
pub(crate) async fn run_pool(
    scenarios: &[LoadedScenario],
    parallelism: usize,
    kind: report::Target,
    run: fn(&LoadedScenario) -> Ran,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Vec<Ran> {
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
    let mut results: Vec<Option<Ran>> = std::iter::repeat_with(|| None).take(total).collect();
    let mut done = 0;
    while let Some((index, result)) = receiver.recv().await {
        done += 1;
        on_progress(Progress {
            done,
            total,
            scenario: &scenarios[index],
            record: &result.record,
        });
        results[index] = Some(result);
    }
    results
        .into_iter()
        .zip(scenarios)
        .map(|(result, scenario)| {
            result.unwrap_or_else(|| Ran::failed(scenario, kind, "no worker thread could run it"))
        })
        .collect()
}

/// Polls `future` to completion, moving `clock` to the next sleep's
/// deadline whenever something sleeps on it meanwhile: a call is
/// sequential, so a pending sleep is always the call waiting on its
/// backoff, never on I/O.
pub(crate) async fn drive<F: std::future::Future>(clock: &VirtualClock, future: F) -> F::Output {
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
