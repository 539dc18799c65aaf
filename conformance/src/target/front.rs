//! A small HTTP/1.1 front on 127.0.0.1, served by hyper: it reads each
//! request whole and gives the client what its [`Answerer`] decides, an
//! answer or nothing at all (the connection dropped unanswered, as when a
//! server or a load balancer resets it). The recording forwarder
//! (`crate::target::forwarder`) and the mock target's reset front
//! (`crate::target::mock::front`) are both served by it, and both pass
//! requests on with [`relay`]; [`listen`] binds 127.0.0.1 for them and for
//! the server target's in-process server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use url::Url;

/// One request as a front handles it: read whole off hyper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    /// Headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Status, headers and body of an answer.
pub(crate) type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// What a front gives the client: an answer, or nothing at all.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Status, headers and body.
    Respond(Reply),
    /// Close the connection without answering (an injected reset).
    Reset,
}

/// Decides the answer to each request a front reads.
pub(crate) trait Answerer: Send + Sync + 'static {
    /// The answer to `request`.
    fn answer(self: Arc<Self>, request: RawRequest) -> impl Future<Output = Answer> + Send;
}

/// The error that makes hyper drop a connection without an answer: an
/// injected connection reset.
#[derive(Debug)]
struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the conformance harness (injected)")
    }
}

impl std::error::Error for ConnectionReset {}

/// A listener on 127.0.0.1 (a free port) and its address, for [`accept`];
/// errors name `who` listens.
pub(crate) async fn listen(who: &str) -> Result<(TcpListener, SocketAddr), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("{who} cannot listen on 127.0.0.1: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("{who}'s address: {error}"))?;
    Ok((listener, address))
}

/// Serves every connection of `listener` with hyper's HTTP/1.1, each
/// request answered by `answerer`.
pub(crate) async fn accept<A: Answerer>(listener: TcpListener, answerer: Arc<A>) {
    while let Ok((stream, _)) = listener.accept().await {
        let answerer = answerer.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| handle(answerer.clone(), request));
            // The connection ends when the client closes it, or when an
            // injected reset makes the service fail: hyper then drops it
            // without writing an answer.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads `request` whole and returns what `answerer` says; `Err` drops the
/// connection unanswered.
async fn handle<A: Answerer>(
    answerer: Arc<A>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ConnectionReset> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(error) => {
            return Ok(response((
                400,
                vec![("content-type".to_owned(), "text/plain".to_owned())],
                format!("conformance harness: bad request: {error}").into_bytes(),
            )));
        }
    };
    let raw = RawRequest {
        method: parts.method.as_str().to_owned(),
        target: parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_owned(),
            |target| target.as_str().to_owned(),
        ),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body,
    };
    match answerer.answer(raw).await {
        Answer::Respond(reply) => Ok(response(reply)),
        Answer::Reset => Err(ConnectionReset),
    }
}

/// An answer for hyper; a header hyper refuses is left out.
fn response((status, headers, body): Reply) -> hyper::Response<Full<Bytes>> {
    let mut answer = hyper::Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            answer.headers_mut().append(name, value);
        }
    }
    answer
}

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    // reqwest asks for gzip itself and decodes it, so records hold JSON.
    "accept-encoding",
    "content-encoding",
];

/// The HTTP client a front relays with ([`relay`]): rustls configured as
/// every client of the workspace, `timeout` per request, no redirect
/// followed.
pub(crate) fn relay_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let tls = taskqueue_auth::http::rustls_client_config()
        .map_err(|error| format!("TLS configuration: {error}"))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| error.to_string())
}

/// Sends `request` to `url` with `http` (its `Authorization` replaced by
/// `authorization` when given) and returns the answer, without the
/// hop-by-hop headers; `Err` says why nothing came back, without the URL.
pub(crate) async fn relay(
    http: &reqwest::Client,
    url: Url,
    request: RawRequest,
    authorization: Option<&str>,
) -> Result<Reply, String> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|error| format!("method {}: {error}", request.method))?;
    let mut outgoing = http.request(method, url);
    for (name, value) in &request.headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        match authorization {
            Some(replaced) if name == "authorization" => {
                outgoing = outgoing.header("authorization", replaced);
            }
            _ => outgoing = outgoing.header(name.as_str(), value.as_str()),
        }
    }
    let response = outgoing
        .body(request.body)
        .send()
        .await
        .map_err(|error| without_url(&error))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let body = response
        .bytes()
        .await
        .map_err(|error| without_url(&error))?;
    Ok((status, headers, body.to_vec()))
}

/// A reqwest error without its URL (the query could hold anything).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the body could not be read"
    } else {
        "the request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
