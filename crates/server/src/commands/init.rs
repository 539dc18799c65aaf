//! `taskqueue-server init DIR`: a ready-to-run development setup.
//!
//! [`init`] writes into DIR:
//!
//! | File | What |
//! |---|---|
//! | `taskqueue-server.yaml` | the server's configuration: SQLite storage in `data/`, the principals below |
//! | `queue.yaml` | one pull queue whose ACL lists both principals as `user_email` and `writer_email` |
//! | `service-account.json` | a service account key in Google's format (mode 0600), `token_uri` = this server |
//! | `keys/<private_key_id>.pub.pem` | its public key, which the configuration refers to |
//! | `authorized-user.json` | a user's OAuth client and refresh token in Google's format (mode 0600) |
//!
//! The key is a fresh RSA 2048 key; the client secret and refresh token are 32 random bytes each, in base64url.
//! The configuration holds only the public key and the secrets' SHA-256 digests. Existing files are not
//! overwritten unless [`InitOptions::force`] is set (a secret file is then removed and created anew, so that it
//! never holds a secret under wider permissions). The directory `data/` is created for the SQLite database; a
//! database already there is kept. Files are written one after the other, the configuration last: a failure
//! part-way leaves no configuration that refers to a missing file.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom as _, SystemRandom};
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use taskqueue_auth::{Scope, SecretString};
use taskqueue_model::validate;

use crate::DEFAULT_TOMBSTONE_TTL;
use crate::config::{
    ConfigError, HttpLimits, TokenPolicy, check_project, is_email, normalize_public_url,
};
use crate::digest::SecretDigest;

/// The configuration file's name in DIR.
pub const CONFIG_FILE: &str = "taskqueue-server.yaml";
/// The queue file's name in DIR.
pub const QUEUE_FILE: &str = "queue.yaml";
/// The service account key file's name in DIR.
pub const SERVICE_ACCOUNT_FILE: &str = "service-account.json";
/// The authorized-user key file's name in DIR.
pub const AUTHORIZED_USER_FILE: &str = "authorized-user.json";

/// The size of the generated RSA key, as Google's service account keys.
const RSA_BITS: usize = 2048;

/// What [`init`] writes. Every field has a default ([`InitOptions::default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitOptions {
    /// The app id served. Default `dev-project`.
    pub project: String,
    /// Where the server listens. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The URL clients reach the server at; `None` (the default): `http://{listen}`, with an unspecified address
    /// (`0.0.0.0`, `::`) replaced by loopback. The key files' `token_uri` is `{public_url}/token`.
    pub public_url: Option<String>,
    /// The pull queue's name. Default `pull-queue`.
    pub queue: String,
    /// The queue's `task_retry_limit` (its `maxLeases`). Default 7.
    pub task_retry_limit: Option<u32>,
    /// The service account's id: its email is `{id}@{project}.iam.gserviceaccount.com`. Default `worker`.
    pub service_account: String,
    /// The user's email. Default `dev@example.com`.
    pub user_email: String,
    /// The user's OAuth client id. Default `taskqueue-dev.apps.local`.
    pub client_id: String,
    /// Whether to overwrite existing files. Default `false`.
    pub force: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            project: "dev-project".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            queue: "pull-queue".to_owned(),
            task_retry_limit: Some(7),
            service_account: "worker".to_owned(),
            user_email: "dev@example.com".to_owned(),
            client_id: "taskqueue-dev.apps.local".to_owned(),
            force: false,
        }
    }
}

impl InitOptions {
    /// Sets [`project`](Self::project).
    #[must_use]
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// Sets [`listen`](Self::listen).
    #[must_use]
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Sets [`public_url`](Self::public_url).
    #[must_use]
    pub fn with_public_url(mut self, public_url: impl Into<String>) -> Self {
        self.public_url = Some(public_url.into());
        self
    }

    /// Sets [`queue`](Self::queue).
    #[must_use]
    pub fn with_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// Sets [`force`](Self::force).
    #[must_use]
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// The public URL the files will name: [`public_url`](Self::public_url) normalized, or derived from
    /// [`listen`](Self::listen).
    fn resolved_public_url(&self) -> Result<String, String> {
        if let Some(url) = &self.public_url {
            return normalize_public_url(url).map_err(|why| format!("public URL `{url}`: {why}"));
        }
        if self.listen.port() == 0 {
            return Err(
                "listening on port 0 (any free port) needs an explicit public URL: the key files must name the \
                 token endpoint's port"
                    .to_owned(),
            );
        }
        let ip = match self.listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Ok(format!(
            "http://{}",
            SocketAddr::new(ip, self.listen.port())
        ))
    }
}

