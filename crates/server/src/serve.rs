//! Running the server: [`start`] opens the store, raises the descriptor limit, binds the listener, and serves
//! [`router`] until [`RunningServer::shutdown`], with a purge timer on the server's clock. Connections are served
//! one by one by hyper under a connection cap, with header-read, idle and write deadlines (`conn`).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use taskqueue_clock::{SharedClock, VirtualClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::router;
use crate::config::{HttpLimits, ServerConfig, StorageConfig};
use crate::conn::ConnectionSettings;
use crate::state::AppState;
use crate::{MemoryStore, PostgresStore, SqliteStore, Store, StoreError};

/// How many tombstones and lease-log entries one purge call removes at most; the timer calls again while a call
/// comes back full.
const PURGE_BATCH: u32 = 1000;

/// Which clock the server reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockMode {
    /// The system clock: the default.
    System,
    /// A virtual clock starting at `start`, moved only through the admin endpoint `/admin/clock`. For conformance
    /// runs and tests; never the default.
    Virtual {
        /// The clock's first reading.
        start: SystemTime,
    },
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Opens the store `config.storage` names.
///
/// # Errors
///
/// [`StoreError::Storage`] if the SQLite file cannot be opened (or another server holds it), or the PostgreSQL
/// database cannot be reached.
pub async fn open_store(config: &ServerConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &config.storage {
        StorageConfig::Memory => Arc::new(MemoryStore::new(config.store.clone())),
        StorageConfig::Sqlite { path } => Arc::new(SqliteStore::open(path, config.store.clone())?),
        StorageConfig::Postgres { url } => {
            Arc::new(PostgresStore::connect(url.expose(), config.store.clone()).await?)
        }
    })
}

/// Starts a server for `config` on `config.listen` (port 0 picks a free port), with the store it names and the
/// clock `mode` asks for. Must be called within a tokio runtime.
///
/// # Errors
///
/// [`StartError`] if the store cannot be opened or the address bound.
pub async fn start(config: ServerConfig, mode: ClockMode) -> Result<RunningServer, StartError> {
    let store = open_store(&config).await?;
    start_with_store(config, store, mode).await
}

/// [`start`] with a store the caller opened.
///
/// # Errors
///
/// [`StartError::Bind`] if the address cannot be bound.
pub async fn start_with_store(
    config: ServerConfig,
    store: Arc<dyn Store>,
    mode: ClockMode,
) -> Result<RunningServer, StartError> {
    let address = config.listen;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { address, source })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local_addr}"));
    let state = match mode {
        ClockMode::System => AppState::new(config, store, taskqueue_clock::system(), public_url),
        ClockMode::Virtual { start } => AppState::new_virtual(
            config,
            store,
            Arc::new(VirtualClock::new(start)),
            public_url,
        ),
    };
    let (soft, hard) = raise_descriptor_limit();
    let settings = connection_settings(&state.config.limits, soft);
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let app = router(state.clone());
    let server = tokio::spawn(crate::conn::serve(
        listener,
        app,
        settings,
        Arc::clone(&state.metrics),
        shutdown_signal,
    ));
    tracing::info!(
        descriptors_soft = soft,
        descriptors_hard = hard,
        max_connections = settings.max_connections,
        header_read_timeout_ms = settings.header_read_timeout.as_millis(),
        idle_timeout_ms = settings.idle_timeout.as_millis(),
        body_read_timeout_ms = state.config.limits.body_read_timeout.as_millis(),
        "connection limits"
    );
    let purger = tokio::spawn(purge_forever(state.clone()));
    tracing::info!(
        %local_addr,
        public_url = %state.public_url,
        project = %state.config.project,
        queues = state.config.queues.len(),
        virtual_time = state.virtual_clock.is_some(),
        "taskqueue-server listening"
    );
    Ok(RunningServer {
        local_addr,
        state,
        shutdown: Some(shutdown),
        server,
        purger,
    })
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limits now in force (soft, hard), `u64::MAX`
/// for "unlimited" or unknown.
fn raise_descriptor_limit() -> (u64, u64) {
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "cannot raise the file-descriptor limit");
    }
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read the file-descriptor limit");
            (u64::MAX, u64::MAX)
        }
    }
}

/// Descriptors kept for everything but client connections: the store's files, the listener, logs.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The connection layer's settings: the configured cap, kept under half the descriptors left after
/// [`RESERVED_DESCRIPTORS`] (each connection is one descriptor; the other half is headroom for the store, the
/// connections being closed and whatever else the process opens), so a storm of connections cannot exhaust them.
fn connection_settings(limits: &HttpLimits, soft_descriptors: u64) -> ConnectionSettings {
    let by_descriptors = soft_descriptors.saturating_sub(RESERVED_DESCRIPTORS) / 2;
    let by_descriptors = usize::try_from(by_descriptors).unwrap_or(usize::MAX).max(1);
    let max_connections = limits.max_connections.min(by_descriptors);
    if max_connections < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            max_connections,
            soft_descriptors,
            "the connection cap is lowered to half the file-descriptor limit"
        );
    }
    ConnectionSettings {
        max_connections,
        header_read_timeout: limits.header_read_timeout,
        idle_timeout: limits.idle_timeout,
    }
}

/// Purges expired tombstones, old lease-log entries and expired tokens every `purge_interval` on the server's clock.
async fn purge_forever(state: AppState) {
    let clock: SharedClock = Arc::clone(&state.clock);
    loop {
        clock.sleep(state.config.purge_interval).await;
        let now = state.now_timestamp();
        loop {
            match state.store.purge(now, PURGE_BATCH).await {
                Ok(report) => {
                    if !report.is_full(PURGE_BATCH) {
                        if !report.is_empty() {
                            tracing::debug!(
                                tombstones = report.tombstones,
                                lease_log = report.lease_log,
                                tokens = report.tokens,
                                "purged"
                            );
                        }
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "purge failed");
                    break;
                }
            }
        }
        let tokens = state.tokens.purge(state.now());
        if tokens > 0 {
            tracing::debug!(tokens, "expired access tokens purged");
        }
    }
}

/// A running server. Dropping it stops accepting connections at once; [`shutdown`](Self::shutdown) lets the
/// requests in flight finish first.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<io::Result<()>>,
    purger: JoinHandle<()>,
}

impl RunningServer {
    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The public URL, without a trailing slash (`http://127.0.0.1:43127`).
    #[must_use]
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The API's base URL, as clients take it: `{public_url}/taskqueue/v1beta2/projects/`.
    #[must_use]
    pub fn api_base_url(&self) -> String {
        format!("{}/taskqueue/v1beta2/projects/", self.state.public_url)
    }

    /// The token endpoint, `{public_url}/token`.
    #[must_use]
    pub fn token_uri(&self) -> String {
        self.state.token_uri()
    }

    /// The shared state (store, tokens, clock).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The virtual clock, in virtual-time mode.
    #[must_use]
    pub fn virtual_clock(&self) -> Option<&Arc<VirtualClock>> {
        self.state.virtual_clock.as_ref()
    }

    /// Stops accepting connections, waits for the requests in flight, and stops the purge timer.
    ///
    /// # Errors
    ///
    /// The server's I/O error, if it failed.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.purger.abort();
        match (&mut self.server).await {
            Ok(result) => result,
            Err(join) => Err(io::Error::other(join)),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.purger.abort();
        self.server.abort();
    }
}
