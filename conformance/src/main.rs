//! `taskqueue-conformance`: loads and validates every scenario, runs them on
//! the mock target, the reference server (in process) or a real endpoint,
//! applies the expected-failures ledger,
//! checks inventory coverage (mock target), and reports: a progress line on
//! stderr, a summary on stdout, and optionally JUnit XML and a Markdown
//! matrix. Every report is scanned for secrets before anything is written.
//!
//! Exit status: 0 when everything passes; 1 on a failure, a coverage gap or
//! a stale ledger entry; 2 on a usage error or a file that does not load; 3
//! when a report would contain a secret (nothing is written then).

// A command-line program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use taskqueue_auth::SecretString;

use taskqueue_clock::{Clock, SystemClock};
use taskqueue_conformance::check::ledger::{self, Ledger};
use taskqueue_conformance::report::card::{self, Progress, RunReport};
use taskqueue_conformance::report::coverage::{self, Inventory};
use taskqueue_conformance::report::secrets::SecretScanner;
use taskqueue_conformance::report::snapshot;
use taskqueue_conformance::report::{junit, matrix};
#[cfg(feature = "server")]
use taskqueue_conformance::run_all_server_with_progress;
use taskqueue_conformance::scenario::values::parse_duration;
use taskqueue_conformance::target::real::{self, RealArgs, RealConfig};
use taskqueue_conformance::{
    LoadedScenario, Outcome, ScenarioRecord, Target, load_dir, run_all_mock_with_progress,
};

/// What `--help` adds after the flags.
const AFTER_HELP: &str = "\
Real-target credentials: --credentials FILE, else --token (TQ_CONFORMANCE_TOKEN: a static access
token; only scenarios without token exchanges run), else Application Default Credentials.

Exit status: 0 passed; 1 a failure, coverage gap or stale ledger entry; 2 usage or load
error; 3 a report would contain a secret (nothing written).";

/// Runs the conformance scenarios and reports.
#[derive(Debug, Clone, Parser)]
#[command(name = "taskqueue-conformance", version, after_help = AFTER_HELP)]
struct Options {
    /// Where to run: wiremock per scenario (mock), the reference server in process per scenario
    /// (server), or a real endpoint (real)
    #[arg(long, value_name = "mock|server|real", default_value = "mock", value_parser = parse_target)]
    target: Target,
    /// The scenario directory [default: scenarios]
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Run only scenarios whose id contains SUBSTR (skips the coverage check)
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// Write JUnit XML to PATH
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write the behaviour x method x target matrix (Markdown) to PATH
    #[arg(long, value_name = "PATH")]
    matrix: Option<PathBuf>,
    /// The expected-failures ledger [default: conformance/expected-failures.yaml]
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// Check each record against DIR/<id>@<target>.snap with insta [default:
    /// conformance/snapshots or conformance/snapshots/server; real target:
    /// target/conformance/real/<endpoint>, where each run writes its records as <id>@real.yaml]
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Do not check snapshots
    #[arg(long)]
    no_snapshots: bool,
    /// Real target: check DIR/<id>@real.snap with insta instead of writing
    #[arg(long)]
    check_snapshots: bool,
    /// The coverage exemptions [default: conformance/coverage/ineligible.yaml]
    #[arg(long, value_name = "PATH")]
    ineligible: Option<PathBuf>,
    /// Mock or server scenarios run at once [default: the available parallelism]
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// Real target: the API base URL, ending in projects/
    #[arg(long, value_name = "URL", env = real::ENV_BASE_URL)]
    base_url: Option<String>,
    /// Real target: the project path segment (s~my-app)
    #[arg(long, value_name = "PROJECT", env = real::ENV_PROJECT)]
    project: Option<String>,
    /// Real target: the queue pool, one scenario at a time per queue, each drained before and
    /// after
    #[arg(long, value_name = "Q1,Q2,...", env = real::ENV_QUEUES)]
    queues: Option<String>,
    /// Real target: one queue (a pool of one)
    #[arg(long, value_name = "Q", env = real::ENV_QUEUE, conflicts_with = "queues")]
    queue: Option<String>,
    /// Real target: an authorized_user or service_account key file that mints a token per scope
    /// set
    #[arg(long, value_name = "FILE", env = real::ENV_CREDENTIALS)]
    credentials: Option<String>,
    /// Real target: a static access token (prefer the variable: a flag shows in the process list)
    #[arg(long, value_name = "TOKEN", env = real::ENV_TOKEN, hide_env_values = true)]
    token: Option<SecretString>,
    /// Real target: advances up to this long wait in real time; longer ones make the scenario not
    /// applicable (seconds, or a duration such as 500ms) [default: 5]
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    max_wait: Option<Duration>,
    /// Real target: how far a time the endpoint sends may lie outside the call (seconds, or a
    /// duration) [default: 3]
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    time_tolerance: Option<Duration>,
    /// Real target: start BINARY (taskqueue-server: a path, or a name found beside this program)
    /// on 127.0.0.1 first, with a fresh `init` in target/conformance/reference-server (SQLite,
    /// real time, 6 queues), and run against it with its authorized_user key
    #[arg(long, value_name = "BINARY")]
    reference_server: Option<PathBuf>,
    /// With --reference-server: run with its service_account key instead (its token requests,
    /// jwt_bearer, observed through the forwarder as the key's HTTP proxy)
    #[arg(long, requires = "reference_server")]
    reference_service_account: bool,
}

