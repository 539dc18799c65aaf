//! `taskqueue-server init`: the setup it writes loads, its service account key signs assertions the configured
//! public key verifies, its user's secrets match the configured digests, secret files are private, nothing is
//! overwritten unless forced, and the report shows no secret.
//!
//! Each `init` generates an RSA 2048 key, so these tests are few.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use taskqueue_auth::{
    AuthorizedUserCredentials, JwtClaims, JwtValidation, Scope, ScopeSet, ServiceAccountKey,
    encode_rs256, verify_rs256,
};
use taskqueue_server::commands::init::{InitOptions, init};
use taskqueue_server::config::{self, StorageConfig};
use taskqueue_server::{QueueAcl, QueueDef};

/// The key files' secret values, read as JSON.
struct Secrets {
    private_key: String,
    client_secret: String,
    refresh_token: String,
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn secrets(dir: &Path) -> Secrets {
    let service_account = read_json(&dir.join("service-account.json"));
    let user = read_json(&dir.join("authorized-user.json"));
    let text = |value: &serde_json::Value, key: &str| {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}"))
            .to_owned()
    };
    Secrets {
        private_key: text(&service_account, "private_key"),
        client_secret: text(&user, "client_secret"),
        refresh_token: text(&user, "refresh_token"),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn init_writes_a_setup_that_loads_and_whose_credentials_match_it() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join("dev");
    let options = InitOptions::default()
        .with_project("my-app")
        .with_listen("0.0.0.0:9191".parse().expect("an address"))
        .with_queue("jobs");
    let report = init(&dir, &options).expect("init");

    // The report.
    let account = "worker@my-app.iam.gserviceaccount.com";
    assert_eq!(report.service_account_email, account);
    assert_eq!(report.public_url, "http://127.0.0.1:9191");
    assert_eq!(report.config_file, dir.join("taskqueue-server.yaml"));
    assert_eq!(
        report.credentials_env(),
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            dir.join("service-account.json").as_path()
        )
    );
    assert_eq!(report.files.len(), 5, "{:?}", report.files);
    assert!(
        report.files.iter().all(|file| file.is_file()),
        "{:?}",
        report.files
    );
    let shown = report.to_string();
    assert!(shown.contains(&report.serve_command()), "{shown}");
    assert!(
        shown.contains(&format!(
            "export GOOGLE_APPLICATION_CREDENTIALS={}",
            dir.join("service-account.json").display()
        )),
        "{shown}"
    );

    // The configuration loads, with the queue, storage and principals written.
    let loaded = config::load(&report.config_file).expect("the written configuration loads");
    assert_eq!(loaded.project, "my-app");
    assert_eq!(loaded.listen, "0.0.0.0:9191".parse().expect("an address"));
    assert_eq!(loaded.public_url.as_deref(), Some("http://127.0.0.1:9191"));
    assert_eq!(
        loaded.storage,
        StorageConfig::Sqlite {
            path: dir.join("data/tasks.sqlite")
        }
    );
    assert!(dir.join("data").is_dir());
    let both = vec![account.to_owned(), "dev@example.com".to_owned()];
    assert_eq!(
        loaded.queues.get("jobs"),
        Some(
            &QueueDef::new("jobs")
                .with_acl(QueueAcl::new(both.clone(), both))
                .with_max_leases(Some(7))
        )
    );
    assert_eq!(loaded.queues.len(), 1);

    // The service account key file, read as clients read it, signs an assertion the configured key verifies.
    let key = ServiceAccountKey::from_file(&report.service_account_file)
        .expect("a service account key file");
    assert_eq!(key.client_email(), account);
    assert_eq!(key.project_id(), Some("my-app"));
    assert_eq!(key.token_uri(), "http://127.0.0.1:9191/token");
    let principal = loaded
        .principals
        .service_account(account)
        .expect("the service account principal");
    assert_eq!(
        principal.keys.key_ids().collect::<Vec<_>>(),
        [key.private_key_id()]
    );
    assert!(
        dir.join(format!("keys/{}.pub.pem", key.private_key_id()))
            .is_file()
    );
    let claims = JwtClaims {
        iss: account.to_owned(),
        sub: None,
        aud: Some("http://127.0.0.1:9191/token".to_owned()),
        scope: Some(Scope::Taskqueue.as_str().to_owned()),
        iat: 1_700_000_000,
        exp: 1_700_003_600,
    };
    let assertion =
        encode_rs256(key.signing_key(), Some(key.private_key_id()), &claims).expect("signs");
    let validation = JwtValidation::new(["http://127.0.0.1:9191/token"]).with_issuer(account);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
    let verified =
        verify_rs256(assertion.expose(), &principal.keys, &validation, now).expect("verifies");
    assert_eq!(verified.claims(), &claims);

