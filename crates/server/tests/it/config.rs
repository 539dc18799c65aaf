//! Loading the server's configuration and GAE `queue.yaml` files: good files parse into the expected structures
//! (golden comparisons), and every bad file gets an error naming the file and the line, with a message that says
//! what is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskqueue_auth::{JwtKeySet, RsaVerifyingKey, Scope, ScopeSet};
use taskqueue_server::config::{
    self, ApiChoices, ConfigError, MetadataConfig, ModifyMissingTask, PatchLeaseTimestamp,
    QueueRegistry, RepeatedDelete, ServiceAccountPrincipal, StorageConfig, UnleasedLeaseTimestamp,
    UserPrincipal,
};
use taskqueue_server::{OverLimit, QueueAcl, QueueDef, ScopePolicy, SecretDigest, ServerConfig};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config")
}

fn public_key_pem() -> String {
    std::fs::read_to_string(data_dir().join("good/keys/worker.pub.pem")).expect("the test key")
}

/// Asserts that `error` is about `path` at `line`, says `fragment`, and prints as `path:line:column: message`.
#[track_caller]
fn assert_error(case: &str, error: &ConfigError, path: &Path, line: u64, fragment: &str) {
    let shown = error.to_string();
    assert_eq!(error.path(), path, "{case}: {shown}");
    assert_eq!(error.line(), Some(line), "{case}: {shown}");
    assert!(
        error.message().contains(fragment),
        "{case}: {shown:?} lacks {fragment:?}"
    );
    let column = error.column().expect("a column with the line");
    assert_eq!(
        shown,
        format!("{}:{line}:{column}: {}", path.display(), error.message()),
        "{case}"
    );
}

// ---------------------------------------------------------------- queue.yaml ----

fn expected_queues() -> QueueRegistry {
    QueueRegistry::default()
        .with(
            QueueDef::new("pull-queue")
                .with_acl(QueueAcl::new(
                    vec![
                        "worker@dev-project.iam.gserviceaccount.com".into(),
                        "dev@example.com".into(),
                    ],
                    vec![
                        "web@dev-project.iam.gserviceaccount.com".into(),
                        "dev@example.com".into(),
                    ],
                ))
                .with_max_leases(Some(7)),
        )
        .with(QueueDef::new("Open-Queue-2"))
        .with(QueueDef::new("no-retries").with_max_leases(Some(0)))
}

#[test]
fn a_good_queue_yaml_loads_into_the_expected_queues() {
    let queues = config::load_queue_yaml(&data_dir().join("good/queue.yaml")).expect("loads");
    assert_eq!(queues, expected_queues());
    assert!(
        queues
            .get("Open-Queue-2")
            .is_some_and(|queue| queue.acl.is_open())
    );
}

#[test]
fn a_queue_yaml_may_define_no_queue() {
    for text in [
        "queue:\n",
        "queue: []\n",
        "# nothing yet\n",
        "total_storage_limit: 1G\n",
    ] {
        let queues = config::parse_queue_yaml(text, Path::new("queue.yaml"))
            .unwrap_or_else(|error| panic!("{text:?}: {error}"));
        assert!(queues.is_empty(), "{text:?}");
    }
}

