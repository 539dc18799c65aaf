//! Application Default Credentials discovery with injected environments:
//! key files in temporary directories, wiremock as the metadata server and
//! token endpoint, virtual time. The process environment is only read in
//! child processes (`run_in_child`), never changed in this one.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::clock::VirtualClock;
use taskqueue_auth::{
    AdcEnvironment, AdcOptions, AdcOutcome, AdcStep, ApplicationDefaultCredentials,
    CredentialSource, Error, Scope, ScopeSet, TokenProvider, application_default_credentials,
};
use tempfile::TempDir;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::metadata::{
    closed_port_host, host_of, in_child, run_in_child, token_response, virtual_clock,
};

const CLIENT_SECRET: &str = "adc-test-client-secret-d9F2";
const REFRESH_TOKEN: &str = "1//adc-test-refresh-token-Qx7";

fn options(clock: &VirtualClock) -> AdcOptions {
    AdcOptions::default()
        .with_clock(Arc::new(clock.clone()))
        .with_probe_timeout(Duration::from_secs(2))
}

/// An `authorized_user` key file whose token endpoint is `token_uri`.
fn authorized_user_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "authorized_user",
        "client_id": "764086051850-adc.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "quota_project_id": "adc-quota-project",
        "token_uri": token_uri,
    })
    .to_string()
}

fn service_account_json() -> String {
    std::fs::read_to_string(taskqueue_test_support::keys::path("service_account.json"))
        .expect("service account fixture")
}

/// Writes `contents` to `dir/relative`, creating directories.
fn write(dir: &Path, relative: &str, contents: &str) -> PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, contents).expect("write key file");
    path
}

const WELL_KNOWN: &str = ".config/gcloud/application_default_credentials.json";

/// An environment with an empty home and a metadata host where nothing
/// listens: nothing to find unless a test adds it.
fn empty_environment(home: &TempDir) -> AdcEnvironment {
    {
        let mut value = AdcEnvironment::default();
        value.home = Some(home.path().to_owned());
        value.gce_metadata_host = Some(closed_port_host());
        value
    }
}

fn lines(report: &impl ToString) -> Vec<String> {
    report.to_string().lines().map(str::to_owned).collect()
}

async fn discover(
    options: &AdcOptions,
    env: &AdcEnvironment,
) -> Result<ApplicationDefaultCredentials, Error> {
    ApplicationDefaultCredentials::discover(options, env).await
}

