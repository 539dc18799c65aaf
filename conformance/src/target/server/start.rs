//! Building what one scenario runs on, on the server target: one
//! [`VirtualClock`] at `clock.start`, shared by the client stack and the
//! reference server; the server in process on 127.0.0.1 (an ephemeral
//! port), with a [`MemoryStore`], the scenario's queue and principals; the
//! recording forwarder in front of it; the client, talking to the forwarder
//! for the API, the token endpoint and the metadata server alike.
//!
//! The server is `taskqueue_server::router` on an [`AppState`] in virtual
//! time, served here rather than by `taskqueue_server::serve::start`,
//! whose purge timer sleeps on the server's clock: on the shared clock the
//! runner would take that sleep for the client's backoff and move time.
//! Expired tokens and tombstones need no purge to be refused.
//!
//! Credentials, per `credentials.grant`:
//!
//! - `refresh_token`: a user `conformance@example.com` with a client id, a
//!   client secret and a refresh token generated per scenario, consenting
//!   to the scopes asked for; the client gets the matching `authorized_user`
//!   key, its `token_uri` the forwarder's `/token`.
//! - `jwt_bearer`: the test service account of
//!   `tests/data/service_account.json`, registered with its public key;
//!   the client signs assertions for the forwarder's `/token`, which is
//!   also the server's public URL, so the audience matches.
//! - `metadata`: the server's metadata endpoint, for
//!   `conformance-vm@conformance.iam.gserviceaccount.com` with the scopes
//!   asked for; the client's `MetadataServerSource` at the forwarder.
//! - `static`: a token issued by the server's token store at the start,
//!   for `conformance@example.com`, living `credentials.lifetime` if given,
//!   else 30 days (the mock's static token never expires).
//!
//! `credentials.lifetime` is the server's access-token lifetime.
//! `server.principal` registers the credentials wrongly on purpose
//! (unknown, another client secret, another public key). Every secret made
//! here is returned for the secret scanner.

use std::sync::Arc;
use std::time::Duration;

use taskqueue_auth::{
    AccessToken, JwtKeySet, RsaVerifyingKey, ScopeSet, SharedTokenProvider, StaticTokenProvider,
};
use taskqueue_client::{Client, QueueRef};
use taskqueue_clock::{SharedClock, VirtualClock};
use taskqueue_server::config::{MetadataConfig, ServiceAccountPrincipal, UserPrincipal};
use taskqueue_server::{
    AppState, MemoryStore, QueueAcl, QueueDef, SecretDigest, ServerConfig, StoreConfig, router,
};
use tokio::task::JoinHandle;

use super::seed;
use crate::scenario::setup::{SERVICE_ACCOUNT_KEY, ScenarioTerms, terms};
use crate::scenario::{Grant, PrincipalMode, Scenario, ServerSpec};
use crate::target::Secrets;
use crate::target::client::{self, ATTEMPT_TIMEOUT, Sources};
use crate::target::forwarder::{Forwarder, ForwarderOptions};
use crate::target::front;

/// The public key of the test service account.
const SERVICE_ACCOUNT_PUBLIC_KEY: &str =
    include_str!("../../../tests/data/service_account_public.pem");

/// Another public key, for `server.principal: wrong_key`.
const OTHER_PUBLIC_KEY: &str = include_str!("../../../tests/data/other_public.pem");

/// The user of the `refresh_token` and `static` grants.
pub(crate) const USER_EMAIL: &str = "conformance@example.com";

/// The OAuth client of the `refresh_token` grant.
pub(crate) const CLIENT_ID: &str = "conformance-client.apps.googleusercontent.com";

/// The instance service account of the `metadata` grant.
pub(crate) const METADATA_EMAIL: &str = "conformance-vm@conformance.iam.gserviceaccount.com";

/// How long the static grant's token lives without `credentials.lifetime`:
/// longer than any scenario (the mock's static token never expires).
const STATIC_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The seed of the names the server generates, so records are reproducible.
const NAME_SEED: u64 = 7;

/// What one scenario runs on.
#[derive(Debug)]
pub(crate) struct ServerTarget {
    /// The clock's start, `clock.start`.
    pub start: std::time::SystemTime,
    /// The clock shared by the client stack and the server.
    pub clock: VirtualClock,
    /// The recording forwarder the client talks to.
    pub forwarder: Forwarder,
    /// The client under test.
    pub client: Client,
    /// The queue every call addresses.
    pub queue: QueueRef,
    /// The server's state (store, tokens).
    pub state: AppState,
    /// What was set up, for the record: `queue pull-queue, seeded t1, t2`.
    pub summary: String,
    server: JoinHandle<()>,
}

