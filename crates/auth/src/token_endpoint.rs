//! The OAuth 2.0 token endpoint exchange (RFC 6749 §3.2, §5) shared by the
//! grants: the refresh-token grant of [`crate::AuthorizedUserSource`] and the
//! JWT-bearer grant (RFC 7523) of [`crate::ServiceAccountSource`].
//!
//! One exchange is a form-encoded POST, retried with jittered backoff on the
//! [`HttpOptions`] clock when the failure is transient (5xx, 408, 429,
//! `temporarily_unavailable`, `server_error`, connection errors and
//! timeouts) and never otherwise (`invalid_grant` and the other 4xx).
//!
//! Secrets: the request form holds a client secret, refresh token or
//! assertion, and a successful response holds the access token. Neither is
//! ever logged or put in an error: success bodies are never quoted, and the
//! `error_description` of an error body is quoted only after every secret of
//! the request has been cut out of it.

pub(crate) mod key_file;

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use taskqueue_clock::{RetryPolicy, SharedClock};
use url::Url;

use crate::http::{HttpClient, HttpResponse};
use crate::{
    AccessToken, ClockSkew, CredentialSource, Error, GOOGLE_TOKEN_URI, HttpOptions, OAuthErrorCode,
    ScopeSet, SecretString,
};

/// Form fields whose values are secrets, cut out of anything quoted.
const SECRET_FIELDS: [&str; 3] = ["client_secret", "refresh_token", "assertion"];

/// The longest server-provided text (an `error_description`) quoted.
const MAX_QUOTED_CHARS: usize = 300;

/// Which grant an exchange performs; it shapes the hints in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// `grant_type=refresh_token`.
    RefreshToken,
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.
    JwtBearer,
}

impl Grant {
    /// The `grant_type` form value.
    pub(crate) fn grant_type(self) -> &'static str {
        match self {
            Grant::RefreshToken => "refresh_token",
            Grant::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Grant::RefreshToken => "refresh_token",
            Grant::JwtBearer => "jwt-bearer",
        }
    }
}

/// What a successful exchange yields besides the access token.
#[derive(Debug)]
pub(crate) struct TokenResponse {
    /// The access token, its expiry and granted scopes.
    pub(crate) token: AccessToken,
    /// A new refresh token, when the server rotated it.
    pub(crate) refresh_token: Option<SecretString>,
    /// An OpenID Connect ID token, when the server sent one.
    #[allow(dead_code)] // Kept for ID-token support; no caller reads it yet.
    pub(crate) id_token: Option<SecretString>,
}

/// A token endpoint: where to POST, how to retry, which clock to read.
pub(crate) struct TokenEndpoint {
    uri: Url,
    http: HttpClient,
    retry: RetryPolicy,
    clock: SharedClock,
    source: CredentialSource,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("uri", &display_endpoint(&self.uri))
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// An endpoint at `uri` (checked: an absolute `http` or `https` URL),
    /// reached with a client built from `options`; errors name `source`.
    pub(crate) fn new(
        uri: &str,
        options: &HttpOptions,
        source: CredentialSource,
    ) -> Result<Self, Error> {
        let uri = parse_endpoint(uri)
            .map_err(|why| Error::permanent(why).with_credential_source(source))?;
        let http = HttpClient::new(
            options.connect_timeout,
            options.request_timeout,
            &options.network,
        )
        .map_err(|error| error.with_credential_source(source))?;
        Ok(Self {
            uri,
            http,
            retry: options.retry.clone(),
            clock: options.clock.clone(),
            source,
        })
    }

    /// The same endpoint at another URI (checked like in [`Self::new`]).
    pub(crate) fn with_uri(mut self, uri: &str) -> Result<Self, Error> {
        self.uri = parse_endpoint(uri)
            .map_err(|why| Error::permanent(why).with_credential_source(self.source))?;
        Ok(self)
    }

    /// The token URI, as given.
    pub(crate) fn uri(&self) -> &str {
        self.uri.as_str()
    }

