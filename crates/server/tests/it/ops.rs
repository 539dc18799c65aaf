//! The operations surface: `/healthz`, the virtual-time admin endpoint (and its absence in the default mode), the
//! 404 envelope for unknown paths, the body limit before and while reading, gzip both ways, and a real server
//! started on 127.0.0.1 and shut down gracefully.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::Value;
use taskqueue_clock::Clock as _;
use taskqueue_server::config::ServerConfig;
use taskqueue_server::serve::{self, ClockMode};
use taskqueue_server::{AppState, MemoryStore, StoreConfig, router};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;

use crate::support;

fn config() -> ServerConfig {
    let mut config = ServerConfig::new("dev-project");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config
}

fn state(config: ServerConfig, virtual_time: bool) -> AppState {
    let store = Arc::new(MemoryStore::new(StoreConfig::default()));
    if virtual_time {
        AppState::new_virtual(
            config,
            store,
            Arc::new(support::clock()),
            "http://127.0.0.1:8080",
        )
    } else {
        AppState::new(
            config,
            store,
            taskqueue_clock::system(),
            "http://127.0.0.1:8080",
        )
    }
}

async fn call(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(body)))
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn healthz_answers_ok_when_the_store_answers() {
    let (status, _, body) = call(&state(config(), false), get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["status"], "ok");
}

