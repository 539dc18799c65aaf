//! [`MetadataServerSource`]: tokens of the service account attached to a
//! Compute Engine VM (or GKE node, Cloud Run service, App Engine instance),
//! from the metadata server; and [`probe_metadata_server`], which tells
//! whether one answers at all.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use taskqueue_clock::{RetryPolicy, SharedClock};

use crate::http::{HttpClient, HttpResponse};
use crate::{
    AccessToken, CredentialSource, Error, HttpOptions, METADATA_FLAVOR, METADATA_FLAVOR_HEADER,
    ScopeSet,
};

/// The metadata server's host name when [`GCE_METADATA_HOST`] is not set.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// The environment variable naming another metadata server host (`host` or
/// `host:port`, no scheme), as honoured by Google's Go and Python libraries.
pub const GCE_METADATA_HOST: &str = "GCE_METADATA_HOST";

/// How long [`probe_metadata_server`] waits by default (ADC uses it too).
///
/// A metadata server answers in milliseconds; off Google Cloud the name
/// `metadata.google.internal` usually fails to resolve at once, and this
/// bounds the unlucky networks where it hangs instead.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest excerpt of an error body quoted in an error message.
const EXCERPT_CHARS: usize = 200;

/// Mints access tokens for a service account attached to the machine, from
/// the metadata server.
///
/// Each [`fetch`](crate::TokenSource::fetch) sends
/// `GET http://{host}/computeMetadata/v1/instance/service-accounts/{account}/token?scopes=…`
/// with `Metadata-Flavor: Google`, where `scopes` is the comma-separated
/// scope list, URL-encoded (omitted for an empty set), `account` is `default`
/// unless [`MetadataServerSource::with_account`] names another one, and
/// `host` is [`GCE_METADATA_HOST`] or [`DEFAULT_METADATA_HOST`] unless
/// [`MetadataServerSource::at_host`] says otherwise.
///
/// A response without `Metadata-Flavor: Google` is refused: whatever sent it
/// is not a metadata server. Transient failures (5xx, 429, connection errors,
/// timeouts) are retried with the [`HttpOptions::retry`] policy on
/// [`HttpOptions::clock`]; start from
/// [`MetadataServerSource::default_options`], whose timeouts are short.
///
/// # Scopes
///
/// **Compute Engine ignores the requested scopes**: its tokens carry the
/// VM's *access scopes*, fixed when the VM was created (Cloud Run, App Engine
/// flexible and GKE Workload Identity do honour them). So the tokens of this
/// source record no granted scopes ([`AccessToken::granted_scopes`] is
/// `None`): the requested set would be a guess. When an API answers 403
/// "insufficient scopes", change the VM's access scopes with
/// `gcloud compute instances set-service-account VM --scopes …`.
///
/// # Example
///
/// ```no_run
/// use taskqueue_auth::{MetadataServerSource, Scope, ScopeSet, TokenCache, TokenProvider};
/// use taskqueue_auth::clock;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), taskqueue_auth::Error> {
/// let source = MetadataServerSource::new(MetadataServerSource::default_options())?;
/// let provider = TokenCache::new(source, clock::system());
/// let token = provider.token(&ScopeSet::from([Scope::CloudTaskqueue])).await?;
/// # let _ = token;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MetadataServerSource {
    host: String,
    /// `http://{host}/`.
    base_url: url::Url,
    account: String,
    http: HttpClient,
    retry: RetryPolicy,
    clock: SharedClock,
}

