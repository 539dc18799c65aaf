//! Several `taskqueue-server` processes: restarts keep issued tokens valid (SQLite and PostgreSQL), a second
//! server on one SQLite file refuses to start, and three servers on one PostgreSQL database behave as one server
//! under 32 concurrent workers, through a SIGKILL of one of them.
//!
//! The servers run on the system clock, so leases are long (10 minutes) next to the test's run time: no lease
//! expires legitimately, and a task seen by two workers at once is a double lease.

use std::collections::{BTreeSet, HashSet};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use taskqueue_server::commands::init::{InitOptions, init};

use crate::crash::{access_token, insert_request};
use crate::process::{ServerProcess, connect, exchange};

const TASKS_PATH: &str = "/taskqueue/v1beta2/projects/s~dev-project/taskqueues/pull-queue/tasks";
/// Tasks of the multi-instance test.
const TASKS: usize = 20_000;
/// Its inserting connections, spread over the instances.
const INSERTERS: usize = 12;
/// Its leasing workers, spread over the instances.
const WORKERS: usize = 32;
/// Inserts acknowledged before one instance is killed.
const ACKED_BEFORE_KILL: usize = 4_000;
/// Lease length: far longer than the test, so no lease expires while it runs.
const LEASE_SECS: u32 = 600;

/// A server setup made by `init`, with its storage set to `postgres` if given.
struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    authorized_user: PathBuf,
}

fn setup(postgres: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = init(dir.path(), &InitOptions::default()).expect("init");
    if let Some(url) = postgres {
        let text = std::fs::read_to_string(&report.config_file).expect("read the configuration");
        let sqlite = "sqlite: data/tasks.sqlite";
        assert!(
            text.contains(sqlite),
            "init's storage line changed:\n{text}"
        );
        let text = text.replace(sqlite, &format!("postgres: \"{url}\""));
        std::fs::write(&report.config_file, text).expect("write the configuration");
    }
    Setup {
        config: report.config_file.clone(),
        authorized_user: report.authorized_user_file.clone(),
        _dir: dir,
    }
}

/// A fresh schema of the test PostgreSQL database.
fn postgres_url() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(crate::pg_cluster::fresh_url())
}