/// What [`init`] wrote, and how to use it. It holds no secret, so `Debug` and `Display` show none.
///
/// `Display` is the text for a terminal: the files, the command that starts the server, and the environment
/// variable that points Google's client libraries (and ours) at the service account.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// The directory, absolute.
    pub dir: PathBuf,
    /// Every file written, in the order written.
    pub files: Vec<PathBuf>,
    /// The server's configuration file.
    pub config_file: PathBuf,
    /// The service account key file.
    pub service_account_file: PathBuf,
    /// The authorized-user key file.
    pub authorized_user_file: PathBuf,
    /// The service account's email.
    pub service_account_email: String,
    /// The user's email.
    pub user_email: String,
    /// The pull queue's name.
    pub queue: String,
    /// The project.
    pub project: String,
    /// The URL the key files' `token_uri` points at (`{public_url}/token`).
    pub public_url: String,
}

impl InitReport {
    /// The command that starts the server with this setup: `taskqueue-server serve --config DIR/taskqueue-server.yaml`.
    #[must_use]
    pub fn serve_command(&self) -> String {
        format!(
            "taskqueue-server serve --config {}",
            shell_quote(&self.config_file.display().to_string())
        )
    }

    /// The environment variable that makes Application Default Credentials use the service account:
    /// `("GOOGLE_APPLICATION_CREDENTIALS", DIR/service-account.json)`.
    #[must_use]
    pub fn credentials_env(&self) -> (&'static str, &Path) {
        ("GOOGLE_APPLICATION_CREDENTIALS", &self.service_account_file)
    }
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Wrote a development setup in {}:", self.dir.display())?;
        for file in &self.files {
            writeln!(f, "  {}", file.display())?;
        }
        writeln!(f)?;
        writeln!(f, "Start the server:")?;
        writeln!(f, "  {}", self.serve_command())?;
        writeln!(f)?;
        writeln!(
            f,
            "Then point clients at {}/taskqueue/v1beta2/projects/ as {} (queue `{}` of project `{}`):",
            self.public_url, self.service_account_email, self.queue, self.project
        )?;
        let (name, value) = self.credentials_env();
        writeln!(
            f,
            "  export {name}={}",
            shell_quote(&value.display().to_string())
        )?;
        write!(
            f,
            "or as {} with {}.",
            self.user_email,
            self.authorized_user_file.display()
        )
    }
}

/// The secrets of one setup; dropped as soon as the files are written.
struct Secrets {
    private_key_pem: SecretString,
    client_secret: SecretString,
    refresh_token: SecretString,
}

