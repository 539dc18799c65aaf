//! Application Default Credentials: find the credentials of the environment
//! the way Google's libraries do, and say why each place was taken or not.
//! The order is documented on [`ApplicationDefaultCredentials`].

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use taskqueue_clock::SharedClock;

use crate::authorized_user::{AuthorizedUserCredentials, AuthorizedUserSource};
use crate::metadata::{self, DEFAULT_METADATA_HOST, DEFAULT_PROBE_TIMEOUT, GCE_METADATA_HOST};
use crate::service_account::{ServiceAccountKey, ServiceAccountSource};
use crate::{
    AccessToken, CacheConfig, CredentialSource, Error, HttpOptions, MetadataServerSource, ScopeSet,
    SharedTokenProvider, TokenCache, TokenProvider, TokenSource,
};

/// The environment variable naming a key file, tried first.
pub const GOOGLE_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The environment variable naming gcloud's configuration directory, where
/// the well-known file lives (default `~/.config/gcloud`).
pub const CLOUDSDK_CONFIG: &str = "CLOUDSDK_CONFIG";

/// The name of gcloud's well-known file.
const WELL_KNOWN_FILE_NAME: &str = "application_default_credentials.json";

/// Key files are a few kilobytes; anything larger than this is not one (and
/// a variable pointing at `/dev/zero` must not hang discovery).
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// The key file types discovery can turn into a provider.
const SUPPORTED_TYPES: &str = "authorized_user, service_account";

/// The environment variables discovery reads, captured once so that tests
/// (and unusual programs) can hand discovery an environment of their own.
///
/// Empty variables count as unset. New fields may be added as more
/// variables are honoured; build it from `AdcEnvironment::default()` with
/// the `with_*` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdcEnvironment {
    /// `GOOGLE_APPLICATION_CREDENTIALS`: the path of a key file.
    pub google_application_credentials: Option<PathBuf>,
    /// `CLOUDSDK_CONFIG`: gcloud's configuration directory.
    pub cloudsdk_config: Option<PathBuf>,
    /// `HOME`: where `.config/gcloud` is, except on Windows.
    pub home: Option<PathBuf>,
    /// `APPDATA`: where `gcloud` is, on Windows.
    pub appdata: Option<PathBuf>,
    /// `GCE_METADATA_HOST`: the metadata server's `host[:port]`.
    pub gce_metadata_host: Option<String>,
}

impl AdcEnvironment {
    /// Sets `GOOGLE_APPLICATION_CREDENTIALS`.
    #[must_use]
    pub fn with_google_application_credentials(mut self, path: impl Into<PathBuf>) -> Self {
        self.google_application_credentials = Some(path.into());
        self
    }

    /// Sets `CLOUDSDK_CONFIG`.
    #[must_use]
    pub fn with_cloudsdk_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.cloudsdk_config = Some(path.into());
        self
    }

    /// Sets `HOME`.
    #[must_use]
    pub fn with_home(mut self, path: impl Into<PathBuf>) -> Self {
        self.home = Some(path.into());
        self
    }

    /// Sets `APPDATA`.
    #[must_use]
    pub fn with_appdata(mut self, path: impl Into<PathBuf>) -> Self {
        self.appdata = Some(path.into());
        self
    }

    /// Sets `GCE_METADATA_HOST`.
    #[must_use]
    pub fn with_gce_metadata_host(mut self, host: impl Into<String>) -> Self {
        self.gce_metadata_host = Some(host.into());
        self
    }

    /// The variables of this process, read now.
    pub fn from_process_env() -> Self {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        Self {
            google_application_credentials: path(GOOGLE_APPLICATION_CREDENTIALS),
            cloudsdk_config: path(CLOUDSDK_CONFIG),
            home: path("HOME"),
            appdata: path("APPDATA"),
            gce_metadata_host: std::env::var(GCE_METADATA_HOST)
                .ok()
                .map(|host| host.trim().to_owned())
                .filter(|host| !host.is_empty()),
        }
    }

    /// Where gcloud's well-known file would be, if the variables say.
    pub fn well_known_file(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.cloudsdk_config {
            return Some(dir.join(WELL_KNOWN_FILE_NAME));
        }
        if cfg!(windows) {
            self.appdata
                .as_ref()
                .map(|dir| dir.join("gcloud").join(WELL_KNOWN_FILE_NAME))
        } else {
            self.home.as_ref().map(|dir| {
                dir.join(".config")
                    .join("gcloud")
                    .join(WELL_KNOWN_FILE_NAME)
            })
        }
    }

    /// The metadata server host discovery probes.
    pub fn metadata_host(&self) -> &str {
        self.gce_metadata_host
            .as_deref()
            .map(str::trim)
            .filter(|host| !host.is_empty())
            .unwrap_or(DEFAULT_METADATA_HOST)
    }
}

