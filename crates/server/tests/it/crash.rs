//! The crash test: the `taskqueue-server` binary is SIGKILLed while several connections insert tasks, restarted on
//! the same files, and every insert it acknowledged before dying must be there.
//!
//! Durability comes from the SQLite store answering only after its commit is written and its log synced, so an
//! acknowledged insert is on disk; an insert in flight at the kill may or may not be, and either is correct.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use taskqueue_server::commands::init::{InitOptions, init};

use crate::process::{ServerProcess, connect, exchange};

/// How many inserts must be acknowledged before the kill.
const ACKED_BEFORE_KILL: usize = 150;
/// Concurrent inserting connections.
const WRITERS: usize = 6;

/// An access token from the refresh-token grant, with `authorized-user.json`'s secrets.
pub(crate) fn access_token(addr: SocketAddr, authorized_user: &Path) -> String {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(authorized_user).expect("read")).expect("json");
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        encode(file["client_id"].as_str().expect("client_id")),
        encode(file["client_secret"].as_str().expect("client_secret")),
        encode(file["refresh_token"].as_str().expect("refresh_token")),
    );
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    let (status, body) = exchange(&mut connect(addr), &request, form.as_bytes()).expect("token");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json");
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Percent-encodes a form value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub(crate) fn insert_request(addr: SocketAddr, token: &str, body_len: usize) -> String {
    format!(
        "POST /taskqueue/v1beta2/projects/s~dev-project/taskqueues/pull-queue/tasks HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
    )
}

#[test]
fn every_acknowledged_insert_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = init(dir.path(), &InitOptions::default()).expect("init");
    let server = ServerProcess::start(&report.config_file);
    let addr = server.addr;
    let token = access_token(addr, &report.authorized_user_file);

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (acked, acked_count, stop, token) = (
                Arc::clone(&acked),
                Arc::clone(&acked_count),
                Arc::clone(&stop),
                token.clone(),
            );
            let stopped = Arc::clone(&stopped);
            std::thread::spawn(move || {
                // Counts this writer as stopped however it ends, a panic included, so the wait below ends too.
                let _stopped = Stopped(Arc::clone(&stopped));
                let mut stream = connect(addr);
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let name = format!("w{writer}-{n}");
                    let body = format!(r#"{{"id": "{name}", "payloadBase64": "cGF5bG9hZA=="}}"#);
                    match exchange(
                        &mut stream,
                        &insert_request(addr, &token, body.len()),
                        body.as_bytes(),
                    ) {
                        Ok((200, _)) => {
                            acked.lock().expect("lock").push(name);
                            acked_count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok((status, body)) => {
                            panic!("insert {name}: {status} {}", String::from_utf8_lossy(&body))
                        }
                        // The server died under us: what was in flight is unacknowledged.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();

    // Until enough inserts are acknowledged, or every writer has stopped (failed): never forever.
    while acked_count.load(Ordering::SeqCst) < ACKED_BEFORE_KILL
        && stopped.load(Ordering::SeqCst) < WRITERS
    {
        std::thread::yield_now();
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= ACKED_BEFORE_KILL,
        "{} acknowledged",
        acked.len()
    );

    let restarted = ServerProcess::start(&report.config_file);
    let addr = restarted.addr;
    let token = access_token(addr, &report.authorized_user_file);
    let mut stream = connect(addr);
    let missing: Vec<&String> = acked
        .iter()
        .filter(|name| {
            let request = format!(
                "GET /taskqueue/v1beta2/projects/s~dev-project/taskqueues/pull-queue/tasks/{name} HTTP/1.1\r\n\
                 Host: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            let (status, _) = exchange(&mut stream, &request, b"").expect("get after restart");
            status != 200
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged inserts lost: {:?}",
        missing.len(),
        acked.len(),
        missing.iter().take(10).collect::<Vec<_>>()
    );
}

/// Adds one to the count of stopped writers when dropped.
struct Stopped(Arc<AtomicUsize>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