/// Writes a development setup into `dir` (created if missing): see the [module](self) documentation.
///
/// # Errors
///
/// A [`ConfigError`] naming the file, when an option is invalid (the error names `dir`), a file exists and
/// [`InitOptions::force`] is not set (nothing is written then), or a file cannot be written.
pub fn init(dir: &Path, options: &InitOptions) -> Result<InitReport, ConfigError> {
    let dir =
        std::path::absolute(dir).map_err(|error| ConfigError::io(dir, "cannot resolve", &error))?;
    let invalid = |why: String| ConfigError::file(&dir, why);
    check_project(&options.project).map_err(invalid)?;
    validate::queue_name(&options.queue).map_err(|error| invalid(error.to_string()))?;
    if options.service_account.is_empty()
        || !options
            .service_account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(invalid(format!(
            "service account id `{}`: use lowercase letters, digits and `-`",
            options.service_account.escape_debug()
        )));
    }
    if !is_email(&options.user_email) || options.user_email.contains(['"', '\\']) {
        return Err(invalid(format!(
            "`{}` is not an email address",
            options.user_email.escape_debug()
        )));
    }
    if options.client_id.trim().is_empty() || options.client_id.contains(['"', '\\']) {
        return Err(invalid(
            "the OAuth client id is empty or holds quotes".to_owned(),
        ));
    }
    let public_url = options.resolved_public_url().map_err(invalid)?;
    let token_uri = format!("{public_url}/token");

    let config_file = dir.join(CONFIG_FILE);
    let queue_file = dir.join(QUEUE_FILE);
    let service_account_file = dir.join(SERVICE_ACCOUNT_FILE);
    let authorized_user_file = dir.join(AUTHORIZED_USER_FILE);
    if !options.force {
        for file in [
            &config_file,
            &queue_file,
            &service_account_file,
            &authorized_user_file,
        ] {
            if file.exists() {
                return Err(ConfigError::file(
                    file,
                    "already exists; init does not overwrite files unless forced (--force)",
                ));
            }
        }
    }

    let rng = SystemRandom::new();
    let key_id = hex(&random_bytes(&dir, &rng, 20)?);
    let service_account_email = format!(
        "{}@{}.iam.gserviceaccount.com",
        options.service_account,
        service_account_domain(&options.project)
    );
    let sa_client_id = numeric_id(&random_bytes(&dir, &rng, 16)?);
    let (secrets, public_key_pem) = generate(&dir, &rng)?;

    let keys_dir = dir.join("keys");
    let public_key_file = keys_dir.join(format!("{key_id}.pub.pem"));
    for directory in [&dir, &keys_dir, &dir.join("data")] {
        std::fs::create_dir_all(directory)
            .map_err(|error| ConfigError::io(directory, "cannot create the directory", &error))?;
    }

    let mut files = Vec::new();
    write_file(
        &public_key_file,
        public_key_pem.as_bytes(),
        false,
        options.force,
    )?;
    files.push(public_key_file);

    let service_account = serde_json::json!({
        "type": "service_account",
        "project_id": options.project,
        "private_key_id": key_id,
        "private_key": secrets.private_key_pem.expose(),
        "client_email": service_account_email,
        "client_id": sa_client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            service_account_email.replace('@', "%40")
        ),
        "universe_domain": "googleapis.com",
    });
    write_json(&service_account_file, &service_account, options.force)?;
    drop(service_account);
    files.push(service_account_file.clone());

    let authorized_user = serde_json::json!({
        "type": "authorized_user",
        "client_id": options.client_id,
        "client_secret": secrets.client_secret.expose(),
        "refresh_token": secrets.refresh_token.expose(),
        "token_uri": token_uri,
    });
    write_json(&authorized_user_file, &authorized_user, options.force)?;
    drop(authorized_user);
    files.push(authorized_user_file.clone());

    let queue_yaml = queue_yaml(options, &service_account_email);
    write_file(&queue_file, queue_yaml.as_bytes(), false, options.force)?;
    files.push(queue_file);

    let config = ConfigText {
        options,
        public_url: &public_url,
        service_account_email: &service_account_email,
        key_id: &key_id,
        client_secret: SecretDigest::of(secrets.client_secret.expose()),
        refresh_token: SecretDigest::of(secrets.refresh_token.expose()),
    }
    .render();
    drop(secrets);
    write_file(&config_file, config.as_bytes(), false, options.force)?;
    files.push(config_file.clone());

    Ok(InitReport {
        dir,
        files,
        config_file,
        service_account_file,
        authorized_user_file,
        service_account_email,
        user_email: options.user_email.clone(),
        queue: options.queue.clone(),
        project: options.project.clone(),
        public_url,
    })
}

/// A fresh RSA key (PKCS#8 PEM, secret, and its SubjectPublicKeyInfo PEM), client secret and refresh token.
fn generate(dir: &Path, rng: &SystemRandom) -> Result<(Secrets, String), ConfigError> {
    let failed = |what: &str, error: &dyn fmt::Display| {
        ConfigError::file(dir, format!("cannot generate {what}: {error}"))
    };
    let private_key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
        .map_err(|error| failed("an RSA key", &error))?;
    let private_key_pem = private_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| failed("the private key's PEM", &error))?;
    let public_key_pem = RsaPublicKey::from(&private_key)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| failed("the public key's PEM", &error))?;
    let secrets = Secrets {
        private_key_pem: SecretString::new(private_key_pem.as_str()),
        client_secret: SecretString::new(URL_SAFE_NO_PAD.encode(random_bytes(dir, rng, 32)?)),
        refresh_token: SecretString::new(URL_SAFE_NO_PAD.encode(random_bytes(dir, rng, 32)?)),
    };
    Ok((secrets, public_key_pem))
}

