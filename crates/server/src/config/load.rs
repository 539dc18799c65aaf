//! Loading the server's configuration file (`taskqueue-server.yaml`) into a [`ServerConfig`]: the raw serde types
//! of the file, and their checked conversion. The format is documented on the [`config`](super) module.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;
use taskqueue_auth::{JwtKeySet, RsaVerifyingKey, Scope, ScopeSet, SecretString};
use taskqueue_model::validate;

use super::queue_yaml::parse_queue_yaml;
use super::yaml::{at, duration, email, from_yaml, positive_duration};
use super::{
    ApiChoices, ConfigError, HttpLimits, MetadataConfig, ModifyMissingTask, PatchLeaseTimestamp,
    Principals, RepeatedDelete, ServerConfig, ServiceAccountPrincipal, StorageConfig, TokenPolicy,
    UnleasedLeaseTimestamp, UserPrincipal,
};
use crate::access::ScopePolicy;
use crate::digest::SecretDigest;
use crate::{OverLimit, StoreConfig};

/// The prefix of a short scope name: `taskqueue` is `https://www.googleapis.com/auth/taskqueue`.
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    project: Spanned<String>,
    #[serde(default)]
    listen: Option<Spanned<String>>,
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    queue_file: Spanned<String>,
    storage: Spanned<RawStorage>,
    #[serde(default)]
    tombstone_ttl: Option<Spanned<String>>,
    #[serde(default)]
    over_limit: Option<RawOverLimit>,
    #[serde(default)]
    scope_policy: Option<RawScopePolicy>,
    #[serde(default)]
    choices: Option<RawChoices>,
    #[serde(default)]
    tokens: Option<RawTokens>,
    #[serde(default)]
    limits: Option<RawLimits>,
    #[serde(default)]
    purge_interval: Option<Spanned<String>>,
    #[serde(default)]
    metadata: Option<RawMetadata>,
    #[serde(default)]
    principals: Option<RawPrincipals>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawStorage {
    Memory,
    Sqlite(Spanned<String>),
    Postgres(Spanned<String>),
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawOverLimit {
    Delete,
    Skip,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawScopePolicy {
    Seed,
    Discovery,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoices {
    #[serde(default)]
    patch_lease_timestamp: Option<RawPatchLeaseTimestamp>,
    #[serde(default)]
    repeated_delete: Option<RawRepeatedDelete>,
    #[serde(default)]
    modify_missing_task: Option<RawModifyMissingTask>,
    #[serde(default)]
    unleased_lease_timestamp: Option<RawUnleasedLeaseTimestamp>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawPatchLeaseTimestamp {
    Optional,
    Required,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawRepeatedDelete {
    Ok,
    NotFound,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawModifyMissingTask {
    LeaseExpired,
    NotFound,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawUnleasedLeaseTimestamp {
    Zero,
    Eta,
}

impl RawChoices {
    fn choices(&self) -> ApiChoices {
        let mut choices = ApiChoices::default();
        if let Some(choice) = self.patch_lease_timestamp {
            choices.patch_lease_timestamp = match choice {
                RawPatchLeaseTimestamp::Optional => PatchLeaseTimestamp::Optional,
                RawPatchLeaseTimestamp::Required => PatchLeaseTimestamp::Required,
            };
        }
        if let Some(choice) = self.repeated_delete {
            choices.repeated_delete = match choice {
                RawRepeatedDelete::Ok => RepeatedDelete::Ok,
                RawRepeatedDelete::NotFound => RepeatedDelete::NotFound,
            };
        }
        if let Some(choice) = self.modify_missing_task {
            choices.modify_missing_task = match choice {
                RawModifyMissingTask::LeaseExpired => ModifyMissingTask::LeaseExpired,
                RawModifyMissingTask::NotFound => ModifyMissingTask::NotFound,
            };
        }
        if let Some(choice) = self.unleased_lease_timestamp {
            choices.unleased_lease_timestamp = match choice {
                RawUnleasedLeaseTimestamp::Zero => UnleasedLeaseTimestamp::Zero,
                RawUnleasedLeaseTimestamp::Eta => UnleasedLeaseTimestamp::Eta,
            };
        }
        choices
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    #[serde(default)]
    access_token_lifetime: Option<Spanned<String>>,
    #[serde(default)]
    max_assertion_skew: Option<Spanned<String>>,
    #[serde(default)]
    max_assertion_lifetime: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default)]
    /// Read as text (YAML keeps a number's text) so that a bad value gets our message.
    max_body_bytes: Option<Spanned<String>>,
    #[serde(default)]
    request_timeout: Option<Spanned<String>>,
    #[serde(default)]
    header_read_timeout: Option<Spanned<String>>,
    #[serde(default)]
    idle_timeout: Option<Spanned<String>>,
    #[serde(default)]
    body_read_timeout: Option<Spanned<String>>,
    #[serde(default)]
    max_connections: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    service_account: Spanned<String>,
    scopes: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrincipals {
    #[serde(default)]
    service_accounts: Vec<RawServiceAccount>,
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceAccount {
    email: Spanned<String>,
    keys: Spanned<Vec<Spanned<RawKey>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: Spanned<String>,
    #[serde(default)]
    public_key_file: Option<Spanned<String>>,
    #[serde(default)]
    public_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    email: Spanned<String>,
    client_id: Spanned<String>,
    client_secret_sha256: Spanned<String>,
    refresh_token_sha256: Spanned<String>,
    scopes: Spanned<Vec<Spanned<String>>>,
}

/// Reads the server's configuration file, and the files it refers to (the queue file, public key files), whose
/// relative paths resolve against the configuration file's directory.
///
/// # Errors
///
/// A [`ConfigError`] naming the file and line: see [`parse`].
pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::io(path, "cannot read", &error))?;
    parse(&text, path)
}

/// Parses the text of a configuration file that lives at `path`: errors name `path`, and relative paths inside
/// resolve against its directory. The files it refers to are read.
///
/// # Errors
///
/// A [`ConfigError`] at `file:line:column` for bad YAML, a wrong type, an unknown or missing key, a bad value
/// (duration, address, URL, project, email, scope, digest), a duplicate principal or key id, a file referred to
/// that cannot be read, and a public key that cannot be used (the error names the key file and the line that
/// referred to it). Errors in the queue file name the queue file.
pub fn parse(text: &str, path: &Path) -> Result<ServerConfig, ConfigError> {
    let raw: RawConfig = from_yaml(text, path)?;
    let base = path.parent().unwrap_or(Path::new(""));
    let resolve = |relative: &str| -> PathBuf { base.join(relative) };

    let project = &raw.project;
    check_project(&project.value).map_err(|why| at(path, project, why))?;
    let mut config = ServerConfig::new(project.value.clone());

    if let Some(listen) = &raw.listen {
        config.listen = listen.value.trim().parse::<SocketAddr>().map_err(|_| {
            at(
                path,
                listen,
                format!(
                    "`listen: {}` is not an IP address and port, such as 127.0.0.1:8080 or [::1]:8080",
                    listen.value
                ),
            )
        })?;
    }
    if let Some(public_url) = &raw.public_url {
        config.public_url = Some(parse_public_url(path, public_url)?);
    }

    let queue_file = resolve(&raw.queue_file.value);
    let queue_text = std::fs::read_to_string(&queue_file).map_err(|error| {
        at(
            path,
            &raw.queue_file,
            format!(
                "cannot read the queue file {}: {error}",
                queue_file.display()
            ),
        )
    })?;
    config.queues = parse_queue_yaml(&queue_text, &queue_file)?;

    config.storage = match &raw.storage.value {
        RawStorage::Memory => StorageConfig::Memory,
        RawStorage::Sqlite(file) => {
            if file.value.trim().is_empty() {
                return Err(at(path, file, "`sqlite` needs the database file's path"));
            }
            StorageConfig::Sqlite {
                path: resolve(&file.value),
            }
        }
        RawStorage::Postgres(url) => {
            if let Err(error) = crate::PostgresStore::check_url(&url.value) {
                // The parser's message never repeats the URL, so no password reaches the error.
                return Err(at(
                    path,
                    url,
                    format!(
                        "`postgres` needs a PostgreSQL URL (postgres://user:password@host:port/database): {error}"
                    ),
                ));
            }
            StorageConfig::Postgres {
                url: SecretString::from(url.value.clone()),
            }
        }
    };

    let mut store = StoreConfig::default();
    if let Some(ttl) = &raw.tombstone_ttl {
        store = store.with_tombstone_ttl(duration(path, "tombstone_ttl", ttl)?);
    }
    if let Some(over_limit) = raw.over_limit {
        store = store.with_over_limit(match over_limit {
            RawOverLimit::Delete => OverLimit::Delete,
            RawOverLimit::Skip => OverLimit::Skip,
        });
    }
    config.store = store;
    if let Some(policy) = raw.scope_policy {
        config.scope_policy = match policy {
            RawScopePolicy::Seed => ScopePolicy::Seed,
            RawScopePolicy::Discovery => ScopePolicy::Discovery,
        };
    }
    if let Some(choices) = &raw.choices {
        config.choices = choices.choices();
    }
    if let Some(tokens) = &raw.tokens {
        config.tokens = token_policy(path, tokens)?;
    }
    if let Some(limits) = &raw.limits {
        config.limits = http_limits(path, limits)?;
    }
    if let Some(interval) = &raw.purge_interval {
        config.purge_interval = positive_duration(path, "purge_interval", interval)?;
    }
    if let Some(metadata) = &raw.metadata {
        config.metadata = Some(MetadataConfig {
            service_account: email(path, "service_account", &metadata.service_account)?,
            scopes: scopes(path, &metadata.scopes)?,
        });
    }
    if let Some(principals) = &raw.principals {
        config.principals = self::principals(path, base, principals)?;
    }
    Ok(config)
}

fn parse_public_url(path: &Path, value: &Spanned<String>) -> Result<String, ConfigError> {
    normalize_public_url(&value.value).map_err(|why| {
        at(
            path,
            value,
            format!("`public_url: {}` is not usable: {why}", value.value),
        )
    })
}

/// Checks a project (app id): valid per the model, without a partition prefix; a domain-scoped app id
/// (`example.com:my-app`, the form of apps created under a Google Workspace domain) is one domain, a colon and
/// the app id.
pub(crate) fn check_project(project: &str) -> Result<(), String> {
    validate::project(project).map_err(|error| error.to_string())?;
    if project.contains('~') {
        return Err(format!(
            "`project: {project}` must be the app id without a partition prefix (`s~`): requests may add the prefix"
        ));
    }
    let app = match project.split_once(':') {
        None => project,
        Some((domain, app)) => {
            let labels_ok = domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
            if !labels_ok || app.contains(':') {
                return Err(format!(
                    "`project: {project}` is not an app id: a domain-scoped one is a domain name, a colon and \
                     the app id, such as example.com:my-app"
                ));
            }
            app
        }
    };
    if app.is_empty() || app.contains('.') {
        return Err(format!(
            "`project: {project}` is not an app id: letters, digits and hyphens, optionally after a domain and a \
             colon (example.com:my-app)"
        ));
    }
    Ok(())
}

/// Checks a public URL (an http or https URL with a host, and nothing but a path after it) and removes its
/// trailing slashes.
pub(crate) fn normalize_public_url(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let problem = match url::Url::parse(text) {
        Err(error) => error.to_string(),
        Ok(url) if !matches!(url.scheme(), "http" | "https") || url.host().is_none() => {
            "it must be an http or https URL with a host".to_owned()
        }
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            "it must have no query or fragment".to_owned()
        }
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            "it must hold no user name or password".to_owned()
        }
        Ok(_) => return Ok(text.to_owned()),
    };
    Err(format!("{problem} (such as http://127.0.0.1:8080)"))
}

fn token_policy(path: &Path, raw: &RawTokens) -> Result<TokenPolicy, ConfigError> {
    let mut policy = TokenPolicy::default();
    if let Some(value) = &raw.access_token_lifetime {
        policy.access_token_lifetime = positive_duration(path, "access_token_lifetime", value)?;
    }
    if let Some(value) = &raw.max_assertion_skew {
        policy.max_assertion_skew = duration(path, "max_assertion_skew", value)?;
    }
    if let Some(value) = &raw.max_assertion_lifetime {
        policy.max_assertion_lifetime = positive_duration(path, "max_assertion_lifetime", value)?;
    }
    Ok(policy)
}

fn http_limits(path: &Path, raw: &RawLimits) -> Result<HttpLimits, ConfigError> {
    let mut limits = HttpLimits::default();
    let positive = |key: &str, value: &Spanned<String>, what: &str| {
        value
            .value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|number| *number > 0)
            .ok_or_else(|| {
                at(
                    path,
                    value,
                    format!(
                        "`{key}: {}` must be a positive number of {what}",
                        value.value
                    ),
                )
            })
    };
    if let Some(value) = &raw.max_body_bytes {
        limits.max_body_bytes = positive("max_body_bytes", value, "bytes")?;
    }
    if let Some(value) = &raw.max_connections {
        limits.max_connections = positive("max_connections", value, "connections")?;
    }
    for (key, raw, field) in [
        (
            "request_timeout",
            &raw.request_timeout,
            &mut limits.request_timeout,
        ),
        (
            "header_read_timeout",
            &raw.header_read_timeout,
            &mut limits.header_read_timeout,
        ),
        ("idle_timeout", &raw.idle_timeout, &mut limits.idle_timeout),
        (
            "body_read_timeout",
            &raw.body_read_timeout,
            &mut limits.body_read_timeout,
        ),
    ] {
        if let Some(value) = raw {
            *field = positive_duration(path, key, value)?;
        }
    }
    Ok(limits)
}

/// A scope list: each a short name (`taskqueue`, `taskqueue.consumer`, `cloud-taskqueue`, ...: any name without
/// `:` is prefixed with `https://www.googleapis.com/auth/`) or a full URL; at least one.
fn scopes(path: &Path, raw: &Spanned<Vec<Spanned<String>>>) -> Result<ScopeSet, ConfigError> {
    if raw.value.is_empty() {
        return Err(at(path, raw, "`scopes` lists no scope"));
    }
    let mut set = ScopeSet::new();
    for scope in &raw.value {
        let name = scope.value.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(at(
                path,
                scope,
                format!(
                    "`{}` is not a scope: write a short name such as taskqueue, or a URL",
                    scope.value.escape_debug()
                ),
            ));
        }
        set.insert(if name.contains(':') {
            Scope::parse(name)
        } else {
            Scope::parse(&format!("{SCOPE_PREFIX}{name}"))
        });
    }
    Ok(set)
}

fn digest(path: &Path, key: &str, value: &Spanned<String>) -> Result<SecretDigest, ConfigError> {
    SecretDigest::from_hex(value.value.trim()).ok_or_else(|| {
        at(
            path,
            value,
            format!(
                "`{key}` must be a SHA-256 digest in hex: 64 hex digits, found {} characters{}",
                value.value.trim().chars().count(),
                if value.value.trim().len() == 64 {
                    " that are not all hex digits"
                } else {
                    ""
                }
            ),
        )
    })
}

fn principals(path: &Path, base: &Path, raw: &RawPrincipals) -> Result<Principals, ConfigError> {
    let mut principals = Principals::default();
    let mut emails: BTreeMap<String, u64> = BTreeMap::new();
    for account in &raw.service_accounts {
        let address = email(path, "email", &account.email)?;
        if let Some(first) = emails.insert(
            address.to_ascii_lowercase(),
            account.email.referenced.line(),
        ) {
            return Err(at(
                path,
                &account.email,
                format!("service account {address} is listed twice (first at line {first})"),
            ));
        }
        if account.keys.value.is_empty() {
            return Err(at(
                path,
                &account.keys,
                format!("service account {address} lists no key"),
            ));
        }
        let mut keys = JwtKeySet::new();
        for key in &account.keys.value {
            let id = &key.value.id;
            if id.value.trim().is_empty() {
                return Err(at(path, id, "a key's `id` (its private_key_id) is empty"));
            }
            let public_key = public_key(path, base, key)?;
            if keys.insert(id.value.clone(), public_key).is_some() {
                return Err(at(
                    path,
                    id,
                    format!(
                        "service account {address} has two keys with the id `{}`",
                        id.value
                    ),
                ));
            }
        }
        principals
            .service_accounts
            .push(ServiceAccountPrincipal::new(address, keys));
    }
    let mut refresh_tokens: BTreeMap<SecretDigest, u64> = BTreeMap::new();
    for user in &raw.users {
        let address = email(path, "email", &user.email)?;
        if user.client_id.value.trim().is_empty() {
            return Err(at(path, &user.client_id, "`client_id` is empty"));
        }
        let refresh_token = digest(path, "refresh_token_sha256", &user.refresh_token_sha256)?;
        if let Some(first) =
            refresh_tokens.insert(refresh_token, user.refresh_token_sha256.referenced.line())
        {
            return Err(at(
                path,
                &user.refresh_token_sha256,
                format!("two users have the same refresh token (first at line {first})"),
            ));
        }
        principals.users.push(UserPrincipal {
            email: address,
            client_id: user.client_id.value.trim().to_owned(),
            client_secret: digest(path, "client_secret_sha256", &user.client_secret_sha256)?,
            refresh_token,
            scopes: scopes(path, &user.scopes)?,
        });
    }
    Ok(principals)
}

/// A key's public key, from `public_key_file` or inline `public_key` (exactly one).
fn public_key(
    path: &Path,
    base: &Path,
    key: &Spanned<RawKey>,
) -> Result<RsaVerifyingKey, ConfigError> {
    match (&key.value.public_key_file, &key.value.public_key) {
        (Some(file), None) => {
            let key_path = base.join(&file.value);
            let pem = std::fs::read_to_string(&key_path).map_err(|error| {
                at(
                    path,
                    file,
                    format!(
                        "cannot read the public key file {}: {error}",
                        key_path.display()
                    ),
                )
            })?;
            RsaVerifyingKey::from_pem(&pem).map_err(|error| {
                at(
                    path,
                    file,
                    format!(
                        "the public key file {} is not usable: {error}",
                        key_path.display()
                    ),
                )
            })
        }
        (None, Some(pem)) => RsaVerifyingKey::from_pem(&pem.value)
            .map_err(|error| at(path, pem, format!("`public_key` is not usable: {error}"))),
        _ => Err(at(
            path,
            key,
            "a key needs exactly one of `public_key_file` and `public_key`",
        )),
    }
}