#[tokio::test]
async fn google_application_credentials_comes_first_and_its_provider_works() {
    let token_endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "ya29.from-adc",
            "expires_in": 3599,
            "token_type": "Bearer",
        })))
        .expect(1)
        .mount(&token_endpoint)
        .await;
    let dir = TempDir::new().expect("tempdir");
    let key = write(
        dir.path(),
        "keys/user.json",
        &authorized_user_json(&format!("{}/token", token_endpoint.uri())),
    );
    // A well-known file exists too: the variable still wins.
    write(dir.path(), WELL_KNOWN, &service_account_json());
    let env = {
        let mut value = empty_environment(&dir);
        value.google_application_credentials = Some(key.clone());
        value
    };
    let clock = virtual_clock();

    let adc = discover(&options(&clock), &env).await.expect("credentials");

    let key = key.display();
    assert_eq!(
        lines(adc.report()),
        [
            format!("GOOGLE_APPLICATION_CREDENTIALS={key}: authorized_user key file"),
            format!("chosen: authorized_user from {key}"),
        ]
    );
    assert_eq!(adc.credential_source(), CredentialSource::AuthorizedUser);
    assert_eq!(adc.quota_project_id(), Some("adc-quota-project"));
    let chosen = adc.report().chosen().expect("chosen");
    assert_eq!(chosen.step(), AdcStep::EnvironmentVariable);
    assert_eq!(chosen.outcome(), AdcOutcome::Chosen);

    let scopes = ScopeSet::from([Scope::Taskqueue]);
    let token = adc.provider().token(&scopes).await.expect("token");
    assert_eq!(token.secret(), "ya29.from-adc");
    // Cached: the second call sends nothing (`expect(1)` above).
    let again = adc.token(&scopes).await.expect("cached token");
    assert_eq!(again.secret(), "ya29.from-adc");

    for printed in [adc.report().to_string(), format!("{adc:?}")] {
        for secret in [CLIENT_SECRET, REFRESH_TOKEN, "ya29"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}

#[tokio::test]
async fn a_missing_google_application_credentials_file_is_an_error_not_a_fall_through() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), WELL_KNOWN, &service_account_json());
    let missing = dir.path().join("nope/key.json");
    let env = {
        let mut value = empty_environment(&dir);
        value.google_application_credentials = Some(missing.clone());
        value
    };

    let error = discover(&options(&virtual_clock()), &env)
        .await
        .expect_err("missing file");

    assert_eq!(
        error.to_string(),
        format!(
            "application default credentials: GOOGLE_APPLICATION_CREDENTIALS={}: the file \
             does not exist; point GOOGLE_APPLICATION_CREDENTIALS at a key file or unset it",
            missing.display()
        )
    );
    assert_eq!(
        error.credential_source(),
        Some(CredentialSource::ApplicationDefault)
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn cloudsdk_config_names_the_well_known_directory() {
    let dir = TempDir::new().expect("tempdir");
    let config = dir.path().join("gcloud-config");
    let file = write(
        &config,
        "application_default_credentials.json",
        &service_account_json(),
    );
    // A HOME file exists too: CLOUDSDK_CONFIG wins.
    write(
        dir.path(),
        WELL_KNOWN,
        &authorized_user_json("https://oauth2.googleapis.com/token"),
    );
    let env = {
        let mut value = empty_environment(&dir);
        value.cloudsdk_config = Some(config);
        value
    };

    let adc = discover(&options(&virtual_clock()), &env)
        .await
        .expect("credentials");

    let file = file.display();
    assert_eq!(
        lines(adc.report()),
        [
            "GOOGLE_APPLICATION_CREDENTIALS: not set".to_owned(),
            format!("well-known file {file}: service_account key file"),
            format!("chosen: service_account from {file}"),
        ]
    );
    assert_eq!(adc.credential_source(), CredentialSource::ServiceAccount);
    assert_eq!(adc.quota_project_id(), None);
    assert!(!adc.report().to_string().contains("PRIVATE KEY"));
}

#[tokio::test]
async fn home_holds_the_default_well_known_file() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(
        dir.path(),
        WELL_KNOWN,
        &authorized_user_json("https://oauth2.googleapis.com/token"),
    );

    let adc = discover(&options(&virtual_clock()), &empty_environment(&dir))
        .await
        .expect("credentials");

    let file = file.display();
    assert_eq!(
        lines(adc.report()),
        [
            "GOOGLE_APPLICATION_CREDENTIALS: not set".to_owned(),
            format!("well-known file {file}: authorized_user key file"),
            format!("chosen: authorized_user from {file}"),
        ]
    );
    let steps: Vec<_> = adc
        .report()
        .attempts()
        .iter()
        .map(|attempt| (attempt.step(), attempt.outcome()))
        .collect();
    assert_eq!(
        steps,
        [
            (AdcStep::EnvironmentVariable, AdcOutcome::Skipped),
            (AdcStep::WellKnownFile, AdcOutcome::Chosen),
        ]
    );
}

#[tokio::test]
async fn the_metadata_server_comes_last_and_its_provider_works() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/"))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).insert_header("Metadata-Flavor", "Google"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ))
        .and(header("Metadata-Flavor", "Google"))
        .respond_with(token_response(serde_json::json!(3599)))
        .expect(1)
        .mount(&server)
        .await;
    let dir = TempDir::new().expect("tempdir");
    let host = host_of(&server);
    let env = {
        let mut value = empty_environment(&dir);
        value.gce_metadata_host = Some(host.clone());
        value
    };

    let adc = discover(&options(&virtual_clock()), &env)
        .await
        .expect("credentials");

    let well_known = dir.path().join(WELL_KNOWN);
    assert_eq!(
        lines(adc.report()),
        [
            "GOOGLE_APPLICATION_CREDENTIALS: not set".to_owned(),
            format!("well-known file {}: not found", well_known.display()),
            format!(
                "metadata server {host}: answered with Metadata-Flavor: Google \
                 (host from GCE_METADATA_HOST)"
            ),
            format!("chosen: metadata server {host}"),
        ]
    );
    assert_eq!(adc.credential_source(), CredentialSource::MetadataServer);
    let token = adc
        .token(&ScopeSet::from([Scope::CloudTaskqueue]))
        .await
        .expect("token");
    assert_eq!(token.secret(), "ya29.metadata-secret");
}