/// How discovery probes, and how the provider it returns runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdcOptions {
    /// For the key-file sources (token endpoints). Default:
    /// [`HttpOptions::default`].
    pub http: HttpOptions,
    /// For the metadata server source. Default:
    /// [`MetadataServerSource::default_options`] (short timeouts).
    pub metadata: HttpOptions,
    /// The bound of the metadata server probe (real time). Default
    /// [`DEFAULT_PROBE_TIMEOUT`].
    pub probe_timeout: Duration,
    /// The [`TokenCache`] wrapped around the chosen source; it runs on the
    /// clock of [`AdcOptions::http`]. Default: [`CacheConfig::default`].
    pub cache: CacheConfig,
}

impl Default for AdcOptions {
    fn default() -> Self {
        Self {
            http: HttpOptions::default(),
            metadata: MetadataServerSource::default_options(),
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            cache: CacheConfig::default(),
        }
    }
}

impl AdcOptions {
    /// The same options with every source and the cache on `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.metadata.clock = clock.clone();
        self.http.clock = clock;
        self
    }

    /// The same options with another metadata server probe bound.
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }
}

/// The place a discovery step looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdcStep {
    /// The key file named by `GOOGLE_APPLICATION_CREDENTIALS`.
    EnvironmentVariable,
    /// gcloud's well-known file.
    WellKnownFile,
    /// The metadata server.
    MetadataServer,
}

/// How a discovery step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdcOutcome {
    /// Nothing there: a variable not set, a file not found, no metadata
    /// server answering. Discovery went on.
    Skipped,
    /// Something there but unusable: a broken or unsupported key file ends
    /// discovery with an error; a bad metadata host is reported.
    Failed,
    /// These credentials were chosen.
    Chosen,
}

/// One step of a [`DiscoveryReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryAttempt {
    step: AdcStep,
    location: Option<String>,
    outcome: AdcOutcome,
    detail: String,
    chosen: Option<(&'static str, CredentialSource)>,
}

impl DiscoveryAttempt {
    /// Where discovery looked.
    pub fn step(&self) -> AdcStep {
        self.step
    }

    /// The file path or metadata host, when there was one to look at.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// How the step ended.
    pub fn outcome(&self) -> AdcOutcome {
        self.outcome
    }

    /// Why, in words: "not set", "not found", the probe's failure, the
    /// key file's type.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The kind of credentials chosen here, if this step was chosen.
    pub fn credential_source(&self) -> Option<CredentialSource> {
        self.chosen.map(|(_, source)| source)
    }
}

impl fmt::Display for DiscoveryAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            label(self.step, self.location.as_deref()),
            self.detail
        )
    }
}

/// What a step looked at, in words: `GOOGLE_APPLICATION_CREDENTIALS=/p`,
/// `well-known file /p`, `metadata server host`.
fn label(step: AdcStep, location: Option<&str>) -> String {
    match (step, location) {
        (AdcStep::EnvironmentVariable, None) => GOOGLE_APPLICATION_CREDENTIALS.to_owned(),
        (AdcStep::EnvironmentVariable, Some(path)) => {
            format!("{GOOGLE_APPLICATION_CREDENTIALS}={path}")
        }
        (AdcStep::WellKnownFile, None) => "well-known file".to_owned(),
        (AdcStep::WellKnownFile, Some(path)) => format!("well-known file {path}"),
        (AdcStep::MetadataServer, None) => "metadata server".to_owned(),
        (AdcStep::MetadataServer, Some(host)) => format!("metadata server {host}"),
    }
}

/// Every place Application Default Credentials discovery looked, in order,
/// and why each was skipped, refused or chosen.
///
/// `Display` prints one line per step and a last line naming the choice:
///
/// ```text
/// GOOGLE_APPLICATION_CREDENTIALS: not set
/// well-known file /home/me/.config/gcloud/application_default_credentials.json: not found
/// metadata server metadata.google.internal: answered with Metadata-Flavor: Google
/// chosen: metadata server metadata.google.internal
/// ```
///
/// It holds paths, host names and key file types; never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryReport {
    attempts: Vec<DiscoveryAttempt>,
}