fn parse_target(name: &str) -> Result<Target, String> {
    let target = Target::parse(name)
        .ok_or_else(|| format!("unknown target `{name}` (mock, server or real)"))?;
    if target == Target::Server && !cfg!(feature = "server") {
        return Err(
            "this build has no server target: build the harness with its `server` feature"
                .to_owned(),
        );
    }
    Ok(target)
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|jobs| *jobs > 0)
        .ok_or_else(|| format!("`{text}` is not a positive number"))
}

/// A number of seconds (`2.5`), or a duration in the scenarios' grammar
/// (`500ms`, `1m`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds))
            .ok_or_else(|| format!("`{text}` is not a number of seconds"));
    }
    parse_duration(text).ok_or_else(|| format!("`{text}` is not a number of seconds or a duration"))
}

/// `relative` from the current directory if it exists there (the usual case:
/// run from the workspace root), else from the workspace this binary was
/// built in.
fn default_path(relative: &str) -> PathBuf {
    let here = Path::new(relative);
    if here.exists() {
        return here.to_owned();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join(relative)
}

/// Paths relative to the current directory when below it, so messages read
/// `scenarios/auth/x.yaml:3:5`.
fn relative_paths(scenarios: &mut [LoadedScenario]) {
    let Ok(cwd) = std::env::current_dir() else {
        return;
    };
    for scenario in scenarios {
        if let Ok(relative) = scenario.path.strip_prefix(&cwd) {
            scenario.path = relative.to_owned();
        }
    }
}

fn main() -> ExitCode {
    // A usage error exits with status 2; `--help` prints and exits with 0.
    let options = Options::parse();
    run(&options)
}

fn load_errors(errors: &[String]) -> ExitCode {
    for error in errors {
        eprintln!("{error}");
    }
    eprintln!("error: {} file problem(s); nothing ran", errors.len());
    ExitCode::from(2)
}

fn run(options: &Options) -> ExitCode {
    let wall = SystemClock::new();
    let scenarios_dir = options
        .scenarios
        .clone()
        .unwrap_or_else(|| default_path("scenarios"));
    let mut scenarios = match load_dir(&scenarios_dir) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return load_errors(&errors);
        }
    };
    relative_paths(&mut scenarios);
    let ledger_path = options
        .ledger
        .clone()
        .unwrap_or_else(|| default_path("conformance/expected-failures.yaml"));
    let ledger = if options.ledger.is_none() && !ledger_path.exists() {
        Ledger::default()
    } else {
        match Ledger::load(&ledger_path) {
            Ok(ledger) => ledger,
            Err(errors) => return load_errors(&errors),
        }
    };
    let check_coverage = options.target == Target::Mock && options.filter.is_none();
    let coverage_inputs = if check_coverage {
        let path = options
            .ineligible
            .clone()
            .unwrap_or_else(|| default_path("conformance/coverage/ineligible.yaml"));
        let ineligible = match coverage::load_ineligible(&path) {
            Ok(entries) => entries,
            Err(errors) => return load_errors(&errors),
        };
        match Inventory::builtin() {
            Ok(inventory) => Some((inventory, ineligible)),
            Err(error) => return load_errors(&[error]),
        }
    } else {
        None
    };
    let known: BTreeSet<String> = scenarios
        .iter()
        .map(|loaded| loaded.scenario.id.clone())
        .collect();
    let selected: Vec<LoadedScenario> = scenarios
        .iter()
        .filter(|loaded| {
            options
                .filter
                .as_ref()
                .is_none_or(|filter| loaded.scenario.id.contains(filter.as_str()))
        })
        .cloned()
        .collect();
    if selected.is_empty() {
        eprintln!(
            "error: no scenario id contains `{}`",
            options.filter.as_deref().unwrap_or_default()
        );
        return ExitCode::from(2);
    }

    let (records, secrets) = match execute(options, &selected) {
        Ok(run) => run,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    let coverage = coverage_inputs.map(|(inventory, ineligible)| {
        let derivation = coverage::derive(&scenarios, &records);
        coverage::check(&inventory, &ineligible, &derivation)
    });
    let coverage_skipped = match (options.target, &options.filter) {
        (Target::Real | Target::Server, _) => Some("checked on the mock target only".to_owned()),
        (Target::Mock, Some(_)) => Some("--filter runs a subset".to_owned()),
        (Target::Mock, None) => None,
    };
    let snapshot_problems = if options.no_snapshots {
        Vec::new()
    } else if options.target == Target::Real && !options.check_snapshots {
        let dir = options
            .snapshots
            .clone()
            .unwrap_or_else(|| real_snapshot_dir(options));
        write_records(&records, &dir, &secrets)
    } else {
        let dir = options.snapshots.clone().unwrap_or_else(|| {
            default_path(match options.target {
                Target::Mock => "conformance/snapshots",
                Target::Server => "conformance/snapshots/server",
                Target::Real => "conformance/snapshots/real",
            })
        });
        check_snapshots(&selected, &records, &dir, &secrets)
    };
    let applied = ledger::apply(&ledger, &known, records);
    let report = RunReport {
        target: options.target,
        results: applied.results,
        coverage,
        coverage_skipped,
        ledger_problems: applied.problems,
        snapshot_problems,
        wall: wall.monotonic(),
    };
    match write_reports(options, &report, &secrets) {
        Ok(()) => {}
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(3);
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `binary` if it names a file, else the file of that name in this
/// program's directory (cargo builds `taskqueue-server` there).
fn beside_this_binary(binary: &Path) -> PathBuf {
    if binary.is_file() {
        return binary.to_owned();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(binary)))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| binary.to_owned())
}

