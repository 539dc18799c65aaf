//! Connection hygiene against a real server on 127.0.0.1: a storm of idle and slow (one byte at a time)
//! connections well past the connection cap; the connections over the cap are refused at once with the 503
//! envelope and counted, idle and slow ones are closed by their deadlines, and a normal request still gets through;
//! a body sent too slowly is answered 408.
//!
//! Deadlines are real socket deadlines, so these tests use real time, kept short (a few hundred milliseconds);
//! they assert on what happens, with generous bounds, never on speed.
#![allow(clippy::disallowed_methods)] // Real sockets against real-time deadlines: tokio's clock, by design.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use taskqueue_server::config::ServerConfig;
use taskqueue_server::serve::{self, ClockMode, RunningServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

/// The cap of these tests.
const CAP: usize = 40;
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(400);
const IDLE_TIMEOUT: Duration = Duration::from_millis(600);
const BODY_READ_TIMEOUT: Duration = Duration::from_millis(400);
/// A bound no deadline above comes near, for "eventually": the tests never wait this long unless they fail.
const GENEROUS: Duration = Duration::from_secs(10);

async fn start() -> RunningServer {
    let mut config = ServerConfig::new("dev-project");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.limits.max_connections = CAP;
    config.limits.header_read_timeout = HEADER_READ_TIMEOUT;
    config.limits.idle_timeout = IDLE_TIMEOUT;
    config.limits.body_read_timeout = BODY_READ_TIMEOUT;
    serve::start(config, ClockMode::System)
        .await
        .expect("the server starts")
}

/// Reads until the server closes the connection (or `GENEROUS` passes): what it sent, and whether it closed.
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let deadline = Instant::now() + GENEROUS;
    loop {
        match timeout(
            deadline.saturating_duration_since(Instant::now()),
            stream.read(&mut chunk),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Err(_) => return (received, false),
        }
    }
}

/// One request on a fresh connection: the response's status line and body, or why it failed.
async fn get(addr: SocketAddr, path: &str) -> Result<(String, String), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let (response, _) = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no response: {text:?}"))?;
    Ok((
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    ))
}

/// A metric's value in `/metrics` (the sum over its series whose labels contain `labels`).
async fn metric(addr: SocketAddr, name: &str, labels: &str) -> f64 {
    let (status, body) = get(addr, "/metrics").await.expect("/metrics answers");
    assert!(status.contains("200"), "{status}");
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| line.contains(labels))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_idle_and_slow_connections_past_the_cap_leaves_the_server_serving() {
    let server = start().await;
    let addr = server.local_addr();

    // The storm: idle connections that send nothing, and slow ones that send a request head one byte every
    // 150 ms (a slow-loris client), together twice the cap.
    // Half the idle ones first, so that slow ones get in under the cap too; the rest are refused.
    let mut idle = Vec::new();
    for _ in 0..CAP / 2 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let mut slow = Vec::new();
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        slow.push(tokio::spawn(async move {
            let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            for byte in head {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                sleep(Duration::from_millis(150)).await;
            }
            read_until_closed(&mut stream).await
        }));
    }
    for _ in 0..CAP / 2 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }

    // A normal request: refused with the 503 envelope while the cap is full, then answered once the deadlines
    // have closed the idle and slow connections.
    let started = Instant::now();
    let mut refusals = 0;
    let answered = loop {
        match get(addr, "/healthz").await {
            Ok((status, body)) if status.contains("200") => break body,
            Ok((status, body)) => {
                assert!(status.contains("503"), "{status}");
                let envelope: Value = serde_json::from_str(&body).expect("the refusal is JSON");
                assert_eq!(envelope["error"]["code"], 503);
            }
            // Refused while our request was unread: the close may reach us as a reset before the 503.
            Err(_) => {}
        }
        refusals += 1;
        assert!(
            started.elapsed() < GENEROUS,
            "still refused after {GENEROUS:?}"
        );
        sleep(Duration::from_millis(50)).await;
    };
    let waited = started.elapsed();
    println!(
        "normal request answered after {waited:?} ({refusals} refusals while the cap was full)"
    );
    assert!(answered.contains("ok"), "{answered}");
    assert!(
        refusals > 0,
        "the storm filled the cap, so the first tries were refused"
    );

    // Every idle connection was closed by the server (the ones over the cap at once with the 503, the others
    // after the idle timeout), without a byte from the client.
    let mut refused_at_once = 0;
    for mut stream in idle {
        let (received, closed) = read_until_closed(&mut stream).await;
        assert!(closed, "an idle connection stays open past {GENEROUS:?}");
        if received.starts_with(b"HTTP/1.1 503") {
            refused_at_once += 1;
        }
    }
    // Every slow connection was closed before it could finish its head (the header-read deadline, or the cap).
    for task in slow {
        let (received, closed) = task.await.expect("the slow client");
        assert!(closed, "a slow connection stays open");
        assert!(
            received.is_empty() || received.starts_with(b"HTTP/1.1 503"),
            "a slow head was served: {}",
            String::from_utf8_lossy(&received)
        );
    }

    assert!(metric(addr, "taskqueue_connections_refused_total", "").await >= f64::from(refusals));
    assert!(
        metric(
            addr,
            "taskqueue_connections_timed_out_total",
            "phase=\"idle\""
        )
        .await
            >= (CAP - refused_at_once) as f64 / 2.0,
        "idle connections were closed by the idle deadline"
    );
    assert!(
        metric(
            addr,
            "taskqueue_connections_timed_out_total",
            "phase=\"header\""
        )
        .await
            >= 1.0,
        "slow heads were closed by the header deadline"
    );
    // All closed: only the scrape's own connection is open.
    assert_eq!(metric(addr, "taskqueue_connections_open", "").await, 1.0);
    server.shutdown().await.expect("graceful shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_is_closed_after_the_idle_timeout_not_before() {
    let server = start().await;
    let addr = server.local_addr();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    for _ in 0..3 {
        // Three requests on one connection, each after a pause shorter than the idle timeout.
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = vec![0_u8; 1024];
        let n = timeout(GENEROUS, stream.read(&mut response))
            .await
            .expect("an answer")
            .expect("read");
        assert!(response[..n].starts_with(b"HTTP/1.1 200"));
        sleep(IDLE_TIMEOUT / 3).await;
    }
    let idle_from = Instant::now();
    let (received, closed) = read_until_closed(&mut stream).await;
    assert!(closed && received.is_empty(), "closed without a word");
    assert!(
        idle_from.elapsed() >= IDLE_TIMEOUT / 2,
        "not closed long before the idle timeout: {:?}",
        idle_from.elapsed()
    );
    server.shutdown().await.expect("graceful shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_answered_408_with_the_envelope() {
    let server = start().await;
    let addr = server.local_addr();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.expect("write");
    let slow_body = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"a").await.is_err() {
                break;
            }
            sleep(Duration::from_millis(100)).await;
        }
    });
    // Read while the body trickles in: the answer comes long before the body would end (10 s).
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let closed = loop {
        match timeout(GENEROUS, reader.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Err(_) => break false,
        }
    };
    slow_body.abort();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(closed, "the connection is closed after a 408");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let envelope: Value = serde_json::from_str(body).expect("an envelope");
    assert_eq!(envelope["error"]["errors"][0]["reason"], "requestTimeout");
    server.shutdown().await.expect("graceful shutdown");
}