#[tokio::test]
async fn unknown_paths_get_the_404_envelope() {
    for uri in ["/", "/nope", "/taskqueue/v1beta2/elsewhere"] {
        let (status, _, body) = call(&state(config(), false), get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        let body = json(&body);
        assert_eq!(body["error"]["code"], 404, "{uri}");
        assert_eq!(body["error"]["errors"][0]["reason"], "notFound", "{uri}");
    }
}

#[tokio::test]
async fn the_admin_clock_is_not_served_in_the_default_mode() {
    let state = state(config(), false);
    for request in [
        get("/admin/clock"),
        Request::post("/admin/clock")
            .body(Body::from(r#"{"advance_micros": 1000000}"#))
            .expect("request"),
    ] {
        let (status, _, _) = call(&state, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_admin_clock_moves_virtual_time_forward_only() {
    let state = state(config(), true);
    let start = state.now();
    let (status, _, body) = call(&state, get("/admin/clock")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["elapsed_micros"], 0);

    let post = |body: &'static str| {
        Request::post("/admin/clock")
            .body(Body::from(body))
            .expect("request")
    };
    let (status, _, body) = call(&state, post(r#"{"advance_micros": 90000000}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["elapsed_micros"], 90_000_000);
    assert_eq!(state.now(), start + Duration::from_secs(90));

    let target = json(&body)["now_micros"].as_i64().expect("now") + 3_600_000_000;
    let (status, _, body) = call(
        &state,
        post(Box::leak(
            format!(r#"{{"set_micros": {target}}}"#).into_boxed_str(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["now_micros"], target);
    assert_eq!(state.now(), start + Duration::from_secs(90 + 3600));

    for (body, reason) in [
        (r#"{"set_micros": 0}"#, "invalid"),
        (r#"{}"#, "invalid"),
        (r#"{"advance_micros": 1, "set_micros": 1}"#, "invalid"),
        (r#"{"advance_micros": -1}"#, "parseError"),
        (r#"{"rewind": 1}"#, "parseError"),
        ("not json", "parseError"),
    ] {
        let (status, _, answer) = call(&state, post(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            json(&answer)["error"]["errors"][0]["reason"],
            reason,
            "{body}"
        );
    }
    assert_eq!(
        state.now(),
        start + Duration::from_secs(90 + 3600),
        "refused moves left time alone"
    );
}

#[tokio::test]
async fn an_oversize_content_length_is_refused_before_the_body_is_read() {
    let mut config = config();
    config.limits.max_body_bytes = 1024;
    let state = state(config, false);
    // The declared length is over the limit; the body stream would fail if read (it never ends in time).
    let request = Request::post("/taskqueue/v1beta2/projects/dev-project/taskqueues/q/tasks")
        .header(header::CONTENT_LENGTH, "4096")
        .body(Body::from(vec![b'x'; 10]))
        .expect("request");
    let (status, _, body) = call(&state, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        json(&body)["error"]["errors"][0]["reason"],
        "uploadTooLarge"
    );
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it() {
    let state = state(config(), false);
    let request = Request::get("/healthz")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = call(&state, request).await;
    assert_eq!(status, StatusCode::OK);
    // Tiny bodies may be sent as they are; when encoded, they must be gzip and decode to the same JSON.
    if headers.get(header::CONTENT_ENCODING).is_some() {
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut decoded)
            .expect("gzip");
        assert_eq!(json(&decoded)["status"], "ok");
    } else {
        assert_eq!(json(&body)["status"], "ok");
    }
}

#[tokio::test]
async fn gzip_request_bodies_are_decoded_and_still_bounded() {
    let mut config = config();
    config.limits.max_body_bytes = 100;
    let state = state(config, true);
    let gzip = |plain: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(plain).expect("gzip");
        encoder.finish().expect("gzip")
    };
    let post = |body: Vec<u8>| {
        Request::post("/admin/clock")
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(body))
            .expect("request")
    };
    let (status, _, body) = call(&state, post(gzip(br#"{"advance_micros": 5}"#))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["elapsed_micros"], 5);

    // 10 KiB of spaces compress to under 100 bytes, the limit; decoded they are far over it.
    let mut bomb = b"{\"advance_micros\": 5".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 10 * 1024));
    bomb.push(b'}');
    let compressed = gzip(&bomb);
    assert!(
        compressed.len() < 100,
        "the compressed body fits: {}",
        compressed.len()
    );
    let (status, _, _) = call(&state, post(compressed)).await;
    assert!(status.is_client_error(), "got {status}");
    assert_eq!(
        json(&call(&state, get("/admin/clock")).await.2)["elapsed_micros"],
        5
    );
}

/// One HTTP/1.1 request over a fresh connection; the whole response as text.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_started_server_serves_on_loopback_and_shuts_down_gracefully() {
    let server = serve::start(
        config(),
        ClockMode::Virtual {
            start: support::clock().now(),
        },
    )
    .await
    .expect("start");
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.public_url(), format!("http://{addr}"));
    assert_eq!(server.token_uri(), format!("http://{addr}/token"));
    assert_eq!(
        server.api_base_url(),
        format!("http://{addr}/taskqueue/v1beta2/projects/")
    );

    let response = raw_get(addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#), "{response}");
    let response = raw_get(addr, "/admin/clock").await;
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "virtual mode serves the admin clock: {response}"
    );

    server.shutdown().await.expect("graceful shutdown");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn the_discovery_document_is_served_pointed_at_the_server() {
    let (status, headers, body) = call(
        &state(config(), false),
        get("/discovery/v1/apis/taskqueue/v1beta2/rest"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let document = json(&body);
    assert_eq!(document["id"], "taskqueue:v1beta2");
    assert_eq!(document["rootUrl"], "http://127.0.0.1:8080/");
    assert_eq!(
        document["baseUrl"],
        "http://127.0.0.1:8080/taskqueue/v1beta2/projects/"
    );
    assert_eq!(
        document["resources"]["tasks"]["methods"]["lease"]["path"],
        "{project}/taskqueues/{taskqueue}/tasks/lease"
    );
}

#[test]
fn the_default_body_limit_fits_the_largest_task_and_no_larger_payload() {
    use base64::Engine as _;
    let max = taskqueue_model::limits::MAX_PAYLOAD_BYTES;
    let encode = |len: usize| base64::engine::general_purpose::URL_SAFE.encode(vec![0xfb_u8; len]);
    // The largest valid task, pretty-printed, with a 500-character id and tag and the long-form queue name.
    let largest = serde_json::to_string_pretty(&serde_json::json!({
        "kind": "taskqueues#task",
        "id": "i".repeat(500),
        "tag": "t".repeat(500),
        "queueName": format!("projects/s~{}/taskqueues/{}", "p".repeat(100), "q".repeat(100)),
        "payloadBase64": encode(max),
        "leaseTimestamp": "1893456000000000",
        "enqueueTimestamp": "1893456000000000",
        "retry_count": 0,
    }))
    .expect("JSON");
    assert!(
        largest.len() <= taskqueue_server::DEFAULT_MAX_BODY_BYTES,
        "{} bytes",
        largest.len()
    );
    // A payload 3 KiB over the limit cannot fit, even alone: its Content-Length is refused before reading.
    let over = format!(r#"{{"payloadBase64":"{}"}}"#, encode(max + 3 * 1024));
    assert!(over.len() > taskqueue_server::DEFAULT_MAX_BODY_BYTES);
}