/// How many queues the reference server of `--reference-server` gets: one
/// worker each.
const REFERENCE_QUEUES: usize = 6;

/// The real target's snapshot directory: one per endpoint, under
/// `target/conformance/real/`.
fn real_snapshot_dir(options: &Options) -> PathBuf {
    if options.reference_server.is_some() {
        return default_path("target/conformance/real/reference-server");
    }
    let endpoint = options
        .base_url
        .clone()
        .or_else(|| std::env::var(real::ENV_BASE_URL).ok())
        .unwrap_or_else(|| "default".to_owned());
    let slug: String = endpoint
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    default_path("target/conformance/real").join(slug.trim_matches('_'))
}

/// Writes every record as `<id>@real.yaml` in `dir` after the secret scan:
/// the real target's records, kept to compare runs; problems as text.
fn write_records(records: &[ScenarioRecord], dir: &Path, secrets: &SecretScanner) -> Vec<String> {
    if let Err(error) = std::fs::create_dir_all(dir) {
        return vec![format!("cannot create {}: {error}", dir.display())];
    }
    records
        .iter()
        .filter_map(|record| {
            let name = snapshot::snapshot_name(record);
            let text = match serde_saphyr::to_string(record) {
                Ok(text) => text,
                Err(error) => return Some(format!("{name}: cannot be written: {error}")),
            };
            if let Err(hit) = secrets.scan(&format!("record {name}"), &text) {
                return Some(hit.to_string());
            }
            let path = dir.join(format!("{name}.yaml"));
            std::fs::write(&path, text)
                .err()
                .map(|error| format!("cannot write {}: {error}", path.display()))
        })
        .collect()
}

