//! The command line, as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// What `--help` ends with: the exit codes and the environment.
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  the API call failed (refused by the server, or the server could not be reached)
  2  bad usage or bad input (unknown option, unreadable payload file, malformed --eta)
  3  no credentials, or the server refused them
  4  the queue or task does not exist
  5  the caller lacks a scope or is not in the queue's ACL
`work` exits 0 once stopped cleanly (Ctrl-C, or --exit-when-empty), whatever the tasks' outcomes.

Credentials, first found: TASKQUEUE_ACCESS_TOKEN (a bearer token), --credentials FILE, then Application Default
Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file, the metadata server). Tokens and keys are
never printed.";

/// Feed, inspect and drain Task Queue REST API v1beta2 pull queues.
#[derive(Debug, Parser)]
#[command(name = "taskqueue", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The server: a root URL (http://127.0.0.1:8080) or the API's base URL; default Google's.
    #[arg(long, env = "TASKQUEUE_ENDPOINT", global = true)]
    pub(crate) endpoint: Option<String>,
    /// A service account or authorized-user key file (default: Application Default Credentials).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) credentials: Option<PathBuf>,
    /// A bearer token to send as it is (from the environment only, so it stays out of process listings).
    #[arg(skip)]
    pub(crate) access_token: Option<String>,
    /// The project path segment, as the API takes it (`s~my-app` works).
    #[arg(long, env = "TASKQUEUE_PROJECT", global = true)]
    pub(crate) project: Option<String>,
    /// The queue's short name.
    #[arg(long, env = "TASKQUEUE_QUEUE", global = true)]
    pub(crate) queue: Option<String>,
    /// Print JSON (the API's resources as returned) instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Insert a task: the payload from an argument, --file, or standard input.
    Insert(InsertArgs),
    /// Lease tasks and print them (with the lease timestamp `renew` needs).
    Lease(LeaseArgs),
    /// Print one task, with its payload.
    Get {
        /// The task's name.
        task: String,
    },
    /// List up to 100 tasks, without payloads.
    List,
    /// Delete a task.
    Delete {
        /// The task's name.
        task: String,
    },
    /// Extend or release a lease you hold.
    Renew(RenewArgs),
    /// Print the queue with its statistics.
    Stats,
    /// Run COMMAND for each leased task: payload on stdin, task fields in TASKQUEUE_TASK_* variables.
    Work(WorkArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InsertArgs {
    /// The payload (default: standard input, or --file).
    #[arg(conflicts_with = "file")]
    pub(crate) payload: Option<String>,
    /// Read the payload from FILE (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// The task's tag.
    #[arg(long)]
    pub(crate) tag: Option<String>,
    /// The task's name (default: the server names it).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// When the task becomes available: RFC 3339 (2030-01-01T00:00:00Z) or a delay from now (90s, 5m, 1h).
    #[arg(long)]
    pub(crate) eta: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LeaseArgs {
    /// How many tasks at most (1..=1000).
    #[arg(long, short = 'n', default_value_t = 1)]
    pub(crate) num: u32,
    /// How long the lease lasts (60s, 5m; whole seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) lease: Duration,
    /// Lease only tasks with this tag.
    #[arg(long, conflicts_with = "group_by_tag")]
    pub(crate) tag: Option<String>,
    /// Lease only tasks sharing the oldest available task's tag.
    #[arg(long)]
    pub(crate) group_by_tag: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    /// The task's name.
    pub(crate) task: String,
    /// The `leaseTimestamp` (µs) of your lease, as `lease` printed it: it proves the lease is yours.
    #[arg(long, value_name = "MICROS")]
    pub(crate) lease_timestamp: i64,
    /// The new lease length from now; 0 releases the task.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) lease: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct WorkArgs {
    /// Handlers running at once.
    #[arg(long, default_value_t = 1)]
    pub(crate) concurrency: usize,
    /// The most tasks per lease call.
    #[arg(long, default_value_t = 10)]
    pub(crate) lease_size: u32,
    /// How long each lease (and renewal) lasts; renewed at half while COMMAND runs.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) lease: Duration,
    /// Lease only tasks with this tag.
    #[arg(long, conflicts_with = "group_by_tag")]
    pub(crate) tag: Option<String>,
    /// Lease only tasks sharing the oldest available task's tag.
    #[arg(long)]
    pub(crate) group_by_tag: bool,
    /// Dead-letter a task once it has been leased this many times and still fails.
    #[arg(long)]
    pub(crate) max_attempts: Option<u32>,
    /// The exit code with which COMMAND gives a task up (dead letter) rather than asking for a retry.
    #[arg(long, default_value_t = 100)]
    pub(crate) give_up_code: i32,
    /// Where dead letters go: a queue of the same project (a JSON envelope with the payload, tag and reason).
    #[arg(
        long,
        value_name = "QUEUE",
        required_unless_present = "discard_dead_letters"
    )]
    pub(crate) dead_letter_queue: Option<String>,
    /// Delete dead letters after logging them, instead of storing them.
    #[arg(long, conflicts_with = "dead_letter_queue")]
    pub(crate) discard_dead_letters: bool,
    /// Stop once a lease comes back empty and no task runs (drain the queue, for scripts and cron).
    #[arg(long)]
    pub(crate) exit_when_empty: bool,
    /// How long running commands may take to finish after Ctrl-C (a second Ctrl-C stops them at once).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) shutdown_timeout: Duration,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `90s`, `5m`, `1h 30m`, `0s`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("{error} (examples: 30s, 5m, 1h)"))
}
