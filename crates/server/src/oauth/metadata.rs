//! A metadata-server-compatible endpoint, so that Compute Engine style credentials (Google's libraries' metadata
//! flow, our `MetadataServerSource`, `probe_metadata_server`) can be exercised against this server.
//!
//! Enabled by `ServerConfig::metadata`; when it is `None`, every route here answers a plain 404 without the
//! `Metadata-Flavor` header, so probes see no metadata server. When enabled, as on Compute Engine:
//!
//! | Route (under `/computeMetadata/v1/`) | Answer |
//! |---|---|
//! | the directory itself (what probes ask) | `instance/` and `project/` |
//! | `instance/service-accounts/` | `default/` and the account's email |
//! | `instance/service-accounts/{default,EMAIL}/token[?scopes=a,b]` | `{"access_token", "expires_in", "token_type": "Bearer"}` |
//! | `instance/service-accounts/{default,EMAIL}/email` | the account's email |
//! | `instance/service-accounts/{default,EMAIL}/scopes` | the instance's scopes, one per line |
//! | `project/project-id` | the configured project |
//! | anything else | 404 |
//!
//! Every request needs `Metadata-Flavor: Google` and no `X-Forwarded-For` (the real server's guard against being
//! reached through a proxy), else 403; every answer carries `Metadata-Flavor: Google`. Unlike Compute Engine,
//! which ignores requested scopes, `scopes` is honoured as on Cloud Run: it must be a subset of the instance's
//! scopes (else 400), and the token gets exactly those. Each token request issues a new token (the real server
//! hands out a cached one until minutes before its expiry).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use taskqueue_auth::{METADATA_FLAVOR, METADATA_FLAVOR_HEADER, Scope, ScopeSet};

use crate::config::MetadataConfig;
use crate::state::AppState;

/// The account name meaning the instance's service account.
const DEFAULT_ACCOUNT: &str = "default";

/// The metadata routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/computeMetadata/v1/", get(root))
        .route(
            "/computeMetadata/v1/instance/service-accounts/",
            get(accounts),
        )
        .route(
            "/computeMetadata/v1/instance/service-accounts/{account}/token",
            get(token),
        )
        .route(
            "/computeMetadata/v1/instance/service-accounts/{account}/email",
            get(email),
        )
        .route(
            "/computeMetadata/v1/instance/service-accounts/{account}/scopes",
            get(scopes),
        )
        .route("/computeMetadata/v1/project/project-id", get(project_id))
        .route("/computeMetadata/{*rest}", get(unknown))
        .route("/computeMetadata", get(unknown))
}

/// `GET /computeMetadata/v1/`: what probes ask.
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match guard(&state, &headers) {
        Ok(_) => text("instance/\nproject/\n"),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /computeMetadata/v1/instance/service-accounts/`.
async fn accounts(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match guard(&state, &headers) {
        Ok(config) => text(format!("{DEFAULT_ACCOUNT}/\n{}/\n", config.service_account)),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET …/service-accounts/{account}/token[?scopes=…]`.
async fn token(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let config = match account_guard(&state, &headers, &account) {
        Ok(config) => config,
        Err(refusal) => return refusal.into_response(),
    };
    let scopes = match requested_scopes(uri.query(), &config.scopes) {
        Ok(scopes) => scopes,
        Err(refusal) => {
            tracing::info!(
                grant = "metadata",
                principal = config.service_account.as_str(),
                outcome = "invalid_scope",
                "metadata token request refused"
            );
            return refusal.into_response();
        }
    };
    let now = state.now();
    let lifetime = state.config.tokens.access_token_lifetime;
    let access_token = match state
        .tokens
        .issue(&config.service_account, scopes.clone(), lifetime, now)
        .await
    {
        Ok(token) => token,
        Err(error) => {
            tracing::warn!(%error, "cannot save an access token");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the token store is unavailable\n",
            )
                .into_response();
        }
    };
    tracing::info!(
        grant = "metadata",
        principal = config.service_account.as_str(),
        outcome = "granted",
        scopes = %scopes,
        expires_in = lifetime.as_secs(),
        "access token issued"
    );
    let body = serde_json::json!({
        "access_token": access_token.expose(),
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
    });
    flavored(super::json_body(&body).into_response())
}

