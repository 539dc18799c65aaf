//! `MetadataServerSource` and `probe_metadata_server` against a wiremock
//! metadata server on loopback, in virtual time.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use taskqueue_auth::clock::{Clock, RetryPolicy, VirtualClock};
use taskqueue_auth::{
    CredentialSource, Error, HttpOptions, MetadataServerSource, Scope, ScopeSet, TokenSource,
    probe_metadata_server,
};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A clock whose backoff sleeps complete at once, moving virtual time.
pub(crate) fn virtual_clock() -> VirtualClock {
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    clock.set_auto_advance(true);
    clock
}

/// The metadata source's defaults on `clock`, with reproducible jitter.
pub(crate) fn options(clock: &VirtualClock) -> HttpOptions {
    let defaults = MetadataServerSource::default_options();
    let retry = defaults.retry.clone().with_jitter_seed(7);
    defaults
        .with_clock(Arc::new(clock.clone()))
        .with_retry(retry)
}

/// The `host:port` of a wiremock server.
pub(crate) fn host_of(server: &MockServer) -> String {
    server.address().to_string()
}

/// A metadata server's successful token answer.
pub(crate) fn token_response(expires_in: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Metadata-Flavor", "Google")
        .set_body_json(serde_json::json!({
            "access_token": "ya29.metadata-secret",
            "expires_in": expires_in,
            "token_type": "Bearer",
        }))
}

/// A loopback `host:port` where nothing listens.
pub(crate) fn closed_port_host() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address.to_string()
}

fn source(server: &MockServer, clock: &VirtualClock) -> MetadataServerSource {
    MetadataServerSource::at_host(host_of(server), options(clock)).expect("source")
}

fn task_queue_scopes() -> ScopeSet {
    ScopeSet::from([Scope::CloudTaskqueueConsumer, Scope::Taskqueue])
}

#[tokio::test]
async fn token_request_has_the_exact_path_query_and_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TOKEN_PATH))
        .and(query_param(
            "scopes",
            "https://www.googleapis.com/auth/taskqueue,\
             https://www.googleapis.com/auth/cloud-taskqueue.consumer",
        ))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(token_response(serde_json::json!(3599)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = virtual_clock();
    let start = clock.now();

    let source = source(&server, &clock);
    assert_eq!(source.account(), "default");
    assert_eq!(source.credential_source(), CredentialSource::MetadataServer);
    let token = source.fetch(&task_queue_scopes()).await.expect("token");

    assert_eq!(token.secret(), "ya29.metadata-secret");
    assert_eq!(token.expires_at(), Some(start + Duration::from_secs(3599)));
    // Compute Engine ignores requested scopes: none are recorded.
    assert_eq!(token.granted_scopes(), None);
    // The scope list is one URL-encoded value, commas included.
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(
        requests[0].url.query(),
        Some(
            "scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Ftaskqueue%2C\
             https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-taskqueue.consumer"
        )
    );
    assert!(clock.sleeps().is_empty());
    assert!(!format!("{source:?}").contains("ya29"));
}

#[tokio::test]
async fn an_empty_scope_set_sends_no_query_and_an_account_names_its_path() {
    let server = MockServer::start().await;
    let email = "robot@my-project.iam.gserviceaccount.com";
    Mock::given(method("GET"))
        .and(path(format!(
            "/computeMetadata/v1/instance/service-accounts/{email}/token"
        )))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(token_response(serde_json::json!(60)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = virtual_clock();

    let source = source(&server, &clock).with_account(email);
    assert_eq!(source.account(), email);
    source.fetch(&ScopeSet::new()).await.expect("token");

    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn expires_in_may_be_a_number_or_a_string() {
    for (expires_in, seconds) in [
        (serde_json::json!(3599), 3599),
        (serde_json::json!("3599"), 3599),
        (serde_json::json!(1), 1),
        (serde_json::json!(" 120 "), 120),
    ] {
        let server = MockServer::start().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(token_response(expires_in.clone()))
            .mount(&server)
            .await;
        let clock = virtual_clock();
        let start = clock.now();
        let token = source(&server, &clock)
            .fetch(&task_queue_scopes())
            .await
            .expect("token");
        assert_eq!(
            token.expires_at(),
            Some(start + Duration::from_secs(seconds)),
            "{expires_in}"
        );
    }
}

/// One failure case: the server's answer and what the error must say.
struct Refusal {
    name: &'static str,
    response: ResponseTemplate,
    status: u16,
    says: &'static [&'static str],
}

#[tokio::test]
async fn permanent_failures_are_explained_and_not_retried() {
    let flavored =
        |status: u16| ResponseTemplate::new(status).insert_header("Metadata-Flavor", "Google");
    let cases = [
        Refusal {
            name: "200 without Metadata-Flavor",
            response: ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "ya29.proxy", "expires_in": 3599,
            })),
            status: 200,
            says: &["not a metadata server", "Metadata-Flavor: Google"],
        },
        Refusal {
            name: "404 without Metadata-Flavor",
            response: ResponseTemplate::new(404).set_body_string("Not Found"),
            status: 404,
            says: &["not a metadata server", "404"],
        },
        Refusal {
            name: "403 about scopes",
            response: flavored(403).set_body_string(
                "Request had insufficient authentication scopes for the requested scopes",
            ),
            status: 403,
            says: &[
                "403",
                "insufficient authentication scopes",
                "Compute Engine ignores requested scopes",
                "access scopes",
                "gcloud compute instances set-service-account",
                "--scopes",
            ],
        },
        Refusal {
            name: "404 account",
            response: flavored(404).set_body_string("Not Found"),
            status: 404,
            says: &["service account `default` does not exist on this machine"],
        },
        Refusal {
            name: "400 other",
            response: flavored(400).set_body_string("bad\n request"),
            status: 400,
            says: &["answered 400: bad request"],
        },
        Refusal {
            name: "malformed JSON",
            response: flavored(200).set_body_string("{\"access_token\": \"ya29.half"),
            status: 200,
            says: &["malformed", "not JSON"],
        },
        Refusal {
            name: "expires_in out of range",
            response: flavored(200).set_body_json(
                serde_json::json!({"access_token": "ya29.x", "expires_in": u64::MAX}),
            ),
            status: 200,
            says: &["malformed", "out of range"],
        },
        Refusal {
            name: "no expires_in",
            response: flavored(200).set_body_json(
                serde_json::json!({"access_token": "ya29.x", "token_type": "Bearer"}),
            ),
            status: 200,
            says: &["malformed", "expires_in"],
        },
    ];
    for case in cases {
        let server = MockServer::start().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(case.response)
            .expect(1)
            .mount(&server)
            .await;
        let clock = virtual_clock();

        let error = source(&server, &clock)
            .fetch(&task_queue_scopes())
            .await
            .expect_err(case.name);

        let message = error.to_string();
        assert!(
            message.starts_with("metadata server: "),
            "{}: {message}",
            case.name
        );
        for needle in case.says {
            assert!(message.contains(needle), "{}: {message}", case.name);
        }
        assert!(!message.contains("ya29"), "{}: {message}", case.name);
        assert!(!error.is_transient(), "{}", case.name);
        assert_eq!(error.status(), Some(case.status), "{}", case.name);
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::MetadataServer)
        );
        assert!(clock.sleeps().is_empty(), "{}", case.name);
        server.verify().await;
    }
}