impl Drop for ServerTarget {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The project as the server is configured with it: the client's project
/// segment without its partition prefix (`s~app` → `app`).
pub(crate) fn server_project(segment: &str) -> &str {
    match segment.as_bytes() {
        [_, b'~', ..] => &segment[2..],
        _ => segment,
    }
}

/// The store's key of the scenario's queue: its short name, as the API
/// handlers key it.
pub(crate) fn queue_key(queue: &str) -> String {
    queue.to_owned()
}

impl ServerTarget {
    /// Writes the seed tasks due before step `step` (from 2: the first
    /// step's are written at the start).
    pub(crate) async fn seed_before(
        &self,
        spec: &ServerSpec,
        step: usize,
        queue: &str,
    ) -> Result<(), String> {
        seed::apply(
            self.state.store.as_ref(),
            &queue_key(queue),
            &spec.seed,
            step,
            self.start,
        )
        .await
    }
}

/// Starts the server, the forwarder and the client for `scenario`; every
/// secret made is pushed to `secrets`.
pub(crate) async fn start(
    scenario: &Scenario,
    secrets: &mut Secrets,
) -> Result<ServerTarget, String> {
    let spec = scenario
        .server
        .as_ref()
        .map(|server| server.value.clone())
        .unwrap_or_default();
    let ScenarioTerms {
        start,
        clock,
        shared,
        requested,
        granted: consented,
        lifetime,
    } = terms(scenario)?;
    let credentials = &scenario.credentials;
    let client_spec = &scenario.client;

    let (listener, server_address) = front::listen("the server").await?;
    let forwarder = Forwarder::start_with(
        &format!("http://{server_address}/taskqueue/v1beta2/projects/"),
        &client_spec.project,
        &client_spec.queue,
        ATTEMPT_TIMEOUT,
        ForwarderOptions {
            clock: Some(shared.clone()),
            revoke: Vec::new(),
            grant_scopes: (consented != requested)
                .then(|| consented.iter().map(|s| s.as_str().to_owned()).collect()),
            token_upstream: None,
        },
    )
    .await?;

    let mut config = ServerConfig::new(server_project(&client_spec.project));
    config.listen = server_address;
    config.public_url = Some(forwarder.origin());
    config.tokens.access_token_lifetime = lifetime;
    config.store = StoreConfig::default().with_name_seed(NAME_SEED);
    let mut summary = Vec::new();
    if spec.queue_exists {
        let acl = spec.acl.as_ref().map_or_else(QueueAcl::default, |acl| {
            QueueAcl::new(acl.user_emails.clone(), acl.writer_emails.clone())
        });
        config.queues.insert(
            QueueDef::new(client_spec.queue.clone())
                .with_acl(acl)
                .with_max_leases(spec.max_leases),
        );
        summary.push(format!("queue {}", client_spec.queue));
    } else {
        summary.push(format!("no queue {}", client_spec.queue));
    }
    let provider = register(
        &mut config,
        &spec,
        scenario.credentials.grant,
        &consented,
        &forwarder,
        &shared,
        client_spec.retry.jitter_seed,
        secrets,
    )?;

    let store = Arc::new(MemoryStore::new(config.store.clone()));
    let key = queue_key(&client_spec.queue);
    seed::apply(store.as_ref(), &key, &spec.seed, 1, start).await?;
    if !spec.seed.is_empty() {
        let names: Vec<String> = spec
            .seed
            .iter()
            .map(|seed| match seed.value.before() {
                1 => seed.value.id.clone(),
                step => format!("{} before step {step}", seed.value.id),
            })
            .collect();
        summary.push(format!("seeded {}", names.join(", ")));
    }
    if let Some(acl) = &spec.acl {
        summary.push(format!(
            "acl users [{}] writers [{}]",
            acl.user_emails.join(", "),
            acl.writer_emails.join(", ")
        ));
    }
    if let Some(max) = spec.max_leases {
        summary.push(format!("max_leases {max}"));
    }
    if !spec.revoke.is_empty() {
        let revoked: Vec<String> = spec.revoke.iter().map(|r| r.describe()).collect();
        summary.push(format!("revoked {}", revoked.join(", ")));
    }
    if spec.principal != PrincipalMode::Registered {
        summary.push(format!("principal {}", spec.principal.name()));
    }

    let state = AppState::new_virtual(config, store, Arc::new(clock.clone()), forwarder.origin());
    let provider: SharedTokenProvider = match provider {
        Some(provider) => provider,
        None => {
            // The static grant: a token the server issued at the start, for
            // `credentials.lifetime` if given, else for the whole scenario.
            let lifetime = if credentials.lifetime.is_some() {
                lifetime
            } else {
                STATIC_LIFETIME
            };
            let token = state
                .tokens
                .issue(USER_EMAIL, consented.clone(), lifetime, start)
                .await
                .map_err(|e| format!("the server could not issue the scenario's token: {e}"))?;
            secrets.push(token.expose());
            Arc::new(StaticTokenProvider::new(AccessToken::new(token)))
        }
    };
    let app = router(state.clone());
    // Should the server stop serving, the calls that follow fail and say so.
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let client = client::build(
        forwarder.base_url(),
        provider,
        requested,
        shared,
        Some(client_spec),
    )?;
    let queue = QueueRef::new(client_spec.project.clone(), client_spec.queue.clone());
    Ok(ServerTarget {
        start,
        clock,
        forwarder,
        client,
        queue,
        state,
        summary: summary.join(", "),
        server,
    })
}

/// Registers the grant's principal in `config` and builds the client's
/// token provider (`None` for the static grant, whose token the server's
/// state issues once it exists).
#[allow(clippy::too_many_arguments)]
fn register(
    config: &mut ServerConfig,
    spec: &ServerSpec,
    grant: Grant,
    consented: &ScopeSet,
    forwarder: &Forwarder,
    clock: &SharedClock,
    seed: u64,
    secrets: &mut Secrets,
) -> Result<Option<SharedTokenProvider>, String> {
    let token_uri = format!("{}/token", forwarder.origin());
    let sources = Sources {
        clock: clock.clone(),
        seed: Some(seed),
        proxy: None,
    };
    Ok(Some(match grant {
        Grant::RefreshToken => {
            let client_secret = crate::target::mock::script::unguessable();
            let refresh_token = crate::target::mock::script::unguessable();
            secrets.push(client_secret.clone());
            secrets.push(refresh_token.clone());
            let registered_secret = if spec.principal == PrincipalMode::WrongSecret {
                let other = crate::target::mock::script::unguessable();
                secrets.push(other.clone());
                other
            } else {
                client_secret.clone()
            };
            if spec.principal != PrincipalMode::Unregistered {
                config.principals.users.push(UserPrincipal::new(
                    USER_EMAIL,
                    CLIENT_ID,
                    SecretDigest::of(&registered_secret),
                    SecretDigest::of(&refresh_token),
                    consented.clone(),
                ));
            }
            sources.authorized_user(
                &client::user_key_file(CLIENT_ID, &client_secret, &refresh_token, &token_uri),
                None,
            )?
        }
        Grant::JwtBearer => {
            let file: serde_json::Value = serde_json::from_str(SERVICE_ACCOUNT_KEY)
                .map_err(|error| format!("the test key: {error}"))?;
            secrets.push_key_file(SERVICE_ACCOUNT_KEY);
            let text = |name: &str| {
                file.get(name)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("the test key has no `{name}`"))
            };
            let public = if spec.principal == PrincipalMode::WrongKey {
                OTHER_PUBLIC_KEY
            } else {
                SERVICE_ACCOUNT_PUBLIC_KEY
            };
            let verifying = RsaVerifyingKey::from_pem(public)
                .map_err(|error| format!("credentials: {error}"))?;
            if spec.principal != PrincipalMode::Unregistered {
                config
                    .principals
                    .service_accounts
                    .push(ServiceAccountPrincipal::new(
                        text("client_email")?,
                        JwtKeySet::new().with_key(text("private_key_id")?, verifying),
                    ));
            }
            sources.service_account(SERVICE_ACCOUNT_KEY, Some(&token_uri))?
        }
        Grant::Metadata => {
            config.metadata = Some(MetadataConfig::new(METADATA_EMAIL, consented.clone()));
            sources.metadata(&forwarder.host())?
        }
        Grant::Static => return Ok(None),
    }))
}
