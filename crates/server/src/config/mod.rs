//! The server's configuration: the project it serves, its queues (from a GAE `queue.yaml`), the principals that may
//! get tokens, storage, token lifetimes, the scope policy and HTTP limits.
//!
//! The types here are plain, with defaults. [`load`] reads them from the server's YAML configuration file,
//! [`load_queue_yaml`] from a GAE `queue.yaml` (its format: [`parse_queue_yaml`]), and [`crate::commands::init`] (with the `cli`
//! feature) writes a ready-to-run development setup (`taskqueue-server init DIR`). Every error is a [`ConfigError`] naming the file
//! and line.
//!
//! # The configuration file
//!
//! ```yaml
//! project: dev-project                  # the app id (or example.com:app), without a partition prefix (requests may add `s~`)
//! listen: 127.0.0.1:8080                # optional, default 127.0.0.1:8080
//! public_url: http://127.0.0.1:8080     # optional; the token endpoint (token_uri, JWT audience) is {public_url}/token
//! queue_file: queue.yaml                # GAE queue.yaml: the pull queues, their ACLs and task_retry_limit
//! storage:                              # or: `storage: memory` (lost on exit), or
//!   sqlite: data/tasks.sqlite           #   `storage: { postgres: "postgres://user:password@host/db" }`
//! tombstone_ttl: 7d                     # optional, default 7d
//! over_limit: delete                    # optional, `delete` (default) or `skip`
//! scope_policy: seed                    # optional, `seed` (default) or `discovery`
//! choices:                              # optional, each key too: answers where production's is unknown
//!   patch_lease_timestamp: optional     # `optional` (default) or `required`
//!   repeated_delete: ok                 # `ok` (default, 200) or `not_found` (404)
//!   modify_missing_task: lease_expired  # `lease_expired` (default, 400) or `not_found` (404)
//!   unleased_lease_timestamp: zero      # `zero` (default) or `eta`
//! tokens:                               # optional, each key too
//!   access_token_lifetime: 1h
//!   max_assertion_skew: 60s
//!   max_assertion_lifetime: 1h
//! limits:                               # optional, each key too
//!   max_body_bytes: 1402200
//!   request_timeout: 30s
//!   header_read_timeout: 10s
//!   idle_timeout: 60s
//!   body_read_timeout: 20s
//!   max_connections: 4096
//! purge_interval: 60s                   # optional, default 60s
//! metadata:                             # optional: the metadata-server-compatible endpoint
//!   service_account: worker@dev-project.iam.gserviceaccount.com
//!   scopes: [taskqueue]
//! principals:                           # optional
//!   service_accounts:
//!   - email: worker@dev-project.iam.gserviceaccount.com
//!     keys:                             # at least one
//!     - id: 0c5e2b…                     # the private_key_id of the key file
//!       public_key_file: keys/worker.pub.pem   # or `public_key: |` and the PEM text
//!   users:
//!   - email: dev@example.com
//!     client_id: taskqueue-dev.apps.local
//!     client_secret_sha256: 5e88…       # 64 hex digits: SHA-256 of the client secret
//!     refresh_token_sha256: 9f86…       # 64 hex digits: SHA-256 of the refresh token
//!     scopes: [taskqueue, taskqueue.consumer]
//! ```
//!
//! - `project`, `queue_file` and `storage` are required; every other key is optional, and any key not listed
//!   here is an error naming it.
//! - Relative paths (`queue_file`, `sqlite`, `public_key_file`) resolve against the configuration file's
//!   directory.
//! - Durations are numbers with units, in the grammar of the `humantime` crate that the CLI and the conformance
//!   scenarios share: `500ms`, `30s`, `10m`, `1h30m`, `1.5h`, `7d` (also `sec`, `min`, `hours`, `days`, `w`).
//!   Lifetimes, timeouts and the purge interval must be longer than zero; `tombstone_ttl` and
//!   `max_assertion_skew` may be `0s`.
//! - Scopes are short names (`taskqueue`, `taskqueue.consumer`, `cloud-taskqueue`, `cloud-taskqueue.consumer`:
//!   any name without `:` gets the prefix `https://www.googleapis.com/auth/`) or full URLs.
//! - Public keys are RSA, 2048 to 8192 bits, PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1
//!   (`BEGIN RSA PUBLIC KEY`). Key ids are unique per service account, service account emails in the file,
//!   refresh tokens across users.
//! - Secrets never appear in the file: users' client secrets and refresh tokens are given as SHA-256 digests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use taskqueue_auth::{JwtKeySet, ScopeSet, SecretString};

use crate::StoreConfig;
use crate::access::ScopePolicy;
use crate::digest::SecretDigest;

mod choices;
mod error;
mod load;
mod queue_yaml;
mod yaml;

