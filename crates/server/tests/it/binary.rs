//! The `taskqueue-server` command line: `init`, `check` and `serve` (its `/healthz`, the admin clock present only
//! with `--virtual-time`, and a clean exit on SIGTERM), each run as a child process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::process::{ServerProcess, connect, exchange};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskqueue-server"))
        .args(args)
        .output()
        .expect("run taskqueue-server")
}

fn init_dir(dir: &Path) {
    let output = run(&["init", dir.to_str().expect("UTF-8 path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    exchange(&mut connect(addr), &request, b"").expect("GET")
}

#[test]
fn init_writes_a_setup_that_check_accepts_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = dir.path().join("dev");
    let first = run(&["init", setup.to_str().expect("UTF-8")]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(
        report.contains("taskqueue-server serve --config"),
        "{report}"
    );
    assert!(
        report.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{report}"
    );

    let config = setup.join("taskqueue-server.yaml");
    let check = run(&["check", "--config", config.to_str().expect("UTF-8")]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(
        summary.contains("project dev-project") && summary.contains("queues pull-queue"),
        "{summary}"
    );

    let again = run(&["init", setup.to_str().expect("UTF-8")]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "a second init must not overwrite"
    );
}

#[test]
fn check_names_the_file_and_line_of_a_bad_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.yaml");
    std::fs::write(
        &config,
        "project: dev-project\nqueue_file: queue.yaml\nstorage: memory\nlisten: nowhere\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("queue.yaml"), "queue: []\n").expect("write");
    let output = run(&["check", "--config", config.to_str().expect("UTF-8")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.yaml:4:"), "{stderr}");

    let serve = run(&["serve", "--config", config.to_str().expect("UTF-8")]);
    assert_eq!(serve.status.code(), Some(2), "serve refuses the same file");
    assert!(String::from_utf8_lossy(&serve.stderr).contains("server.yaml:4:"));
}

#[test]
fn serve_answers_healthz_hides_the_admin_clock_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    init_dir(dir.path());
    let server = ServerProcess::start(&dir.path().join("taskqueue-server.yaml"));
    let (status, body) = get(server.addr, "/healthz");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        get(server.addr, "/admin/clock").0,
        404,
        "no admin clock without --virtual-time"
    );
    let exit = server.terminate();
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit}");
}

#[test]
fn virtual_time_starts_where_asked_and_moves_only_through_the_admin_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    init_dir(dir.path());
    let server = ServerProcess::start_with(
        &dir.path().join("taskqueue-server.yaml"),
        &["--virtual-time=1893456000"],
    );
    let reading = |addr| {
        let (status, body) = get(addr, "/admin/clock");
        assert_eq!(status, 200);
        serde_json::from_slice::<Value>(&body).expect("JSON")
    };
    assert_eq!(
        reading(server.addr)["now_micros"],
        1_893_456_000_000_000_i64
    );

    let body = r#"{"advance_micros": 3600000000}"#;
    let request = format!(
        "POST /admin/clock HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    let (status, _) = exchange(&mut connect(server.addr), &request, body.as_bytes()).expect("POST");
    assert_eq!(status, 200);
    assert_eq!(
        reading(server.addr)["now_micros"],
        1_893_459_600_000_000_i64
    );
    assert!(server.terminate().success());
}