    // The authorized-user file, read as clients read it, matches the configured user.
    let credentials = AuthorizedUserCredentials::from_file(&report.authorized_user_file)
        .expect("an authorized_user file");
    assert_eq!(credentials.token_uri(), "http://127.0.0.1:9191/token");
    let [user] = loaded.principals.users.as_slice() else {
        panic!("one user: {:?}", loaded.principals.users);
    };
    assert_eq!(user.email, "dev@example.com");
    assert_eq!(user.client_id, credentials.client_id());
    let secrets = secrets(&dir);
    assert!(user.refresh_token.matches(&secrets.refresh_token));
    assert!(user.client_secret.matches(&secrets.client_secret));
    assert_ne!(secrets.refresh_token, secrets.client_secret);
    assert!(
        secrets.refresh_token.len() >= 43,
        "32 random bytes in base64url"
    );
    assert_eq!(user.scopes, ScopeSet::from(Scope::TASK_QUEUE_SCOPES));

    // Secrets: private files, and never in the configuration or the report.
    #[cfg(unix)]
    {
        assert_eq!(mode(&report.service_account_file), 0o600);
        assert_eq!(mode(&report.authorized_user_file), 0o600);
    }
    let private_key_body: String = secrets
        .private_key
        .lines()
        .nth(3)
        .expect("a PEM line")
        .to_owned();
    let config_text = std::fs::read_to_string(&report.config_file).expect("read");
    let debug = format!("{report:?}");
    for secret in [
        &secrets.refresh_token,
        &secrets.client_secret,
        &private_key_body,
    ] {
        for (what, text) in [
            ("Display", &shown),
            ("Debug", &debug),
            ("configuration", &config_text),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "the report's {what} shows a secret"
            );
        }
    }
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path();
    let first = init(dir, &InitOptions::default()).expect("init");
    let before = secrets(dir);

    let refused = init(dir, &InitOptions::default()).expect_err("files exist");
    assert!(
        first.files.contains(&refused.path().to_path_buf()),
        "{refused}"
    );
    assert!(refused.message().contains("already exists"), "{refused}");
    assert_eq!(
        secrets(dir).refresh_token,
        before.refresh_token,
        "nothing was overwritten"
    );

    // A secret file that was readable by others is replaced by a private one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let permissions = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(&first.service_account_file, permissions).expect("chmod");
    }
    let forced = init(dir, &InitOptions::default().with_force(true)).expect("forced init");
    let after = secrets(dir);
    assert_ne!(after.refresh_token, before.refresh_token);
    assert_ne!(after.private_key, before.private_key);
    #[cfg(unix)]
    assert_eq!(mode(&forced.service_account_file), 0o600);
    config::load(&forced.config_file).expect("the new setup loads");
}

#[test]
fn init_serves_a_domain_scoped_project_with_google_style_service_account_emails() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join("dev");
    let options = InitOptions::default().with_project("example.com:my-app");
    let report = init(&dir, &options).expect("init");
    // Google named a domain-scoped project's service accounts `name@app.domain.iam.gserviceaccount.com`.
    let account = "worker@my-app.example.com.iam.gserviceaccount.com";
    assert_eq!(report.service_account_email, account);
    let loaded = config::load(&report.config_file).expect("the written configuration loads");
    assert_eq!(loaded.project, "example.com:my-app");
    assert!(loaded.principals.service_account(account).is_some());
    let key = ServiceAccountKey::from_file(&report.service_account_file)
        .expect("a service account key file");
    assert_eq!(key.project_id(), Some("example.com:my-app"));
}

#[test]
fn init_refuses_bad_options_before_writing_anything() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let cases = [
        (
            "a bad queue",
            InitOptions::default().with_queue("my_queue"),
            "invalid queue name",
        ),
        (
            "a prefixed project",
            InitOptions::default().with_project("s~app"),
            "partition prefix",
        ),
        (
            "port 0 without a public URL",
            InitOptions::default().with_listen("127.0.0.1:0".parse().expect("an address")),
            "explicit public URL",
        ),
        (
            "a bad public URL",
            InitOptions::default().with_public_url("ftp://x"),
            "http or https",
        ),
    ];
    for (case, options, fragment) in cases {
        let dir = temp.path().join(case.replace(' ', "-"));
        let error = init(&dir, &options).expect_err(case);
        assert!(error.message().contains(fragment), "{case}: {error}");
        assert!(!dir.exists(), "{case}: wrote {}", dir.display());
    }
}
