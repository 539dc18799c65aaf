//! `TASKQUEUE_EMULATOR_HOST`: the variable points `Client::builder()` at a
//! local server. Tests cannot set a variable in their own process (that is
//! `unsafe`, which the workspace forbids), so the parent test runs this test
//! binary again with the variable set, and the child calls the server.

use std::process::Command;

use taskqueue_auth::{AccessToken, StaticTokenProvider};
use taskqueue_client::{Client, DEFAULT_BASE_URL, EMULATOR_HOST_VAR, GetQueueRequest};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{API, queue};

/// Set in the child: the emulator test's mock server, as `host:port`.
const CHILD_MARKER: &str = "TASKQUEUE_TEST_EMULATOR_CHILD";

/// What `Client::builder()` picks up from this process's environment: the
/// emulator's base URL in the child, the production one otherwise (CI and
/// developers do not set the variable). In the child it also calls the
/// emulator, which the parent checks.
#[tokio::test]
async fn the_builder_reads_the_emulator_variable() {
    let client = Client::builder()
        .token_provider(StaticTokenProvider::new(AccessToken::new("at-1")))
        .build()
        .expect("client");
    match std::env::var(CHILD_MARKER) {
        Ok(host) => {
            assert_eq!(
                client.base_url(),
                format!("http://{host}/taskqueue/v1beta2/projects/")
            );
            client
                .get_queue(GetQueueRequest::new(queue()))
                .await
                .expect("the emulator answers");
        }
        Err(_) => {
            assert!(
                std::env::var_os(EMULATOR_HOST_VAR).is_none(),
                "unset {EMULATOR_HOST_VAR} to run the client's tests"
            );
            assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        }
    }
}

#[tokio::test]
async fn the_emulator_variable_takes_effect_in_a_fresh_process() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/s~my-app/taskqueues/pull-queue")))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"kind":"taskqueues#taskqueue"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "emulator::the_builder_reads_the_emulator_variable",
        ])
        .env(EMULATOR_HOST_VAR, &host)
        .env(CHILD_MARKER, &host)
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test:\n{stdout}"
    );
    // The mock's `expect(1)`, checked when it drops, proves the call arrived.
}

#[test]
fn an_explicit_base_url_wins_over_the_variable() {
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/taskqueue/v1beta2/projects/")
        .token_provider(StaticTokenProvider::new(AccessToken::new("at-1")))
        .build()
        .expect("client");
    assert_eq!(
        client.base_url(),
        "http://127.0.0.1:9/taskqueue/v1beta2/projects/"
    );
}