    /// The clock for expiry and JWT timestamps.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// POSTs `form` (which must hold `grant_type`) and turns the answer into
    /// a token for `requested`, retrying transient failures per the policy.
    pub(crate) async fn exchange(
        &self,
        grant: Grant,
        form: &[(&str, &str)],
        requested: &ScopeSet,
    ) -> Result<TokenResponse, Error> {
        let endpoint = display_endpoint(&self.uri);
        let secrets = secrets_of(form);
        let context = Context {
            grant,
            endpoint: &endpoint,
            requested,
            secrets: &secrets,
        };
        let started = self.clock.monotonic();
        let mut jitter = self.retry.jitter();
        let mut attempt = 0_u32;
        loop {
            attempt += 1;
            let failure = match self.attempt(&context, form, attempt).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if !failure.transient || attempt >= self.retry.max_attempts() {
                return Err(failure.into_error(self.source, attempt));
            }
            let delay = jitter.draw(self.retry.backoff_ceiling(attempt));
            let spent = self.clock.monotonic().saturating_sub(started);
            if spent.saturating_add(delay) > self.retry.max_elapsed() {
                return Err(failure.into_error(self.source, attempt));
            }
            tracing::debug!(
                endpoint = %endpoint,
                grant = grant.name(),
                attempt,
                delay_ms = millis(delay),
                error = %failure.message,
                "retrying the token request after a transient failure"
            );
            self.clock.sleep(delay).await;
        }
    }

    /// One POST and its interpretation, traced.
    async fn attempt(
        &self,
        context: &Context<'_>,
        form: &[(&str, &str)],
        attempt: u32,
    ) -> Result<TokenResponse, Failure> {
        let (endpoint, grant) = (context.endpoint, context.grant.name());
        let sent_at = self.clock.now();
        let started = self.clock.monotonic();
        let result = self.http.post_form(self.uri.as_str(), form).await;
        let latency_ms = millis(self.clock.monotonic().saturating_sub(started));
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(
                    endpoint,
                    grant,
                    attempt,
                    latency_ms,
                    error = %error,
                    "token request failed"
                );
                return Err(Failure::from_transport(&error));
            }
        };
        tracing::debug!(
            endpoint,
            grant,
            attempt,
            status = response.status,
            latency_ms,
            "token endpoint answered"
        );
        let answered_at = self.clock.now();
        let response = interpret(context, response, sent_at, answered_at)?;
        tracing::debug!(
            endpoint,
            grant,
            attempt,
            lifetime_s = response
                .token
                .remaining_lifetime(sent_at)
                .map_or(0, |left| left.as_secs()),
            rotated_refresh_token = response.refresh_token.is_some(),
            "token obtained"
        );
        Ok(response)
    }
}

/// What [`interpret`] needs to know about the request.
struct Context<'a> {
    grant: Grant,
    endpoint: &'a str,
    requested: &'a ScopeSet,
    secrets: &'a [String],
}

/// One failed attempt, before it becomes an [`Error`].
struct Failure {
    message: String,
    transient: bool,
    status: Option<u16>,
    code: Option<OAuthErrorCode>,
    skew: Option<ClockSkew>,
}

impl Failure {
    fn new(message: String, transient: bool, status: Option<u16>) -> Self {
        Self {
            message,
            transient,
            status,
            code: None,
            skew: None,
        }
    }

    /// A failure of the HTTP client itself (connection, timeout, size).
    fn from_transport(error: &Error) -> Self {
        // The client's errors carry no credential source yet, so their
        // Display is their message alone.
        Self::new(error.to_string(), error.is_transient(), error.status())
    }

    fn into_error(self, source: CredentialSource, attempts: u32) -> Error {
        let mut message = self.message;
        if attempts > 1 {
            message.push_str(&format!(" (gave up after {attempts} attempts)"));
        }
        let mut error = if self.transient {
            Error::transient(message)
        } else {
            Error::permanent(message)
        }
        .with_credential_source(source);
        if let Some(status) = self.status {
            error = error.with_status(status);
        }
        if let Some(code) = self.code {
            error = error.with_oauth_error(code);
        }
        if let Some(skew) = self.skew {
            error = error.with_clock_skew(skew);
        }
        error
    }
}

