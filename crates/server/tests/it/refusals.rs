//! Google's error envelope on every refusal: a table of method × path × oddity over the whole HTTP surface, and
//! a proptest fuzz of generated requests, both through the router. No 4xx without the envelope, no 5xx.
//!
//! Two refusals keep their own documented formats: the token endpoint's (RFC 6749 §5.2 JSON, `{"error": "code"}`,
//! what OAuth clients parse) for a POST that reaches it, and the metadata endpoint's text answers when it is
//! configured (GCE's format; not configured here, so its paths are 404 envelopes). `HEAD` gets no body, and where
//! `GET` is served it gets `GET`'s status.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use proptest::prelude::*;
use serde_json::Value;
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::SharedClock;
use taskqueue_server::config::ServerConfig;
use taskqueue_server::{AppState, MemoryStore, NewTask, QueueDef, StoreConfig, router};
use tower::ServiceExt as _;

use crate::support;

const API: &str = "/taskqueue/v1beta2/projects/dev-project/taskqueues/pull-queue";
const BODY_LIMIT: usize = 2048;

/// Every path the server serves, and some it does not.
fn paths() -> Vec<String> {
    [
        "/token",
        "/healthz",
        "/readyz",
        "/metrics",
        "/discovery/v1/apis/taskqueue/v1beta2/rest",
        "/admin/clock",
        "/computeMetadata/v1/instance/service-accounts/default/token",
        "/",
        "/nope",
        "/taskqueue",
        "/taskqueue/v1beta2/projects/dev-project",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(
        ["", "/tasks", "/tasks/t1", "/tasks/lease", "/tasks/missing"]
            .into_iter()
            .map(|rest| format!("{API}{rest}")),
    )
    .collect()
}

struct Server {
    state: AppState,
    token: String,
}

async fn server() -> Server {
    let mut config = ServerConfig::new("dev-project");
    config.queues.insert(QueueDef::new("pull-queue"));
    config.limits.max_body_bytes = BODY_LIMIT;
    let clock: SharedClock = Arc::new(support::clock());
    let store = Arc::new(MemoryStore::new(StoreConfig::default()));
    let state = AppState::new(config, store, Arc::clone(&clock), "http://127.0.0.1:8080");
    state
        .store
        .insert(
            "pull-queue",
            NewTask::new(b"x".to_vec()).with_name("t1"),
            state.now_timestamp(),
        )
        .await
        .expect("seeded");
    let token = state
        .tokens
        .issue(
            "worker@dev-project.iam.gserviceaccount.com",
            [Scope::Taskqueue].into_iter().collect::<ScopeSet>(),
            Duration::from_secs(3600),
            clock.now(),
        )
        .await
        .expect("the token is saved")
        .expose()
        .to_owned();
    Server { state, token }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

async fn send(server: &Server, request: Request<Body>) -> Answer {
    let response = router(server.state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes().to_vec())
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// Why `answer` to `method path` breaks the rules, if it does.
fn violation(method: &Method, path: &str, answer: &Answer) -> Option<String> {
    let status = answer.status;
    if status.is_server_error() {
        return Some(format!("{status}"));
    }
    if *method == Method::HEAD {
        return (!answer.body.is_empty()).then(|| "a HEAD answer with a body".to_owned());
    }
    if !status.is_client_error() {
        return None;
    }
    let Ok(json) = serde_json::from_slice::<Value>(&answer.body) else {
        return Some(format!(
            "{status} without JSON: {:?}",
            String::from_utf8_lossy(&answer.body)
        ));
    };
    if path == "/token" && *method == Method::POST && json["error"].is_string() {
        // RFC 6749 §5.2, the token endpoint's own format.
        return None;
    }
    let error = &json["error"];
    let ok = error["code"] == status.as_u16()
        && error["message"].is_string()
        && error["errors"][0]["domain"] == "global"
        && error["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
        && answer
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
    if status == StatusCode::METHOD_NOT_ALLOWED && !answer.headers.contains_key(header::ALLOW) {
        return Some("405 without Allow".to_owned());
    }
    (!ok).then(|| format!("{status} without the envelope: {json}"))
}

/// The oddities of the table: each turns a plain request into a stranger one.
#[derive(Clone, Copy, Debug)]
enum Oddity {
    Plain,
    NoToken,
    Encoding(&'static str),
    OversizeLength,
    OversizeChunked,
    NotJson,
    BadOverride,
    BadQuery,
}

const ODDITIES: [Oddity; 11] = [
    Oddity::Plain,
    Oddity::NoToken,
    Oddity::Encoding("br"),
    Oddity::Encoding("deflate"),
    Oddity::Encoding("zstd"),
    Oddity::Encoding("gzip"),
    Oddity::OversizeLength,
    Oddity::OversizeChunked,
    Oddity::NotJson,
    Oddity::BadOverride,
    Oddity::BadQuery,
];

fn build(server: &Server, method: &Method, path: &str, oddity: Oddity) -> Request<Body> {
    let uri = match oddity {
        Oddity::BadQuery => format!("{path}?alt=media&prettyPrint=maybe&fields=((("),
        _ => path.to_owned(),
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if !matches!(oddity, Oddity::NoToken) {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", server.token));
    }
    let body = match oddity {
        Oddity::Encoding(encoding) => {
            builder = builder.header(header::CONTENT_ENCODING, encoding);
            Body::from(b"\x00\x01 not compressed".to_vec())
        }
        Oddity::OversizeLength => {
            builder = builder.header(header::CONTENT_LENGTH, BODY_LIMIT * 4);
            Body::from("{}")
        }
        Oddity::OversizeChunked => Body::from_stream(futures_stream(vec![b'x'; BODY_LIMIT * 3])),
        Oddity::NotJson => Body::from("{not json"),
        Oddity::BadOverride => {
            builder = builder.header("X-HTTP-Method-Override", "PA TCH");
            Body::from("{}")
        }
        Oddity::Plain | Oddity::NoToken | Oddity::BadQuery => Body::empty(),
    };
    builder.body(body).expect("a valid request")
}

/// A body without a length, in 256-byte chunks.
fn futures_stream(
    bytes: Vec<u8>,
) -> impl ready_stream::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    ready_stream::iter(
        bytes
            .chunks(256)
            .map(|c| Ok(c.to_vec()))
            .collect::<Vec<_>>(),
    )
}

/// A tiny stream of ready items, so that the tests need no stream crate.
mod ready_stream {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub(crate) use futures_core::Stream;

    pub(crate) struct Iter<I>(I);

    pub(crate) fn iter<T>(items: Vec<T>) -> Iter<std::vec::IntoIter<T>> {
        Iter(items.into_iter())
    }

    impl<I: Iterator + Unpin> Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
            Poll::Ready(self.0.next())
        }
    }
}

#[tokio::test]
async fn every_refusal_of_the_table_carries_the_envelope() {
    let server = server().await;
    let methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ];
    let mut failures = Vec::new();
    let mut refusals = 0;
    let mut cases = 0;
    for path in paths() {
        for method in &methods {
            for oddity in ODDITIES {
                cases += 1;
                let answer = send(&server, build(&server, method, &path, oddity)).await;
                if answer.status.is_client_error() {
                    refusals += 1;
                }
                if let Some(why) = violation(method, &path, &answer) {
                    failures.push(format!("{method} {path} {oddity:?}: {why}"));
                }
                if *method == Method::HEAD {
                    // HEAD is GET without the body.
                    let get = send(&server, build(&server, &Method::GET, &path, oddity)).await;
                    if get.status != answer.status {
                        failures.push(format!(
                            "HEAD {path} {oddity:?}: {} where GET is {}",
                            answer.status, get.status
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        refusals > cases / 2,
        "{refusals} refusals in {cases} cases: the table exercises refusals"
    );
}

#[tokio::test]
async fn the_http_layers_refusals_say_what_is_wrong() {
    let server = server().await;
    let answer = send(
        &server,
        Request::get("/token").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let json: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(json["error"]["errors"][0]["reason"], "httpMethodNotAllowed");

    let answer = send(
        &server,
        build(
            &server,
            &Method::POST,
            &format!("{API}/tasks"),
            Oddity::Encoding("br"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer.headers[header::ACCEPT_ENCODING], "gzip");
    let json: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(json["error"]["errors"][0]["reason"], "unsupportedMediaType");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("br"),
        "{json}"
    );

    // HEAD on a task: GET's status and headers, no body.
    let answer = send(
        &server,
        build(
            &server,
            &Method::HEAD,
            &format!("{API}/tasks/t1"),
            Oddity::Plain,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.is_empty());
    assert!(answer.headers[header::CONTENT_LENGTH] != "0");
}

/// Characters of generated path segments: plain ones, separators, and percent-escapes valid and not.
fn segment() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9_.~-]{1,8}",
            Just("%20".to_owned()),
            Just("%FF".to_owned()),
            Just("%C3%A9".to_owned()),
            Just("%2F".to_owned()),
            Just("..".to_owned()),
            Just("lease".to_owned()),
            Just("t1".to_owned()),
        ],
        1..4,
    )
    .prop_map(|parts| parts.concat())
}

fn fuzz_request() -> impl Strategy<Value = (Method, String, Vec<(String, String)>, Vec<u8>)> {
    let method = prop_oneof![
        Just(Method::GET),
        Just(Method::HEAD),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::PATCH),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
        "[A-Z]{3,8}".prop_map(|name| Method::from_bytes(name.as_bytes()).expect("a token")),
    ];
    let base = prop::sample::select(paths());
    let path = (base, prop::collection::vec(segment(), 0..3)).prop_map(|(base, extra)| {
        extra
            .iter()
            .fold(base, |path, segment| format!("{path}/{segment}"))
    });
    let query = prop::option::of(prop::sample::select(vec![
        "alt=json",
        "alt=media",
        "prettyPrint=false",
        "prettyPrint=maybe",
        "fields=items(id)",
        "fields=(((",
        "numTasks=5&leaseSecs=60",
        "numTasks=-1&leaseSecs=x",
        "numTasks=5&leaseSecs=60&groupByTag=true&tag=a",
        "newLeaseSeconds=30",
        "getStats=true",
        "oauth_token=nope",
        "%FF=%FF",
    ]));
    let uri = (path, query).prop_map(|(path, query)| match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    });
    let headers = prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec!["gzip", "br", "deflate", "zstd", "identity", "x-nope"])
                .prop_map(|value| ("content-encoding".to_owned(), value.to_owned())),
            prop::sample::select(vec![
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data; boundary=x",
            ])
            .prop_map(|value| ("content-type".to_owned(), value.to_owned())),
            prop::sample::select(vec!["PATCH", "GET", "DELETE", "POST", "PA TCH", "", "HEAD"])
                .prop_map(|value| ("x-http-method-override".to_owned(), value.to_owned())),
            prop::sample::select(vec!["Bearer nope", "Basic Zm9vOmJhcg==", "Bearer", "token"])
                .prop_map(|value| ("authorization".to_owned(), value.to_owned())),
            prop::sample::select(vec!["0", "5", "99999999"])
                .prop_map(|value| ("content-length".to_owned(), value.to_owned())),
        ],
        0..4,
    );
    let body = prop_oneof![
        Just(Vec::new()),
        Just(br#"{"payloadBase64": "aGk="}"#.to_vec()),
        Just(b"grant_type=refresh_token&client_id=x&client_secret=y&refresh_token=z".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(vec![b' '; BODY_LIMIT + 1]),
    ];
    (method, uri, headers, body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_requests_get_no_5xx_and_no_refusal_without_the_envelope(
        (method, uri, headers, body) in fuzz_request(),
        authorized in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let server = server().await;
            let mut builder = Request::builder().method(method.clone()).uri(&uri);
            if authorized {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", server.token));
            }
            let mut declared_length = None;
            for (name, value) in &headers {
                if name == "content-length" {
                    declared_length = Some(value.clone());
                    continue;
                }
                builder = builder.header(name.as_str(), value.as_str());
            }
            // A declared length must not contradict the body, or the request would be malformed HTTP that hyper
            // refuses before the application: declare it only when it is over the limit (refused unread).
            if let Some(length) = declared_length.filter(|length| length.len() > 4) {
                builder = builder.header(header::CONTENT_LENGTH, length);
            }
            let request = builder.body(Body::from(body)).expect("a valid request");
            let path = uri.split('?').next().unwrap_or_default().to_owned();
            let answer = send(&server, request).await;
            prop_assert!(
                violation(&method, &path, &answer).is_none(),
                "{method} {uri} {headers:?}: {:?}",
                violation(&method, &path, &answer)
            );
            Ok(())
        })?;
    }
}