#[test]
fn bad_queue_yaml_files_name_the_file_and_line() {
    const PULL: &str = "queue:\n- name: q\n  mode: pull\n";
    let cases: &[(&str, String, u64, &str)] = &[
        (
            "bad syntax",
            "queue:\n- name: q\n  mode: {pull\n".into(),
            3,
            "unclosed",
        ),
        ("a list at the top", "- name: q\n".into(), 1, "mapping"),
        (
            "a wrong type",
            "queue:\n- name: [q]\n  mode: pull\n".into(),
            2,
            "string",
        ),
        (
            "an unknown top-level key",
            "queues:\n- name: q\n".into(),
            1,
            "unknown field `queues`",
        ),
        (
            "an unknown queue key",
            "queue:\n- name: q\n  mod: pull\n".into(),
            3,
            "unknown field `mod`",
        ),
        (
            "an unknown retry key",
            format!("{PULL}  retry_parameters:\n    task_retry_limt: 3\n"),
            5,
            "unknown field `task_retry_limt`",
        ),
        (
            "an unknown acl key",
            format!("{PULL}  acl:\n  - reader_email: a@b.c\n"),
            5,
            "unknown field `reader_email`",
        ),
        (
            "an acl entry with both keys",
            format!("{PULL}  acl:\n  - user_email: a@b.c\n    writer_email: a@b.c\n"),
            5,
            "exactly one of `user_email` and `writer_email`",
        ),
        (
            "an empty acl entry",
            format!("{PULL}  acl:\n  - {{}}\n"),
            5,
            "exactly one of",
        ),
        (
            "an acl email without @",
            format!("{PULL}  acl:\n  - user_email: worker\n"),
            5,
            "`user_email: worker` is not an email address",
        ),
        (
            "an acl email with two @",
            format!("{PULL}  acl:\n  - writer_email: a@b@c\n"),
            5,
            "`writer_email: a@b@c` is not an email address",
        ),
        (
            "a push queue (no mode)",
            "queue:\n- name: q\n  rate: 5/s\n".into(),
            2,
            "queue `q` has no `mode: pull`, so it is a push queue",
        ),
        (
            "a push queue (mode: push)",
            "queue:\n- name: q\n  mode: push\n".into(),
            3,
            "pull queues only",
        ),
        (
            "an unknown mode",
            "queue:\n- name: q\n  mode: pul\n".into(),
            3,
            "unknown variant `pul`",
        ),
        (
            "a bad queue name",
            "queue:\n- name: my_queue\n  mode: pull\n".into(),
            2,
            "invalid queue name",
        ),
        (
            "an empty queue name",
            "queue:\n- name: ''\n  mode: pull\n".into(),
            2,
            "invalid queue name",
        ),
        (
            "a queue name over 100 characters",
            format!("queue:\n- name: {}\n  mode: pull\n", "q".repeat(101)),
            2,
            "invalid queue name",
        ),
        (
            "a missing name",
            "queue:\n- mode: pull\n".into(),
            2,
            "missing field `name`",
        ),
        (
            "a duplicate queue",
            format!("{PULL}- name: q\n  mode: pull\n"),
            4,
            "queue `q` is defined twice (first at line 2)",
        ),
        (
            "a duplicate key",
            "queue:\n- name: q\n  name: r\n  mode: pull\n".into(),
            3,
            "duplicate",
        ),
        (
            "a negative retry limit",
            format!("{PULL}  retry_parameters:\n    task_retry_limit: -1\n"),
            5,
            "`task_retry_limit: -1` must be a whole number from 0",
        ),
        (
            "a retry limit too large",
            format!("{PULL}  retry_parameters:\n    task_retry_limit: 4294967296\n"),
            5,
            "must be a whole number",
        ),
        (
            "a retry limit that is not a number",
            format!("{PULL}  retry_parameters:\n    task_retry_limit: many\n"),
            5,
            "`task_retry_limit: many` must be a whole number",
        ),
    ];
    let path = Path::new("conf/queue.yaml");
    for (case, text, line, fragment) in cases {
        match config::parse_queue_yaml(text, path) {
            Ok(queues) => panic!("{case}: parsed into {queues:?}"),
            Err(error) => assert_error(case, &error, path, *line, fragment),
        }
    }
}

#[test]
fn an_unreadable_queue_yaml_names_the_file() {
    let path = data_dir().join("no-such-queue.yaml");
    let error = config::load_queue_yaml(&path).expect_err("no such file");
    assert_eq!(error.path(), path);
    assert_eq!(error.line(), None);
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read", path.display())),
        "{error}"
    );
}

// ----------------------------------------------------- the configuration file ----