#[tokio::test]
async fn a_503_is_retried_after_one_virtual_backoff() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Metadata-Flavor", "Google")
                .set_body_string("try later"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(TOKEN_PATH))
        .respond_with(token_response(serde_json::json!(3599)))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let clock = virtual_clock();

    let token = source(&server, &clock)
        .fetch(&task_queue_scopes())
        .await
        .expect("token after one retry");

    assert_eq!(token.secret(), "ya29.metadata-secret");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
    assert!(sleeps[0] <= Duration::from_millis(100), "{sleeps:?}");
    // The expiry counts from the second attempt, after the virtual backoff.
    assert_eq!(
        token.expires_at(),
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 3599) + sleeps[0])
    );
}

#[tokio::test]
async fn transient_failures_give_up_after_the_policy_attempts() {
    for (name, answer) in [
        ("429", ResponseTemplate::new(429)),
        ("408", ResponseTemplate::new(408)),
        ("500 without Metadata-Flavor", ResponseTemplate::new(500)),
    ] {
        let server = MockServer::start().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(answer)
            .expect(3)
            .mount(&server)
            .await;
        let clock = virtual_clock();
        let options = options(&clock).with_retry(
            RetryPolicy::new()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(100))
                .with_jitter_seed(1),
        );
        let source = MetadataServerSource::at_host(host_of(&server), options).expect("source");

        let error = source.fetch(&task_queue_scopes()).await.expect_err(name);

        assert!(error.is_transient(), "{name}");
        assert!(
            error.to_string().contains("gave up after 3 attempts"),
            "{error}"
        );
        assert_eq!(clock.sleeps().len(), 2, "{name}");
        server.verify().await;
    }
}

