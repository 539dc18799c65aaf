//! Building what one scenario runs on: a fresh [`VirtualClock`] at
//! `clock.start`, the mock target, the credentials of its `grant`, and the
//! [`Client`], all on that one clock.
//!
//! - `refresh_token`: an `authorized_user` key (made-up client and refresh
//!   token) whose `token_uri` is the mock's `/token`.
//! - `jwt_bearer`: the test `service_account` key of
//!   `tests/data/service_account.json` (embedded), `token_uri` the mock's
//!   `/token`.
//! - `metadata`: [`MetadataServerSource::at_host`] the mock's `host:port`,
//!   with the source's default options.
//! - `static`: a [`StaticTokenProvider`] holding the mock's secret for `at-1`.
//!
//! The first three are wrapped in a [`TokenCache`] with its default
//! configuration, on the virtual clock. Their HTTP options keep their
//! defaults (token endpoint: 3 attempts from 1 s; metadata server: 5 from
//! 100 ms) except the clock, and their jitter is seeded with
//! `client.retry.jitter_seed`. The client gets the mock's base URL, the
//! requested scopes, the pre-flight setting and `client.retry` (seeded).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use taskqueue_auth::{
    AccessToken, AuthorizedUserCredentials, AuthorizedUserSource, HttpOptions,
    MetadataServerSource, Scope, ScopeSet, ServiceAccountKey, ServiceAccountSource,
    SharedTokenProvider, StaticTokenProvider, TokenCache,
};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::{RetryPolicy, SharedClock, VirtualClock};

use crate::duration::{parse_duration, parse_utc};
use crate::mock::{API_PREFIX, MockConfig, MockTarget};
use crate::scenario::{Grant, RetrySpec, Scenario};

/// The test service-account key the `jwt_bearer` grant uses.
pub const SERVICE_ACCOUNT_KEY: &str = include_str!("../tests/data/service_account.json");

/// The made-up client secret of the `refresh_token` grant's key.
pub const CLIENT_SECRET: &str = "conformance-client-secret";

/// The made-up refresh token of the `refresh_token` grant's key.
pub const REFRESH_TOKEN: &str = "conformance-refresh-token";

/// The label of the static grant's one token.
pub const STATIC_LABEL: &str = "at-1";

/// The real-time bound on one HTTP attempt (a socket bound, not a protocol
/// timer: everything else runs on the virtual clock).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one scenario runs on.
#[derive(Debug)]
pub struct Setup {
    /// The virtual clock shared by the client stack and the mock.
    pub clock: VirtualClock,
    /// The mock target.
    pub mock: MockTarget,
    /// The client under test.
    pub client: Client,
    /// The queue every call addresses.
    pub queue: QueueRef,
}

/// What a scenario's `clock` and `credentials` say, parsed: the part of the setup every target shares.
#[derive(Debug)]
pub(crate) struct ScenarioTerms {
    /// `clock.start`.
    pub(crate) start: SystemTime,
    /// A virtual clock reading `start`.
    pub(crate) clock: VirtualClock,
    /// The same clock, for the client stack.
    pub(crate) shared: SharedClock,
    /// `credentials.scopes`: what the client asks for.
    pub(crate) requested: ScopeSet,
    /// `credentials.granted`, else the requested scopes.
    pub(crate) granted: ScopeSet,
    /// `credentials.lifetime`, else an hour.
    pub(crate) lifetime: Duration,
}

/// Parses `scenario`'s clock start and credentials.
pub(crate) fn terms(scenario: &Scenario) -> Result<ScenarioTerms, String> {
    let start = parse_utc(&scenario.clock.start)
        .ok_or_else(|| format!("clock.start `{}` is not a UTC time", scenario.clock.start))?;
    let clock = VirtualClock::new(start);
    let shared: SharedClock = Arc::new(clock.clone());
    let credentials = &scenario.credentials;
    let requested =
        scopes(&credentials.scopes).map_err(|why| format!("credentials.scopes: {why}"))?;
    let granted = match &credentials.granted {
        Some(names) => scopes(names).map_err(|why| format!("credentials.granted: {why}"))?,
        None => requested.clone(),
    };
    let lifetime = match &credentials.lifetime {
        Some(text) => parse_duration(text)
            .ok_or_else(|| format!("credentials.lifetime `{text}` is not a duration"))?,
        None => Duration::from_secs(3600),
    };
    Ok(ScenarioTerms {
        start,
        clock,
        shared,
        requested,
        granted,
        lifetime,
    })
}