#[test]
fn a_good_configuration_loads_into_the_expected_server_config() {
    let dir = data_dir().join("good");
    let loaded = config::load(&dir.join("taskqueue-server.yaml")).expect("loads");

    let key = RsaVerifyingKey::from_pem(&public_key_pem()).expect("the test key");
    let mut expected = ServerConfig::new("dev-project");
    expected.listen = SocketAddr::from(([0, 0, 0, 0], 9090));
    expected.public_url = Some("https://tasks.example.com".into());
    expected.queues = expected_queues();
    expected.storage = StorageConfig::Sqlite {
        path: dir.join("data/tasks.sqlite"),
    };
    expected.store = expected
        .store
        .clone()
        .with_tombstone_ttl(Duration::from_secs(10 * 86_400))
        .with_over_limit(OverLimit::Skip);
    expected.scope_policy = ScopePolicy::Discovery;
    expected.tokens.access_token_lifetime = Duration::from_secs(1800);
    expected.tokens.max_assertion_skew = Duration::ZERO;
    // Written `1h30m`: the shared duration grammar (humantime) combines units.
    expected.tokens.max_assertion_lifetime = Duration::from_secs(5400);
    expected.limits.max_body_bytes = 2 * 1024 * 1024;
    expected.limits.request_timeout = Duration::from_millis(1500);
    expected.purge_interval = Duration::from_secs(300);
    expected.metadata = Some(MetadataConfig::new(
        "vm@dev-project.iam.gserviceaccount.com",
        ScopeSet::from([
            Scope::CloudTaskqueue,
            Scope::parse("https://www.googleapis.com/auth/cloud-platform"),
        ]),
    ));
    expected.principals.service_accounts = vec![
        ServiceAccountPrincipal::new(
            "worker@dev-project.iam.gserviceaccount.com",
            JwtKeySet::new()
                .with_key("0123456789abcdef0123456789abcdef01234567", key.clone())
                .with_key("inline-pkcs1", key.clone()),
        ),
        ServiceAccountPrincipal::new(
            "web@dev-project.iam.gserviceaccount.com",
            JwtKeySet::new().with_key("web-key", key),
        ),
    ];
    expected.principals.users = vec![UserPrincipal::new(
        "dev@example.com",
        "taskqueue-dev.apps.local",
        SecretDigest::of("client-secret"),
        SecretDigest::of("refresh-token"),
        ScopeSet::from([Scope::Taskqueue, Scope::TaskqueueConsumer]),
    )];
    assert_eq!(loaded, expected);
}

#[test]
fn a_minimal_configuration_takes_the_defaults() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("q.yaml"), "queue: []\n").expect("write");
    let path = dir.path().join("minimal.yaml");
    std::fs::write(&path, "project: p\nqueue_file: q.yaml\nstorage: memory\n").expect("write");
    let loaded = config::load(&path).expect("loads");
    assert_eq!(loaded, ServerConfig::new("p"));
}

#[test]
fn choices_and_domain_scoped_projects_load() {
    let fixture = Fixture::new();
    let cases: [(&str, ApiChoices); 3] = [
        ("", ApiChoices::default()),
        (
            "choices:\n  patch_lease_timestamp: optional\n  repeated_delete: ok\n  \
             modify_missing_task: lease_expired\n  unleased_lease_timestamp: zero\n",
            ApiChoices::default(),
        ),
        (
            "choices:\n  patch_lease_timestamp: required\n  repeated_delete: not_found\n  \
             modify_missing_task: not_found\n  unleased_lease_timestamp: eta\n",
            ApiChoices::default()
                .with_patch_lease_timestamp(PatchLeaseTimestamp::Required)
                .with_repeated_delete(RepeatedDelete::NotFound)
                .with_modify_missing_task(ModifyMissingTask::NotFound)
                .with_unleased_lease_timestamp(UnleasedLeaseTimestamp::Eta),
        ),
    ];
    for (text, expected) in cases {
        let loaded = fixture
            .load(&format!("{HEAD}{text}"))
            .unwrap_or_else(|error| panic!("{text}: {error}"));
        assert_eq!(loaded.choices, expected, "{text}");
    }
    for project in ["example.com:my-app", "sub.example.co.uk:app-1", "my-app"] {
        let loaded = fixture
            .load(&format!(
                "project: {project}\nqueue_file: queue.yaml\nstorage: memory\n"
            ))
            .unwrap_or_else(|error| panic!("{project}: {error}"));
        assert_eq!(loaded.project, project);
    }
}