#[tokio::test]
async fn connection_errors_are_transient_and_retried_on_the_virtual_clock() {
    let clock = virtual_clock();
    let options = options(&clock).with_retry(RetryPolicy::new().with_max_attempts(2));
    let source = MetadataServerSource::at_host(closed_port_host(), options).expect("source");

    let error = source
        .fetch(&task_queue_scopes())
        .await
        .expect_err("refused");

    assert!(error.is_transient(), "{error}");
    assert_eq!(error.status(), None);
    assert!(error.to_string().contains("could not connect"), "{error}");
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn an_empty_account_means_default() {
    let source =
        MetadataServerSource::at_host("127.0.0.1:1", MetadataServerSource::default_options())
            .expect("source")
            .with_account("  ");
    assert_eq!(source.account(), "default");
    assert_eq!(source.host(), "127.0.0.1:1");
}

#[test]
fn hosts_with_schemes_or_paths_are_refused() {
    for host in ["http://metadata.google.internal", "169.254.169.254/x", ""] {
        let error = MetadataServerSource::at_host(host, MetadataServerSource::default_options())
            .expect_err(host);
        assert!(error.to_string().contains("GCE_METADATA_HOST"), "{error}");
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::MetadataServer)
        );
    }
}

#[tokio::test]
async fn probe_succeeds_only_when_the_answer_carries_metadata_flavor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/"))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Metadata-Flavor", "Google")
                .set_body_string("instance/\nproject/\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    probe_metadata_server(&host_of(&server), Duration::from_secs(2))
        .await
        .expect("a metadata server");

    let impostor = MockServer::start().await;
    Mock::given(path("/computeMetadata/v1/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
        .mount(&impostor)
        .await;
    let error = probe_metadata_server(&host_of(&impostor), Duration::from_secs(2))
        .await
        .expect_err("not a metadata server");
    assert!(
        error.to_string().contains("not a metadata server"),
        "{error}"
    );
    assert!(!error.is_transient());
    assert_eq!(error.status(), Some(200));
}

#[tokio::test]
async fn probe_is_bounded_by_its_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/computeMetadata/v1/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Metadata-Flavor", "Google")
                .set_delay(Duration::from_millis(600)),
        )
        .mount(&server)
        .await;

    let error = probe_metadata_server(&host_of(&server), Duration::from_millis(100))
        .await
        .expect_err("timed out");

    let message = error.to_string();
    assert!(
        message.contains("no answer to the probe (timeout 100 ms)"),
        "{message}"
    );
    assert!(message.contains("timed out"), "{message}");
    assert!(error.is_transient());
    assert_eq!(
        error.credential_source(),
        Some(CredentialSource::MetadataServer)
    );
}

#[tokio::test]
async fn probe_of_a_closed_port_says_it_could_not_connect() {
    let error: Error = probe_metadata_server(&closed_port_host(), Duration::from_secs(1))
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("could not connect"), "{error}");
}

/// Runs the test `name` of this binary in a child process whose environment
/// has `vars` (and nothing else of ours changed): the way to test code that
/// reads the process environment without `unsafe` `set_var`.
pub(crate) fn run_in_child(name: &str, vars: &[(&str, &str)], removed: &[&str]) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1");
    for var in removed {
        command.env_remove(var);
    }
    for (var, value) in vars {
        command.env(var, value);
    }
    let output = command.output().expect("child test ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Make sure the child really ran the test rather than filtering it out.
    assert!(stdout.contains("1 passed"), "child {name}:\n{stdout}");
}

/// Set in the child processes of [`run_in_child`].
pub(crate) const CHILD_MARKER: &str = "TASKQUEUE_AUTH_TEST_CHILD";

pub(crate) fn in_child() -> bool {
    std::env::var_os(CHILD_MARKER).is_some()
}

#[test]
fn new_reads_gce_metadata_host_from_the_environment() {
    run_in_child(
        "metadata::child_new_reads_gce_metadata_host",
        &[("GCE_METADATA_HOST", "127.0.0.1:8089")],
        &[],
    );
    run_in_child(
        "metadata::child_new_defaults_to_metadata_google_internal",
        &[],
        &["GCE_METADATA_HOST"],
    );
}

#[test]
#[ignore = "run in a child process by its parent test, with the environment it needs"]
fn child_new_reads_gce_metadata_host() {
    if in_child() {
        let source =
            MetadataServerSource::new(MetadataServerSource::default_options()).expect("source");
        assert_eq!(source.host(), "127.0.0.1:8089");
    }
}

#[test]
#[ignore = "run in a child process by its parent test, with the environment it needs"]
fn child_new_defaults_to_metadata_google_internal() {
    if in_child() {
        let source =
            MetadataServerSource::new(MetadataServerSource::default_options()).expect("source");
        assert_eq!(source.host(), "metadata.google.internal");
    }
}
