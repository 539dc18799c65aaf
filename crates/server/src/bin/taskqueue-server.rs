//! `taskqueue-server`: the reference Task Queue v1beta2 server.
//!
//! - `taskqueue-server init DIR` writes a ready-to-run development setup into DIR: `queue.yaml`, the server's
//!   configuration, and Google-format key files (`service-account.json`, `authorized-user.json`) whose `token_uri`
//!   is this server.
//! - `taskqueue-server serve --config DIR/taskqueue-server.yaml` serves it until SIGINT or SIGTERM, then finishes
//!   the requests in flight.
//! - `taskqueue-server check --config FILE` loads a configuration and reports what it defines, or its first error
//!   with `file:line`.

// A command-line program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use taskqueue_server::commands::init::{InitOptions, init};
use taskqueue_server::config::{self, ServerConfig};
use taskqueue_server::serve::{self, ClockMode};
use tracing_subscriber::EnvFilter;

/// The reference server for the App Engine Task Queue REST API v1beta2 (pull queues).
#[derive(Debug, Parser)]
#[command(name = "taskqueue-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a development setup (queue.yaml, configuration, key files) into DIR.
    Init {
        /// The directory to write into (created if missing).
        dir: PathBuf,
        /// The App Engine app id to serve.
        #[arg(long, default_value = "dev-project")]
        project: String,
        /// The address the server will listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The URL clients will reach the server at (default: http://LISTEN).
        #[arg(long)]
        public_url: Option<String>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Serve the API, the token endpoint and /healthz until SIGINT or SIGTERM.
    Serve {
        /// The server's configuration file.
        #[arg(long, short, default_value = "taskqueue-server.yaml")]
        config: PathBuf,
        /// Listen here instead of the configured address (port 0: any free port; the address is printed). The
        /// public URL then follows the bound address, unless --public-url is given.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// The URL clients reach the server at, instead of the configured one.
        #[arg(long)]
        public_url: Option<String>,
        /// Run in virtual time, starting at this many seconds since the Unix epoch (default: now), and serve the
        /// admin endpoint /admin/clock that moves it. For conformance runs and tests only.
        #[arg(long, value_name = "START_UNIX_SECONDS", num_args = 0..=1, default_missing_value = "now")]
        virtual_time: Option<String>,
        /// The log filter (tracing's EnvFilter syntax); default: $RUST_LOG, else `info`.
        #[arg(long)]
        log: Option<String>,
        /// The log format on stderr: `text` (default) or `json`, one JSON object per line for log shippers.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Load a configuration and report what it defines, or its first error.
    Check {
        /// The server's configuration file.
        #[arg(long, short, default_value = "taskqueue-server.yaml")]
        config: PathBuf,
    },
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines (colored on a terminal).
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (`message` and the event's fields),
    /// and the current `span` and `spans`.
    Json,
}

/// jemalloc, whose background thread returns freed memory to the system: after a storm of connections the
/// server's memory falls back instead of staying at its peak (as it did with glibc's allocator).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init {
            dir,
            project,
            listen,
            public_url,
            force,
        } => {
            let mut options = InitOptions::default()
                .with_project(project)
                .with_listen(listen)
                .with_force(force);
            if let Some(public_url) = public_url {
                options = options.with_public_url(public_url);
            }
            match init(&dir, &options) {
                Ok(report) => {
                    println!("{report}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("taskqueue-server init: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check { config } => match config::load(&config) {
            Ok(loaded) => {
                println!("{}", summary(&loaded));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{error}");
                ExitCode::from(2)
            }
        },
        Command::Serve {
            config,
            listen,
            public_url,
            virtual_time,
            log,
            log_format,
        } => serve_command(
            &config,
            listen,
            public_url,
            virtual_time.as_deref(),
            (log.as_deref(), log_format),
        ),
    }
}

/// One line per thing the configuration defines.
fn summary(config: &ServerConfig) -> String {
    let queues: Vec<&str> = config
        .queues
        .iter()
        .map(|queue| queue.name.as_str())
        .collect();
    format!(
        "project {}\nlisten {}\nqueues {}\nservice accounts {}\nusers {}\nscope policy {}",
        config.project,
        config.listen,
        queues.join(", "),
        config.principals.service_accounts.len(),
        config.principals.users.len(),
        config.scope_policy.as_str(),
    )
}

fn serve_command(
    config_path: &std::path::Path,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    virtual_time: Option<&str>,
    (log, log_format): (Option<&str>, LogFormat),
) -> ExitCode {
    let filter = log
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }

    let mut config = match config::load(config_path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    if let Some(listen) = listen {
        config.listen = listen;
        config.public_url = None;
    }
    if public_url.is_some() {
        config.public_url = public_url;
    }
    let mode = match virtual_time {
        None => ClockMode::System,
        Some(start) => match parse_start(start) {
            Ok(start) => ClockMode::Virtual { start },
            Err(message) => {
                eprintln!("taskqueue-server serve: --virtual-time: {message}");
                return ExitCode::from(2);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("taskqueue-server serve: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match serve::start(config, mode).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("taskqueue-server serve: {error}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = ShutdownSignal::install();
        // The one line scripts and tests read: where the server listens.
        println!(
            "taskqueue-server listening on http://{} (API {}, token endpoint {})",
            server.local_addr(),
            server.api_base_url(),
            server.token_uri()
        );
        let _ = std::io::stdout().flush();
        shutdown.received().await;
        tracing::info!("shutting down: finishing the requests in flight");
        match server.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("taskqueue-server serve: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The virtual clock's start: `now` (the system clock, read once) or seconds since the Unix epoch.
fn parse_start(value: &str) -> Result<std::time::SystemTime, String> {
    if value == "now" {
        return Ok(taskqueue_clock::Clock::now(
            &taskqueue_clock::SystemClock::new(),
        ));
    }
    value
        .parse::<u64>()
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
        .map_err(|_| format!("`{value}` is not a number of seconds since the Unix epoch"))
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from the moment it is created: create it before announcing the server,
/// so that a signal sent right after the announcement is not met by the default action (terminating the process
/// without a graceful shutdown).
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Completes on the first signal.
    async fn received(mut self) {
        #[cfg(unix)]
        {
            let interrupt = async {
                match self.interrupt.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match self.terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {}
                () = terminate => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