/// Builds the clock, the mock target and the client for `scenario`.
pub async fn setup(scenario: &Scenario) -> Result<Setup, String> {
    let ScenarioTerms {
        clock,
        shared,
        requested,
        granted,
        lifetime,
        ..
    } = terms(scenario)?;
    let credentials = &scenario.credentials;
    let mock = MockTarget::start(MockConfig {
        grant: credentials.grant,
        lifetime,
        granted,
        project: scenario.client.project.clone(),
        queue: scenario.client.queue.clone(),
        clock: clock.clone(),
    })
    .await;
    let seed = scenario.client.retry.jitter_seed;
    let token_uri = format!("{}/token", mock.uri());
    let http = |defaults: HttpOptions| {
        let retry = defaults.retry.clone().with_jitter_seed(seed);
        defaults.with_clock(shared.clone()).with_retry(retry)
    };
    let auth_error = |error: taskqueue_auth::Error| format!("credentials: {error}");
    let provider: SharedTokenProvider = match credentials.grant {
        Grant::RefreshToken => {
            let file = json!({
                "type": "authorized_user",
                "client_id": "conformance-client.apps.googleusercontent.com",
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
                "token_uri": token_uri,
            });
            let credentials =
                AuthorizedUserCredentials::from_json(&file.to_string()).map_err(auth_error)?;
            let source = AuthorizedUserSource::new(credentials, http(HttpOptions::default()))
                .map_err(auth_error)?;
            Arc::new(TokenCache::new(source, shared.clone()))
        }
        Grant::JwtBearer => {
            let key = ServiceAccountKey::from_json(SERVICE_ACCOUNT_KEY).map_err(auth_error)?;
            let source = ServiceAccountSource::new(key, http(HttpOptions::default()))
                .and_then(|source| source.with_token_uri(&token_uri))
                .map_err(auth_error)?;
            Arc::new(TokenCache::new(source, shared.clone()))
        }
        Grant::Metadata => {
            let source = MetadataServerSource::at_host(
                mock.host(),
                http(MetadataServerSource::default_options()),
            )
            .map_err(auth_error)?;
            Arc::new(TokenCache::new(source, shared.clone()))
        }
        Grant::Static => Arc::new(StaticTokenProvider::new(AccessToken::new(
            mock.secret_for(STATIC_LABEL),
        ))),
    };
    let client = Client::builder()
        .base_url(format!("{}{API_PREFIX}", mock.uri()))
        .token_provider(provider)
        .scopes(requested)
        .preflight_scope_check(scenario.client.preflight_scope_check)
        .retry_policy(retry_policy(&scenario.client.retry)?)
        .clock(shared)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|error| format!("client: {error}"))?;
    let queue = QueueRef::new(
        scenario.client.project.clone(),
        scenario.client.queue.clone(),
    );
    Ok(Setup {
        clock,
        mock,
        client,
        queue,
    })
}

/// The client's retry policy: `client.retry`, jitter seeded.
pub fn retry_policy(spec: &RetrySpec) -> Result<RetryPolicy, String> {
    let duration = |key: &str, text: &str| {
        parse_duration(text).ok_or_else(|| format!("client.retry.{key} `{text}` is not a duration"))
    };
    Ok(RetryPolicy::new()
        .with_max_attempts(spec.max_attempts)
        .with_initial_backoff(duration("initial_backoff", &spec.initial_backoff)?)
        .with_max_backoff(duration("max_backoff", &spec.max_backoff)?)
        .with_jitter_seed(spec.jitter_seed))
}

/// A scope as scenarios name it: `taskqueue`, `taskqueue.consumer`,
/// `cloud-taskqueue`, `cloud-taskqueue.consumer`, or a full URL.
pub fn scope(name: &str) -> Result<Scope, String> {
    match name.trim() {
        "taskqueue" => Ok(Scope::Taskqueue),
        "taskqueue.consumer" => Ok(Scope::TaskqueueConsumer),
        "cloud-taskqueue" => Ok(Scope::CloudTaskqueue),
        "cloud-taskqueue.consumer" => Ok(Scope::CloudTaskqueueConsumer),
        url if url.contains("://") => Ok(Scope::parse(url)),
        other => Err(format!(
            "unknown scope `{other}`; write taskqueue, taskqueue.consumer, cloud-taskqueue, \
             cloud-taskqueue.consumer or a full URL"
        )),
    }
}

/// A set of scopes as scenarios name them.
pub fn scopes(names: &[String]) -> Result<ScopeSet, String> {
    let mut set = ScopeSet::new();
    for name in names {
        set.insert(scope(name)?);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_map_to_the_four_variants_and_urls_parse() {
        assert_eq!(scope("taskqueue"), Ok(Scope::Taskqueue));
        assert_eq!(
            scope("cloud-taskqueue.consumer"),
            Ok(Scope::CloudTaskqueueConsumer)
        );
        assert_eq!(
            scope("https://www.googleapis.com/auth/taskqueue.consumer"),
            Ok(Scope::TaskqueueConsumer)
        );
        assert_eq!(
            scope("https://www.googleapis.com/auth/userinfo.email").map(|s| s.task_queue_access()),
            Ok(None)
        );
        assert!(
            scope("tasks")
                .expect_err("unknown")
                .contains("unknown scope `tasks`")
        );
    }

    #[test]
    fn the_fixture_key_loads() {
        ServiceAccountKey::from_json(SERVICE_ACCOUNT_KEY).expect("the test key parses");
    }
}
