//! Shared test helpers: a virtual clock, HTTP options on it, key and key-file
//! fixtures, wiremock token-endpoint helpers, independent JWT verification
//! and a capture of all tracing output.
//!
//! Not every test module uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use taskqueue_auth::clock::{RetryPolicy, VirtualClock};
use taskqueue_auth::{Error, HttpOptions};
use tracing::subscriber::DefaultGuard;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------- time ----

/// The virtual clock's start: 2023-11-14T22:13:20Z, a whole second, so
/// `Date` headers (second resolution) compare exactly.
pub(crate) const START_SECS: u64 = 1_700_000_000;

/// [`START_SECS`] as a `SystemTime`.
pub(crate) fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START_SECS)
}

/// A virtual clock at [`START_SECS`] whose sleeps complete at once, moving
/// virtual time (and are logged: see `VirtualClock::sleeps`).
pub(crate) fn virtual_clock() -> VirtualClock {
    let clock = VirtualClock::new(start_time());
    clock.set_auto_advance(true);
    clock
}

/// The default retry policy of [`HttpOptions`] with reproducible jitter.
pub(crate) fn retry_policy() -> RetryPolicy {
    HttpOptions::default().retry.with_jitter_seed(7)
}

/// The default [`HttpOptions`] on `clock`, with reproducible jitter and
/// short real-time socket timeouts (loopback only).
pub(crate) fn http_options(clock: &VirtualClock) -> HttpOptions {
    let mut options = HttpOptions::default()
        .with_clock(Arc::new(clock.clone()))
        .with_retry(retry_policy());
    options.connect_timeout = Duration::from_secs(2);
    options.request_timeout = Duration::from_secs(10);
    options
}

/// Asserts that `clock` logged exactly `count` backoff sleeps, each within
/// the ceiling `policy` allows for its retry.
pub(crate) fn assert_backoff_sleeps(clock: &VirtualClock, policy: &RetryPolicy, count: usize) {
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), count, "backoff sleeps: {sleeps:?}");
    for (retry, sleep) in (1..).zip(&sleeps) {
        assert!(
            *sleep <= policy.backoff_ceiling(retry),
            "sleep {retry} of {sleep:?} exceeds {:?}",
            policy.backoff_ceiling(retry)
        );
    }
}

// ------------------------------------------------------------ fixtures ----

/// The path of a test key or credential file (`taskqueue_test_support::keys`).
pub(crate) fn data_path(name: &str) -> PathBuf {
    taskqueue_test_support::keys::path(name)
}

/// The text of a test key or credential file.
pub(crate) fn read_data(name: &str) -> String {
    let path = data_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The test RSA key (2048 bits), PKCS#8 PEM.
pub(crate) fn rsa_pkcs8_pem() -> String {
    read_data("test_rsa_pkcs8.pem")
}

/// The same key, PKCS#1 PEM.
pub(crate) fn rsa_pkcs1_pem() -> String {
    read_data("test_rsa_pkcs1.pem")
}

/// A P-256 key, PKCS#8 PEM: valid PEM, but not RSA.
pub(crate) fn ec_pkcs8_pem() -> String {
    read_data("test_ec_p256_pkcs8.pem")
}

/// The base64 body lines of a PEM text (key material, to look for leaks).
pub(crate) fn pem_body_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|line| !line.starts_with("-----") && !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The DER of a PEM text's first section (no validation of its label).
pub(crate) fn pem_der(pem: &str) -> Vec<u8> {
    STANDARD
        .decode(pem_body_lines(pem).concat())
        .expect("PEM body is base64")
}

/// The `service_account.json` fixture.
pub(crate) fn service_account_json() -> Value {
    serde_json::from_str(&read_data("service_account.json")).expect("fixture is JSON")
}

/// The `authorized_user.json` fixture.
pub(crate) fn authorized_user_json() -> Value {
    serde_json::from_str(&read_data("authorized_user.json")).expect("fixture is JSON")
}

/// `json` (an object) with fields set (`Some`) or removed (`None`).
pub(crate) fn edit_json(mut json: Value, edits: &[(&str, Option<Value>)]) -> Value {
    let object = json.as_object_mut().expect("a JSON object");
    for (field, value) in edits {
        match value {
            Some(value) => object.insert((*field).to_owned(), value.clone()),
            None => object.remove(*field),
        };
    }
    json
}

/// A temporary file holding `contents`, deleted when dropped.
pub(crate) fn temp_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents.as_bytes())
        .expect("write temp file");
    file
}