/// The token of a success answer, or why the answer is a failure.
/// `sent_at` starts the token's lifetime; `answered_at` is compared with
/// the server's `Date` for clock skew.
fn interpret(
    context: &Context<'_>,
    response: HttpResponse,
    sent_at: SystemTime,
    answered_at: SystemTime,
) -> Result<TokenResponse, Failure> {
    let status = response.status;
    let skew = response.date.map(|date| clock_skew(answered_at, date));
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let is_error_body = parsed
        .as_ref()
        .is_some_and(|body| body.get("error").is_some() && body.get("access_token").is_none());
    if (200..300).contains(&status) && !is_error_body {
        return parse_success(context, status, &response.body, sent_at);
    }
    let mut failure = match parsed.as_ref().filter(|_| is_error_body) {
        Some(body) => oauth_error(context, status, body, skew),
        None => Failure::new(
            format!(
                "the token endpoint {} answered HTTP {status} with a body that is not an OAuth \
                 error response ({} bytes, not shown)",
                context.endpoint,
                response.body.len()
            ),
            status_is_transient(status),
            Some(status),
        ),
    };
    failure.skew = skew;
    Err(failure)
}

/// The access token of a 2xx body. The body holds the token, so no part of
/// it is ever quoted, nor is a serde error (which may quote values) kept.
fn parse_success(
    context: &Context<'_>,
    status: u16,
    body: &[u8],
    sent_at: SystemTime,
) -> Result<TokenResponse, Failure> {
    let endpoint = context.endpoint;
    let malformed = |why: String| {
        Failure::new(
            format!(
                "the token endpoint {endpoint} answered HTTP {status} with a malformed token \
                 response: {why}"
            ),
            false,
            Some(status),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        malformed(format!(
            "it is not JSON (syntax error at line {}, column {}; body not shown)",
            error.line(),
            error.column()
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(malformed("it is not a JSON object".to_owned()));
    };
    let string = |field: &str| -> Result<Option<&str>, Failure> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(malformed(format!("`{field}` is not a string"))),
        }
    };
    let access_token = match string("access_token")? {
        Some(token) if !token.is_empty() => token,
        Some(_) => return Err(malformed("`access_token` is empty".to_owned())),
        None => return Err(malformed("`access_token` is missing".to_owned())),
    };
    if let Some(token_type) = string("token_type")?
        && !token_type.eq_ignore_ascii_case("bearer")
    {
        return Err(malformed(format!(
            "`token_type` is {}, but only Bearer tokens are supported",
            quote_token_type(token_type)
        )));
    }
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => return Err(malformed("`expires_in` is missing".to_owned())),
        Some(value) => parse_expires_in(value).ok_or_else(|| {
            malformed("`expires_in` is not a positive number of seconds".to_owned())
        })?,
    };
    // RFC 6749 §5.1: `scope` is optional if identical to the scope
    // requested, so its absence means the requested scopes were granted.
    let granted = string("scope")?
        .map(ScopeSet::parse_space_separated)
        .filter(|scopes| !scopes.is_empty())
        .unwrap_or_else(|| context.requested.clone());
    let refresh_token = string("refresh_token")?
        .filter(|token| !token.is_empty())
        .map(SecretString::from);
    let id_token = string("id_token")?
        .filter(|token| !token.is_empty())
        .map(SecretString::from);
    // The lifetime counts from when the request was sent: the server cannot
    // have issued the token earlier, so the expiry is never overestimated.
    let expires_at = sent_at
        .checked_add(expires_in)
        .ok_or_else(|| malformed("`expires_in` is too large to be a token lifetime".to_owned()))?;
    let token = AccessToken::new(access_token)
        .with_expires_at(expires_at)
        .with_granted_scopes(granted);
    Ok(TokenResponse {
        token,
        refresh_token,
        id_token,
    })
}

/// `expires_in` as Google sends it (a number) or as some servers do (a
/// string of digits); zero and negative lifetimes are refused.
fn parse_expires_in(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 1.0)
                .map(|s| s as u64)
        }),
        Value::String(text) => text.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// A `token_type` value, quoted only if it looks like one.
