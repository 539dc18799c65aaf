//! The call loop: token, attempt, classify, back off, try again.

use bytes::{Bytes, BytesMut};
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method};
use taskqueue_auth::AccessToken;
use tracing::{Instrument, field};

use crate::{Error, Request, Response, Transport};

impl Transport {
    /// Sends `request`, retrying per the policy if it is retryable, and
    /// returns the successful response or the last error.
    ///
    /// A 401 invalidates the token; if the provider then hands out another
    /// token, the request is sent once more (whether or not it is marked
    /// retryable: a 401 means the server did nothing).
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        // Field names follow OpenTelemetry's HTTP client conventions.
        let span = tracing::info_span!(
            "taskqueue.call",
            operation = request.operation,
            http.request.method = %request.method,
            url.full = %redacted_url(&request.url),
            server.address = request.url.host_str().unwrap_or_default(),
            server.port = request.url.port_or_known_default(),
            attempts = field::Empty,
        );
        self.send_with_retries(&request).instrument(span).await
    }

    async fn send_with_retries(&self, request: &Request) -> Result<Response, Error> {
        let inner = &self.inner;
        let operation = request.operation;
        let started = inner.clock.monotonic();
        // Drawn on the first retry only: most calls never need it.
        let mut jitter = None;
        let mut attempt = 0_u32;
        let mut transient_failures = 0_u32;
        let mut rejected: Option<(AccessToken, Error)> = None;
        let mut refreshed = false;
        loop {
            let token = inner
                .tokens
                .token(&inner.scopes)
                .await
                .map_err(|source| Error::auth(operation, source).with_attempts(attempt))?;
            if let Some((rejected_token, unauthenticated)) = rejected.take()
                && rejected_token.secret() == token.secret()
            {
                // The provider cannot do better than the token just refused.
                return Err(unauthenticated);
            }
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let error = match self.attempt(request, &token, attempt).await {
                Ok(response) => return Ok(response),
                Err(error) => error.with_attempts(attempt),
            };
            if error.is_unauthenticated() {
                // The provider must never hand this token out again.
                inner.tokens.invalidate(&token);
                if !refreshed {
                    // First 401 of this call: try once more with a new token.
                    refreshed = true;
                    rejected = Some((token, error));
                    continue;
                }
                return Err(error);
            }
            if !request.retryable || !error.is_transient() || error.is_auth() {
                return Err(error);
            }
            transient_failures += 1;
            if transient_failures >= inner.retry.max_attempts() {
                return Err(error);
            }
            let mut delay = jitter
                .get_or_insert_with(|| inner.retry.jitter())
                .draw(inner.retry.backoff_ceiling(transient_failures));
            if let Some(asked) = error.retry_after() {
                delay = delay.max(asked);
            }
            let spent = inner.clock.monotonic().saturating_sub(started);
            if spent.saturating_add(delay) > inner.retry.max_elapsed() {
                return Err(error);
            }
            tracing::debug!(
                retry = transient_failures,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying after a transient failure"
            );
            inner.clock.sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        token: &AccessToken,
        attempt: u32,
    ) -> Result<Response, Error> {
        let span = tracing::debug_span!(
            "attempt",
            attempt,
            http.request.resend_count = attempt.checked_sub(1).filter(|resends| *resends > 0),
            http.response.status_code = field::Empty,
            error.r#type = field::Empty,
            latency_ms = field::Empty,
        );
        if span.is_disabled() {
            // Nobody listens: spare the hot path the two clock reads.
            return self.exchange(request, token).await;
        }
        let started = self.inner.clock.monotonic();
        let result = self.exchange(request, token).instrument(span.clone()).await;
        let latency = self.inner.clock.monotonic().saturating_sub(started);
        span.record(
            "latency_ms",
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        );
        match &result {
            Ok(response) => {
                span.record("http.response.status_code", response.status.as_u16());
            }
            Err(error) => {
                if let Some(status) = error.status() {
                    span.record("http.response.status_code", status.as_u16());
                }
                span.record("error.type", error.otel_error_type());
            }
        }
        result
    }

    async fn exchange(&self, request: &Request, token: &AccessToken) -> Result<Response, Error> {
        let inner = &self.inner;
        let operation = request.operation;
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.secret()))
            .map_err(|_| {
                Error::invalid_request(
                    "the access token holds characters not allowed in an HTTP header",
                )
                .with_operation(operation)
            })?;
        authorization.set_sensitive(true);
        let mut builder = inner
            .http
            .request(request.method.clone(), request.url.clone())
            .timeout(inner.attempt_timeout)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        } else if request.method == Method::POST || request.method == Method::PATCH {
            // Google front ends answer 411 to a bodyless POST without
            // `Content-Length`, so send `Content-Length: 0` explicitly.
            builder = builder
                .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
                .body(Bytes::new());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|source| map_send_error(operation, source))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let limit = inner.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(Error::response_too_large(operation, limit));
        }
        let body = read_body(&mut response, operation, limit).await?;
        if status.is_success() {
            return Ok(Response {
                status,
                headers,
                body,
                operation,
            });
        }
        Err(Error::status_error(
            operation,
            status,
            &body,
            header_list(&headers, WWW_AUTHENTICATE),
            header_text(&headers, RETRY_AFTER)
                .and_then(|value| retry_after(&value, inner.clock.now())),
            token.granted_scopes(),
            &inner.scopes,
        ))
    }
}