impl DiscoveryReport {
    /// The steps, in the order they were tried.
    pub fn attempts(&self) -> &[DiscoveryAttempt] {
        &self.attempts
    }

    /// The step whose credentials were chosen, if any.
    pub fn chosen(&self) -> Option<&DiscoveryAttempt> {
        self.attempts
            .iter()
            .find(|attempt| attempt.outcome == AdcOutcome::Chosen)
    }

    /// The kind of the chosen credentials, if any.
    pub fn credential_source(&self) -> Option<CredentialSource> {
        self.chosen().and_then(DiscoveryAttempt::credential_source)
    }

    fn push(
        &mut self,
        step: AdcStep,
        location: Option<String>,
        outcome: AdcOutcome,
        detail: impl Into<String>,
    ) {
        self.attempts.push(DiscoveryAttempt {
            step,
            location,
            outcome,
            detail: detail.into(),
            chosen: None,
        });
    }

    fn push_chosen(
        &mut self,
        step: AdcStep,
        location: String,
        detail: impl Into<String>,
        kind: &'static str,
        source: CredentialSource,
    ) {
        self.attempts.push(DiscoveryAttempt {
            step,
            location: Some(location),
            outcome: AdcOutcome::Chosen,
            detail: detail.into(),
            chosen: Some((kind, source)),
        });
    }
}

impl fmt::Display for DiscoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for attempt in &self.attempts {
            writeln!(f, "{attempt}")?;
        }
        match self.chosen() {
            Some(DiscoveryAttempt {
                step: AdcStep::MetadataServer,
                location: Some(host),
                ..
            }) => write!(f, "chosen: metadata server {host}"),
            Some(DiscoveryAttempt {
                location: Some(path),
                chosen: Some((kind, _)),
                ..
            }) => write!(f, "chosen: {kind} from {path}"),
            _ => f.write_str("chosen: nothing"),
        }
    }
}

/// The credentials Application Default Credentials discovery chose: a
/// cached provider, and the report of how it was found.
///
/// It is itself a [`TokenProvider`] (forwarding to the chosen one); or take
/// the [`SharedTokenProvider`] out with
/// [`ApplicationDefaultCredentials::provider`]. Discovery fetches no token:
/// the first [`TokenProvider::token`] call does.
///
/// # Discovery order
///
/// 1. `GOOGLE_APPLICATION_CREDENTIALS`, the path of a key file. If it is
///    set, the file must load: a missing or broken file is an error naming
///    the path, never a silent fall-through to another identity.
/// 2. gcloud's well-known file, `application_default_credentials.json` in
///    `$CLOUDSDK_CONFIG` if set, else in `$HOME/.config/gcloud`
///    (`%APPDATA%\gcloud` on Windows), as written by
///    `gcloud auth application-default login`. A missing file is skipped; a
///    broken one is an error.
/// 3. The metadata server (`$GCE_METADATA_HOST`, else
///    `metadata.google.internal`), if a probe bounded by
///    [`AdcOptions::probe_timeout`] gets an answer carrying
///    `Metadata-Flavor: Google`.
///
/// Key files of `type` `service_account` and `authorized_user` are
/// supported; any other type (`external_account`,
/// `impersonated_service_account`, ...) is an error naming it and the file.
#[derive(Debug, Clone)]
pub struct ApplicationDefaultCredentials {
    provider: SharedTokenProvider,
    report: DiscoveryReport,
    quota_project_id: Option<String>,
}