/// The files every bad-configuration case may refer to: a queue file, a bad queue file, a good public key, a
/// key file of garbage and one holding a private key.
struct Fixture {
    dir: tempfile::TempDir,
}

/// A line of text in the garbage key file, which no error may quote.
const GARBAGE: &str = "not-a-key-SECRETLY-GARBAGE";

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write a fixture");
        };
        write("queue.yaml", "queue:\n- name: pull-queue\n  mode: pull\n");
        write(
            "bad-queue.yaml",
            "queue:\n- name: pull-queue\n  mode: pull\n  colour: red\n",
        );
        write("keys/good.pem", &public_key_pem());
        write("keys/garbage.pem", &format!("{GARBAGE}\n{GARBAGE}\n"));
        write(
            "keys/private.pem",
            taskqueue_test_support::keys::RSA_PKCS8_PEM,
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` as `taskqueue-server.yaml` and loads it.
    fn load(&self, text: &str) -> Result<ServerConfig, ConfigError> {
        let path = self.path("taskqueue-server.yaml");
        std::fs::write(&path, text).expect("write the configuration");
        config::load(&path)
    }
}

/// The first lines of every bad configuration: lines 1 to 3.
const HEAD: &str = "project: dev-project\nqueue_file: queue.yaml\nstorage: memory\n";

/// A service account whose `keys:` list starts on line 7.
const ACCOUNT: &str =
    "principals:\n  service_accounts:\n  - email: w@p.iam.gserviceaccount.com\n    keys:\n";

fn user(client_secret: &str, refresh_token: &str, scopes: &str) -> String {
    format!(
        "principals:\n  users:\n  - email: dev@example.com\n    client_id: c\n    client_secret_sha256: {client_secret}\n    \
         refresh_token_sha256: {refresh_token}\n    scopes: {scopes}\n"
    )
}

#[test]
fn bad_configurations_name_the_file_and_line() {
    let fixture = Fixture::new();
    let config = fixture.path("taskqueue-server.yaml");
    let digest = "ab".repeat(32);
    let other_digest = "cd".repeat(32);
    let bad_queue = fixture.path("bad-queue.yaml");
    let cases: Vec<(&str, String, &Path, u64, String)> = vec![
        ("an empty file", String::new(), &config, 1, "unexpected end of file".into()),
        ("bad syntax", format!("{HEAD}tokens: {{access_token_lifetime: 1h\n"), &config, 4, "unclosed".into()),
        ("an unknown key", format!("{HEAD}lisen: 127.0.0.1:8080\n"), &config, 4, "unknown field `lisen`".into()),
        (
            "an unknown nested key",
            format!("{HEAD}tokens:\n  access_token_lifetme: 1h\n"),
            &config,
            5,
            "unknown field `access_token_lifetme`".into(),
        ),
        // serde-saphyr reports a missing key at the last key of its mapping.
        ("a missing key", "project: p\nstorage: memory\n".into(), &config, 2, "missing field `queue_file`".into()),
        (
            "a wrong type",
            format!("{HEAD}limits:\n  max_body_bytes: lots\n"),
            &config,
            5,
            "`max_body_bytes: lots` must be a positive number of bytes".into(),
        ),
        ("a zero body limit", format!("{HEAD}limits:\n  max_body_bytes: 0\n"), &config, 5, "positive".into()),
        (
            "a list for a number",
            format!("{HEAD}limits:\n  max_body_bytes: [1]\n"),
            &config,
            5,
            "expected string scalar".into(),
        ),
        (
            "a bad duration",
            format!("{HEAD}tombstone_ttl: a week\n"),
            &config,
            4,
            "`tombstone_ttl: a week` is not a duration (expected number at 0)".into(),
        ),
        (
            "a duration without a unit",
            format!("{HEAD}tokens:\n  max_assertion_skew: 60\n"),
            &config,
            5,
            "is not a duration".into(),
        ),
        (
            "a zero timeout",
            format!("{HEAD}limits:\n  request_timeout: 0s\n"),
            &config,
            5,
            "`request_timeout` must be longer than zero".into(),
        ),
        ("a zero purge interval", format!("{HEAD}purge_interval: 0m\n"), &config, 4, "longer than zero".into()),
        ("a bad listen address", format!("{HEAD}listen: localhost:8080\n"), &config, 4, "not an IP address".into()),
        ("a bad public URL", format!("{HEAD}public_url: ftp://example.com\n"), &config, 4, "http or https".into()),
        (
            "a public URL with a query",
            format!("{HEAD}public_url: http://a.example/?x=1\n"),
            &config,
            4,
            "no query".into(),
        ),
        (
            "a partition prefix",
            "project: s~dev-project\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "without a partition prefix".into(),
        ),
        (
            "a bad project",
            "queue_file: queue.yaml\nproject: dev project\nstorage: memory\n".into(),
            &config,
            2,
            "invalid project".into(),
        ),
        (
            "an unknown storage",
            "project: p\nqueue_file: queue.yaml\nstorage: disk\n".into(),
            &config,
            3,
            "unknown variant `disk`".into(),
        ),
        ("an unknown over_limit", format!("{HEAD}over_limit: keep\n"), &config, 4, "unknown variant `keep`".into()),
        (
            "an unknown choice",
            format!("{HEAD}choices:\n  repeated_delete: ok\n  patch_proof: required\n"),
            &config,
            6,
            "unknown field `patch_proof`".into(),
        ),
        (
            "an unknown choice value",
            format!("{HEAD}choices:\n  repeated_delete: gone\n"),
            &config,
            5,
            "unknown variant `gone`".into(),
        ),
        (
            "a domain-scoped project with a partition prefix",
            "project: s~example.com:my-app\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "without a partition prefix".into(),
        ),
        (
            "a domain-scoped project with two colons",
            "project: example.com:my:app\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "a domain name, a colon and the app id".into(),
        ),
        (
            "a domain-scoped project without a domain",
            "project: :my-app\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "a domain name, a colon and the app id".into(),
        ),
        (
            "a domain-scoped project without an app id",
            "project: \"example.com:\"\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "not an app id".into(),
        ),
        (
            "a dotted app id",
            "project: my.app\nqueue_file: queue.yaml\nstorage: memory\n".into(),
            &config,
            1,
            "not an app id".into(),
        ),
        (
            "an unknown scope policy",
            format!("{HEAD}scope_policy: strict\n"),
            &config,
            4,
            "expected one of".into(),
        ),
        (
            "a missing queue file",
            "project: p\nstorage: memory\nqueue_file: queues/none.yaml\n".into(),
            &config,
            3,
            format!("cannot read the queue file {}", fixture.path("queues/none.yaml").display()),
        ),
        (
            "a bad queue file",
            "project: p\nstorage: memory\nqueue_file: bad-queue.yaml\n".into(),
            &bad_queue,
            4,
            "unknown field `colour`".into(),
        ),
        (
            "a bad service account email",
            "principals:\n  service_accounts:\n  - email: worker\n    keys: []\n".to_owned() + HEAD,
            &config,
            3,
            "`email: worker` is not an email address".into(),
        ),
        (
            "no key",
            format!("{HEAD}{}", ACCOUNT.replace("keys:", "keys: []")),
            &config,
            7,
            "lists no key".into(),
        ),
        (
            "a key with no public key",
            format!("{HEAD}{ACCOUNT}    - id: k\n"),
            &config,
            8,
            "exactly one of `public_key_file` and `public_key`".into(),
        ),
        (
            "a key with both",
            format!("{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/good.pem\n      public_key: x\n"),
            &config,
            8,
            "exactly one of".into(),
        ),
        (
            "a missing key file",
            format!("{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/none.pem\n"),
            &config,
            9,
            format!("cannot read the public key file {}", fixture.path("keys/none.pem").display()),
        ),
        (
            "a key file of garbage",
            format!("{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/garbage.pem\n"),
            &config,
            9,
            format!("the public key file {} is not usable", fixture.path("keys/garbage.pem").display()),
        ),
        (
            "a private key as the public key",
            format!("{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/private.pem\n"),
            &config,
            9,
            format!("the public key file {} is not usable", fixture.path("keys/private.pem").display()),
        ),
        (
            "a bad inline key",
            format!("{HEAD}{ACCOUNT}    - id: k\n      public_key: {GARBAGE}\n"),
            &config,
            9,
            "`public_key` is not usable".into(),
        ),
        (
            "a duplicate key id",
            format!(
                "{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/good.pem\n    - id: k\n      \
                 public_key_file: keys/good.pem\n"
            ),
            &config,
            10,
            "two keys with the id `k`".into(),
        ),
        (
            "a duplicate service account",
            format!(
                "{HEAD}{ACCOUNT}    - id: k\n      public_key_file: keys/good.pem\n  - email: W@p.iam.gserviceaccount.com\n    \
                 keys: []\n"
            ),
            &config,
            10,
            "listed twice (first at line 6)".into(),
        ),
        (
            "a digest too short",
            format!("{HEAD}{}", user(&digest[1..], &digest, "[taskqueue]")),
            &config,
            8,
            "`client_secret_sha256` must be a SHA-256 digest in hex: 64 hex digits, found 63 characters".into(),
        ),
        (
            "a digest not in hex",
            format!("{HEAD}{}", user(&digest, &"zz".repeat(32), "[taskqueue]")),
            &config,
            9,
            "not all hex digits".into(),
        ),
        ("no scope", format!("{HEAD}{}", user(&digest, &digest, "[]")), &config, 10, "lists no scope".into()),
        (
            "a blank scope",
            format!("{HEAD}{}", user(&digest, &digest, "[taskqueue, ' ']")),
            &config,
            10,
            "is not a scope".into(),
        ),
        (
            "a duplicate refresh token",
            format!(
                "{HEAD}{}  - email: other@example.com\n    client_id: c2\n    client_secret_sha256: {other_digest}\n    \
                 refresh_token_sha256: {digest}\n    scopes: [taskqueue]\n",
                user(&digest, &digest, "[taskqueue]")
            ),
            &config,
            14,
            "two users have the same refresh token (first at line 9)".into(),
        ),
        (
            "a user email without @",
            format!("{HEAD}{}", user(&digest, &digest, "[taskqueue]").replace("dev@example.com", "dev")),
            &config,
            6,
            "`email: dev` is not an email address".into(),
        ),
        (
            "metadata without scopes",
            format!("{HEAD}metadata:\n  service_account: vm@p.iam.gserviceaccount.com\n"),
            &config,
            5,
            "missing field `scopes`".into(),
        ),
        (
            "a bad metadata account",
            format!("{HEAD}metadata:\n  service_account: vm\n  scopes: [taskqueue]\n"),
            &config,
            5,
            "`service_account: vm` is not an email address".into(),
        ),
    ];
    for (case, text, path, line, fragment) in &cases {
        match fixture.load(text) {
            Ok(config) => panic!("{case}: loaded {config:?}"),
            Err(error) => {
                assert_error(case, &error, path, *line, fragment);
                assert!(!error.to_string().contains(GARBAGE), "{case}: {error}");
                assert!(
                    !error.to_string().contains("PRIVATE KEY"),
                    "{case}: {error}"
                );
            }
        }
    }
}

#[test]
fn an_unreadable_configuration_names_the_file() {
    let path = data_dir().join("no-such-config.yaml");
    let error = config::load(&path).expect_err("no such file");
    assert_eq!((error.path(), error.line()), (path.as_path(), None));
    assert!(error.message().starts_with("cannot read: "), "{error}");
}