fn quote_token_type(token_type: &str) -> String {
    let plausible = token_type.len() <= 20
        && token_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plausible {
        format!("`{token_type}`")
    } else {
        "an unexpected value (not shown)".to_owned()
    }
}

/// An RFC 6749 §5.2 error body (`{"error": "...", "error_description": ...}`),
/// or Google's API envelope (`{"error": {"code", "message", "status"}}`).
fn oauth_error(
    context: &Context<'_>,
    status: u16,
    body: &Value,
    skew: Option<ClockSkew>,
) -> Failure {
    let (code, label, description) = match body.get("error") {
        Some(Value::String(code)) => {
            let code = OAuthErrorCode::parse(code);
            let label = quote(code.as_str(), context.secrets);
            let description = body.get("error_description").and_then(Value::as_str);
            (Some(code), label, description)
        }
        // Not an OAuth error: Google's API error envelope (a wrong URL, say).
        Some(Value::Object(envelope)) => (
            None,
            envelope
                .get("status")
                .and_then(Value::as_str)
                .map_or_else(|| "an error".to_owned(), |s| quote(s, context.secrets)),
            envelope.get("message").and_then(Value::as_str),
        ),
        _ => (None, "an error".to_owned(), None),
    };
    let description = description
        .map(|text| quote(text, context.secrets))
        .filter(|text| !text.is_empty());
    let mut message = format!(
        "the token endpoint {} answered HTTP {status} {label}",
        context.endpoint
    );
    if let Some(description) = &description {
        message.push_str(&format!(" (\"{description}\")"));
    }
    let hint = hint(context, code.as_ref(), description.as_deref(), skew);
    if !hint.is_empty() {
        message.push_str(": ");
        message.push_str(&hint);
    }
    let transient = match &code {
        Some(OAuthErrorCode::TemporarilyUnavailable | OAuthErrorCode::ServerError) => true,
        Some(OAuthErrorCode::Other(other)) if other == "internal_failure" => true,
        Some(OAuthErrorCode::Other(_)) | None => status_is_transient(status),
        // A definite OAuth verdict: retrying sends the same request again.
        Some(_) => false,
    };
    Failure {
        message,
        transient,
        status: Some(status),
        code,
        skew,
    }
}

/// What to do about an OAuth error, in words.
fn hint(
    context: &Context<'_>,
    code: Option<&OAuthErrorCode>,
    description: Option<&str>,
    skew: Option<ClockSkew>,
) -> String {
    let Some(code) = code else {
        return String::new();
    };
    match (code, context.grant) {
        (OAuthErrorCode::InvalidGrant, Grant::JwtBearer) if mentions_jwt_time(description) => {
            let measured = match skew {
                Some(skew) => format!(
                    "the local clock is {} {} the token endpoint's (its `Date` header)",
                    describe_duration(skew.difference),
                    if skew.local_ahead {
                        "ahead of"
                    } else {
                        "behind"
                    }
                ),
                None => "the server sent no `Date` header to compare with".to_owned(),
            };
            format!(
                "the JWT's `iat`/`exp` were refused, which usually means the local clock is \
                 wrong: {measured}; synchronize the clock (NTP) and try again"
            )
        }
        (OAuthErrorCode::InvalidGrant, Grant::JwtBearer) => {
            "the service account's JWT was refused: check that the key has not been deleted \
             or disabled, and, with a subject, that the service account may impersonate that \
             user (domain-wide delegation)"
                .to_owned()
        }
        (OAuthErrorCode::InvalidGrant, Grant::RefreshToken) => {
            "the refresh token was revoked or has expired; sign in again with \
             `gcloud auth application-default login` (or obtain a new refresh token)"
                .to_owned()
        }
        (OAuthErrorCode::InvalidClient, _) => {
            "the OAuth client was not recognized: check the client_id and client_secret (the \
             client may have been deleted)"
                .to_owned()
        }
        (OAuthErrorCode::InvalidScope, _) => {
            let scopes = context.requested.to_space_separated();
            if scopes.is_empty() {
                "no scope was requested; request at least one".to_owned()
            } else {
                format!("the requested scopes were refused: {scopes}")
            }
        }
        (OAuthErrorCode::UnauthorizedClient, Grant::JwtBearer) => format!(
            "the service account may not obtain tokens this way or for these scopes; with a \
             subject, authorize its client ID for {} in the Workspace admin console \
             (domain-wide delegation)",
            context.requested.to_space_separated()
        ),
        (OAuthErrorCode::UnauthorizedClient, Grant::RefreshToken) => {
            "the OAuth client may not use the refresh_token grant".to_owned()
        }
        (OAuthErrorCode::TemporarilyUnavailable | OAuthErrorCode::ServerError, _) => {
            "the token endpoint is temporarily unavailable; try again later".to_owned()
        }
        _ => String::new(),
    }
}

