//! Capturing what `tracing` writes on the current thread, for the tests that check logs carry what they should
//! and never a secret.
//!
//! One global subscriber, installed once at TRACE level, writes every event to the capture buffer of the thread
//! that emits it, if that thread is capturing (and nowhere otherwise). A global subscriber keeps every call site
//! interested from the start; scoped subscribers (`set_default`) lose events when a call site was first reached
//! on another test thread and cached as "never interested", a race no `rebuild_interest_cache` closes.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

thread_local! {
    static CAPTURE: RefCell<Option<Traces>> = const { RefCell::new(None) };
}

/// The text traced on one thread while its [`CaptureGuard`] lives (use a current-thread runtime).
#[derive(Clone, Debug, Default)]
pub(crate) struct Traces(Arc<Mutex<Vec<u8>>>);

/// Stops the capture when dropped.
#[derive(Debug)]
pub(crate) struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

impl Traces {
    /// Starts capturing this thread's events and span closings, at TRACE level.
    pub(crate) fn capture() -> (Self, CaptureGuard) {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("the only global subscriber");
        });
        let traces = Self::default();
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(traces.clone()));
        (traces, CaptureGuard(()))
    }

    /// The text so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Writes to the current thread's capture, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(traces) = capture.borrow().as_ref() {
                traces
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
