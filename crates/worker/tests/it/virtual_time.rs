//! The worker in virtual time against the in-memory fake: renewal, lost leases, settlement and dead letters,
//! shutdown, backoff and the lease-rate ceiling. No test sleeps for real: time moves only when the test moves the
//! `VirtualClock`, to the next pending sleep or in small steps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use taskqueue_clock::Clock as _;
use taskqueue_model::Task;
use taskqueue_worker::{
    BackoffPolicy, DeadLetter, DeadLetterError, LeaseGuard, Outcome, RunReport, Worker,
    WorkerBuilder,
};

use crate::fake::{DEAD, Event, QUEUE, RenewalPlan, advance, drive, queue};
use crate::scene::{BudgetedClock, Journal, Scene, by_payload, slow_handler};

fn deletes(events: &[Event]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in events {
        if let Event::Delete { id, .. } = event {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn renewals(events: &[Event], id: &str) -> Vec<(f64, f64, bool)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Modify {
                at,
                id: i,
                remaining,
                secs,
                ok,
            } if i == id && *secs > 0 => Some((*at, *remaining, *ok)),
            _ => None,
        })
        .collect()
}

/// When `id`'s lease was renewed (successful renewals, in seconds of virtual time), after checking that each
/// renewal came with at least `least_left` seconds of the lease left (`case` names the case in a failure).
fn renewed_in_time(events: &[Event], id: &str, least_left: f64, case: &str) -> Vec<f64> {
    let renewed: Vec<_> = renewals(events, id).into_iter().filter(|r| r.2).collect();
    for (at, left, _) in &renewed {
        assert!(
            *left >= least_left,
            "{case}: renewed at {at} s with only {left} s left"
        );
    }
    renewed.into_iter().map(|(at, _, _)| at).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn renewals_keep_a_handler_ten_times_longer_than_the_lease_alive() {
    // (renewal plan, least lease time left at a successful renewal, renewal errors expected)
    let cases = [
        (RenewalPlan::Accept, 14.9, false, 19),
        // Each renewal takes up to two backoff waits longer, and the next one counts from its success.
        (RenewalPlan::TransientThenAccept(2), 11.0, true, 16),
    ];
    for (plan, least_left, errors_expected, least_renewals) in cases {
        let scene = Scene::with_transient_errors(64).await;
        scene.api.set_renewal(plan);
        let id = scene.api.seed("long job", None);
        let journal = Journal::default();
        let worker = scene
            .builder()
            .lease_duration(Duration::from_secs(30))
            .exit_when_empty(true)
            .handler(slow_handler(
                &scene.clock,
                &journal,
                Duration::from_secs(300),
                Outcome::done(),
            ))
            .build()
            .unwrap();
        let report = scene.run(&worker, Duration::from_secs(1000)).await.unwrap();

        let events = scene.api.events();
        let renewed = renewed_in_time(&events, &id, least_left, &format!("{plan:?}"));
        assert!(
            renewed.len() >= least_renewals,
            "{plan:?}: {} renewals over 300 s of a 30 s lease",
            renewed.len()
        );
        assert_eq!(journal.at("finished"), Some(300.0), "{plan:?}");
        assert_eq!(journal.at("lost seen"), None, "{plan:?}");
        assert_eq!(deletes(&events).get(&id), Some(&1), "{plan:?}");
        assert_eq!(report.stats.done, 1);
        assert_eq!(report.stats.lost_leases, 0);
        assert_eq!(report.stats.renewals, renewed.len() as u64);
        assert_eq!(report.stats.renewal_errors > 0, errors_expected, "{plan:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_prefetched_task_keeps_its_lease_while_it_waits_for_a_handler() {
    // One handler, one prefetched task: the second task waits 100 s (over three 30 s leases) for the handler,
    // then runs 100 s. The renewal loop starts when a task has to wait, whether for a handler or on its handler.
    let scene = Scene::new().await;
    let first = scene.api.seed("first", None);
    let second = scene.api.seed("second", None);
    let journal = Journal::default();
    let worker = scene
        .builder()
        .lease_size(2)
        .concurrency(1)
        .prefetch(1)
        .lease_duration(Duration::from_secs(30))
        .exit_when_empty(true)
        .handler(slow_handler(
            &scene.clock,
            &journal,
            Duration::from_secs(100),
            Outcome::done(),
        ))
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(1000)).await.unwrap();

    let events = scene.api.events();
    renewed_in_time(&events, &first, 14.9, &first);
    let waiting: Vec<f64> = renewed_in_time(&events, &second, 14.9, &second)
        .into_iter()
        .filter(|at| *at < 100.0)
        .collect();
    for id in [&first, &second] {
        assert_eq!(deletes(&events).get(id), Some(&1), "{id}");
    }
    assert!(
        waiting.len() >= 6,
        "the waiting task is renewed every 15 s of its 100 s wait: {waiting:?}"
    );
    assert_eq!(
        (report.stats.done, report.stats.lost_leases),
        (2, 0),
        "{:?}",
        report.stats
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_handler_that_spends_its_whole_budget_at_every_poll_still_has_its_lease_renewed() {
    // The handler stays busy for 100 s of a 30 s lease, using up tokio's cooperative budget at every poll (as
    // draining a channel that always has data does). The renewal's sleeps count against that budget here, as
    // the system clock's do: it must still renew in time, and the task be done once.
    let scene = Scene::new().await;
    let id = scene.api.seed("busy job", None);
    let clock = scene.clock.clone();
    let worker = scene
        .builder()
        .clock(Arc::new(BudgetedClock(scene.clock.clone())))
        .lease_size(1)
        .concurrency(1)
        .lease_duration(Duration::from_secs(30))
        .exit_when_empty(true)
        .handler(move |_task: Task, _lease: LeaseGuard| {
            let clock = clock.clone();
            async move {
                while clock.elapsed() < Duration::from_secs(100) {
                    tokio::task::consume_budget().await;
                }
                Outcome::done()
            }
        })
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(1000)).await.unwrap();

    let events = scene.api.events();
    let renewed = renewed_in_time(&events, &id, 14.9, &id);
    assert!(
        renewed.len() >= 6,
        "renewed every 15 s of the 100 s: {renewed:?}"
    );
    assert_eq!(deletes(&events).get(&id), Some(&1));
    assert_eq!(
        (report.stats.lost_leases, report.stats.done),
        (0, 1),
        "{:?}",
        report.stats
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_handler_that_holds_the_thread_past_its_lease_does_not_settle_the_task() {
    // The first attempt's handler blocks its thread for 100 s of a 30 s lease (it moves the clock on inside one
    // poll, as blocking work would), so the renewal loop never runs; the second attempt finishes at once. The
    // first must neither delete nor release the task: its lease ran out, and the task is leased again.
    let scene = Scene::new().await;
    let id = scene.api.seed("blocking job", None);
    let clock = scene.clock.clone();
    let worker = scene
        .builder()
        .lease_duration(Duration::from_secs(30))
        .exit_when_empty(true)
        .handler(move |task: Task, _lease: LeaseGuard| {
            if task.retry_count == Some(1) {
                clock.advance(Duration::from_secs(100));
            }
            async { Outcome::done() }
        })
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(1000)).await.unwrap();

    let events = scene.api.events();
    let settled: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Delete { at, .. } | Event::Modify { at, .. } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(
        settled.len(),
        1,
        "one settlement, by the second attempt: {events:?}"
    );
    assert_eq!(deletes(&events).get(&id), Some(&1));
    assert_eq!(
        (
            report.stats.lost_leases,
            report.stats.done,
            report.stats.leased
        ),
        (1, 1, 2),
        "{:?}",
        report.stats
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_lost_lease_cancels_the_handler_before_the_lease_ends() {
    // (renewal plan, the lease is lost by (s), the reason)
    let cases = [
        (RenewalPlan::Refuse, 15.0, "a refused renewal"),
        (
            RenewalPlan::AlwaysTransient,
            30.0,
            "transient failures until the lease ran out",
        ),
    ];
    for (plan, lost_by, why) in cases {
        let scene = Scene::with_transient_errors(64).await;
        scene.api.set_renewal(plan);
        let id = scene.api.seed("job", None);
        let journal = Journal::default();
        let worker = scene
            .builder()
            .lease_duration(Duration::from_secs(30))
            // Once its lease has run out the task comes back with retry_count 2 and is dead-lettered unrun.
            .max_attempts(1)
            .handler(slow_handler(
                &scene.clock,
                &journal,
                Duration::from_secs(300),
                Outcome::done(),
            ))
            .build()
            .unwrap();
        let report = scene
            .run_then_stop(
                &worker,
                Duration::from_secs(100),
                1,
                Duration::from_secs(1000),
            )
            .await
            .unwrap();

        let seen = journal
            .at("lost seen")
            .unwrap_or_else(|| panic!("{why}: the guard saw no loss"));
        let dropped = journal
            .at("dropped")
            .unwrap_or_else(|| panic!("{why}: the handler ran on"));
        assert!(
            seen <= lost_by && dropped <= lost_by,
            "{why}: seen {seen}, dropped {dropped}"
        );
        assert_eq!(journal.at("finished"), None, "{why}");
        assert_eq!(report.stats.lost_leases, 1, "{why}");
        assert_eq!(report.stats.started, 1, "{why}: run once only");
        let events = scene.api.events();
        // After the loss the worker never touched the lease again: no release, no delete while lost.
        let modifies_after = events
            .iter()
            .filter(|e| matches!(e, Event::Modify { at, secs: 0, .. } if *at >= seen))
            .count();
        assert_eq!(modifies_after, 0, "{why}");
        let first_delete = events.iter().find_map(|e| match e {
            Event::Delete { at, .. } => Some(*at),
            _ => None,
        });
        assert!(
            first_delete.is_some_and(|at| at >= 30.0),
            "{why}: deleted only as a dead letter, after the lease: {events:?}"
        );
        assert_eq!(report.stats.dead_lettered, 1, "{why}");
        let letter = &scene.api.inserted(DEAD)[0];
        let envelope: serde_json::Value =
            serde_json::from_slice(letter.payload.as_ref().unwrap().as_bytes()).unwrap();
        assert_eq!(envelope["taskId"], id.as_str());
        assert!(
            envelope["reason"]
                .as_str()
                .unwrap()
                .contains("leased 2 times"),
            "{envelope}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_task_is_settled_once_and_dead_letters_are_stored_before_the_delete() {
    let scene = Scene::new().await;
    let api = &scene.api;
    let ok = api.seed("ok", None);
    let retry = api.seed("retry", Some("r"));
    let later = api.seed("later", None);
    let poison = api.seed("poison", Some("p"));
    let worker = scene
        .builder()
        .max_attempts(3)
        .exit_when_empty(false)
        .handler(by_payload)
        .build()
        .unwrap();
    let report = scene
        .run_then_stop(
            &worker,
            Duration::from_secs(600),
            1,
            Duration::from_secs(1000),
        )
        .await
        .unwrap();

    let events = api.events();
    let deleted = deletes(&events);
    assert!(
        deleted.values().all(|n| *n == 1),
        "a task deleted twice: {deleted:?}"
    );
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert!(api.remaining(QUEUE).is_empty());
    let leases = |id: &str| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Lease { ids, .. } if ids.iter().any(|i| i == id)))
            .count()
    };
    assert_eq!(
        [leases(&ok), leases(&retry), leases(&later), leases(&poison)],
        [1, 3, 3, 1]
    );

    // Each dead letter was inserted before its task was deleted, with the payload, tag and reason.
    let letters = api.inserted(DEAD);
    assert_eq!(letters.len(), 3);
    for (id, payload, tag, reason) in [
        (&retry, "retry", Some("r"), "still failing after 3 attempts"),
        (&later, "later", None, "still failing after 3 attempts"),
        (&poison, "poison", Some("p"), "bad input"),
    ] {
        let inserted_at = events
            .iter()
            .position(|e| matches!(e, Event::Insert { task, .. } if envelope(task)["taskId"] == id.as_str()))
            .unwrap_or_else(|| panic!("no dead letter for {payload}"));
        let deleted_at = events
            .iter()
            .position(|e| matches!(e, Event::Delete { id: i, .. } if i == id))
            .unwrap();
        assert!(
            inserted_at < deleted_at,
            "{payload}: deleted before its dead letter was stored"
        );
        let Event::Insert { task, .. } = &events[inserted_at] else {
            unreachable!()
        };
        let envelope = envelope(task);
        assert_eq!(
            task.tag.as_deref(),
            tag,
            "{payload}: the dead letter keeps the tag"
        );
        assert_eq!(envelope["tag"].as_str(), tag);
        assert!(
            envelope["reason"].as_str().unwrap().contains(reason),
            "{envelope}"
        );
        let original = base64::engine::general_purpose::URL_SAFE
            .decode(envelope["payloadBase64"].as_str().unwrap())
            .unwrap();
        assert_eq!(original, payload.as_bytes());
    }
    // `later` waited 120 s between attempts: its releases asked for that.
    let delayed = events
        .iter()
        .filter(|e| matches!(e, Event::Modify { id, secs: 120, ok: true, .. } if *id == later))
        .count();
    assert_eq!(delayed, 2);
    assert_eq!(
        (
            report.stats.done,
            report.stats.retried,
            report.stats.dead_lettered
        ),
        (1, 4, 3)
    );
}

fn envelope(task: &Task) -> serde_json::Value {
    serde_json::from_slice(task.payload.as_ref().expect("a payload").as_bytes()).unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn a_dead_letter_that_cannot_be_stored_is_never_deleted() {
    let scene = Scene::new().await;
    let api = &scene.api;
    api.refuse_inserts_into(DEAD);
    let poison = api.seed("poison", None);
    let worker = scene
        .builder()
        .exit_when_empty(true)
        .handler(by_payload)
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(100)).await.unwrap();
    assert!(deletes(&api.events()).is_empty());
    assert_eq!(api.remaining(QUEUE), vec![poison]);
    assert_eq!(
        (report.stats.dead_lettered, report.stats.settle_errors),
        (0, 1)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_dead_letter_callback_must_accept_before_the_delete() {
    let scene = Scene::new().await;
    let api = &scene.api;
    let poison = api.seed("poison", None);
    let letters: Arc<Mutex<Vec<DeadLetter>>> = Arc::default();
    let stored = Arc::clone(&letters);
    let calls = Arc::new(Mutex::new(0));
    let worker = Worker::builder(api.clone(), queue())
        .clock(scene.shared_clock())
        .lease_duration(Duration::from_secs(60))
        .on_dead_letter(move |letter: DeadLetter| {
            let stored = Arc::clone(&stored);
            let calls = Arc::clone(&calls);
            async move {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                if *calls == 1 {
                    return Err(DeadLetterError::from("the archive is down"));
                }
                stored.lock().unwrap().push(letter);
                Ok(())
            }
        })
        .handler(by_payload)
        .build()
        .unwrap();
    let report = scene
        .run_then_stop(
            &worker,
            Duration::from_secs(150),
            1,
            Duration::from_secs(300),
        )
        .await
        .unwrap();

    let events = api.events();
    let deleted: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Delete { at, id } if *id == poison => Some(*at),
            _ => None,
        })
        .collect();
    // Refused at once, so the task waited for its lease to run out (60 s) and was given up again.
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0] >= 60.0, "deleted at {}", deleted[0]);
    let letters = letters.lock().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "bad input");
    assert_eq!(letters[0].task.retry_count, Some(2));
    assert_eq!(
        (report.stats.dead_lettered, report.stats.settle_errors),
        (1, 1)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_releases_unstarted_tasks_and_waits_for_running_ones() {
    // (case, shutdown timeout, signals, aborted, done, released at (s))
    let cases = [
        ("graceful", Duration::from_secs(300), 1, false, 2, 1.0),
        ("deadline passed", Duration::from_secs(10), 1, true, 0, 11.0),
        ("second signal", Duration::from_secs(300), 2, true, 0, 1.0),
    ];
    for (case, timeout, signals, aborted, done, released_by) in cases {
        let scene = Scene::new().await;
        let (clock, api) = (&scene.clock, &scene.api);
        let ids: Vec<_> = (0..5)
            .map(|n| api.seed(&format!("job {n}"), None))
            .collect();
        let journal = Journal::default();
        let worker = scene
            .builder()
            .lease_size(5)
            .concurrency(2)
            .prefetch(3)
            .shutdown_timeout(timeout)
            .handler(slow_handler(
                clock,
                &journal,
                Duration::from_secs(100),
                Outcome::done(),
            ))
            .build()
            .unwrap();
        let stop = worker.shutdown_handle();
        let run = worker.clone();
        let running = tokio::spawn(async move { run.run().await });
        advance(clock, Duration::from_secs(1)).await;
        assert_eq!(
            worker.stats().started,
            2,
            "{case}: two handlers run, three tasks wait"
        );
        for _ in 0..signals {
            stop.shutdown();
        }
        let report: RunReport = drive(clock, Duration::from_secs(1000), async move {
            running.await.unwrap()
        })
        .await
        .unwrap();

        let events = api.events();
        let released: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Modify {
                    at,
                    id,
                    secs: 0,
                    ok: true,
                    ..
                } => Some((id.clone(), *at)),
                _ => None,
            })
            .collect();
        let expected_released = 5 - done;
        assert_eq!(released.len(), expected_released, "{case}: {released:?}");
        assert!(
            released.iter().all(|(_, at)| *at <= released_by),
            "{case}: {released:?}"
        );
        let deleted = deletes(&events);
        assert_eq!(deleted.len(), done, "{case}");
        assert!(deleted.keys().all(|id| ids.contains(id)));
        assert_eq!(report.aborted, aborted, "{case}");
        assert_eq!(report.stats.released_unstarted, 3, "{case}");
        assert_eq!(report.stats.aborted, if aborted { 2 } else { 0 }, "{case}");
        assert_eq!(report.stats.done, done as u64, "{case}");
        if done > 0 {
            assert_eq!(
                journal.at("finished"),
                Some(100.0),
                "{case}: running handlers finished"
            );
        }
        let last_lease = events
            .iter()
            .filter_map(|e| match e {
                Event::Lease { at, .. } => Some(*at),
                _ => None,
            })
            .fold(0.0, f64::max);
        assert!(
            last_lease <= 1.0,
            "{case}: leased after the shutdown request, at {last_lease}"
        );
    }
}

fn lease_times(events: &[Event]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Lease { at, .. } => Some(*at),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn empty_leases_back_off_to_the_cap_and_work_resets_the_backoff() {
    let scene = Scene::new().await;
    let (clock, api) = (&scene.clock, &scene.api);
    let policy = BackoffPolicy::new(Duration::from_secs(1), Duration::from_secs(30));
    let worker = scene
        .builder()
        .idle_backoff(policy)
        .unlimited_lease_rate()
        .handler(by_payload)
        .build()
        .unwrap();
    let stop = worker.shutdown_handle();
    let run = worker.clone();
    let running = tokio::spawn(async move { run.run().await });
    advance(clock, Duration::from_secs(600)).await;

    let times = lease_times(&api.events());
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 20, "{gaps:?}");
    for (n, gap) in (1..).zip(&gaps) {
        let ceiling = policy.ceiling(n).as_secs_f64();
        // Steps of 100 ms: a wait ends at most one step late.
        assert!(
            *gap >= ceiling / 2.0 && *gap <= ceiling + 0.1,
            "wait {n}: {gap} s, ceiling {ceiling} s"
        );
    }
    assert!(
        gaps[gaps.len() - 5..].iter().all(|gap| *gap >= 15.0),
        "at the cap: {gaps:?}"
    );
    // Polls at the cap: over 10 minutes, at most 40 lease calls instead of one per second.
    assert!(times.len() <= 40, "{} lease calls", times.len());

    // A task arrives: it is leased within one capped wait, and the next poll comes soon after.
    api.seed("ok", None);
    let before = times.len();
    advance(clock, Duration::from_secs(40)).await;
    let times = lease_times(&api.events());
    let productive = times[before];
    assert!(productive - times[before - 1] <= 30.1);
    assert!(
        times[before + 1] - productive <= 1.1,
        "backoff reset: {:?}",
        &times[before..]
    );
    stop.shutdown();
    drive(clock, Duration::from_secs(2000), async move {
        running.await.unwrap()
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn lease_calls_stay_under_the_rate_ceiling() {
    let scene = Scene::new().await;
    let (clock, api) = (&scene.clock, &scene.api);
    for n in 0..100 {
        api.seed(&format!("ok-{n}"), None);
    }
    clock.advance(Duration::from_secs(1));
    let worker = scene
        .builder()
        .lease_size(1)
        .concurrency(4)
        .max_lease_rate(10.0)
        .exit_when_empty(true)
        .handler(|_task: Task, _lease: LeaseGuard| async { Outcome::done() })
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(100)).await.unwrap();
    assert_eq!(report.stats.done, 100);
    let times = lease_times(&api.events());
    for window in times.windows(11) {
        assert!(
            window[10] - window[0] >= 0.999,
            "11 lease calls within a second: {window:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_lease_error_that_waiting_cannot_fix_stops_the_worker() {
    let scene = Scene::new().await;
    let api = &scene.api;
    let worker = Worker::builder(
        api.clone(),
        taskqueue_client::QueueRef::new("s~fake-project", "nope"),
    )
    .clock(scene.shared_clock())
    .discard_dead_letters()
    .handler(by_payload)
    .build()
    .unwrap();
    let error = scene
        .run(&worker, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(error.api_error().is_some(), "{error}");
    assert!(
        error.to_string().contains("leasing from nope failed"),
        "{error}"
    );
    assert_eq!(worker.stats().lease_calls, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn the_builder_refuses_bad_settings_with_a_clear_message() {
    let scene = Scene::new().await;
    let api = &scene.api;
    let base = || {
        Worker::builder(api.clone(), queue())
            .discard_dead_letters()
            .handler(by_payload)
    };
    let cases: Vec<(WorkerBuilder, &str)> = vec![
        (
            Worker::builder(api.clone(), queue()).discard_dead_letters(),
            "no handler",
        ),
        (
            Worker::builder(api.clone(), queue()).handler(by_payload),
            "no dead-letter destination",
        ),
        (base().lease_size(0), "lease_size must be 1..=1000"),
        (base().lease_size(1001), "lease_size must be 1..=1000"),
        (
            base().lease_duration(Duration::ZERO),
            "lease_duration must be 1 s",
        ),
        (
            base().lease_duration(Duration::from_secs(604_801)),
            "lease_duration must be 1 s",
        ),
        (base().concurrency(0), "concurrency must be at least 1"),
        (
            base().renew_at(1.0),
            "renew_at must be strictly between 0 and 1",
        ),
        (
            base().renew_at(f64::NAN),
            "renew_at must be strictly between 0 and 1",
        ),
        (base().max_attempts(0), "max_attempts must be at least 1"),
        (base().tag("x".repeat(501)), "tag is 501 bytes"),
    ];
    for (builder, expected) in cases {
        let error = builder.build().unwrap_err();
        assert!(error.is_configuration(), "{error}");
        assert!(
            error.to_string().contains(expected),
            "{error} should say {expected}"
        );
    }
    assert!(
        base()
            .lease_duration(Duration::from_millis(1500))
            .build()
            .is_ok()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_drain_leases_again_as_soon_as_its_last_handlers_finish() {
    // One task works 1 s, the other 10 s. At 1 s a handler is free and the lease comes back empty while the long
    // one runs: the worker backs off, but with `exit_when_empty` it leases again the moment the long one is done
    // (it might have given its task back) and stops then, not a whole backoff later.
    let scene = Scene::new().await;
    let short = scene.api.seed("short", None);
    let long = scene.api.seed("long", None);
    let clock = scene.clock.clone();
    let worker = scene
        .builder()
        .lease_size(2)
        .concurrency(2)
        // Lease as soon as a slot is free, so the lease times are exact.
        .lease_batch_wait(Duration::ZERO)
        .idle_backoff(BackoffPolicy::new(
            Duration::from_secs(30),
            Duration::from_secs(60),
        ))
        .exit_when_empty(true)
        .handler(move |task: Task, _lease: LeaseGuard| {
            let clock = clock.clone();
            async move {
                let long = task.payload.is_some_and(|p| p.as_bytes() == b"long");
                clock
                    .sleep(Duration::from_secs(if long { 10 } else { 1 }))
                    .await;
                Outcome::done()
            }
        })
        .build()
        .unwrap();
    let report = scene.run(&worker, Duration::from_secs(100)).await.unwrap();
    assert_eq!(report.reason, taskqueue_worker::StopReason::QueueEmpty);
    assert_eq!(report.stats.done, 2);
    let events = scene.api.events();
    assert_eq!(lease_times(&events), [0.0, 1.0, 10.0]);
    assert_eq!(scene.clock.elapsed(), Duration::from_secs(10));
    assert_eq!(deletes(&events).len(), 2);
    assert!(scene.api.remaining(QUEUE).is_empty(), "{short} {long}");
}
