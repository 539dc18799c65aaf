//! Developer automation for taskqueue-rs, run as `cargo xtask <command>`
//! (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: exactly what CI runs, in order, stopping at the first
//!   failure.
//! - `cargo xtask test`: only the test step of `ci`.
//! - `cargo xtask conformance`: the conformance suite on the mock target,
//!   then on the server target (the reference server in process), then on
//!   the real target against the `taskqueue-server` binary, each with its
//!   JUnit XML and matrix under `target/conformance/`, and the wall time of
//!   each.
//! - `cargo xtask bench client [-- <args>]`: the client's `tasks.get`
//!   benchmark against raw reqwest.
//! - `cargo xtask bench auth [-- <args>]`: the token cache's hot path
//!   against a static provider, and a 1000-caller herd at expiry.
//! - `cargo xtask bench server [-- <args>]`: the reference server's
//!   inserts, leases and deletes per second over 16 loopback connections on
//!   its durable store, against a bare axum handler.
//! - `cargo xtask bench worker [-- <args>]`: tasks per second through
//!   taskqueue-worker with a no-op handler, against the raw lease + delete
//!   loop through the client.
//!
//! It uses the standard library only: it is built on every CI run.

// A command-line program: stdout and stderr are its interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod step;

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use step::Step;

const USAGE: &str = "\
Usage: cargo xtask <command>

