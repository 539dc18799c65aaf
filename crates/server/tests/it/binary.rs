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

#[test]
fn serve_with_log_format_json_writes_one_json_object_per_line() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    init_dir(dir.path());
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskqueue-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "info",
            "--log-format",
            "json",
        ])
        .arg("--config")
        .arg(dir.path().join("taskqueue-server.yaml"))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the listening line");
    let addr: SocketAddr = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address: {line:?}"));
    assert_eq!(get(addr, "/healthz?oauth_token=secret-in-query").0, 200);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(child.wait().expect("wait").success());

    let text = std::fs::read_to_string(dir.path().join("server.log")).expect("the log");
    let events: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let message = |event: &Value| {
        event["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        events
            .iter()
            .any(|event| message(event) == "connection limits"
                && event["fields"]["descriptors_soft"].is_number()
                && event["fields"]["descriptors_hard"].is_number())
    );
    let request = events
        .iter()
        .find(|event| message(event) == "request")
        .expect("the request's event");
    assert_eq!(request["fields"]["path"], "/healthz");
    assert_eq!(request["fields"]["status"], 200);
    assert_eq!(request["level"], "INFO");
    assert!(
        !text.contains("secret-in-query"),
        "the query never reaches the log"
    );
}