/// Whether an `invalid_grant` description blames the JWT's timestamps
/// ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a
/// reasonable timeframe. Check your iat and exp values...").
fn mentions_jwt_time(description: Option<&str>) -> bool {
    let Some(description) = description else {
        return false;
    };
    let lower = description.to_ascii_lowercase();
    ["iat", "exp", "short-lived", "timeframe", "too early"]
        .iter()
        .any(|word| {
            lower
                .match_indices(word)
                .any(|(at, _)| is_word_at(&lower, at, word.len()))
        })
}

/// Whether `text[at..at + len]` is a whole word.
fn is_word_at(text: &str, at: usize, len: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    boundary(before) && boundary(after)
}

/// How far `local` is from the server's `date` (whole seconds: `Date` has no
/// finer resolution).
fn clock_skew(local: SystemTime, date: SystemTime) -> ClockSkew {
    let truncate = |d: Duration| Duration::from_secs(d.as_secs());
    match local.duration_since(date) {
        Ok(ahead) => ClockSkew {
            difference: truncate(ahead),
            local_ahead: !ahead.is_zero(),
        },
        Err(behind) => ClockSkew {
            difference: truncate(behind.duration()),
            local_ahead: false,
        },
    }
}

/// A duration for people: `3h 2m 5s`.
fn describe_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m {seconds}s"),
        _ => format!("{hours}h {minutes}m {seconds}s"),
    }
}

/// The secret values of a request form, as sent and form-encoded (a server
/// echoing the raw body echoes the encoded form), longest first so that no
/// secret is left half-censored by a shorter one.
fn secrets_of(form: &[(&str, &str)]) -> Vec<String> {
    let mut secrets: Vec<String> = form
        .iter()
        .filter(|(name, value)| SECRET_FIELDS.contains(name) && !value.is_empty())
        .flat_map(|(_, value)| {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            [(*value).to_owned(), encoded]
        })
        .collect();
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets.dedup();
    secrets
}

/// Server text fit to quote: secrets of the request cut out, control
/// characters replaced, at most [`MAX_QUOTED_CHARS`] characters.
fn quote(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "[censored]");
        }
    }
    let mut quoted: String = text
        .chars()
        .map(|c| if c.is_control() || c == '"' { ' ' } else { c })
        .take(MAX_QUOTED_CHARS)
        .collect();
    if text.chars().count() > MAX_QUOTED_CHARS {
        quoted.push('…');
    }
    quoted.trim().to_owned()
}

/// Whether an HTTP status alone says "try again later".
fn status_is_transient(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// An absolute `http`/`https` URL, or why not.
pub(crate) fn parse_endpoint(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri.trim()).map_err(|error| {
        format!("the token URI is not a valid URL ({error}); expected e.g. {GOOGLE_TOKEN_URI}")
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(format!(
            "the token URI must be an http(s) URL with a host, such as {GOOGLE_TOKEN_URI}"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the token URI must not hold a user name or password".to_owned());
    }
    Ok(url)
}

/// The endpoint as logged and put in errors: no user info, no query, no
/// fragment.
fn display_endpoint(uri: &Url) -> String {
    let host = uri.host_str().unwrap_or_default();
    match uri.port() {
        Some(port) => format!("{}://{host}:{port}{}", uri.scheme(), uri.path()),
        None => format!("{}://{host}{}", uri.scheme(), uri.path()),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