/// Query parameters whose values are credentials in Google's APIs (an OAuth
/// token, an API key, a signed URL's signature and credential).
const SECRET_QUERY_PARAMETERS: [&str; 5] = [
    "access_token",
    "key",
    "sig",
    "x-goog-signature",
    "x-goog-credential",
];

/// `url` as traces show it (`url.full`): user name and password, and the
/// values of credential query parameters, replaced by `REDACTED`, as
/// OpenTelemetry asks.
fn redacted_url(url: &url::Url) -> url::Url {
    let mut shown = url.clone();
    if !shown.username().is_empty() {
        let _ = shown.set_username("REDACTED");
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some("REDACTED"));
    }
    let secret = |name: &str| {
        SECRET_QUERY_PARAMETERS
            .iter()
            .any(|secret| name.eq_ignore_ascii_case(secret))
    };
    if url.query_pairs().any(|(name, _)| secret(&name)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) {
                    "REDACTED".into()
                } else {
                    value
                };
                (name.into_owned(), value.into_owned())
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown
}

/// The wait a `Retry-After` value asks for: delay-seconds, or an HTTP-date
/// (RFC 9110 §10.2.3) read against the injected clock; a past date is zero.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// Reads the whole body, refusing more than `limit` bytes. A body that
/// arrives in one chunk (the common case) is not copied.
async fn read_body(
    response: &mut reqwest::Response,
    operation: &'static str,
    limit: usize,
) -> Result<Bytes, Error> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| map_send_error(operation, source))?
    {
        let received = first.as_ref().map_or(0, Bytes::len) + rest.len() + chunk.len();
        if received > limit {
            return Err(Error::response_too_large(operation, limit));
        }
        match &first {
            None => first = Some(chunk),
            Some(head) => {
                if rest.is_empty() {
                    rest.extend_from_slice(head);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    })
}

fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Every field of a list-valued header, joined with `, ` as HTTP allows
/// (a server may send each `WWW-Authenticate` challenge in its own field).
fn header_list(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// The one place a reqwest error becomes ours; the original stays reachable
/// only through `source()`.
fn map_send_error(operation: &'static str, source: reqwest::Error) -> Error {
    let error = if source.is_timeout() {
        Error::timeout(operation)
    } else if source.is_connect() {
        Error::connect(operation)
    } else if source.is_builder() {
        Error::invalid_request("the HTTP request could not be built").with_operation(operation)
    } else {
        Error::network(operation)
    };
    error.with_source(source)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{redacted_url, retry_after};

    #[test]
    fn traced_urls_hide_credentials() {
        let cases = [
            (
                "https://tq.example/taskqueue/v1beta2/projects/p/taskqueues/q/tasks?leaseSecs=60",
                "https://tq.example/taskqueue/v1beta2/projects/p/taskqueues/q/tasks?leaseSecs=60",
            ),
            (
                "https://tq.example/t?key=AIzaSy-secret&numTasks=5",
                "https://tq.example/t?key=REDACTED&numTasks=5",
            ),
            (
                "https://tq.example/t?Access_Token=ya29.secret",
                "https://tq.example/t?Access_Token=REDACTED",
            ),
            (
                "https://user:pass@tq.example/t",
                "https://REDACTED:REDACTED@tq.example/t",
            ),
            ("http://127.0.0.1:8080/t", "http://127.0.0.1:8080/t"),
        ];
        for (url, shown) in cases {
            let url = url::Url::parse(url).expect("a URL");
            assert_eq!(redacted_url(&url).as_str(), shown);
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases: &[(&str, Option<u64>)] = &[
            ("7", Some(7)),
            (" 0 ", Some(0)),
            ("Tue, 14 Nov 2023 22:13:25 GMT", Some(5)),
            ("Tue, 14 Nov 2023 22:13:00 GMT", Some(0)),
            ("soon", None),
            ("-3", None),
        ];
        for (value, seconds) in cases {
            assert_eq!(
                retry_after(value, now),
                seconds.map(Duration::from_secs),
                "{value:?}"
            );
        }
    }
}
