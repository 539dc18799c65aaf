//! The README's shell session, run as written against the built `taskqueue-server` and `taskqueue` binaries, so
//! the documentation cannot rot.
//!
//! The session is the first `sh` block of the README's "Command line" section. Before running it with bash, the
//! test changes only what a test must: the `cargo install` line goes (the binaries come first on `PATH` instead),
//! port 8080 becomes a free port (`init --listen`, and the endpoint), a wait for the server to answer goes before
//! the first `taskqueue` command (a person typing is slower than the server starting), and the shell stops at the
//! first failing command and kills the server on the way out. Each rewrite must find its text, so a README that
//! drifts from these assumptions fails here instead of being skipped.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{closed_port, text};

/// The first ```sh block after the heading `## Command line`.
fn session(readme: &str) -> String {
    let section = readme
        .split_once("\n## Command line\n")
        .expect("the README has a `## Command line` section")
        .1;
    let block = section
        .split_once("\n```sh\n")
        .expect("the Command line section has a ```sh block")
        .1;
    block
        .split_once("\n```\n")
        .expect("the block is closed")
        .0
        .to_owned()
}

/// The session as the test runs it: see the module documentation.
fn runnable(session: &str, port: u16) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut installs = 0;
    let mut waited = false;
    for line in session.lines() {
        if line.starts_with("cargo install ") {
            installs += 1;
            continue;
        }
        if !waited && line.starts_with("taskqueue ") {
            lines.push(
                "for _ in $(seq 300); do taskqueue list >/dev/null 2>&1 && break; sleep 0.1; done"
                    .to_owned(),
            );
            waited = true;
        }
        lines.push(line.to_owned());
    }
    assert_eq!(installs, 1, "one `cargo install` line:\n{session}");
    assert!(waited, "the session runs `taskqueue`:\n{session}");
    let script = lines.join("\n");
    let init = "taskqueue-server init dev";
    assert_eq!(
        script.matches(init).count(),
        1,
        "the session runs `{init}` once:\n{session}"
    );
    assert!(
        script.contains("127.0.0.1:8080"),
        "the session's endpoint is 127.0.0.1:8080:\n{session}"
    );
    let script = script
        .replace(init, &format!("{init} --listen 127.0.0.1:{port}"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    format!("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}\n")
}

/// The `taskqueue-server` binary of this workspace, built now for this profile: another package's binary, which
/// cargo does not build for this package's tests. Takes a while on a cold target directory only.
fn server_binary() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(manifest_dir).args([
        "build",
        "--locked",
        "-p",
        "taskqueue-server",
        "--bin",
        "taskqueue-server",
        "--message-format",
        "json",
    ]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build of taskqueue-server failed:\n{}",
        text(&output.stderr)
    );
    text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "taskqueue-server"
        })
        .and_then(|artifact| artifact["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the taskqueue-server executable")
}

#[test]
fn the_readme_shell_session_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("the README");
    let script = runnable(&session(&readme), closed_port());

    let work = tempfile::tempdir().expect("a working directory");
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_taskqueue"), bin.join("taskqueue"))
        .expect("link taskqueue");
    std::os::unix::fs::symlink(server_binary(), bin.join("taskqueue-server"))
        .expect("link taskqueue-server");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let session_dir = work.path().join("session");
    std::fs::create_dir(&session_dir).expect("session");

    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&session_dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", work.path())
        .env("GCE_METADATA_HOST", format!("127.0.0.1:{}", closed_port()))
        .env("RUST_LOG", "warn")
        // Its own process group, so a session that hangs can be stopped with its server.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash starts");
    let group = child.id();
    let (finished, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let late = watch.recv_timeout(Duration::from_secs(120)).is_err();
        if late {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{group}")])
                .status();
        }
        late
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = err.read_to_string(&mut stderr);
        stderr
    });
    let mut stdout = String::new();
    let _ = out.read_to_string(&mut stdout);
    let stderr = reader.join().expect("stderr reader");
    let status = child.wait().expect("bash ends");
    let _ = finished.send(());
    assert!(
        !watchdog.join().expect("watchdog"),
        "the session ran for more than 120 s:\n{stdout}\n{stderr}"
    );
    let log = std::fs::read_to_string(session_dir.join("dev/server.log")).unwrap_or_default();
    assert!(
        status.success(),
        "the session failed ({status}):\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{log}"
    );

    // The two tasks due now went through the command, once each, on their first attempt.
    for payload in ["resize photo 42", "resize photo 43"] {
        let runs: Vec<&str> = stdout
            .lines()
            .filter(|line| line.ends_with(&format!("(attempt 1): {payload}")))
            .collect();
        assert_eq!(runs.len(), 1, "{payload}:\n{stdout}");
        assert!(runs[0].starts_with("task "), "{}", runs[0]);
    }
    assert!(
        stderr.contains("2 done"),
        "the work summary on stderr:\n{stderr}"
    );
    assert!(
        stdout.contains("\"totalTasks\": 3"),
        "stats --json:\n{stdout}"
    );
    // The last listing shows the task due in an hour, alone.
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .rposition(|line| line.starts_with("ID"))
        .unwrap_or_else(|| panic!("no listing:\n{stdout}"));
    let last_listing = &lines[header + 1..];
    assert_eq!(last_listing.len(), 1, "{stdout}");
    assert!(last_listing[0].starts_with("nightly-report"), "{stdout}");
}