/// Checks the snapshot of every record that did not fail (a failure is
/// reported as such; its record is no reference), as the snapshot test does.
fn check_snapshots(
    scenarios: &[LoadedScenario],
    records: &[ScenarioRecord],
    dir: &Path,
    secrets: &SecretScanner,
) -> Vec<String> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    scenarios
        .iter()
        .zip(records)
        .filter(|(_, record)| !matches!(record.outcome, Outcome::Failed(_)))
        .filter_map(|(scenario, record)| {
            let input = default_path(&scenario.path.to_string_lossy());
            snapshot::check_snapshot(record, scenario, &dir, &input, secrets).err()
        })
        .collect()
}

/// Runs `scenarios` on the chosen target: the records, and the secrets the
/// reports must not hold.
fn execute(
    options: &Options,
    scenarios: &[LoadedScenario],
) -> Result<(Vec<ScenarioRecord>, SecretScanner), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build a tokio runtime: {error}"))?;
    let jobs = options.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    match options.target {
        #[cfg(feature = "server")]
        Target::Server => {
            let progress = Progress::for_stderr(scenarios.len(), false);
            let run = runtime.block_on(run_all_server_with_progress(scenarios, jobs, |done| {
                progress.show(done.done, Target::Server, &done.scenario.scenario.id);
            }));
            progress.finish();
            Ok((run.records, run.secrets))
        }
        #[cfg(not(feature = "server"))]
        Target::Server => Err("this build has no server target (the `server` feature)".to_owned()),
        Target::Mock => {
            let progress = Progress::for_stderr(scenarios.len(), false);
            let run = runtime.block_on(run_all_mock_with_progress(scenarios, jobs, |done| {
                progress.show(done.done, Target::Mock, &done.scenario.scenario.id);
            }));
            progress.finish();
            Ok((run.records, run.secrets))
        }
        Target::Real => {
            let reference = match &options.reference_server {
                Some(binary) => Some(real::reference::start(
                    &beside_this_binary(binary),
                    &default_path("target/conformance/reference-server"),
                    REFERENCE_QUEUES,
                )?),
                None => None,
            };
            let queues = reference.as_ref().map(|server| server.queues.join(","));
            let credentials = reference.as_ref().map(|server| {
                if options.reference_service_account {
                    server.service_account.display().to_string()
                } else {
                    server.credentials.display().to_string()
                }
            });
            let config = RealConfig::resolve(
                &RealArgs {
                    base_url: reference
                        .as_ref()
                        .map(|server| server.base_url.as_str())
                        .or(options.base_url.as_deref()),
                    project: reference
                        .as_ref()
                        .map(|_| real::reference::PROJECT)
                        .or(options.project.as_deref()),
                    queues: queues
                        .as_deref()
                        .or(options.queues.as_deref())
                        .or(options.queue.as_deref()),
                    credentials: credentials.as_deref().or(options.credentials.as_deref()),
                    token: options.token.as_ref(),
                    max_wait: options.max_wait,
                    time_tolerance: options.time_tolerance,
                },
                // clap has read the environment into the options.
                |_| None,
            )?;
            let progress = Progress::for_stderr(scenarios.len(), false);
            let run = runtime.block_on(real::run_real(&config, scenarios, |done, loaded| {
                progress.show(done, Target::Real, &loaded.scenario.id);
            }));
            progress.finish();
            let run = run?;
            eprintln!("{}", run.header);
            drop(reference);
            Ok((run.records, run.secrets))
        }
    }
}