fn random_bytes(dir: &Path, rng: &SystemRandom, len: usize) -> Result<Vec<u8>, ConfigError> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes)
        .map_err(|_| ConfigError::file(dir, "the system's random number generator failed"))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// A 21-digit number, as Google's service account client ids (`1` followed by 20 random digits).
fn numeric_id(bytes: &[u8]) -> String {
    let mut value = bytes
        .iter()
        .fold(0_u128, |value, byte| (value << 8) | u128::from(*byte));
    let mut digits = String::from("1");
    for _ in 0..20 {
        digits.push(char::from(b'0' + (value % 10) as u8));
        value /= 10;
    }
    digits
}

fn write_json(path: &Path, value: &serde_json::Value, force: bool) -> Result<(), ConfigError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| ConfigError::file(path, format!("cannot encode: {error}")))?;
    text.push('\n');
    write_file(path, text.as_bytes(), true, force)
}

/// Writes a new file; a `secret` one with mode 0600 on Unix. With `force`, an existing file is removed first, so
/// the new one is created with the new mode (never written under an old file's wider permissions).
fn write_file(path: &Path, contents: &[u8], secret: bool, force: bool) -> Result<(), ConfigError> {
    if force {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(ConfigError::io(path, "cannot replace", &error)),
        }
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = open.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            ConfigError::file(
                path,
                "already exists; init does not overwrite files unless forced (--force)",
            )
        } else {
            ConfigError::io(path, "cannot create", &error)
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|error| ConfigError::io(path, "cannot write", &error))
}

fn queue_yaml(options: &InitOptions, service_account_email: &str) -> String {
    let account = yaml_str(service_account_email);
    let user = yaml_str(&options.user_email);
    let retry = match options.task_retry_limit {
        Some(limit) => format!(
            "  retry_parameters:\n    task_retry_limit: {limit}   # maxLeases: a task is leased at most {limit} times\n"
        ),
        None => String::new(),
    };
    format!(
        "# The queues, in App Engine's queue.yaml format. Written by `taskqueue-server init`.\n\
         queue:\n\
         - name: {queue}\n  \
           mode: pull\n  \
           acl:\n  \
           # may get the queue, and get, list, lease, update, patch and delete tasks:\n  \
           - user_email: {account}\n  \
           - user_email: {user}\n  \
           # may insert tasks:\n  \
           - writer_email: {account}\n  \
           - writer_email: {user}\n\
         {retry}",
        queue = options.queue,
    )
}

/// The configuration file's text.
struct ConfigText<'a> {
    options: &'a InitOptions,
    public_url: &'a str,
    service_account_email: &'a str,
    key_id: &'a str,
    client_secret: SecretDigest,
    refresh_token: SecretDigest,
}

