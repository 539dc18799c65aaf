//! What goes over the wire: [`Request`] and [`Response`], in `http` and `url` terms.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::Error;

/// One API call, described without reqwest.
///
/// Whether it may be retried is explicit: [`Request::retryable`] defaults to
/// `true` for the idempotent HTTP methods (GET, HEAD, PUT, DELETE, OPTIONS)
/// and `false` for POST and PATCH.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) body: Option<Bytes>,
    pub(crate) retryable: bool,
    pub(crate) operation: &'static str,
}

impl Request {
    /// A request with no body.
    pub fn new(method: Method, url: Url) -> Self {
        let retryable = method.is_idempotent();
        Self {
            method,
            url,
            body: None,
            retryable,
            operation: "http.request",
        }
    }

    /// A GET request.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// The same request with a JSON body (`Content-Type: application/json`).
    pub fn json_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Whether failed attempts may be retried. Mark a request retryable only
    /// if sending it twice does no harm.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The operation's name for tracing and error messages, for example
    /// `taskqueue.tasks.get`.
    pub fn operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, query string included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether failed attempts may be retried.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// A successful (2xx) response, its body read in full (within the size limit).
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) operation: &'static str,
}

impl Response {
    /// The HTTP status, always a success.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, decompressed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body parsed as JSON into `T`.
    ///
    /// A body that is not the expected JSON (malformed, truncated, wrong
    /// types, bad base64) gives an error for which [`Error::is_decode`] holds.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|source| Error::decode(self.operation, self.status, &self.body, source))
    }
}
