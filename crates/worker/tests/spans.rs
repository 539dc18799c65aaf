//! The `task` tracing span of each task, as a subscriber sees it: a small collecting `Layer` records the span's
//! fields (`id`, `retry_count`, `outcome`, `duration_ms`) when it closes, and the test checks them for a task done,
//! a task retried then dead-lettered after `max_attempts`, and a task given up at once, in virtual time.
//!
//! A test binary of its own, with this one test: tracing caches per call site, for the whole process, whether any
//! subscriber wants its spans, and a test on another thread with no subscriber can settle that to "never" for the
//! worker's span before this test's thread-local subscriber sees it. Alone in its process, nothing races it.

// The virtual-time tests' fake API and setup, shared with the `it` test binary; this test uses part of them.
#[allow(
    dead_code,
    reason = "shared with the `it` test binary, which uses the rest"
)]
#[path = "it/fake.rs"]
mod fake;
#[allow(
    dead_code,
    reason = "shared with the `it` test binary, which uses the rest"
)]
#[path = "it/scene.rs"]
mod scene;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskqueue_clock::Clock as _;
use taskqueue_model::Task;
use taskqueue_worker::LeaseGuard;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

use crate::scene::{Scene, by_payload};

/// The fields of one span, by name, as text.
type Fields = HashMap<&'static str, String>;

/// Collects the fields of every `task` span and keeps them when the span closes.
#[derive(Clone, Default)]
struct Spans {
    open: Arc<Mutex<HashMap<Id, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
}

struct FieldsOf<'a>(&'a mut Fields);

impl Visit for FieldsOf<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name(), value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attributes.metadata().name() != "task" {
            return;
        }
        let mut fields = Fields::new();
        attributes.record(&mut FieldsOf(&mut fields));
        self.open.lock().expect("spans").insert(id.clone(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().expect("spans").get_mut(id) {
            values.record(&mut FieldsOf(fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().expect("spans").remove(&id) {
            self.closed.lock().expect("spans").push(fields);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_task_runs_in_a_span_with_its_id_attempt_outcome_and_duration() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    // A current-thread runtime: every task of the worker runs on this thread, under this subscriber.
    let _default = tracing::subscriber::set_default(subscriber);

    let scene = Scene::new().await;
    let ok = scene.api.seed("ok", None);
    let retry = scene.api.seed("retry", None);
    let poison = scene.api.seed("poison", None);
    // Each handler works for a payload-dependent time on the virtual clock, then answers by its payload.
    let clock = scene.clock.clone();
    let worker = scene
        .builder()
        .max_attempts(2)
        .exit_when_empty(true)
        .handler(move |task: Task, lease: LeaseGuard| {
            let clock = clock.clone();
            async move {
                let work = match task.payload.as_ref().map(|p| p.as_bytes().to_vec()) {
                    Some(p) if p == b"ok" => Duration::from_millis(2500),
                    Some(p) if p == b"retry" => Duration::from_millis(700),
                    _ => Duration::ZERO,
                };
                clock.sleep(work).await;
                by_payload(task, lease).await
            }
        })
        .build()
        .expect("a worker");
    let report = scene
        .run(&worker, Duration::from_secs(100))
        .await
        .expect("the worker ran");
    assert_eq!(
        (
            report.stats.done,
            report.stats.retried,
            report.stats.dead_lettered
        ),
        (1, 1, 2)
    );

    let mut seen: Vec<(String, String, String, String)> = spans
        .closed
        .lock()
        .expect("spans")
        .iter()
        .map(|fields| {
            let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
            assert_eq!(field("queue"), fake::QUEUE, "{fields:?}");
            (
                field("id"),
                field("retry_count"),
                field("outcome"),
                field("duration_ms"),
            )
        })
        .collect();
    seen.sort();
    let expected = [
        (&ok, "1", "done", "2500"),
        (&retry, "1", "retry", "700"),
        (&retry, "2", "dead_letter", "700"),
        (&poison, "1", "dead_letter", "0"),
    ];
    let mut expected: Vec<(String, String, String, String)> = expected
        .iter()
        .map(|(id, count, outcome, ms)| {
            (
                (*id).clone(),
                (*count).to_owned(),
                (*outcome).to_owned(),
                (*ms).to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
}