pub use crate::wire::UnleasedLeaseTimestamp;
pub use choices::{ApiChoices, ModifyMissingTask, PatchLeaseTimestamp, RepeatedDelete};
pub use error::ConfigError;
pub use load::{load, parse};
// For `taskqueue-server init`, which writes what these read.
#[cfg(feature = "cli")]
pub(crate) use load::{check_project, normalize_public_url};
pub use queue_yaml::{load_queue_yaml, parse_queue_yaml};
#[cfg(feature = "cli")]
pub(crate) use yaml::is_email;
#[cfg(all(feature = "cli", test))]
pub(crate) use yaml::parse_duration;

/// Everything a server needs to run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The App Engine app id served, without a partition prefix (`dev-project`). Requests may name it with any
    /// one-character prefix (`s~dev-project`); any other project is unknown.
    pub project: String,
    /// Where to listen. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The URL clients reach the server at, without a trailing slash (`http://127.0.0.1:8080`); `None`: derived
    /// from the bound address. The token endpoint's audience is `{public_url}/token`.
    pub public_url: Option<String>,
    /// The queues, by short name.
    pub queues: QueueRegistry,
    /// Who may get tokens, and how.
    pub principals: Principals,
    /// Where tasks live.
    pub storage: StorageConfig,
    /// Tombstones and the lease-limit policy.
    pub store: StoreConfig,
    /// Access tokens and assertions.
    pub tokens: TokenPolicy,
    /// Which scopes allow which method.
    pub scope_policy: ScopePolicy,
    /// The API's answers where production's behaviour is unknown (`choices:`).
    pub choices: ApiChoices,
    /// The optional metadata-server-compatible endpoint.
    pub metadata: Option<MetadataConfig>,
    /// Body sizes and timeouts.
    pub limits: HttpLimits,
    /// How often expired tombstones, lease-log entries and tokens are purged. Default 60 s.
    pub purge_interval: Duration,
}

impl ServerConfig {
    /// A configuration for `project` with no queues and no principals, listening on `127.0.0.1:8080`, in memory.
    #[must_use]
    pub fn new(project: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            queues: QueueRegistry::default(),
            principals: Principals::default(),
            storage: StorageConfig::Memory,
            store: StoreConfig::default(),
            tokens: TokenPolicy::default(),
            scope_policy: ScopePolicy::default(),
            choices: ApiChoices::default(),
            metadata: None,
            limits: HttpLimits::default(),
            purge_interval: Duration::from_secs(60),
        }
    }
}

/// The queues a server knows, by short name. Queues cannot be created through the API (docs/wire-format.md §1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueRegistry {
    queues: BTreeMap<String, QueueDef>,
}

impl QueueRegistry {
    /// Adds or replaces a queue.
    pub fn insert(&mut self, queue: QueueDef) {
        self.queues.insert(queue.name.clone(), queue);
    }

    /// Adds a queue, builder style.
    #[must_use]
    pub fn with(mut self, queue: QueueDef) -> Self {
        self.insert(queue);
        self
    }

    /// The queue of that short name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&QueueDef> {
        self.queues.get(name)
    }

    /// Every queue, by name.
    pub fn iter(&self) -> impl Iterator<Item = &QueueDef> {
        self.queues.values()
    }

    /// How many queues there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

/// One pull queue, as `queue.yaml` defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueDef {
    /// The short name (`pull-queue`), valid per the model's `validate::queue_name`.
    pub name: String,
    /// Who may consume and produce.
    pub acl: QueueAcl,
    /// `retry_parameters.task_retry_limit`: how many times a task is leased at most (`maxLeases`); `None`: no limit.
    pub max_leases: Option<u32>,
}

impl QueueDef {
    /// A queue open to every authenticated caller, without a lease limit.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            acl: QueueAcl::default(),
            max_leases: None,
        }
    }

    /// Sets the ACL.
    #[must_use]
    pub fn with_acl(mut self, acl: QueueAcl) -> Self {
        self.acl = acl;
        self
    }

    /// Sets the lease limit.
    #[must_use]
    pub fn with_max_leases(mut self, max_leases: Option<u32>) -> Self {
        self.max_leases = max_leases;
        self
    }
}

/// A queue's ACL, from `queue.yaml`'s `acl` entries.
///
/// `user_email` "can list, get, lease, delete, and update tasks" (and get the queue); `writer_email` "can insert
/// tasks" (docs/wire-format.md §7). A queue without any `acl` entry is open to every authenticated caller: this is a
/// development server's choice (GAE let app admins in), documented in the README.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueAcl {
    /// `user_email` entries: consumers (`acl.consumerEmails` on the wire).
    pub user_emails: Vec<String>,
    /// `writer_email` entries: producers (`acl.producerEmails` on the wire).
    pub writer_emails: Vec<String>,
}

impl QueueAcl {
    /// An ACL with these consumers and producers.
    #[must_use]
    pub fn new(user_emails: Vec<String>, writer_emails: Vec<String>) -> Self {
        Self {
            user_emails,
            writer_emails,
        }
    }

    /// Whether the queue has no ACL entries at all (and is then open to every authenticated caller).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.user_emails.is_empty() && self.writer_emails.is_empty()
    }
}

/// The principals that can get tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principals {
    /// Service accounts: the JWT-bearer grant, verified with their public keys.
    pub service_accounts: Vec<ServiceAccountPrincipal>,
    /// Users: the refresh-token grant.
    pub users: Vec<UserPrincipal>,
}

