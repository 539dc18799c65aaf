//! What every target's setup shares: a scenario's clock and credentials
//! parsed (`terms`: a fresh [`VirtualClock`] at `clock.start`, the scopes
//! asked for and granted, the token lifetime), the scope names scenarios
//! use, and the made-up credentials of the virtual-time targets.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(test)]
use taskqueue_auth::ServiceAccountKey;
use taskqueue_auth::{Scope, ScopeSet};
use taskqueue_clock::{SharedClock, VirtualClock};

use crate::scenario::{Interval, Scenario};

/// The test service-account key the `jwt_bearer` grant uses.
pub const SERVICE_ACCOUNT_KEY: &str = include_str!("../../tests/data/service_account.json");

/// The made-up client secret of the `refresh_token` grant's key.
pub const CLIENT_SECRET: &str = "conformance-client-secret";

/// The made-up refresh token of the `refresh_token` grant's key.
pub const REFRESH_TOKEN: &str = "conformance-refresh-token";

/// The label of the static grant's one token.
pub const STATIC_LABEL: &str = "at-1";

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
    let start = scenario.clock.start.0;
    let clock = VirtualClock::new(start);
    let shared: SharedClock = Arc::new(clock.clone());
    let credentials = &scenario.credentials;
    let requested =
        scopes(&credentials.scopes).map_err(|why| format!("credentials.scopes: {why}"))?;
    let granted = match &credentials.granted {
        Some(names) => scopes(names).map_err(|why| format!("credentials.granted: {why}"))?,
        None => requested.clone(),
    };
    let lifetime = credentials
        .lifetime
        .as_ref()
        .map_or(Duration::from_secs(3600), Interval::get);
    Ok(ScenarioTerms {
        start,
        clock,
        shared,
        requested,
        granted,
        lifetime,
    })
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