#[tokio::test]
async fn nothing_found_is_an_error_holding_the_whole_report() {
    let slow = MockServer::start().await;
    Mock::given(path("/computeMetadata/v1/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Metadata-Flavor", "Google")
                .set_delay(Duration::from_millis(600)),
        )
        .mount(&slow)
        .await;
    let impostor = MockServer::start().await;
    Mock::given(path("/computeMetadata/v1/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&impostor)
        .await;
    let cases = [
        (
            "timed out",
            host_of(&slow),
            "no answer to the probe (timeout 100 ms)",
        ),
        ("refused", closed_port_host(), "could not connect"),
        ("impostor", host_of(&impostor), "not a metadata server"),
        (
            "bad host",
            "http://x".to_owned(),
            "expected `name` or `name:port`",
        ),
    ];
    for (name, host, says) in cases {
        let dir = TempDir::new().expect("tempdir");
        let env = {
            let mut value = empty_environment(&dir);
            value.gce_metadata_host = Some(host.clone());
            value
        };
        let options = options(&virtual_clock()).with_probe_timeout(Duration::from_millis(100));

        let error = discover(&options, &env).await.expect_err(name);

        let message = error.to_string();
        let well_known = dir.path().join(WELL_KNOWN);
        let expected_lines = [
            "application default credentials: no credentials found; tried, in order:".to_owned(),
            "  GOOGLE_APPLICATION_CREDENTIALS: not set".to_owned(),
            format!("  well-known file {}: not found", well_known.display()),
        ];
        let got: Vec<_> = message.lines().collect();
        assert_eq!(got[..3], expected_lines, "{name}: {message}");
        assert!(
            got[3].starts_with(&format!("  metadata server {host}: not detected: ")),
            "{name}: {message}"
        );
        assert!(got[3].contains(says), "{name}: {message}");
        assert!(
            got[3].ends_with("(host from GCE_METADATA_HOST)"),
            "{name}: {message}"
        );
        assert_eq!(got[4], "  chosen: nothing", "{name}: {message}");
        assert!(
            got[5].contains("gcloud auth application-default login"),
            "{message}"
        );
        assert_eq!(
            error.credential_source(),
            Some(CredentialSource::ApplicationDefault)
        );
    }
}

#[tokio::test]
async fn unsupported_and_broken_key_files_are_errors_naming_the_file() {
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "external account",
            r#"{"type": "external_account", "audience": "//iam.googleapis.com/x"}"#,
            &[
                "unsupported credential type external_account",
                "supported: authorized_user, service_account",
            ],
        ),
        (
            "impersonation",
            r#"{"type": "impersonated_service_account"}"#,
            &["unsupported credential type impersonated_service_account"],
        ),
        (
            "malformed",
            "{\"type\": \"authorized_user\",",
            &["not valid JSON (line 1, column 27)"],
        ),
        ("no type", r#"{"client_id": "x"}"#, &["no `type` field"]),
        (
            "missing field",
            r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s"}"#,
            &["invalid authorized_user key file"],
        ),
        (
            "a key in place of the type",
            r#"{"type": "-----BEGIN PRIVATE KEY-----\nMIIE"}"#,
            &["unsupported credential type (a value that is not a type name)"],
        ),
    ];
    for (name, contents, says) in cases {
        for variable in [true, false] {
            let dir = TempDir::new().expect("tempdir");
            let mut env = empty_environment(&dir);
            let file = if variable {
                let file = write(dir.path(), "key.json", contents);
                env.google_application_credentials = Some(file.clone());
                format!("GOOGLE_APPLICATION_CREDENTIALS={}: ", file.display())
            } else {
                let file = write(dir.path(), WELL_KNOWN, contents);
                format!("well-known file {}: ", file.display())
            };

            let error = discover(&options(&virtual_clock()), &env)
                .await
                .expect_err(name);

            let message = error.to_string();
            assert!(
                message.starts_with(&format!("application default credentials: {file}")),
                "{name}: {message}"
            );
            for needle in says {
                assert!(message.contains(needle), "{name}: {message}");
            }
            assert!(!message.contains("PRIVATE"), "{name}: {message}");
            if !variable {
                assert!(message.contains("application-default login"), "{message}");
            }
            assert_eq!(
                error.credential_source(),
                Some(CredentialSource::ApplicationDefault)
            );
        }
    }
}

#[tokio::test]
async fn an_invalid_key_file_keeps_the_parser_error_as_its_source() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(
        dir.path(),
        "key.json",
        r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s"}"#,
    );
    let env = {
        let mut value = AdcEnvironment::default();
        value.google_application_credentials = Some(file);
        value
    };

    let error = discover(&options(&virtual_clock()), &env)
        .await
        .expect_err("no refresh token");

    let source = error.source().expect("the key file's error").to_string();
    assert!(source.contains("refresh_token"), "{source}");
    // Display does not repeat the source.
    assert!(!error.to_string().contains("refresh_token"), "{error}");
}