impl Principals {
    /// The service account of that email (the assertion's `iss`).
    #[must_use]
    pub fn service_account(&self, email: &str) -> Option<&ServiceAccountPrincipal> {
        self.service_accounts.iter().find(|sa| sa.email == email)
    }
}

/// A service account: its email and its public keys by key id (`private_key_id` in its key file).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceAccountPrincipal {
    /// `client_email`, the `iss` of its assertions and the caller's email for ACLs.
    pub email: String,
    /// Its public keys, by key id.
    pub keys: JwtKeySet,
}

impl ServiceAccountPrincipal {
    /// A service account with these keys.
    #[must_use]
    pub fn new(email: impl Into<String>, keys: JwtKeySet) -> Self {
        Self {
            email: email.into(),
            keys,
        }
    }
}

/// A user with an OAuth client and a refresh token, as an `authorized_user` key file holds them. Secrets are
/// stored as digests only.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserPrincipal {
    /// The user's email, for ACLs.
    pub email: String,
    /// The OAuth client id the refresh token was issued to.
    pub client_id: String,
    /// The digest of the client secret.
    pub client_secret: SecretDigest,
    /// The digest of the refresh token.
    pub refresh_token: SecretDigest,
    /// The scopes the user consented to: what the refresh grant issues.
    pub scopes: ScopeSet,
}

impl UserPrincipal {
    /// A user with this OAuth client, the digests of its secret and of the refresh token, and these scopes.
    #[must_use]
    pub fn new(
        email: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretDigest,
        refresh_token: SecretDigest,
        scopes: ScopeSet,
    ) -> Self {
        Self {
            email: email.into(),
            client_id: client_id.into(),
            client_secret,
            refresh_token,
            scopes,
        }
    }
}

/// Where tasks are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageConfig {
    /// In memory: lost on exit. For tests.
    Memory,
    /// A SQLite file, durable (the default of `init`).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL database, which several server instances can share (`storage: { postgres: URL }`).
    Postgres {
        /// `postgres://user:password@host:port/database`; secret, since it may hold the password.
        url: SecretString,
    },
}

/// Access-token and assertion policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPolicy {
    /// How long an issued access token lives (`expires_in`). Default 1 h, as Google's.
    pub access_token_lifetime: Duration,
    /// The largest clock skew accepted on an assertion's `iat` and `exp`. Default 60 s.
    pub max_assertion_skew: Duration,
    /// The longest assertion lifetime (`exp - iat`). Default 1 h, as Google's.
    pub max_assertion_lifetime: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::from_secs(3600),
            max_assertion_skew: Duration::from_secs(60),
            max_assertion_lifetime: Duration::from_secs(3600),
        }
    }
}

/// The metadata-server-compatible endpoint: `GET /computeMetadata/v1/instance/service-accounts/default/token`
/// (with `Metadata-Flavor: Google`) issues a token for one service account, as on Compute Engine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataConfig {
    /// The instance's service account: the caller's email.
    pub service_account: String,
    /// The instance's scopes (the "Task queue" access scope of a VM).
    pub scopes: ScopeSet,
}

impl MetadataConfig {
    /// The endpoint for `service_account` with `scopes`.
    #[must_use]
    pub fn new(service_account: impl Into<String>, scopes: ScopeSet) -> Self {
        Self {
            service_account: service_account.into(),
            scopes,
        }
    }
}

/// The default body limit: the padded base64 of the largest payload (1 MiB: 1,398,104 characters) and 4 KiB for
/// the task's other fields (a 500-character id and tag, the long-form queue name, the JSON around them).
pub const DEFAULT_MAX_BODY_BYTES: usize =
    taskqueue_model::limits::MAX_PAYLOAD_BYTES.div_ceil(3) * 4 + 4096;

/// HTTP limits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpLimits {
    /// The largest request body, after gzip decoding. Default [`DEFAULT_MAX_BODY_BYTES`]: a 1 MiB payload in
    /// base64 and 4 KiB for the rest of a task, so a request whose `Content-Length` shows a larger payload is
    /// refused before its body is read.
    pub max_body_bytes: usize,
    /// How long a request may take before it is answered 503. Default 30 s.
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers, from its first byte: past it the connection is closed
    /// (slow-header clients hold a connection without ever sending a request). Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a connection may stay idle between requests (keep-alive), or without reading any of a response,
    /// before it is closed. Default 60 s.
    pub idle_timeout: Duration,
    /// How long a client has to send a request's whole body, from the end of its headers: past it the request is
    /// answered 408 `requestTimeout` and the connection closed. Default 20 s.
    pub body_read_timeout: Duration,
    /// The most connections served at once. Connections over it are answered 503 at once and closed, and
    /// counted. The server also keeps it under half its file-descriptor limit (`serve` raises the soft
    /// `RLIMIT_NOFILE` to the hard limit first). Default 4096.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(20),
            max_connections: 4096,
        }
    }
}
