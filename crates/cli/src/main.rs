//! `taskqueue`: feed, inspect and drain Task Queue REST API v1beta2 pull queues from a shell.
//!
//! `insert`, `lease`, `get`, `list`, `delete`, `renew` and `stats` make one API call each and print a table (or,
//! with `--json`, the API's resource); `work -- COMMAND…` runs the `taskqueue-worker` runtime with COMMAND per
//! task. Exit codes: 0 success, 1 API failure, 2 bad usage or input, 3 credentials, 4 not found, 5 denied.

mod args;
mod commands;
mod connect;
mod eta;
mod failure;
mod output;
mod work;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};
use crate::failure::Failure;
use crate::output::Out;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    cli.global.access_token = std::env::var("TASKQUEUE_ACCESS_TOKEN").ok();
    // Logs go to stderr; RUST_LOG sets the level (default: warnings, and the worker's progress).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,taskqueue_worker=info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "taskqueue: cannot start the runtime: {error}"
            );
            return ExitCode::from(failure::code::API);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(failure::code::OK),
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "taskqueue: {failure}");
            failure.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let out = Out::new(cli.global.json);
    // Check the cheap things (the queue, the endpoint) before looking for credentials.
    let queue = connect::queue(&cli.global)?;
    connect::base_url(cli.global.endpoint.as_deref())?;
    let client = connect::client(&cli.global).await?;
    match cli.command {
        Command::Insert(args) => commands::insert(&client, queue, &args, &out).await,
        Command::Lease(args) => commands::lease(&client, queue, &args, &out).await,
        Command::Get { task } => commands::get(&client, queue, &task, &out).await,
        Command::List => commands::list(&client, queue, &out).await,
        Command::Delete { task } => commands::delete(&client, queue, &task, &out).await,
        Command::Renew(args) => commands::renew(&client, queue, &args, &out).await,
        Command::Stats => commands::stats(&client, queue, &out).await,
        Command::Work(args) => work::work(client, queue, args, &out).await,
    }
}