fn insert(
    stream: &mut TcpStream,
    addr: SocketAddr,
    token: &str,
    name: &str,
) -> std::io::Result<u16> {
    let body = format!(r#"{{"id": "{name}", "payloadBase64": "cGF5bG9hZA=="}}"#);
    exchange(
        stream,
        &insert_request(addr, token, body.len()),
        body.as_bytes(),
    )
    .map(|(status, _)| status)
}

fn get(stream: &mut TcpStream, addr: SocketAddr, token: &str, name: &str) -> u16 {
    let request = format!(
        "GET {TASKS_PATH}/{name} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    exchange(stream, &request, b"").expect("get").0
}

fn restart_keeps_issued_tokens_valid(setup: &Setup) {
    let server = ServerProcess::start(&setup.config);
    let token = access_token(server.addr, &setup.authorized_user);
    assert_eq!(
        insert(&mut connect(server.addr), server.addr, &token, "kept").expect("insert"),
        200
    );
    // SIGKILL: the token was saved before it was handed out, not at shutdown.
    server.kill();
    let restarted = ServerProcess::start(&setup.config);
    let addr = restarted.addr;
    assert_eq!(
        get(&mut connect(addr), addr, &token, "kept"),
        200,
        "the token issued before the restart"
    );
    assert_eq!(
        get(&mut connect(addr), addr, "tqs.forged", "kept"),
        401,
        "a token never issued"
    );
}

#[test]
fn a_restart_keeps_issued_tokens_valid_on_sqlite() {
    restart_keeps_issued_tokens_valid(&setup(None));
}

#[test]
fn a_restart_keeps_issued_tokens_valid_on_postgres() {
    restart_keeps_issued_tokens_valid(&setup(Some(&postgres_url())));
}

#[test]
fn a_second_server_on_one_sqlite_file_refuses_to_start() {
    let setup = setup(None);
    let first = ServerProcess::start(&setup.config);
    let mut second = Command::new(env!("CARGO_BIN_EXE_taskqueue-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--config",
        ])
        .arg(&setup.config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn taskqueue-server");
    // It must exit by itself, promptly; a server that keeps running fails the test rather than hang it.
    let mut status = None;
    for _ in 0..300 {
        status = second.try_wait().expect("try_wait");
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = second.kill();
        panic!("a second server on the same SQLite file kept running");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("in use by another taskqueue-server") && stderr.contains("tasks.sqlite"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    // The first server still serves.
    let token = access_token(first.addr, &setup.authorized_user);
    assert_eq!(
        insert(&mut connect(first.addr), first.addr, &token, "still-here").expect("insert"),
        200
    );
}

/// What the workers saw, shared.
#[derive(Default)]
struct Ledger {
    /// Tasks leased and not yet deleted by their holder.
    held: Mutex<HashSet<String>>,
    /// Tasks deleted by the worker that held them.
    deleted: Mutex<BTreeSet<String>>,
    /// Anything that must not happen.
    violations: Mutex<Vec<String>>,
}

impl Ledger {
    fn violation(&self, what: String) {
        self.violations.lock().expect("lock").push(what);
    }
}

/// Inserts `names` through `addrs[first]`, moving to the next instance when a connection fails; returns the
/// names acknowledged (200), and those found already there on a retry (409: the dead instance committed them).
fn insert_all(
    addrs: &Mutex<Vec<SocketAddr>>,
    mut instance: usize,
    token: &str,
    names: &[String],
    acked: &AtomicUsize,
) -> Vec<String> {
    let mut done = Vec::new();
    let mut addr = addrs.lock().expect("lock")[instance];
    let mut stream = connect(addr);
    for name in names {
        let mut retried = false;
        loop {
            match insert(&mut stream, addr, token, name) {
                Ok(200) => break,
                Ok(409) if retried => break,
                Ok(status) => panic!("insert {name} through {addr}: {status}"),
                Err(_) => {
                    // The instance died: try the next live one.
                    retried = true;
                    instance = (instance + 1) % 2;
                    addr = addrs.lock().expect("lock")[instance];
                    stream = connect(addr);
                }
            }
        }
        done.push(name.clone());
        acked.fetch_add(1, Ordering::SeqCst);
    }
    done
}

/// One worker: leases batches of 10, renews every fourth task, deletes each, until the queue stays empty.
fn work(addr: SocketAddr, token: &str, ledger: &Ledger, total: usize) {
    let mut stream = connect(addr);
    let mut idle = 0;
    while ledger.deleted.lock().expect("lock").len() < total && idle < 100 {
        let request = format!(
            "POST {TASKS_PATH}/lease?numTasks=10&leaseSecs={LEASE_SECS} HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n"
        );
        let (status, body) = exchange(&mut stream, &request, b"").expect("lease");
        assert_eq!(status, 200, "lease: {}", String::from_utf8_lossy(&body));
        let answer: Value = serde_json::from_slice(&body).expect("lease json");
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            idle += 1;
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        idle = 0;
        for (index, task) in items.iter().enumerate() {
            let name = task["id"].as_str().expect("id").to_owned();
            if !ledger.held.lock().expect("lock").insert(name.clone()) {
                ledger.violation(format!(
                    "{name} leased through {addr} while another worker held it"
                ));
            }
            if index % 4 == 0 {
                let lease_timestamp = task["leaseTimestamp"].as_str().expect("leaseTimestamp");
                let body = format!(r#"{{"leaseTimestamp": "{lease_timestamp}"}}"#);
                let request = format!(
                    "POST {TASKS_PATH}/{name}?newLeaseSeconds={LEASE_SECS} HTTP/1.1\r\nHost: {addr}\r\n\
                     Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                );
                let (status, reply) =
                    exchange(&mut stream, &request, body.as_bytes()).expect("renew");
                if status != 200 {
                    ledger.violation(format!(
                        "renewing {name} through {addr}: {status} {}",
                        String::from_utf8_lossy(&reply)
                    ));
                }
            }
            let request = format!(
                "DELETE {TASKS_PATH}/{name} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            let (status, reply) = exchange(&mut stream, &request, b"").expect("delete");
            if !(200..300).contains(&status) {
                ledger.violation(format!(
                    "deleting {name} through {addr}: {status} {}",
                    String::from_utf8_lossy(&reply)
                ));
            }
            ledger.held.lock().expect("lock").remove(&name);
            if !ledger.deleted.lock().expect("lock").insert(name.clone()) {
                ledger.violation(format!("{name} deleted twice"));
            }
        }
    }
}

#[test]
fn three_instances_on_one_postgres_database_behave_as_one_server() {
    let setup = setup(Some(&postgres_url()));
    let mut servers: Vec<ServerProcess> = (0..3)
        .map(|_| ServerProcess::start(&setup.config))
        .collect();
    let addrs = Arc::new(Mutex::new(
        servers.iter().map(|server| server.addr).collect::<Vec<_>>(),
    ));
    // One token, issued by the first instance, accepted by all.
    let token = access_token(servers[0].addr, &setup.authorized_user);

    // Inserts through all three; instance 2 is SIGKILLed midway and its connections move to the others.
    let names: Vec<String> = (0..TASKS).map(|n| format!("task-{n:05}")).collect();
    let acked = Arc::new(AtomicUsize::new(0));
    let inserters: Vec<_> = names
        .chunks(TASKS / INSERTERS + 1)
        .enumerate()
        .map(|(index, chunk)| {
            let (addrs, acked, token, chunk) = (
                Arc::clone(&addrs),
                Arc::clone(&acked),
                token.clone(),
                chunk.to_vec(),
            );
            std::thread::spawn(move || insert_all(&addrs, index % 3, &token, &chunk, &acked))
        })
        .collect();
    while acked.load(Ordering::SeqCst) < ACKED_BEFORE_KILL {
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = servers.pop().expect("three servers");
    // Later reconnections go to instances 0 and 1 only.
    addrs.lock().expect("lock").truncate(2);
    killed.kill();
    let mut inserted = BTreeSet::new();
    for inserter in inserters {
        inserted.extend(inserter.join().expect("inserter"));
    }
    assert_eq!(inserted.len(), TASKS, "every insert was acknowledged");

    // A new third instance, then 32 workers over the three.
    servers.push(ServerProcess::start(&setup.config));
    let addrs: Vec<SocketAddr> = servers.iter().map(|server| server.addr).collect();
    let ledger = Arc::new(Ledger::default());
    let workers: Vec<_> = (0..WORKERS)
        .map(|index| {
            let (ledger, token, addr) = (
                Arc::clone(&ledger),
                token.clone(),
                addrs[index % addrs.len()],
            );
            std::thread::spawn(move || work(addr, &token, &ledger, TASKS))
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }

    let violations = ledger.violations.lock().expect("lock").clone();
    assert!(
        violations.is_empty(),
        "{} violations, first: {:?}",
        violations.len(),
        &violations[..violations.len().min(10)]
    );
    let deleted = ledger.deleted.lock().expect("lock").clone();
    let lost: Vec<&String> = inserted.difference(&deleted).take(10).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged tasks never leased, e.g. {lost:?}",
        inserted.len() - deleted.len()
    );
    assert_eq!(deleted, inserted, "every task deleted once, and no other");
}