/// `GET …/service-accounts/{account}/email`.
async fn email(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    match account_guard(&state, &headers, &account) {
        Ok(config) => text(config.service_account.clone()),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET …/service-accounts/{account}/scopes`: one scope per line, each ended by a newline.
async fn scopes(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    match account_guard(&state, &headers, &account) {
        Ok(config) => text(
            config
                .scopes
                .iter()
                .map(|scope| format!("{scope}\n"))
                .collect::<String>(),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /computeMetadata/v1/project/project-id`.
async fn project_id(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match guard(&state, &headers) {
        Ok(_) => text(state.config.project.clone()),
        Err(refusal) => refusal.into_response(),
    }
}

/// Anything else under `/computeMetadata`.
async fn unknown(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match guard(&state, &headers) {
        Ok(_) => Refusal::NotFound.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// Why a metadata request is not answered with a value.
#[derive(Debug)]
enum Refusal {
    /// The endpoint is disabled: a plain 404, as from a server without one.
    Disabled,
    /// `X-Forwarded-For` is present: 403.
    Proxied,
    /// No `Metadata-Flavor: Google`: 403.
    NoFlavor,
    /// No such value or service account: 404.
    NotFound,
    /// Scopes beyond the instance's: 400 saying how many, and which the instance has.
    ScopesBeyond { beyond: usize, instance: String },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Disabled => return StatusCode::NOT_FOUND.into_response(),
            Self::Proxied => (
                StatusCode::FORBIDDEN,
                "Requests through a proxy (X-Forwarded-For) are refused by the metadata server.\n"
                    .to_owned(),
            ),
            Self::NoFlavor => (
                StatusCode::FORBIDDEN,
                "Missing Metadata-Flavor:Google header.\n".to_owned(),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "Not Found\n".to_owned()),
            Self::ScopesBeyond { beyond, instance } => (
                StatusCode::BAD_REQUEST,
                format!(
                    "{beyond} requested scope(s) are not among the instance's scopes; the \
                     instance's scopes are: {instance}\n"
                ),
            ),
        };
        flavored((status, text_headers(), message).into_response())
    }
}

/// The metadata configuration, if enabled and the request is a metadata request.
fn guard<'a>(state: &'a AppState, headers: &HeaderMap) -> Result<&'a MetadataConfig, Refusal> {
    let config = state.config.metadata.as_ref().ok_or(Refusal::Disabled)?;
    if headers.contains_key("x-forwarded-for") {
        return Err(Refusal::Proxied);
    }
    let flavored_request = headers
        .get(METADATA_FLAVOR_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim() == METADATA_FLAVOR);
    if !flavored_request {
        return Err(Refusal::NoFlavor);
    }
    Ok(config)
}

/// [`guard`], and `account` must be `default` or the instance's service account.
fn account_guard<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    account: &str,
) -> Result<&'a MetadataConfig, Refusal> {
    let config = guard(state, headers)?;
    if account == DEFAULT_ACCOUNT || account == config.service_account {
        Ok(config)
    } else {
        Err(Refusal::NotFound)
    }
}

/// The scopes of the `scopes` query parameters (comma-separated, possibly repeated), or the instance's if none
/// is given; a scope the instance does not have is refused.
fn requested_scopes(query: Option<&str>, instance: &ScopeSet) -> Result<ScopeSet, Refusal> {
    let requested: ScopeSet = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "scopes")
        .flat_map(|(_, value)| {
            value
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|scope| !scope.is_empty())
                .map(Scope::parse)
                .collect::<Vec<_>>()
        })
        .collect();
    if requested.is_empty() {
        return Ok(instance.clone());
    }
    let beyond = requested
        .iter()
        .filter(|scope| !instance.contains(scope))
        .count();
    if beyond > 0 {
        return Err(Refusal::ScopesBeyond {
            beyond,
            instance: instance.to_space_separated(),
        });
    }
    Ok(requested)
}

/// A flavored 200 with a text value, typed as the real server types them.
fn text(body: impl Into<String>) -> Response {
    flavored((text_headers(), body.into()).into_response())
}

fn text_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/text"),
    )]
}

/// `response` with `Metadata-Flavor: Google`.
fn flavored(mut response: Response) -> Response {
    response.headers_mut().insert(
        METADATA_FLAVOR_HEADER,
        HeaderValue::from_static(METADATA_FLAVOR),
    );
    response
}