Commands:
  ci                      Run exactly what CI runs, in order, stopping at the first failure:
                            cargo fmt --all -- --check
                            cargo clippy --workspace --all-targets --locked -- -D warnings
                            cargo test --workspace --locked       (INSTA_UPDATE=no, CI=true)
                            cargo test -p taskqueue-auth --features gcp-auth ...  (the adapter)
                            cargo run -p taskqueue-conformance --locked -- --target mock ...
                            cargo run -p taskqueue-conformance --locked -- --target server ...
                            cargo build -p taskqueue-server --bin taskqueue-server --locked
                            cargo run -p taskqueue-conformance --locked -- --target real ...
                            cargo run ... --target real ... --reference-service-account
                            cargo doc --workspace --no-deps --locked  (RUSTDOCFLAGS=-D warnings)
                            cargo clippy -p <published crates> --all-features ... (MSRV check)
                            cargo package -p <published crates> --locked
  test                    Run only the test step of `ci`.
  package                 Run only the last two steps of `ci`: the MSRV check of the published
                          crates and `cargo package` of them.
  conformance             Run the conformance suite on the mock target (every scenario, the
                          expected-failures ledger and the coverage check), then on the server
                          target (the reference server in process: every scenario that applies,
                          with the ledger), then on the real target against the taskqueue-server
                          binary started on 127.0.0.1 (fresh init, SQLite, real time, 6 queues:
                          every applicable scenario), with its authorized_user key and again
                          with its service_account key; writes {junit.xml,matrix.md} under
                          target/conformance/{,server/,real/,real-service-account/}, and
                          prints the wall time of each.
  bench client [-- ARGS]  Benchmark `tasks.get` through taskqueue-client against raw reqwest
                          (BENCH_ROUNDS and BENCH_BATCH override the rounds and the batch size).
  bench auth [-- ARGS]    Benchmark the cached `token()` hot path of taskqueue-auth's TokenCache
                          against a static provider, and a 1000-caller herd at expiry (exactly
                          one fetch; BENCH_ROUNDS, BENCH_BATCH and BENCH_HERD_ROUNDS override).
  bench server [-- ARGS]  Benchmark taskqueue-server's inserts, leases (batch 100) and deletes per
                          second over 16 loopback connections on its durable SQLite store, against
                          a bare axum handler (BENCH_ROUNDS and BENCH_TASKS override the rounds and
                          the tasks per round; BENCH_DIR is where the SQLite file goes).
  bench worker [-- ARGS]  Benchmark tasks/s through taskqueue-worker (no-op handler) against the raw
                          lease + delete loop through the client, on the reference server in process
                          (BENCH_ROUNDS, BENCH_TASKS and BENCH_BATCH override rounds, tasks, lease size).
  help                    Print this message.
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let steps = match parse(&args) {
        Ok(Some(steps)) => steps,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint!("error: {message}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run_all(&workspace_root(), &steps) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The steps a command line asks for; `None` for help; `Err` for a usage
/// error.
fn parse(args: &[&str]) -> Result<Option<Vec<Step>>, String> {
    match args {
        [] | ["help" | "-h" | "--help"] => Ok(None),
        ["ci"] => Ok(Some(ci_steps())),
        ["test"] => Ok(Some(vec![test_step()])),
        ["package"] => Ok(Some(vec![msrv_step(), package_step()])),
        ["conformance"] => Ok(Some(conformance_steps())),
        ["bench", "client"] => Ok(Some(vec![bench_client_step(&[])])),
        ["bench", "client", "--", extra @ ..] => Ok(Some(vec![bench_client_step(extra)])),
        ["bench", "auth"] => Ok(Some(vec![bench_auth_step(&[])])),
        ["bench", "auth", "--", extra @ ..] => Ok(Some(vec![bench_auth_step(extra)])),
        ["bench", "server"] => Ok(Some(vec![bench_server_step(&[])])),
        ["bench", "server", "--", extra @ ..] => Ok(Some(vec![bench_server_step(extra)])),
        ["bench", "worker"] => Ok(Some(vec![bench_worker_step(&[])])),
        ["bench", "worker", "--", extra @ ..] => Ok(Some(vec![bench_worker_step(extra)])),
        [
            "bench",
            "client" | "auth" | "server" | "worker",
            unexpected,
            ..,
        ] => Err(format!(
            "unexpected argument `{unexpected}` (pass benchmark arguments after `--`)"
        )),
        ["bench"] => Err(
            "`bench` needs a target: `cargo xtask bench client`, `cargo xtask bench auth`, \
             `cargo xtask bench server` or `cargo xtask bench worker`"
                .to_owned(),
        ),
        ["bench", target, ..] => Err(format!(
            "unknown benchmark `{target}` (the benchmarks are `client`, `auth`, `server` and `worker`)"
        )),
        [
            command @ ("ci" | "test" | "package" | "conformance" | "help" | "-h" | "--help"),
            unexpected,
            ..,
        ] => Err(format!(
            "`{command}` takes no arguments (got `{unexpected}`)"
        )),
        [command, ..] => Err(format!("unknown command `{command}`")),
    }
}

/// The workspace root: the parent of this package's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// What CI runs, in order.
fn ci_steps() -> Vec<Step> {
    vec![
        Step::cargo(&["fmt", "--all", "--", "--check"]),
        Step::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
        test_step(),
        optional_adapters_step(),
        conformance_mock_step(),
        conformance_server_step(),
    ]
    .into_iter()
    .chain(conformance_real_steps())
    .chain([
        Step::cargo(&["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
        msrv_step(),
        package_step(),
    ])
    .collect()
}

/// The crates published to crates.io, in dependency order.
const PUBLISHED: [&str; 6] = [
    "taskqueue-model",
    "taskqueue-clock",
    "taskqueue-auth",
    "taskqueue-transport",
    "taskqueue-client",
    "taskqueue-worker",
];

/// The MSRV check. Only one toolchain exists on CI, so the check is clippy's
/// `incompatible_msrv`, which reads each crate's `rust-version` and refuses
/// any standard-library item stabilized after it, here over every target and
/// every feature of the published crates (the clippy step covers the default
/// features of all crates). Language features are not checked by it: the
/// newest the code uses (let chains, 1.88) set `rust-version`.
fn msrv_step() -> Step {
    let mut args = vec!["clippy"];
    for package in PUBLISHED {
        args.extend(["-p", package]);
    }
    args.extend([
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
        "-D",
        "clippy::incompatible_msrv",
    ]);
    Step::cargo(&args)
}

/// `cargo package` for the published crates together, so that each is
/// verified against the others' packaged sources: the manifests are
/// publishable (versions on path dependencies, metadata) and each tarball
/// builds on its own.
fn package_step() -> Step {
    let mut args = vec!["package"];
    for package in PUBLISHED {
        args.extend(["-p", package]);
    }
    args.push("--locked");
    Step::cargo(&args).prepared_by(forget_earlier_packages)
}

/// Cargo verifies each packaged crate against the others through a local
/// registry, and caches both what it unpacks from it (under
/// `$CARGO_HOME/registry/src/-HASH/`, one directory per workspace) and what
/// it builds from that (in the target directory) by name and version only.
/// As the version does not change between commits, a second `cargo package`
/// on the same machine verifies against the sources of the first. So the
/// step forgets both first: every unpacked copy of a published crate (any
/// workspace's: a concurrent package run elsewhere on the machine may then
/// have to run again) and this target directory's build records of the
/// published crates (rebuilt on the next build).
fn forget_earlier_packages(root: &Path) -> Result<(), String> {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let target = env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut places = vec![target.join("debug").join(".fingerprint")];
    if let Some(cargo_home) = cargo_home {
        let sources = cargo_home.join("registry").join("src");
        // Local registries' directories start with `-` (no host).
        for entry in std::fs::read_dir(&sources).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with('-') {
                places.push(entry.path());
            }
        }
    }
    for place in places {
        for entry in std::fs::read_dir(&place).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let published = PUBLISHED.iter().any(|package| {
                name.strip_prefix(package)
                    .is_some_and(|rest| rest.starts_with('-'))
            });
            if published {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|error| format!("{}: {error}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// The tests of the auth crate's optional adapters (feature `gcp-auth`),
/// which the workspace's default features leave out.
fn optional_adapters_step() -> Step {
    Step::cargo(&[
        "test",
        "-p",
        "taskqueue-auth",
        "--features",
        "gcp-auth",
        "--test",
        "it",
        "--locked",
        "gcp_auth_adapter",
    ])
}

/// Every test of the workspace; an unreviewed insta snapshot fails.
fn test_step() -> Step {
    Step::cargo(&["test", "--workspace", "--locked"])
        .env("INSTA_UPDATE", "no")
        .env("CI", "true")
}

/// The conformance suite on the three targets: the mock, the reference
/// server in process, then the `taskqueue-server` binary as a real
/// endpoint.
fn conformance_steps() -> Vec<Step> {
    let mut steps = vec![conformance_mock_step(), conformance_server_step()];
    steps.extend(conformance_real_steps());
    steps
}

/// The conformance suite on the real target against the `taskqueue-server`
/// binary, which the harness starts on 127.0.0.1 (fresh `init`, SQLite,
/// real time, 6 queues), with its JUnit XML and matrix under
/// `target/conformance/real/`: the binary is built first. Every applicable
/// scenario must pass; the rest are skipped with their reasons.
fn conformance_real_steps() -> Vec<Step> {
    let real = |key: &[&'static str], dir: &str| {
        let junit = format!("{dir}/junit.xml");
        let matrix = format!("{dir}/matrix.md");
        let mut args = vec![
            "run",
            "-p",
            "taskqueue-conformance",
            "--locked",
            "--",
            "--target",
            "real",
            "--reference-server",
            "taskqueue-server",
        ];
        args.extend_from_slice(key);
        args.extend(["--junit", &junit, "--matrix", &matrix]);
        Step::cargo(&args)
    };
    vec![
        Step::cargo(&[
            "build",
            "-p",
            "taskqueue-server",
            "--bin",
            "taskqueue-server",
            "--locked",
        ]),
        real(&[], "target/conformance/real"),
        // Its service_account key too: jwt_bearer token requests observed
        // through the forwarder as the key's HTTP proxy.
        real(
            &["--reference-service-account"],
            "target/conformance/real-service-account",
        ),
    ]
}

/// The conformance suite on the mock target, with its JUnit XML and matrix
/// under `target/conformance/`. A failure, a coverage gap or a stale
/// expected-failures entry fails it.
fn conformance_mock_step() -> Step {
    conformance_step("mock", "target/conformance")
}

/// The conformance suite on the server target (the reference server in
/// process, in virtual time), with its JUnit XML and matrix under
/// `target/conformance/server/`. A failure or a stale expected-failures
/// entry fails it.
fn conformance_server_step() -> Step {
    conformance_step("server", "target/conformance/server")
}

/// `taskqueue-conformance --target {target}`, its reports in `dir`.
fn conformance_step(target: &str, dir: &str) -> Step {
    let junit = format!("{dir}/junit.xml");
    let matrix = format!("{dir}/matrix.md");
    Step::cargo(&[
        "run",
        "-p",
        "taskqueue-conformance",
        "--locked",
        "--",
        "--target",
        target,
        "--junit",
        &junit,
        "--matrix",
        &matrix,
    ])
}

/// The client benchmark, with `extra` arguments for the benchmark binary.
fn bench_client_step(extra: &[&str]) -> Step {
    bench_step("taskqueue-client", "get_task", extra)
}

/// The token cache benchmark, with `extra` arguments for the benchmark
/// binary.
fn bench_auth_step(extra: &[&str]) -> Step {
    bench_step("taskqueue-auth", "token_cache", extra)
}

/// The reference server's throughput benchmark, with `extra` arguments for
/// the benchmark binary.
fn bench_server_step(extra: &[&str]) -> Step {
    bench_step("taskqueue-server", "server", extra)
}

fn bench_worker_step(extra: &[&str]) -> Step {
    bench_step("taskqueue-worker", "worker", extra)
}

/// `cargo bench` of one benchmark target of one package, with `extra`
/// arguments for the benchmark binary.
fn bench_step(package: &str, bench: &str, extra: &[&str]) -> Step {
    let mut args = vec!["bench", "-p", package, "--bench", bench, "--locked"];
    if !extra.is_empty() {
        args.push("--");
        args.extend_from_slice(extra);
    }
    Step::cargo(&args)
}

/// Runs `steps` in order from `root`, stopping at the first failure, and
/// prints each step's wall time.
fn run_all(root: &Path, steps: &[Step]) -> Result<(), String> {
    for step in steps {
        println!("==> {step}");
        let started = wall_clock();
        let result = step.run(root);
        println!(
            "==> {:.2}s wall for `{step}` (build included)",
            started.elapsed().as_secs_f64()
        );
        result?;
    }
    if steps.len() > 1 {
        println!("==> all {} steps passed", steps.len());
    }
    Ok(())
}

/// The start of a wall-time measurement. xtask has no dependencies, so it
/// cannot read time through `taskqueue_clock::Clock`; it times child
/// processes only.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(args: &[&str]) -> Vec<String> {
        parse(args)
            .expect("valid command line")
            .expect("steps, not help")
            .iter()
            .map(Step::to_string)
            .collect()
    }

    #[test]
    fn ci_runs_exactly_the_ci_steps_in_order() {
        assert_eq!(
            shown(&["ci"]),
            [
                "cargo fmt --all -- --check",
                "cargo clippy --workspace --all-targets --locked -- -D warnings",
                "INSTA_UPDATE=no CI=true cargo test --workspace --locked",
                "cargo test -p taskqueue-auth --features gcp-auth --test it --locked \
                 gcp_auth_adapter",
                CONFORMANCE_MOCK,
                CONFORMANCE_SERVER,
                BUILD_SERVER,
                CONFORMANCE_REAL,
                CONFORMANCE_REAL_SERVICE_ACCOUNT,
                "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked",
                "cargo clippy -p taskqueue-model -p taskqueue-clock -p taskqueue-auth -p \
                 taskqueue-transport -p taskqueue-client -p taskqueue-worker --all-targets --all-features \
                 --locked -- -D warnings -D clippy::incompatible_msrv",
                "cargo package -p taskqueue-model -p taskqueue-clock -p taskqueue-auth -p \
                 taskqueue-transport -p taskqueue-client -p taskqueue-worker --locked",
            ]
        );
        assert_eq!(
            shown(&["test"]),
            ["INSTA_UPDATE=no CI=true cargo test --workspace --locked"]
        );
        let ci = shown(&["ci"]);
        assert_eq!(shown(&["package"]), ci[ci.len() - 2..]);
    }

    const CONFORMANCE_MOCK: &str = "cargo run -p taskqueue-conformance --locked -- --target \
                                    mock --junit target/conformance/junit.xml --matrix \
                                    target/conformance/matrix.md";

    const CONFORMANCE_SERVER: &str = "cargo run -p taskqueue-conformance --locked -- --target \
                                      server --junit target/conformance/server/junit.xml \
                                      --matrix target/conformance/server/matrix.md";

    const BUILD_SERVER: &str = "cargo build -p taskqueue-server --bin taskqueue-server --locked";

    const CONFORMANCE_REAL: &str = "cargo run -p taskqueue-conformance --locked -- --target real \
                                    --reference-server taskqueue-server --junit \
                                    target/conformance/real/junit.xml --matrix \
                                    target/conformance/real/matrix.md";

    const CONFORMANCE_REAL_SERVICE_ACCOUNT: &str = "cargo run -p taskqueue-conformance --locked -- --target real --reference-server \
         taskqueue-server --reference-service-account --junit \
         target/conformance/real-service-account/junit.xml --matrix \
         target/conformance/real-service-account/matrix.md";

    #[test]
    fn conformance_runs_the_mock_then_the_server_suite_then_the_binary_with_their_reports() {
        assert_eq!(
            shown(&["conformance"]),
            [
                CONFORMANCE_MOCK,
                CONFORMANCE_SERVER,
                BUILD_SERVER,
                CONFORMANCE_REAL,
                CONFORMANCE_REAL_SERVICE_ACCOUNT
            ]
        );
        assert!(USAGE.contains("  conformance "));
        assert!(parse(&["conformance", "--fast"]).is_err());
    }

    #[test]
    fn bench_client_passes_arguments_after_the_separator() {
        assert_eq!(
            shown(&["bench", "client"]),
            ["cargo bench -p taskqueue-client --bench get_task --locked"]
        );
        assert_eq!(
            shown(&["bench", "client", "--", "--quick", "x"]),
            ["cargo bench -p taskqueue-client --bench get_task --locked -- --quick x"]
        );
    }

    #[test]
    fn bench_auth_runs_the_token_cache_benchmark() {
        assert_eq!(
            shown(&["bench", "auth"]),
            ["cargo bench -p taskqueue-auth --bench token_cache --locked"]
        );
        assert_eq!(
            shown(&["bench", "auth", "--", "--quick"]),
            ["cargo bench -p taskqueue-auth --bench token_cache --locked -- --quick"]
        );
        assert!(USAGE.contains("bench auth"));
    }

    #[test]
    fn bench_server_runs_the_server_benchmark() {
        assert_eq!(
            shown(&["bench", "server"]),
            ["cargo bench -p taskqueue-server --bench server --locked"]
        );
        assert_eq!(
            shown(&["bench", "server", "--", "--quick"]),
            ["cargo bench -p taskqueue-server --bench server --locked -- --quick"]
        );
        assert!(USAGE.contains("bench server"));
        let unknown = parse(&["bench", "storage"]).err().unwrap_or_default();
        assert!(unknown.contains("`server`"), "{unknown}");
    }

    #[test]
    fn bench_worker_runs_the_worker_benchmark() {
        assert_eq!(
            shown(&["bench", "worker"]),
            ["cargo bench -p taskqueue-worker --bench worker --locked"]
        );
        assert_eq!(
            shown(&["bench", "worker", "--", "--quick"]),
            ["cargo bench -p taskqueue-worker --bench worker --locked -- --quick"]
        );
        assert!(USAGE.contains("bench worker"));
        assert!(parse(&["bench", "worker", "--quick"]).is_err());
    }

    #[test]
    fn help_and_usage_errors() {
        for help in [&[][..], &["help"], &["--help"], &["-h"]] {
            assert!(matches!(parse(help), Ok(None)), "{help:?}");
        }
        for wrong in [
            &["frobnicate"][..],
            &["bench"],
            &["bench", "storage"],
            &["bench", "server", "--quick"],
            &["bench", "client", "--quick"],
            &["bench", "auth", "--quick"],
            &["ci", "--fast"],
        ] {
            assert!(parse(wrong).is_err(), "{wrong:?}");
        }
    }
}
