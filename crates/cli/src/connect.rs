//! From the global options to a [`Client`]: the endpoint (`--endpoint`, `TASKQUEUE_ENDPOINT`) and the credentials
//! (`TASKQUEUE_ACCESS_TOKEN`, `--credentials FILE`, or Application Default Credentials, which read
//! `GOOGLE_APPLICATION_CREDENTIALS`).

use std::sync::Arc;

use taskqueue_auth::{
    AccessToken, AdcEnvironment, AdcOptions, ApplicationDefaultCredentials, Scope, ScopeSet,
    SharedTokenProvider, StaticTokenProvider,
};
use taskqueue_client::{Client, DEFAULT_BASE_URL, QueueRef};
use taskqueue_model::API_PATH;

use crate::args::Global;
use crate::failure::Failure;

/// The client's base URL for `endpoint`: a server root (`http://127.0.0.1:8080`) gets the API path appended; a URL
/// that already ends with it is kept.
pub(crate) fn base_url(endpoint: Option<&str>) -> Result<String, Failure> {
    let Some(endpoint) = endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(DEFAULT_BASE_URL.to_owned());
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(Failure::usage(format!(
            "--endpoint {endpoint:?} is not an http:// or https:// URL"
        )));
    }
    let trimmed = endpoint.trim_end_matches('/');
    if trimmed.ends_with(API_PATH.trim_end_matches('/')) {
        Ok(format!("{trimmed}/"))
    } else {
        Ok(format!("{trimmed}{API_PATH}"))
    }
}

/// The token provider the options ask for.
async fn token_provider(global: &Global) -> Result<SharedTokenProvider, Failure> {
    if let Some(token) = global.access_token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Arc::new(StaticTokenProvider::new(AccessToken::new(token))));
    }
    let mut env = AdcEnvironment::from_process_env();
    if let Some(file) = &global.credentials {
        if !file.is_file() {
            return Err(Failure::credentials(format!(
                "--credentials {}: no such file",
                file.display()
            )));
        }
        env.google_application_credentials = Some(file.clone());
    }
    let adc = ApplicationDefaultCredentials::discover(&AdcOptions::default(), &env)
        .await
        .map_err(|error| {
            Failure::credentials(format!(
                "no usable credentials: {error}\nPass --credentials FILE (a service account or authorized-user \
                 key file), set GOOGLE_APPLICATION_CREDENTIALS, or set TASKQUEUE_ACCESS_TOKEN."
            ))
        })?;
    tracing::debug!(report = %adc.report(), "credentials found");
    Ok(adc.provider())
}

/// A client for the options' endpoint and credentials.
pub(crate) async fn client(global: &Global) -> Result<Client, Failure> {
    let base_url = base_url(global.endpoint.as_deref())?;
    let tokens = token_provider(global).await?;
    Client::builder()
        .base_url(base_url)
        .token_provider(tokens)
        .scopes(ScopeSet::from([Scope::Taskqueue]))
        .user_agent_prefix("taskqueue-cli")
        .build()
        .map_err(|error| Failure::usage(format!("cannot build the client: {error}")))
}

/// The queue the options name; both `--project` and `--queue` are required.
pub(crate) fn queue(global: &Global) -> Result<QueueRef, Failure> {
    let project = global
        .project
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Failure::usage("no project: pass --project PROJECT or set TASKQUEUE_PROJECT")
        })?;
    let queue = global
        .queue
        .as_deref()
        .filter(|q| !q.is_empty())
        .ok_or_else(|| Failure::usage("no queue: pass --queue QUEUE or set TASKQUEUE_QUEUE"))?;
    Ok(QueueRef::new(project, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_become_base_urls() {
        let cases = [
            (None, Ok(DEFAULT_BASE_URL)),
            (
                Some("http://127.0.0.1:8080"),
                Ok("http://127.0.0.1:8080/taskqueue/v1beta2/projects/"),
            ),
            (
                Some("http://127.0.0.1:8080/"),
                Ok("http://127.0.0.1:8080/taskqueue/v1beta2/projects/"),
            ),
            (
                Some("https://tq.example/taskqueue/v1beta2/projects"),
                Ok("https://tq.example/taskqueue/v1beta2/projects/"),
            ),
            (
                Some("https://tq.example/prefix/"),
                Ok("https://tq.example/prefix/taskqueue/v1beta2/projects/"),
            ),
            (
                Some("127.0.0.1:8080"),
                Err("is not an http:// or https:// URL"),
            ),
        ];
        for (endpoint, expected) in cases {
            match (base_url(endpoint), expected) {
                (Ok(url), Ok(expected)) => assert_eq!(url, expected, "{endpoint:?}"),
                (Err(error), Err(expected)) => {
                    assert!(error.to_string().contains(expected), "{error}")
                }
                (got, expected) => panic!("{endpoint:?}: {got:?}, expected {expected:?}"),
            }
        }
    }
}
