//! The `taskqueue` binary against the reference server on 127.0.0.1: every command, `work`, and bad input (unknown
//! queue, unreadable payload file, no or refused credentials, malformed options) with its message and exit code.
//!
//! The server runs in this process on the system clock (the binary is a separate process and reads the real one);
//! nothing waits for time to pass: `work --exit-when-empty` stops at the first empty lease.
//!
//! `readme` runs the README's shell session against the `taskqueue-server` and `taskqueue` binaries.

mod readme;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_server::ServerConfig;
use taskqueue_server::commands::init::{InitOptions, init};
use taskqueue_server::config::QueueDef;
use taskqueue_server::serve::{self, ClockMode, RunningServer};

const PROJECT: &str = "cli-project";
const EMAIL: &str = "cli@cli-project.iam.gserviceaccount.com";

struct Setup {
    server: RunningServer,
    token: String,
    home: tempfile::TempDir,
}

async fn setup() -> Setup {
    let mut config = ServerConfig::new(PROJECT);
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.queues.insert(QueueDef::new("work"));
    config.queues.insert(QueueDef::new("dead"));
    let server = serve::start(config, ClockMode::System)
        .await
        .expect("the server starts");
    let state = server.state();
    let token = state
        .tokens
        .issue(
            EMAIL,
            ScopeSet::from([Scope::Taskqueue]),
            Duration::from_secs(3600),
            state.now(),
        )
        .await
        .expect("the store saves the token")
        .expose()
        .to_owned();
    Setup {
        server,
        token,
        home: tempfile::tempdir().expect("a home directory"),
    }
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The binary with a clean environment: no credentials unless given, an empty HOME (no gcloud file), and a
/// metadata server that refuses connections on 127.0.0.1.
fn taskqueue(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskqueue"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GCE_METADATA_HOST", format!("127.0.0.1:{}", closed_port()))
        .env("RUST_LOG", "warn");
    command
}

impl Setup {
    /// `taskqueue --endpoint … --project … --queue work ARGS` with the token, feeding `stdin`.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = taskqueue(self.home.path());
        command
            .env("TASKQUEUE_ENDPOINT", self.server.public_url())
            .env("TASKQUEUE_PROJECT", format!("s~{PROJECT}"))
            .env("TASKQUEUE_QUEUE", "work")
            .env("TASKQUEUE_ACCESS_TOKEN", &self.token)
            .args(args);
        run(command, stdin).await
    }
}

async fn run(mut command: Command, stdin: Option<&str>) -> Output {
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("taskqueue starts");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("taskqueue runs")
    })
    .await
    .expect("no panic")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The output, checked for success, as JSON.
fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_against_the_reference_server() {
    let setup = setup().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("payload.bin");
    std::fs::write(&file, b"from a file").expect("write");

    let inserted = json(
        &setup
            .run(
                &["--json", "insert", "from an argument", "--tag", "t1"],
                None,
            )
            .await,
    );
    let first = inserted["id"].as_str().expect("an id").to_owned();
    assert_eq!(inserted["tag"], "t1");
    json(
        &setup
            .run(
                &["--json", "insert", "--file", file.to_str().expect("utf-8")],
                None,
            )
            .await,
    );
    json(&setup.run(&["--json", "insert"], Some("from stdin")).await);
    let later = json(
        &setup
            .run(
                &[
                    "--json", "insert", "later", "--name", "later-1", "--eta", "1h",
                ],
                None,
            )
            .await,
    );
    assert_eq!(later["id"], "later-1");

    let stats = json(&setup.run(&["--json", "stats"], None).await);
    assert_eq!(stats["stats"]["totalTasks"], 4, "{stats}");
    assert_eq!(
        stats["kind"], "taskqueues#taskqueue",
        "the TaskQueue resource as returned: {stats}"
    );
    let human = setup.run(&["stats"], None).await;
    assert!(
        text(&human.stdout).contains("totalTasks        4"),
        "{}",
        text(&human.stdout)
    );

    let got = setup.run(&["get", &first], None).await;
    assert!(got.status.success());
    assert!(
        text(&got.stdout).contains("from an argument"),
        "{}",
        text(&got.stdout)
    );
    let listed = setup.run(&["list"], None).await;
    let listing = text(&listed.stdout);
    assert!(listing.starts_with("ID"), "{listing}");
    assert_eq!(listing.lines().count(), 5, "{listing}");

    // The three available tasks, oldest first; the one due in an hour stays.
    let leased = json(
        &setup
            .run(&["--json", "lease", "-n", "10", "--lease", "5m"], None)
            .await,
    );
    let items = leased["items"].as_array().expect("items");
    let payloads: Vec<String> = items
        .iter()
        .map(|task| {
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE,
                task["payloadBase64"].as_str().expect("payload"),
            )
            .expect("base64");
            String::from_utf8(bytes).expect("utf-8")
        })
        .collect();
    assert_eq!(payloads, ["from an argument", "from a file", "from stdin"]);
    let lease_timestamp = items[0]["leaseTimestamp"]
        .as_str()
        .expect("µs as a string")
        .to_owned();
    let renewed = setup
        .run(
            &[
                "renew",
                &first,
                "--lease-timestamp",
                &lease_timestamp,
                "--lease",
                "10m",
            ],
            None,
        )
        .await;
    assert!(
        text(&renewed.stdout).starts_with(&format!("task {first} leased until")),
        "{}",
        text(&renewed.stderr)
    );
    // The old timestamp no longer proves the lease.
    let stale = setup
        .run(
            &["renew", &first, "--lease-timestamp", &lease_timestamp],
            None,
        )
        .await;
    assert!(!stale.status.success());

    let deleted = setup.run(&["delete", &first], None).await;
    assert_eq!(
        text(&deleted.stdout).trim(),
        format!("deleted task {first}")
    );
    let gone = setup.run(&["get", &first], None).await;
    assert_eq!(gone.status.code(), Some(4), "{}", text(&gone.stderr));

    // No output ever shows the token.
    for output in [&human, &got, &listed, &renewed, &stale, &deleted, &gone] {
        assert!(
            !text(&output.stdout).contains(&setup.token)
                && !text(&output.stderr).contains(&setup.token)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_runs_a_command_per_task_and_settles_each() {
    let setup = setup().await;
    for payload in ["ok", "flaky", "poison"] {
        json(
            &setup
                .run(&["--json", "insert", payload, "--tag", "w"], None)
                .await,
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("log");
    let script = format!(
        "payload=$(cat); echo \"$TASKQUEUE_TASK_ID $TASKQUEUE_TASK_RETRY_COUNT $TASKQUEUE_TASK_TAG $payload\" >> {}; \
         case $payload in ok) exit 0;; poison) exit 100;; *) exit 1;; esac",
        log.display()
    );
    let output = setup
        .run(
            &[
                "--json",
                "work",
                "--exit-when-empty",
                "--max-attempts",
                "2",
                "--dead-letter-queue",
                "dead",
                "--concurrency",
                "2",
                "--",
                "sh",
                "-c",
                &script,
            ],
            None,
        )
        .await;
    let report = json(&output);
    assert_eq!(report["stopped"], "QueueEmpty", "{report}");
    assert_eq!(
        (&report["done"], &report["deadLettered"], &report["retried"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "{report}"
    );
    let runs = std::fs::read_to_string(&log).expect("the command ran");
    let mut lines: Vec<&str> = runs
        .lines()
        .map(|l| l.split_once(' ').expect("id").1)
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["1 w flaky", "1 w ok", "1 w poison", "2 w flaky"],
        "{runs}"
    );

    let stats = json(&setup.run(&["--json", "stats"], None).await);
    assert_eq!(stats["stats"]["totalTasks"], 0, "{stats}");
    let dead = json(
        &setup
            .run(&["--json", "--queue", "dead", "lease", "-n", "10"], None)
            .await,
    );
    let reasons: Vec<String> = dead["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|task| {
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE,
                task["payloadBase64"].as_str().expect("payload"),
            )
            .expect("base64");
            let envelope: serde_json::Value = serde_json::from_slice(&bytes).expect("an envelope");
            envelope["reason"].as_str().expect("reason").to_owned()
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r == "sh exited with 100"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("after 2 attempts")),
        "{reasons:?}"
    );
}

/// A bad-input case: arguments, extra environment, the exit code, a part of the message.
type BadInput = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    i32,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_message_and_a_non_zero_exit() {
    let setup = setup().await;
    // (arguments, extra environment, exit code, message)
    let cases: &[BadInput] = &[
        (&["--queue", "nope", "list"], &[], 4, "not found"),
        (
            &["insert", "--file", "/nonexistent/payload"],
            &[],
            2,
            "cannot read the payload file /nonexistent/payload",
        ),
        (
            &["insert", "x", "--eta", "someday"],
            &[],
            2,
            "--eta \"someday\"",
        ),
        (
            &["insert", "x", "--name", "bad name!"],
            &[],
            2,
            "invalid task name",
        ),
        (&["lease", "-n", "0"], &[], 2, "numTasks is 0"),
        (
            &["--endpoint", "127.0.0.1:1", "list"],
            &[],
            2,
            "is not an http:// or https:// URL",
        ),
        (&["work", "--", "true"], &[], 2, "--dead-letter-queue"),
        (
            &["list"],
            &[("TASKQUEUE_ACCESS_TOKEN", "")],
            3,
            "no usable credentials",
        ),
        (
            &["--credentials", "/nonexistent/key.json", "list"],
            &[("TASKQUEUE_ACCESS_TOKEN", "")],
            3,
            "no such file",
        ),
        (
            &["list"],
            &[("TASKQUEUE_ACCESS_TOKEN", "ya29.not-issued")],
            3,
            "401",
        ),
        (&["list"], &[("TASKQUEUE_PROJECT", "")], 2, "no project"),
    ];
    for (args, env, code, message) in cases {
        let mut command = taskqueue(setup.home.path());
        command
            .env("TASKQUEUE_ENDPOINT", setup.server.public_url())
            .env("TASKQUEUE_PROJECT", format!("s~{PROJECT}"))
            .env("TASKQUEUE_QUEUE", "work")
            .env("TASKQUEUE_ACCESS_TOKEN", &setup.token)
            .args(*args);
        for (name, value) in *env {
            command.env(name, value);
        }
        let output = run(command, None).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in {stderr}"
        );
        assert!(!stderr.contains(&setup.token) && !text(&output.stdout).contains(&setup.token));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_file_from_init_works_through_adc() {
    let port = closed_port();
    let dir = tempfile::tempdir().expect("dir");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let report = init(
        dir.path(),
        &InitOptions::default()
            .with_listen(address)
            .with_queue("work"),
    )
    .expect("init");
    let config = taskqueue_server::config::load(&report.config_file).expect("the config loads");
    let server = serve::start(config, ClockMode::System)
        .await
        .expect("the server starts");
    let home = tempfile::tempdir().expect("home");
    let endpoint = server.public_url().to_owned();
    let key = report
        .service_account_file
        .to_str()
        .expect("utf-8")
        .to_owned();

    let mut by_flag = taskqueue(home.path());
    by_flag.args([
        "--endpoint",
        &endpoint,
        "--project",
        "s~dev-project",
        "--queue",
        "work",
    ]);
    by_flag.args(["--credentials", &key, "--json", "insert", "hello"]);
    json(&run(by_flag, None).await);

    let mut by_env = taskqueue(home.path());
    by_env.env("GOOGLE_APPLICATION_CREDENTIALS", &key);
    by_env.args([
        "--endpoint",
        &endpoint,
        "--project",
        "s~dev-project",
        "--queue",
        "work",
        "--json",
        "stats",
    ]);
    let stats = json(&run(by_env, None).await);
    assert_eq!(stats["stats"]["totalTasks"], 1, "{stats}");
}