/// Renders every report, scans them all for secrets, then writes them.
fn write_reports(
    options: &Options,
    report: &RunReport,
    secrets: &SecretScanner,
) -> Result<(), String> {
    let summary = format!(
        "{}wall time: {}\n",
        card::summary(report),
        card::human_duration(report.wall)
    );
    let mut files = Vec::new();
    if let Some(path) = &options.junit {
        files.push(("JUnit", path, junit::render(report)));
    }
    if let Some(path) = &options.matrix {
        files.push(("matrix", path, matrix::render(report)));
    }
    secrets
        .scan("summary", &summary)
        .map_err(|hit| hit.to_string())?;
    for (name, _, text) in &files {
        secrets.scan(name, text).map_err(|hit| hit.to_string())?;
    }
    for (name, path, text) in &files {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|error| {
            format!("cannot write the {name} report {}: {error}", path.display())
        })?;
    }
    print!("{summary}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(line: &str) -> Result<Options, clap::Error> {
        Options::try_parse_from(
            std::iter::once("taskqueue-conformance").chain(line.split_whitespace()),
        )
    }

    #[test]
    fn the_server_target_is_there_exactly_when_the_server_feature_is() {
        let parsed = parse("--target server");
        assert_eq!(parsed.is_ok(), cfg!(feature = "server"), "{parsed:?}");
        if let Err(error) = parsed {
            assert!(error.to_string().contains("`server` feature"), "{error}");
        }
        assert!(parse("--target mock").is_ok() && parse("--target real").is_ok());
    }

    #[test]
    fn options_parse_with_spaces_or_equals() {
        let options = parse(
            "--target real --scenarios s --filter auth. --junit=j.xml --matrix m.md --ledger l.yaml \
             --jobs 3 --base-url http://x/ --project=s~p --queue q --max-wait 500ms \
             --time-tolerance 2.5",
        )
        .expect("valid");
        assert_eq!(options.target, Target::Real);
        assert_eq!(options.scenarios.as_deref(), Some(Path::new("s")));
        assert_eq!(options.filter.as_deref(), Some("auth."));
        assert_eq!(options.junit.as_deref(), Some(Path::new("j.xml")));
        assert_eq!(options.matrix.as_deref(), Some(Path::new("m.md")));
        assert_eq!(options.ledger.as_deref(), Some(Path::new("l.yaml")));
        assert_eq!(options.jobs, Some(3));
        assert_eq!(options.base_url.as_deref(), Some("http://x/"));
        assert_eq!(options.project.as_deref(), Some("s~p"));
        assert_eq!(options.queue.as_deref(), Some("q"));
        assert_eq!(options.max_wait, Some(Duration::from_millis(500)));
        assert_eq!(options.time_tolerance, Some(Duration::from_millis(2500)));
        let default = parse("").expect("valid");
        assert_eq!(default.target, Target::Mock);
        assert_eq!(default.filter, None);
        let server = parse("--target server").expect("valid");
        assert_eq!(server.target, Target::Server);
    }

    #[test]
    fn help_and_usage_errors() {
        assert_eq!(
            parse("--help").expect_err("help").kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        let cases = [
            (
                "--target staging",
                "unknown target `staging` (mock, server or real)",
            ),
            ("--junit", "a value is required for '--junit <PATH>'"),
            ("--jobs 0", "`0` is not a positive number"),
            (
                "--max-wait soon",
                "`soon` is not a number of seconds or a duration",
            ),
            ("--frobnicate", "unexpected argument '--frobnicate'"),
            ("extra", "unexpected argument 'extra'"),
            ("--queue a --queues b,c", "cannot be used with"),
        ];
        for (line, message) in cases {
            let error = parse(line).expect_err(line);
            assert_eq!(error.exit_code(), 2, "{line}");
            let text = error.to_string();
            assert!(text.contains(message), "{line}: {text}");
        }
    }

    #[test]
    fn help_names_every_flag_and_its_variable() {
        let help = Options::command().render_long_help().to_string();
        for flag in [
            "--target",
            "--scenarios",
            "--filter",
            "--junit",
            "--matrix",
            "--ledger",
            "--snapshots",
            "--no-snapshots",
            "--check-snapshots",
            "--ineligible",
            "--jobs",
            "--base-url",
            "--project",
            "--queues",
            "--queue",
            "--credentials",
            "--token",
            "--max-wait",
            "--time-tolerance",
            "--reference-server",
        ] {
            assert!(help.contains(flag), "--help lacks {flag}");
        }
        for variable in [
            real::ENV_BASE_URL,
            real::ENV_PROJECT,
            real::ENV_QUEUES,
            real::ENV_QUEUE,
            real::ENV_CREDENTIALS,
            real::ENV_TOKEN,
        ] {
            assert!(help.contains(variable), "--help lacks {variable}");
        }
        assert!(help.contains("Exit status"));
        Options::command().debug_assert();
    }
}