#[test]
fn the_process_environment_is_read_once_and_empty_variables_are_unset() {
    run_in_child(
        "adc::child_reads_the_process_environment",
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", "/keys/key.json"),
            ("CLOUDSDK_CONFIG", "/etc/gcloud"),
            ("HOME", "/home/me"),
            ("APPDATA", "C:/AppData"),
            ("GCE_METADATA_HOST", " 127.0.0.1:8089 "),
        ],
        &[],
    );
    run_in_child(
        "adc::child_treats_empty_variables_as_unset",
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", ""),
            ("CLOUDSDK_CONFIG", ""),
            ("GCE_METADATA_HOST", ""),
        ],
        &["HOME", "APPDATA"],
    );
}

#[test]
#[ignore = "run in a child process by its parent test, with the environment it needs"]
fn child_reads_the_process_environment() {
    if in_child() {
        assert_eq!(AdcEnvironment::from_process_env(), {
            let mut value = AdcEnvironment::default();
            value.google_application_credentials = Some(PathBuf::from("/keys/key.json"));
            value.cloudsdk_config = Some(PathBuf::from("/etc/gcloud"));
            value.home = Some(PathBuf::from("/home/me"));
            value.appdata = Some(PathBuf::from("C:/AppData"));
            value.gce_metadata_host = Some("127.0.0.1:8089".to_owned());
            value
        });
    }
}

#[test]
#[ignore = "run in a child process by its parent test, with the environment it needs"]
fn child_treats_empty_variables_as_unset() {
    if in_child() {
        assert_eq!(
            AdcEnvironment::from_process_env(),
            AdcEnvironment::default()
        );
    }
}

#[test]
fn application_default_credentials_reads_the_process_environment() {
    let dir = TempDir::new().expect("tempdir");
    let key = write(
        dir.path(),
        "key.json",
        &authorized_user_json("https://oauth2.googleapis.com/token"),
    );
    run_in_child(
        "adc::child_application_default_credentials",
        &[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            key.to_str().expect("UTF-8 path"),
        )],
        &[],
    );
}

#[tokio::test]
#[ignore = "run in a child process by its parent test, with the environment it needs"]
async fn child_application_default_credentials() {
    if in_child() {
        let adc = application_default_credentials()
            .await
            .expect("credentials");
        assert_eq!(adc.credential_source(), CredentialSource::AuthorizedUser);
        let chosen = adc.report().chosen().expect("chosen");
        assert_eq!(chosen.step(), AdcStep::EnvironmentVariable);
        assert_eq!(
            chosen.location(),
            std::env::var("GOOGLE_APPLICATION_CREDENTIALS")
                .ok()
                .as_deref()
        );
    }
}
