//! `taskqueue work -- COMMAND…`: the worker, running COMMAND once per task.
//!
//! The payload goes to COMMAND's standard input; the task's fields go into `TASKQUEUE_TASK_ID`,
//! `TASKQUEUE_TASK_TAG`, `TASKQUEUE_TASK_RETRY_COUNT`, `TASKQUEUE_TASK_ENQUEUE_TIMESTAMP` (µs), `TASKQUEUE_PROJECT`
//! and `TASKQUEUE_QUEUE`. Exit 0 is done, the give-up code is a dead letter, anything else (a signal too) is a
//! retry. If the lease is lost, COMMAND is killed.

use std::process::Stdio;
use std::sync::Arc;

use taskqueue_client::{Client, QueueRef};
use taskqueue_model::Task;
use taskqueue_worker::{DeadLetterFormat, LeaseGuard, Outcome, Worker};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use crate::args::WorkArgs;
use crate::failure::Failure;
use crate::output::Out;

/// What runs each task.
struct Runner {
    program: String,
    args: Vec<String>,
    give_up_code: i32,
    queue: QueueRef,
}

impl Runner {
    async fn run(&self, task: Task, lease: LeaseGuard) -> Outcome {
        let id = task.id.clone().unwrap_or_default();
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env("TASKQUEUE_TASK_ID", &id)
            .env("TASKQUEUE_TASK_TAG", task.tag.as_deref().unwrap_or(""))
            .env(
                "TASKQUEUE_TASK_RETRY_COUNT",
                lease.retry_count().to_string(),
            )
            .env(
                "TASKQUEUE_TASK_ENQUEUE_TIMESTAMP",
                task.enqueue_timestamp
                    .map(|t| t.as_micros().to_string())
                    .unwrap_or_default(),
            )
            .env("TASKQUEUE_PROJECT", &self.queue.project)
            .env("TASKQUEUE_QUEUE", &self.queue.queue)
            .stdin(Stdio::piped())
            // A lost lease drops this future, and with it the child.
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(program = %self.program, %error, "cannot start the command; the task will be retried");
                return Outcome::retry();
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            let payload = task.payload.map(|p| p.into_bytes()).unwrap_or_default();
            // A command that does not read its input closes the pipe early: not an error.
            let _ = stdin.write_all(&payload).await;
            drop(stdin);
        }
        let status = tokio::select! {
            status = child.wait() => status,
            () = lease.lost() => {
                let _ = child.kill().await;
                return Outcome::retry();
            }
        };
        match status {
            Ok(status) if status.success() => Outcome::done(),
            Ok(status) if status.code() == Some(self.give_up_code) => Outcome::give_up(format!(
                "{} exited with {}",
                self.program, self.give_up_code
            )),
            Ok(status) => {
                tracing::warn!(task = %id, %status, "the command failed; the task will be retried");
                Outcome::retry()
            }
            Err(error) => {
                tracing::error!(task = %id, %error, "waiting for the command failed");
                Outcome::retry()
            }
        }
    }
}

pub(crate) async fn work(
    client: Client,
    queue: QueueRef,
    args: WorkArgs,
    out: &Out,
) -> Result<(), Failure> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::usage("no COMMAND after `--`"))?;
    let runner = Arc::new(Runner {
        program: program.clone(),
        args: rest.to_vec(),
        give_up_code: args.give_up_code,
        queue: queue.clone(),
    });
    let mut builder = Worker::builder(client, queue.clone())
        .concurrency(args.concurrency)
        .lease_size(args.lease_size)
        .lease_duration(args.lease)
        .shutdown_timeout(args.shutdown_timeout)
        .exit_when_empty(args.exit_when_empty)
        .handler(move |task: Task, lease: LeaseGuard| {
            let runner = Arc::clone(&runner);
            async move { runner.run(task, lease).await }
        });
    if let Some(tag) = &args.tag {
        builder = builder.tag(tag.clone());
    } else if args.group_by_tag {
        builder = builder.group_by_tag();
    }
    if let Some(max) = args.max_attempts {
        builder = builder.max_attempts(max);
    }
    builder = match &args.dead_letter_queue {
        Some(dead) => builder.dead_letter_queue(
            QueueRef::new(queue.project.clone(), dead.clone()),
            DeadLetterFormat::Envelope,
        ),
        None => builder.discard_dead_letters(),
    };
    let worker = builder
        .build()
        .map_err(|error| Failure::usage(error.to_string()))?;

    // Ctrl-C (or SIGTERM) once: finish the running commands; twice: stop them.
    let stop = worker.shutdown_handle();
    let signals = tokio::spawn(async move {
        loop {
            if wait_for_signal().await.is_err() {
                return;
            }
            if stop.is_shutting_down() {
                tracing::warn!("second signal: stopping the running commands");
            } else {
                tracing::warn!("signal: finishing the running commands (again to stop them)");
            }
            stop.shutdown();
        }
    });
    let result = worker.run().await;
    signals.abort();
    let report = result.map_err(|error| match error.api_error() {
        Some(api) => Failure::api(&format!("work on {}", queue.queue), api),
        None => Failure::usage(error.to_string()),
    })?;
    let stats = report.stats;
    if out.is_json() {
        let json = serde_json::json!({
            "stopped": format!("{:?}", report.reason),
            "aborted": report.aborted,
            "leased": stats.leased,
            "done": stats.done,
            "retried": stats.retried,
            "deadLettered": stats.dead_lettered,
            "renewals": stats.renewals,
            "lostLeases": stats.lost_leases,
            "releasedUnstarted": stats.released_unstarted,
            "abortedTasks": stats.aborted,
            "settleErrors": stats.settle_errors,
        });
        return out
            .json(&json)
            .map_err(|error| Failure::usage(error.to_string()));
    }
    // The summary goes to stderr: stdout belongs to the commands.
    tracing::info!(?stats, "stopped");
    let summary = format!(
        "worker stopped ({:?}{}): {} leased, {} done, {} retried, {} dead-lettered, {} lost leases, {} released unstarted",
        report.reason,
        if report.aborted {
            ", commands stopped"
        } else {
            ""
        },
        stats.leased,
        stats.done,
        stats.retried,
        stats.dead_lettered,
        stats.lost_leases,
        stats.released_unstarted,
    );
    eprintln_summary(&summary);
    Ok(())
}

fn eprintln_summary(summary: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{summary}");
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