/// A loopback `host:port` where nothing listens.
pub(crate) fn closed_port_host() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address.to_string()
}

// ------------------------------------------------------ token endpoint ----

/// Where the mock token endpoint listens on its server.
pub(crate) const TOKEN_PATH: &str = "/token";

/// The token URI of the mock token endpoint on `server`.
pub(crate) fn token_uri(server: &MockServer) -> String {
    format!("{}{TOKEN_PATH}", server.uri())
}

/// A successful token answer.
pub(crate) fn token_success(access_token: &str, expires_in: Value) -> ResponseTemplate {
    token_json(
        200,
        serde_json::json!({
            "access_token": access_token,
            "expires_in": expires_in,
            "token_type": "Bearer",
        }),
    )
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: u16, code: &str, description: &str) -> ResponseTemplate {
    token_json(
        status,
        serde_json::json!({"error": code, "error_description": description}),
    )
}

/// An answer with a JSON body, as Google's token endpoint sends it.
pub(crate) fn token_json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body.to_string())
}

/// Mounts `responses` on the token path, answered once each, in order.
pub(crate) async fn mount_sequence(server: &MockServer, responses: Vec<ResponseTemplate>) {
    for response in responses {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(response)
            .up_to_n_times(1)
            .mount(server)
            .await;
    }
}

/// The form fields of a token request.
pub(crate) fn form_of(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The forms of every request `server` received, in order.
pub(crate) async fn received_forms(server: &MockServer) -> Vec<BTreeMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(form_of)
        .collect()
}

/// `BTreeMap` of string pairs, for comparing forms.
pub(crate) fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

// ----------------------------------------------------------------- JWT ----

/// The header and claims of `jwt`, after checking its RS256 signature with
/// the test key's public half using jsonwebtoken (not this crate's code),
/// and that no segment is padded.
pub(crate) fn verify_jwt(jwt: &str) -> (jsonwebtoken::Header, Value) {
    let segments: Vec<&str> = jwt.split('.').collect();
    assert_eq!(segments.len(), 3, "a JWS compact serialization");
    for segment in &segments {
        assert!(!segment.contains('='), "padded segment");
        URL_SAFE_NO_PAD
            .decode(segment)
            .expect("unpadded base64url segment");
    }
    let key =
        jsonwebtoken::DecodingKey::from_rsa_der(&pem_der(&read_data("test_rsa_public_pkcs1.pem")));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    // Virtual time is in 2023: the test checks iat/exp/aud itself.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("a valid RS256 JWT");
    let raw_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments[0]).expect("header"))
            .expect("header JSON");
    assert_eq!(raw_header["typ"], "JWT", "typ header");
    (data.header, data.claims)
}

// -------------------------------------------------------------- traces ----

/// Everything every `tracing` event (TRACE and up) on this thread wrote
/// while the capture was alive. Use a current-thread runtime.
#[derive(Clone, Debug, Default)]
pub(crate) struct TraceCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl TraceCapture {
    /// Starts capturing on this thread until the guard is dropped.
    pub(crate) fn start() -> (Self, DefaultGuard) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Call sites first hit by another test thread, which has no
        // subscriber, may have cached "never interested": recompute.
        tracing::callsite::rebuild_interest_cache();
        (capture, guard)
    }

    /// What was captured so far.
    pub(crate) fn contents(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl std::io::Write for TraceCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything an error shows: Display, Debug and its source chain.
pub(crate) fn error_text(error: &Error) -> String {
    let mut text = format!("{error}\n{error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause}\n{cause:?}"));
        source = cause.source();
    }
    text
}