impl ApplicationDefaultCredentials {
    /// Discovers the credentials of `env` in the [discovery
    /// order](ApplicationDefaultCredentials#discovery-order), wrapping the
    /// chosen source in a [`TokenCache`].
    ///
    /// Fails, with [`CredentialSource::ApplicationDefault`], when
    /// `GOOGLE_APPLICATION_CREDENTIALS` names a missing or broken file, when
    /// a key file is broken or of an unsupported type (the message names the
    /// file; the key file's own error is the [`source`](std::error::Error::source)),
    /// or when nothing is found (the message holds the whole report).
    ///
    /// Key files are read with blocking file I/O: they are small and local.
    pub async fn discover(options: &AdcOptions, env: &AdcEnvironment) -> Result<Self, Error> {
        let mut report = DiscoveryReport::default();

        // 1. GOOGLE_APPLICATION_CREDENTIALS: set means it must work.
        match &env.google_application_credentials {
            None => report.push(
                AdcStep::EnvironmentVariable,
                None,
                AdcOutcome::Skipped,
                "not set",
            ),
            Some(path) => {
                let location = path.display().to_string();
                return match load_key_file(path, options) {
                    Ok(loaded) => Ok(Self::chosen(
                        report,
                        AdcStep::EnvironmentVariable,
                        location,
                        loaded,
                    )),
                    Err(LoadError::NotFound) => {
                        let failure = Failure::new(format!(
                            "the file does not exist; point {GOOGLE_APPLICATION_CREDENTIALS} at \
                             a key file or unset it"
                        ));
                        Err(fail(
                            report,
                            AdcStep::EnvironmentVariable,
                            location,
                            failure,
                        ))
                    }
                    Err(LoadError::Invalid(failure)) => Err(fail(
                        report,
                        AdcStep::EnvironmentVariable,
                        location,
                        failure,
                    )),
                };
            }
        }

        // 2. gcloud's well-known file: missing means go on.
        match env.well_known_file() {
            None => report.push(
                AdcStep::WellKnownFile,
                None,
                AdcOutcome::Skipped,
                if cfg!(windows) {
                    "not looked for: neither CLOUDSDK_CONFIG nor APPDATA is set"
                } else {
                    "not looked for: neither CLOUDSDK_CONFIG nor HOME is set"
                },
            ),
            Some(path) => {
                let location = path.display().to_string();
                match load_key_file(&path, options) {
                    Ok(loaded) => {
                        return Ok(Self::chosen(
                            report,
                            AdcStep::WellKnownFile,
                            location,
                            loaded,
                        ));
                    }
                    Err(LoadError::NotFound) => report.push(
                        AdcStep::WellKnownFile,
                        Some(location),
                        AdcOutcome::Skipped,
                        "not found",
                    ),
                    Err(LoadError::Invalid(failure)) => {
                        let failure = failure.with_hint(
                            "fix or delete it, or run `gcloud auth application-default login` \
                             again",
                        );
                        return Err(fail(report, AdcStep::WellKnownFile, location, failure));
                    }
                }
            }
        }

        // 3. The metadata server, if a bounded probe finds one.
        let host = env.metadata_host().to_owned();
        let from_variable = env
            .gce_metadata_host
            .as_deref()
            .is_some_and(|host| !host.trim().is_empty());
        let origin = if from_variable {
            format!(" (host from {GCE_METADATA_HOST})")
        } else {
            String::new()
        };
        match metadata::probe(&host, options.probe_timeout).await {
            Ok(()) => match MetadataServerSource::at_host(host.clone(), options.metadata.clone()) {
                Ok(source) => {
                    report.push_chosen(
                        AdcStep::MetadataServer,
                        host,
                        format!("answered with Metadata-Flavor: Google{origin}"),
                        "metadata server",
                        CredentialSource::MetadataServer,
                    );
                    let provider = cache(source, options);
                    return Ok(Self {
                        provider,
                        report,
                        quota_project_id: None,
                    });
                }
                Err(error) => report.push(
                    AdcStep::MetadataServer,
                    Some(host),
                    AdcOutcome::Failed,
                    format!("detected, but unusable: {error}"),
                ),
            },
            Err(error) => {
                let outcome = if error.is_transient() {
                    AdcOutcome::Skipped
                } else {
                    AdcOutcome::Failed
                };
                report.push(
                    AdcStep::MetadataServer,
                    Some(host),
                    outcome,
                    format!("not detected: {error}{origin}"),
                );
            }
        }

        let mut message = String::from("no credentials found; tried, in order:");
        for line in report.to_string().lines() {
            message.push_str("\n  ");
            message.push_str(line);
        }
        message.push_str(
            "\nset GOOGLE_APPLICATION_CREDENTIALS to a key file, run `gcloud auth \
             application-default login`, or run on Google Cloud",
        );
        tracing::debug!(report = %report, "application default credentials not found");
        Err(Error::permanent(message).with_credential_source(CredentialSource::ApplicationDefault))
    }