impl ConfigText<'_> {
    fn render(&self) -> String {
        let tokens = TokenPolicy::default();
        let limits = HttpLimits::default();
        let scopes = Scope::TASK_QUEUE_SCOPES
            .iter()
            .map(|scope| {
                scope
                    .as_str()
                    .trim_start_matches("https://www.googleapis.com/auth/")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let account = yaml_str(self.service_account_email);
        format!(
            "# The taskqueue-server configuration. Written by `taskqueue-server init`; the format is described in\n\
             # crates/server/README.md. Relative paths resolve against this file's directory.\n\
             project: {project}\n\
             listen: {listen}\n\
             # Where clients reach the server: the token endpoint (token_uri, and the audience of JWT assertions) is\n\
             # {{public_url}}/token.\n\
             public_url: {public_url}\n\
             queue_file: {queue_file}\n\
             storage:\n  \
               sqlite: data/tasks.sqlite\n\
             tombstone_ttl: {tombstone_ttl}      # how long a deleted task's name stays taken\n\
             over_limit: delete      # a task past its queue's task_retry_limit is deleted (or: skip)\n\
             scope_policy: seed      # the docs' scope table (or: discovery)\n\
             # Answers where production's is unknown (the README's choices table says why):\n\
             choices:\n  \
               patch_lease_timestamp: optional     # a PATCH may renew an unexpired lease without it (or: required)\n  \
               repeated_delete: ok                 # deleting a deleted task is 200 (or: not_found)\n  \
               modify_missing_task: lease_expired  # updating a missing task is the lease-expired 400 (or: not_found)\n  \
               unleased_lease_timestamp: zero      # a task no lease holds shows leaseTimestamp 0 (or: eta)\n\
             tokens:\n  \
               access_token_lifetime: {access}\n  \
               max_assertion_skew: {skew}\n  \
               max_assertion_lifetime: {assertion}\n\
             limits:\n  \
               max_body_bytes: {max_body}\n  \
               request_timeout: {timeout}\n\
             purge_interval: 60s\n\
             # A metadata-server-compatible endpoint issues tokens for one service account to anyone who reaches the\n\
             # server, as on Compute Engine. Off unless uncommented:\n\
             # metadata:\n\
             #   service_account: {account}\n\
             #   scopes: [taskqueue]\n\
             principals:\n  \
               service_accounts:\n  \
               - email: {account}\n    \
                 keys:\n    \
                 - id: {key_id}   # private_key_id in {service_account_file}\n      \
                   public_key_file: keys/{key_id}.pub.pem\n  \
               users:\n  \
               - email: {user}\n    \
                 client_id: {client_id}\n    \
                 # SHA-256 digests of {authorized_user_file}'s client_secret and refresh_token:\n    \
                 client_secret_sha256: {client_secret}\n    \
                 refresh_token_sha256: {refresh_token}\n    \
                 scopes: [{scopes}]\n",
            project = self.options.project,
            listen = yaml_str(&self.options.listen.to_string()),
            public_url = yaml_str(self.public_url),
            queue_file = QUEUE_FILE,
            tombstone_ttl = format_duration(DEFAULT_TOMBSTONE_TTL),
            access = format_duration(tokens.access_token_lifetime),
            skew = format_duration(tokens.max_assertion_skew),
            assertion = format_duration(tokens.max_assertion_lifetime),
            max_body = limits.max_body_bytes,
            timeout = format_duration(limits.request_timeout),
            key_id = self.key_id,
            service_account_file = SERVICE_ACCOUNT_FILE,
            authorized_user_file = AUTHORIZED_USER_FILE,
            user = yaml_str(&self.options.user_email),
            client_id = yaml_str(&self.options.client_id),
            client_secret = self.client_secret.to_hex(),
            refresh_token = self.refresh_token.to_hex(),
        )
    }
}

/// A string as a YAML scalar: plain when that is unambiguous, else double-quoted (a JSON string is a valid YAML
/// double-quoted scalar).
fn yaml_str(value: &str) -> String {
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-+/:".contains(c))
        && !value.contains(": ");
    if plain {
        value.to_owned()
    } else {
        serde_json::Value::from(value).to_string()
    }
}

/// A duration in the configuration's syntax, in the largest unit that divides it.
fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 || secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// Quotes `text` for a POSIX shell when it holds anything but safe characters.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The part of a service account's email before `.iam.gserviceaccount.com`: the project id, or for a
/// domain-scoped project (`example.com:my-app`) the app id, a dot and the domain (`my-app.example.com`), as Google
/// named them.
fn service_account_domain(project: &str) -> String {
    match project.split_once(':') {
        Some((domain, app)) => format!("{app}.{domain}"),
        None => project.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{format_duration, numeric_id, shell_quote, yaml_str};

    #[test]
    fn durations_use_the_largest_unit() {
        let cases = [
            (Duration::from_secs(7 * 86_400), "7d"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(5400), "90m"),
            (Duration::from_secs(60), "1m"),
            (Duration::from_secs(61), "61s"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::ZERO, "0ms"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
            assert_eq!(crate::config::parse_duration(text).ok(), Some(duration));
        }
    }

    #[test]
    fn strings_are_quoted_when_yaml_would_misread_them() {
        assert_eq!(yaml_str("dev@example.com"), "dev@example.com");
        assert_eq!(yaml_str("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(yaml_str("[::1]:8080"), "\"[::1]:8080\"");
        assert_eq!(yaml_str("a #b"), "\"a #b\"");
        assert_eq!(yaml_str("true"), "true");
    }

    #[test]
    fn client_ids_have_21_digits() {
        let id = numeric_id(&[0xff; 16]);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with('1') && id.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_quote("/tmp/dev/a.yaml"), "/tmp/dev/a.yaml");
        assert_eq!(shell_quote("/tmp/my dir"), "'/tmp/my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