impl MetadataServerSource {
    /// The options this source should run with unless there is a reason
    /// not to: 1 s to connect and 5 s per request (a metadata server is on
    /// the same machine or a hop away), and up to 5 attempts with jittered
    /// backoff from 100 ms, at most 10 s in all, on the system clock.
    pub fn default_options() -> HttpOptions {
        HttpOptions::default()
            .with_connect_timeout(Duration::from_secs(1))
            .with_request_timeout(Duration::from_secs(5))
            .with_retry(
                RetryPolicy::new()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(2))
                    .with_max_elapsed(Duration::from_secs(10)),
            )
    }

    /// A source for the `default` service account of the metadata server at
    /// [`GCE_METADATA_HOST`] (read now) or else [`DEFAULT_METADATA_HOST`].
    pub fn new(options: HttpOptions) -> Result<Self, Error> {
        Self::at_host(host_from_process_env(), options)
    }

    /// A source for the `default` service account of the metadata server at
    /// `host` (`name` or `name:port`, no scheme), whatever the environment
    /// says: for tests and unusual setups.
    pub fn at_host(host: impl Into<String>, options: HttpOptions) -> Result<Self, Error> {
        let (host, base_url) = validate_host(host.into()).map_err(tag)?;
        let http =
            HttpClient::direct(options.connect_timeout, options.request_timeout).map_err(tag)?;
        Ok(Self {
            host,
            base_url,
            account: "default".to_owned(),
            http,
            retry: options.retry,
            clock: options.clock,
        })
    }

    /// The same source, minting tokens for the attached service account
    /// `account` (its email) rather than the VM's default one. An empty
    /// `account` means `default`.
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        let account = account.into().trim().to_owned();
        self.account = if account.is_empty() {
            "default".to_owned()
        } else {
            account
        };
        self
    }

    /// The metadata server's host (and port, if any).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The service account tokens are minted for: `default` or an email.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The token URL for `scopes`.
    fn token_url(&self, scopes: &ScopeSet) -> String {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().extend([
                "computeMetadata",
                "v1",
                "instance",
                "service-accounts",
                self.account.as_str(),
                "token",
            ]);
        }
        if !scopes.is_empty() {
            let joined = scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(",");
            url.query_pairs_mut().append_pair("scopes", &joined);
        }
        url.into()
    }

    /// One request, classified.
    async fn attempt(&self, url: &str) -> Result<AccessToken, Failure> {
        // Expiry counts from before the request: conservative by the latency.
        let requested_at = self.clock.now();
        let response = self
            .http
            .get(url, &[(METADATA_FLAVOR_HEADER, METADATA_FLAVOR)])
            .await
            .map_err(Failure::from_error)?;
        let from_metadata_server = is_metadata_flavored(&response);
        let status = response.status;
        if (200..300).contains(&status) {
            if !from_metadata_server {
                return Err(Failure::permanent(
                    not_a_metadata_server(&self.host),
                    status,
                ));
            }
            let (secret, expires_in) = parse_token(&response.body)
                .map_err(|what| Failure::permanent(malformed(&what), status))?;
            let expires_at = requested_at
                .checked_add(Duration::from_secs(expires_in))
                .ok_or_else(|| {
                    Failure::permanent(malformed("`expires_in` is out of range"), status)
                })?;
            return Ok(AccessToken::new(secret).with_expires_at(expires_at));
        }
        let transient = matches!(status, 408 | 429) || status >= 500;
        if !from_metadata_server && !transient {
            return Err(Failure::permanent(
                format!(
                    "{} (it answered {status})",
                    not_a_metadata_server(&self.host)
                ),
                status,
            ));
        }
        let excerpt = excerpt(&response.body);
        let message = if status == 404 {
            format!(
                "the service account `{}` does not exist on this machine (the metadata \
                 server answered 404); use `default` or the email of a service account \
                 attached to the VM",
                self.account
            )
        } else if (400..500).contains(&status) && excerpt.to_ascii_lowercase().contains("scope") {
            format!(
                "the metadata server refused the token request ({status}: {excerpt}); \
                 Compute Engine ignores requested scopes, a token carries the VM's access \
                 scopes: change them with `gcloud compute instances set-service-account \
                 VM --service-account EMAIL --scopes SCOPES` (the VM must be stopped)"
            )
        } else if excerpt.is_empty() {
            format!("the metadata server answered {status}")
        } else {
            format!("the metadata server answered {status}: {excerpt}")
        };
        Err(Failure {
            message,
            status: Some(status),
            transient,
        })
    }
}

