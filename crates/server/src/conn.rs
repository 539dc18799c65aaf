//! Connection handling: the accept loop under a connection cap, and each connection served by hyper's HTTP/1.1
//! server behind real socket deadlines.
//!
//! - **Cap.** At most [`ConnectionSettings::max_connections`] connections are served at once. One more is
//!   accepted, answered `503` with Google's envelope and `Connection: close` in a single non-blocking write (no
//!   byte of its request is read), closed, and counted (`taskqueue_connections_refused_total`); the first refusal
//!   after the server was below the cap logs a warning.
//! - **Deadlines** ([`GuardedIo`]). Between requests a connection may stay idle for `idle_timeout`; once the first
//!   byte of a request arrives, its headers must be complete within `header_read_timeout`; a response that the
//!   client does not read for `idle_timeout` ends the connection. Each closes the socket and is counted by phase
//!   (`taskqueue_connections_timed_out_total{phase="idle"|"header"|"write"}`). The body has its own deadline,
//!   answered 408 by the router (`ops::read_body`). While a request is being handled, reads are not timed: the
//!   request timeout bounds the handler.
//! - **Shutdown.** The loop stops accepting, asks every connection to finish (idle ones close at once, busy ones
//!   after their response), and returns when all are closed.
//!
//! These are real-time deadlines on sockets, not protocol timers, so they use tokio's clock, not the injected one.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::time::Sleep;
use tower::ServiceExt as _;

use crate::metrics::Metrics;

/// The answer to a connection over the cap: written at once, without reading the request.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json; charset=UTF-8\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Length: 143\r\n\
\r\n\
{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"backendError\",\"message\":\"Too many connections\"}],\"code\":503,\"message\":\"Too many connections\"}}";

/// How long the accept loop pauses after an accept error (out of descriptors, say) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The limits of the connection layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionSettings {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

/// A real-time sleep of `duration`. Socket deadlines are real time (like the request timeout), never the
/// injected clock: a virtual clock would never close an idle connection.
#[allow(clippy::disallowed_methods)] // Real-time socket deadlines, by design (see above).
fn deadline_after(duration: Duration) -> Pin<Box<Sleep>> {
    Box::pin(tokio::time::sleep(duration))
}

/// Serves `app` on `listener` until `shutdown` fires (or its sender is dropped), then waits for the connections
/// to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    metrics: Arc<Metrics>,
    mut shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let max = settings.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (closing, closing_signal) = watch::channel(false);
    let mut warned_at_cap = false;
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                deadline_after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                warned_at_cap = false;
                metrics.connections_accepted.inc();
                let app = app.clone();
                let metrics = Arc::clone(&metrics);
                let closing = closing_signal.clone();
                tokio::spawn(async move {
                    serve_connection(stream, app, settings, &metrics, closing).await;
                    drop(permit);
                });
            }
            Err(_) => {
                metrics.connections_refused.inc();
                if !warned_at_cap {
                    warned_at_cap = true;
                    tracing::warn!(
                        max_connections = max,
                        refused_so_far = metrics.connections_refused.get(),
                        "connection cap reached: refusing new connections with 503 until some close"
                    );
                }
                // One non-blocking write; whatever does not fit is dropped with the connection.
                let _ = stream.try_write(OVER_CAPACITY);
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    // Every connection holds a permit until it is closed: having them all back means none is left.
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// One connection: HTTP/1.1 with keep-alive, behind [`GuardedIo`], until it ends or the server closes.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    settings: ConnectionSettings,
    metrics: &Arc<Metrics>,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    metrics.connections_open.inc();
    let activity = Arc::new(Activity::default());
    let io = GuardedIo::new(stream, settings, Arc::clone(&activity), Arc::clone(metrics));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let app = app.clone();
        let activity = Arc::clone(&activity);
        async move {
            let _busy = activity.begin();
            app.oneshot(request).await
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = async { drop(closing.wait_for(|closing| *closing).await) } => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, "connection ended with an error");
    }
    metrics.connections_open.dec();
}

/// What the service tells the I/O wrapper: requests in progress, and how many have started.
#[derive(Debug, Default)]
struct Activity {
    in_flight: AtomicUsize,
    started: AtomicU64,
}

impl Activity {
    fn begin(self: &Arc<Self>) -> Busy {
        self.started.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }
}

/// A request in progress; dropping it ends it (also when the handler is cancelled).
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a connection is, for its read deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between requests: no byte of the next one yet.
    Idle,
    /// Some bytes of a request's headers have arrived.
    Head,
    /// A request is being handled.
    Busy,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Head | Phase::Busy => "header",
        }
    }
}

/// A TCP stream with the connection's read and write deadlines (module docs).
struct GuardedIo {
    inner: TcpStream,
    settings: ConnectionSettings,
    activity: Arc<Activity>,
    metrics: Arc<Metrics>,
    phase: Phase,
    seen_started: u64,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl GuardedIo {
    fn new(
        inner: TcpStream,
        settings: ConnectionSettings,
        activity: Arc<Activity>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner,
            settings,
            activity,
            metrics,
            phase: Phase::Idle,
            seen_started: 0,
            read_deadline: None,
            write_deadline: None,
        }
    }

    /// A request started since the last look: its headers are done, so the next bytes begin a new request.
    fn note_requests(&mut self) {
        let started = self.activity.started.load(Ordering::Acquire);
        if started != self.seen_started {
            self.seen_started = started;
            self.phase = Phase::Busy;
            self.read_deadline = None;
        }
    }

    fn busy(&self) -> bool {
        self.activity.in_flight.load(Ordering::Acquire) > 0
    }

    fn timed_out(&self, phase: &'static str) -> io::Error {
        self.metrics
            .connections_timed_out
            .with_label_values(&[phase])
            .inc();
        tracing::debug!(phase, "connection timed out");
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connection {phase} timeout"),
        )
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.note_requests();
        match polled {
            Poll::Ready(Ok(())) => {
                let received = buf.filled().len() > before;
                if received && this.phase != Phase::Head && !this.busy() {
                    this.phase = Phase::Head;
                    this.read_deadline = Some(deadline_after(this.settings.header_read_timeout));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                if this.busy() {
                    this.phase = Phase::Busy;
                    this.read_deadline = None;
                    return Poll::Pending;
                }
                if this.phase == Phase::Busy {
                    // The last request is done: the connection is idle from now on.
                    this.phase = Phase::Idle;
                    this.read_deadline = None;
                }
                let idle_timeout = this.settings.idle_timeout;
                let deadline = this
                    .read_deadline
                    .get_or_insert_with(|| deadline_after(idle_timeout));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.read_deadline = None;
                    return Poll::Ready(Err(this.timed_out(this.phase.label())));
                }
                Poll::Pending
            }
        }
    }
}

impl GuardedIo {
    /// The write deadline around a write-side poll: cleared by progress, armed while the client reads nothing.
    fn guard_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let idle_timeout = self.settings.idle_timeout;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| deadline_after(idle_timeout));
                if deadline.as_mut().poll(cx).is_ready() {
                    self.write_deadline = None;
                    return Poll::Ready(Err(self.timed_out("write")));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.guard_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.guard_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.guard_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.guard_write(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::OVER_CAPACITY;

    #[test]
    fn the_over_capacity_answer_is_well_formed() {
        let text = std::str::from_utf8(OVER_CAPACITY).expect("ASCII");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .and_then(|value| value.parse().ok())
            .expect("a Content-Length");
        assert_eq!(length, body.len());
        let envelope: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(envelope["error"]["code"], 503);
        assert_eq!(envelope["error"]["errors"][0]["reason"], "backendError");
    }
}
