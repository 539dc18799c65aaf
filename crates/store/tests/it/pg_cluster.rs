//! A throwaway PostgreSQL cluster for the PostgreSQL store's tests and benchmark, or the database that
//! `TASKQUEUE_TEST_POSTGRES_URL` names.
//!
//! Without the variable, the first caller starts a cluster of its own: `initdb` in a new temporary directory
//! (fsync off: the tests check the store, not the disk), then `postgres` listening on a free port of 127.0.0.1
//! and a Unix socket in that directory. The binaries are found on `PATH` or in `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package; `.ci/run` installs it when missing). `initdb` refuses to run as root, so as
//! root both run as the `postgres` user through `setpriv`. The cluster is stopped and its directory removed when
//! the test process exits: a small shell waits for the end of its standard input, which this process holds
//! open until it exits, however it exits.
//!
//! Each caller of [`fresh_url`] gets a schema of its own (`tqtest_<pid>_<n>`, made the connection's
//! `search_path`), so tests never see each other's tasks. If PostgreSQL cannot be started, the test fails with a
//! one-line reason: it never passes by skipping.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The cluster of this test process.
struct Cluster {
    /// The URL of the database the schemas are created in.
    url: String,
    /// Held open until the process exits: closing it stops the cluster.
    _stop: Option<Mutex<ChildStdin>>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// The URL of the test database: `TASKQUEUE_TEST_POSTGRES_URL`, else the throwaway cluster's, started on the
/// first call. Panics with the reason if PostgreSQL cannot be started.
pub(crate) fn database_url() -> String {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster.url.clone(),
        Err(reason) => {
            panic!("PostgreSQL is needed for this test and could not be started: {reason}")
        }
    }
}

/// The URL of a new, empty schema of the test database, which the URL's connections use.
pub(crate) async fn fresh_url() -> String {
    let url = database_url();
    let schema = format!(
        "tqtest_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap_or_else(|e| panic!("cannot create the schema {schema}: {e}"));
    drop(client);
    let _ = driver.await;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

fn start() -> Result<Cluster, String> {
    if let Ok(url) = std::env::var("TASKQUEUE_TEST_POSTGRES_URL") {
        return Ok(Cluster { url, _stop: None });
    }
    let bin = find_bin_dir()?;
    let as_root = is_root();
    let dir = std::env::temp_dir().join(format!(
        "taskqueue-pg-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if as_root {
        let status = Command::new("chown")
            .arg("postgres:")
            .arg(&dir)
            .status()
            .map_err(|e| format!("cannot run chown: {e}"))?;
        if !status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(
                "running as root, and the `postgres` user (which initdb needs) does not exist; \
                 install Debian's postgresql package"
                    .to_owned(),
            );
        }
    }
    let data = dir.join("data");
    let initdb = as_user(as_root, &bin.join("initdb"))
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
    if !initdb.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
                .trim()
                .replace('\n', " / ")
        ));
    }
    let port = free_port()?;
    let setpriv = if as_root {
        "setpriv --reuid=postgres --regid=postgres --clear-groups"
    } else {
        ""
    };
    // Started in the background; when this process's end of standard input closes (at its exit), the shell
    // stops PostgreSQL (fast shutdown) and removes the directory.
    let script = format!(
        "{setpriv} \"$0\" -D \"$1\" -p \"$2\" -k \"$3\" -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c shared_buffers=128MB >\"$3/postgres.log\" 2>&1 & pid=$!; \
         cat >/dev/null; kill -INT $pid; wait $pid; rm -rf \"$3\""
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin.join("postgres"))
        .arg(&data)
        .arg(port.to_string())
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let stdin = child.stdin.take();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    for _ in 0..300 {
        // PostgreSQL logs this line (in every version since 10) once it accepts queries.
        let ready = std::fs::read_to_string(dir.join("postgres.log"))
            .is_ok_and(|log| log.contains("ready to accept connections"));
        if ready {
            return Ok(Cluster {
                url,
                _stop: stdin.map(Mutex::new),
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
            return Err(format!(
                "postgres exited ({status}): {}",
                log.trim().replace('\n', " / ")
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "postgres did not accept connections on port {port} within 30 s"
    ))
}

/// A command running `program` as the `postgres` user when this process is root.
fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=postgres", "--regid=postgres", "--clear-groups"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The directory of `initdb` and `postgres`: on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> Result<PathBuf, String> {
    // A link on PATH (such as /usr/local/bin/initdb) leads to the directory holding the other binaries.
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
            .find(|dir| dir.join("postgres").is_file())
    });
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "no PostgreSQL binaries: initdb is not on PATH and /usr/lib/postgresql does not exist; \
             install Debian's postgresql package or set TASKQUEUE_TEST_POSTGRES_URL"
                .to_owned()
        })?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no initdb under /usr/lib/postgresql/*/bin; install Debian's postgresql package or set \
         TASKQUEUE_TEST_POSTGRES_URL"
            .to_owned()
    })
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