impl fmt::Debug for MetadataServerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataServerSource")
            .field("host", &self.host)
            .field("account", &self.account)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl crate::TokenSource for MetadataServerSource {
    async fn fetch(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        let url = self.token_url(scopes);
        let started = self.clock.monotonic();
        let mut jitter = self.retry.jitter();
        let mut attempt: u32 = 1;
        loop {
            let failure = match self.attempt(&url).await {
                Ok(token) => return Ok(token),
                Err(failure) => failure,
            };
            tracing::debug!(
                host = %self.host,
                account = %self.account,
                attempt,
                status = failure.status,
                transient = failure.transient,
                "metadata server token request failed"
            );
            if !failure.transient || attempt >= self.retry.max_attempts() {
                return Err(failure.into_error(attempt));
            }
            let wait = jitter.draw(self.retry.backoff_ceiling(attempt));
            let spent = self.clock.monotonic().saturating_sub(started);
            if spent.saturating_add(wait) > self.retry.max_elapsed() {
                return Err(failure.into_error(attempt));
            }
            self.clock.sleep(wait).await;
            attempt += 1;
        }
    }

    fn credential_source(&self) -> CredentialSource {
        CredentialSource::MetadataServer
    }
}

/// Whether a metadata server answers at `host` (`name` or `name:port`):
/// `Ok` if `GET http://{host}/computeMetadata/v1/` with `Metadata-Flavor:
/// Google` gets a response carrying `Metadata-Flavor: Google`, whatever its
/// status, within `timeout` (real time: it bounds the DNS lookup, the
/// connection and the response).
///
/// One attempt, no retry. The error says why not: timed out, could not
/// connect, or answered without the header (a proxy, a captive portal, or
/// something else listening there). Use [`DEFAULT_PROBE_TIMEOUT`] unless
/// there is a reason not to.
pub async fn probe_metadata_server(host: &str, timeout: Duration) -> Result<(), Error> {
    probe(host, timeout).await.map_err(tag)
}

/// [`probe_metadata_server`], its error not yet naming the credential source
/// (ADC quotes it under its own label).
pub(crate) async fn probe(host: &str, timeout: Duration) -> Result<(), Error> {
    let (host, mut url) = validate_host(host.to_owned())?;
    url.set_path("/computeMetadata/v1/");
    let http = HttpClient::direct(timeout, timeout)?;
    let response = http
        .get(url.as_str(), &[(METADATA_FLAVOR_HEADER, METADATA_FLAVOR)])
        .await
        .map_err(|error| {
            Error::transient(format!(
                "no answer to the probe (timeout {} ms): {error}",
                timeout.as_millis()
            ))
        })?;
    if is_metadata_flavored(&response) {
        Ok(())
    } else {
        Err(Error::permanent(format!(
            "{} (it answered {})",
            not_a_metadata_server(&host),
            response.status
        ))
        .with_status(response.status))
    }
}

/// [`GCE_METADATA_HOST`] if set and not empty, else [`DEFAULT_METADATA_HOST`].
fn host_from_process_env() -> String {
    std::env::var(GCE_METADATA_HOST)
        .ok()
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned())
}

/// Accepts `name` or `name:port` and returns it with its `http://{host}/`
/// URL; refuses schemes, paths and garbage, which would make surprising URLs.
fn validate_host(host: String) -> Result<(String, url::Url), Error> {
    let host = host.trim().to_owned();
    let url = if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        None
    } else {
        url::Url::parse(&format!("http://{host}/")).ok()
    };
    match url {
        Some(url) => Ok((host, url)),
        None => Err(Error::permanent(format!(
            "`{host}` is not a metadata server host: expected `name` or `name:port`, \
             without a scheme (check {GCE_METADATA_HOST})"
        ))),
    }
}

fn is_metadata_flavored(response: &HttpResponse) -> bool {
    response
        .metadata_flavor
        .as_deref()
        .is_some_and(|flavor| flavor.trim() == METADATA_FLAVOR)
}

fn not_a_metadata_server(host: &str) -> String {
    format!(
        "{host} is not a metadata server: its response lacks the `Metadata-Flavor: Google` \
         header (check {GCE_METADATA_HOST}, or a proxy in the way)"
    )
}

fn malformed(what: &str) -> String {
    format!("the metadata server's token response is malformed: {what}")
}