    /// The provider of the chosen credentials (a [`TokenCache`]).
    pub fn provider(&self) -> SharedTokenProvider {
        Arc::clone(&self.provider)
    }

    /// How the credentials were found.
    pub fn report(&self) -> &DiscoveryReport {
        &self.report
    }

    /// The project to bill for quota (`x-goog-user-project`), when the
    /// chosen `authorized_user` key file names one.
    pub fn quota_project_id(&self) -> Option<&str> {
        self.quota_project_id.as_deref()
    }

    /// The kind of the chosen credentials.
    pub fn credential_source(&self) -> CredentialSource {
        self.report
            .credential_source()
            .unwrap_or(CredentialSource::ApplicationDefault)
    }

    fn chosen(
        mut report: DiscoveryReport,
        step: AdcStep,
        location: String,
        loaded: Loaded,
    ) -> Self {
        report.push_chosen(
            step,
            location,
            format!("{} key file", loaded.kind),
            loaded.kind,
            loaded.credential_source,
        );
        tracing::debug!(report = %report, "application default credentials found");
        Self {
            provider: loaded.provider,
            report,
            quota_project_id: loaded.quota_project_id,
        }
    }
}

#[async_trait]
impl TokenProvider for ApplicationDefaultCredentials {
    async fn token(&self, scopes: &ScopeSet) -> Result<AccessToken, Error> {
        self.provider.token(scopes).await
    }

    fn invalidate(&self, rejected: &AccessToken) {
        self.provider.invalidate(rejected);
    }
}

/// [`ApplicationDefaultCredentials::discover`] with the default
/// [`AdcOptions`] (system clock) and this process's environment.
pub async fn application_default_credentials() -> Result<ApplicationDefaultCredentials, Error> {
    ApplicationDefaultCredentials::discover(
        &AdcOptions::default(),
        &AdcEnvironment::from_process_env(),
    )
    .await
}

/// A key file turned into a cached provider.
struct Loaded {
    kind: &'static str,
    quota_project_id: Option<String>,
    credential_source: CredentialSource,
    provider: SharedTokenProvider,
}

enum LoadError {
    NotFound,
    Invalid(Failure),
}

/// Why a key file was refused: our words, and the key file parser's error.
struct Failure {
    summary: String,
    inner: Option<Error>,
}

impl Failure {
    fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            inner: None,
        }
    }

    fn caused_by(summary: impl Into<String>, inner: Error) -> Self {
        Self {
            summary: summary.into(),
            inner: Some(inner),
        }
    }

    fn with_hint(mut self, hint: &str) -> Self {
        self.summary = format!("{}; {hint}", self.summary);
        self
    }

    /// The report's words: the summary and the inner error's message.
    fn detail(&self) -> String {
        match &self.inner {
            Some(inner) => format!("{}: {inner}", self.summary),
            None => self.summary.clone(),
        }
    }
}

/// Records `failure` as the last step and turns it into the error.
fn fail(mut report: DiscoveryReport, step: AdcStep, location: String, failure: Failure) -> Error {
    let message = format!("{}: {}", label(step, Some(&location)), failure.summary);
    report.push(step, Some(location), AdcOutcome::Failed, failure.detail());
    tracing::debug!(report = %report, "application default credentials refused");
    // Display does not print the source: the key file's own error (say, the
    // missing field) is the source, as everywhere in the workspace.
    let error = Error::permanent(message);
    let error = match failure.inner {
        Some(inner) => error.with_source(inner),
        None => error,
    };
    error.with_credential_source(CredentialSource::ApplicationDefault)
}

fn cache<S: TokenSource + 'static>(source: S, options: &AdcOptions) -> SharedTokenProvider {
    Arc::new(TokenCache::new(source, options.http.clock.clone()).with_config(options.cache.clone()))
}