/// The access token and `expires_in` (seconds, number or string) of a
/// token response. The error names what is wrong without quoting values.
fn parse_token(body: &[u8]) -> Result<(String, u64), String> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        format!(
            "not JSON (line {}, column {})",
            error.line(),
            error.column()
        )
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| "not a JSON object".to_owned())?;
    let secret = object
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| "no `access_token` string".to_owned())?;
    if let Some(token_type) = object.get("token_type") {
        let bearer = token_type
            .as_str()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("bearer"));
        if !bearer {
            return Err("`token_type` is not `Bearer`".to_owned());
        }
    }
    let expires_in = match object.get("expires_in") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| "`expires_in` is missing or not a whole number of seconds".to_owned())?;
    if expires_in == 0 {
        return Err("`expires_in` is 0: the token has already expired".to_owned());
    }
    Ok((secret.to_owned(), expires_in))
}

/// The start of an error body, on one line, for an error message. Error
/// bodies of the metadata server are plain text and carry no secret.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = words.char_indices().nth(EXCERPT_CHARS) {
        words.truncate(cut);
        words.push('…');
    }
    words
}

fn tag(error: Error) -> Error {
    error.with_credential_source(CredentialSource::MetadataServer)
}

/// One failed attempt, before it becomes an [`Error`].
struct Failure {
    message: String,
    status: Option<u16>,
    transient: bool,
}

impl Failure {
    fn permanent(message: String, status: u16) -> Self {
        Self {
            message,
            status: Some(status),
            transient: false,
        }
    }

    /// A network error of the HTTP client (a timeout, a refused connection).
    fn from_error(error: Error) -> Self {
        Self {
            message: error.to_string(),
            status: error.status(),
            transient: error.is_transient(),
        }
    }

    fn into_error(self, attempts: u32) -> Error {
        let message = if attempts > 1 {
            format!("{} (gave up after {attempts} attempts)", self.message)
        } else {
            self.message
        };
        let error = if self.transient {
            Error::transient(message)
        } else {
            Error::permanent(message)
        };
        let error = match self.status {
            Some(status) => error.with_status(status),
            None => error,
        };
        tag(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_parse_numbers_and_strings_and_refuse_the_rest() {
        let ok = |body: &str| parse_token(body.as_bytes()).map(|(_, secs)| secs);
        assert_eq!(
            ok(r#"{"access_token":"t","expires_in":3599,"token_type":"Bearer"}"#),
            Ok(3599)
        );
        assert_eq!(ok(r#"{"access_token":"t","expires_in":" 60 "}"#), Ok(60));
        for (body, why) in [
            ("{", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"expires_in":1}"#, "access_token"),
            (r#"{"access_token":"","expires_in":1}"#, "access_token"),
            (r#"{"access_token":"t"}"#, "expires_in"),
            (r#"{"access_token":"t","expires_in":-5}"#, "expires_in"),
            (r#"{"access_token":"t","expires_in":"soon"}"#, "expires_in"),
            (r#"{"access_token":"t","expires_in":0}"#, "already expired"),
            (
                r#"{"access_token":"t","expires_in":1,"token_type":"mac"}"#,
                "token_type",
            ),
        ] {
            let error = ok(body).expect_err(body);
            assert!(error.contains(why), "{body}: {error}");
        }
    }

    #[test]
    fn secrets_never_reach_parse_errors() {
        let error = parse_token(br#"{"access_token":"ya29.secret","expires_in":"ya29.x"}"#)
            .expect_err("bad expires_in");
        assert!(!error.contains("ya29"), "{error}");
    }

    #[test]
    fn hosts_are_names_with_optional_ports() {
        for good in ["metadata.google.internal", "127.0.0.1:8080", " [::1]:80 "] {
            assert!(validate_host(good.to_owned()).is_ok(), "{good}");
        }
        for bad in [
            "",
            "http://metadata",
            "host/path",
            "a b",
            "user@host",
            "h:port",
        ] {
            let error = validate_host(bad.to_owned()).expect_err(bad);
            assert!(error.to_string().contains(GCE_METADATA_HOST), "{error}");
        }
    }

    #[test]
    fn excerpts_are_one_bounded_line() {
        assert_eq!(excerpt(b"  no\n such   thing "), "no such thing");
        let long = "x".repeat(500);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT_CHARS + 1);
    }
}