/// Reads and parses the key file at `path` and builds its cached source.
fn load_key_file(path: &Path, options: &AdcOptions) -> Result<Loaded, LoadError> {
    let contents = read_key_file(path)?;
    let json: Value = serde_json::from_str(&contents).map_err(|error| {
        // serde_json's syntax errors quote no input; say where, not what.
        LoadError::Invalid(Failure::new(format!(
            "not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        )))
    })?;
    let kind = match json.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => {
            return Err(LoadError::Invalid(Failure::new(
                "the `type` field is not a string",
            )));
        }
        None => {
            return Err(LoadError::Invalid(Failure::new(format!(
                "no `type` field: not a key file (supported types: {SUPPORTED_TYPES})"
            ))));
        }
    };
    let invalid = |what: &str| {
        let what = what.to_owned();
        move |error: Error| LoadError::Invalid(Failure::caused_by(what, error))
    };
    match kind {
        "authorized_user" => {
            let credentials = AuthorizedUserCredentials::from_json(&contents)
                .map_err(invalid("invalid authorized_user key file"))?;
            let quota_project_id = credentials.quota_project_id().map(str::to_owned);
            let source = AuthorizedUserSource::new(credentials, options.http.clone())
                .map_err(invalid("unusable authorized_user key file"))?;
            Ok(Loaded {
                kind: "authorized_user",
                quota_project_id,
                credential_source: CredentialSource::AuthorizedUser,
                provider: cache(source, options),
            })
        }
        "service_account" => {
            let key = ServiceAccountKey::from_json(&contents)
                .map_err(invalid("invalid service_account key file"))?;
            let source = ServiceAccountSource::new(key, options.http.clone())
                .map_err(invalid("unusable service_account key file"))?;
            Ok(Loaded {
                kind: "service_account",
                quota_project_id: None,
                credential_source: CredentialSource::ServiceAccount,
                provider: cache(source, options),
            })
        }
        other => Err(LoadError::Invalid(Failure::new(format!(
            "unsupported credential type {} (supported: {SUPPORTED_TYPES})",
            printable_type(other)
        )))),
    }
}

/// A `type` value fit for a message: identifiers verbatim, anything else
/// (which might be anything at all) not quoted.
fn printable_type(kind: &str) -> String {
    let identifier = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if identifier {
        kind.to_owned()
    } else {
        "(a value that is not a type name)".to_owned()
    }
}

/// The file's text; `NotFound` only when there is no file at all.
fn read_key_file(path: &Path) -> Result<String, LoadError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(LoadError::NotFound),
        Err(error) => {
            return Err(LoadError::Invalid(Failure::new(format!(
                "could not be opened ({error})"
            ))));
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| {
            LoadError::Invalid(Failure::new(format!("could not be read ({error})")))
        })?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(LoadError::Invalid(Failure::new(format!(
            "larger than {MAX_KEY_FILE_BYTES} bytes: not a key file"
        ))));
    }
    String::from_utf8(bytes)
        .map_err(|_| LoadError::Invalid(Failure::new("not valid UTF-8: not a key file")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_file_follows_cloudsdk_config_then_home() {
        let mut env = AdcEnvironment::default();
        assert_eq!(env.well_known_file(), None);
        env.home = Some(PathBuf::from("/home/me"));
        env.appdata = Some(PathBuf::from("C:/Users/me/AppData/Roaming"));
        let expected = if cfg!(windows) {
            PathBuf::from("C:/Users/me/AppData/Roaming/gcloud/application_default_credentials.json")
        } else {
            PathBuf::from("/home/me/.config/gcloud/application_default_credentials.json")
        };
        assert_eq!(env.well_known_file(), Some(expected));
        env.cloudsdk_config = Some(PathBuf::from("/etc/gcloud"));
        assert_eq!(
            env.well_known_file(),
            Some(PathBuf::from(
                "/etc/gcloud/application_default_credentials.json"
            ))
        );
    }

    #[test]
    fn the_metadata_host_defaults_unless_set() {
        let mut env = AdcEnvironment::default();
        assert_eq!(env.metadata_host(), "metadata.google.internal");
        env.gce_metadata_host = Some(" 10.0.0.1:80 ".to_owned());
        assert_eq!(env.metadata_host(), "10.0.0.1:80");
        env.gce_metadata_host = Some(String::new());
        assert_eq!(env.metadata_host(), "metadata.google.internal");
    }

    #[test]
    fn only_type_names_are_quoted() {
        assert_eq!(printable_type("external_account"), "external_account");
        assert!(!printable_type("-----BEGIN PRIVATE KEY----- abc").contains("PRIVATE"));
        assert!(!printable_type("").is_empty());
    }

    #[test]
    fn an_empty_report_chose_nothing() {
        let report = DiscoveryReport::default();
        assert_eq!(report.to_string(), "chosen: nothing");
        assert_eq!(report.chosen(), None);
        assert_eq!(report.credential_source(), None);
    }
}
