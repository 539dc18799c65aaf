//! A fresh `taskqueue-server` process for the real target to run against
//! (`--reference-server BINARY`): `taskqueue-server init` into a directory
//! of its own (SQLite storage, real time), a pool of pull queues without a
//! lease limit, the user's consent widened to the foreign scopes the
//! scenarios ask for (`cloud-platform`, `devstorage.read_only`), then
//! `taskqueue-server serve` on a free port of 127.0.0.1. The process is
//! killed when the [`ReferenceServer`] is dropped.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to say it listens.
const STARTUP: Duration = Duration::from_secs(30);

/// The project `init` serves, as the client names it.
pub const PROJECT: &str = "s~dev-project";

/// The scopes besides Task Queue's that the scenarios ask for.
const FOREIGN_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/devstorage.read_only",
];

/// A running reference server; killed on drop.
#[derive(Debug)]
pub struct ReferenceServer {
    child: Child,
    /// The API's base URL, ending in `projects/`.
    pub base_url: String,
    /// Its `authorized_user` key file.
    pub credentials: PathBuf,
    /// Its `service_account` key file (`token_uri` this server).
    pub service_account: PathBuf,
    /// Its queue pool.
    pub queues: Vec<String>,
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets up `dir` (emptied first) with `binary init`, `queues` queues, and
/// starts `binary serve`.
pub fn start(binary: &Path, dir: &Path, queues: usize) -> Result<ReferenceServer, String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|error| format!("cannot empty {}: {error}", dir.display()))?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port on 127.0.0.1: {error}"))?
        .port();
    let init = Command::new(binary)
        .arg("init")
        .arg(dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .map_err(|error| format!("{} init: {error}", binary.display()))?;
    if !init.status.success() {
        return Err(format!(
            "{} init failed: {}",
            binary.display(),
            String::from_utf8_lossy(&init.stderr).trim()
        ));
    }
    let names: Vec<String> = (1..=queues).map(|n| format!("conformance-{n}")).collect();
    rewrite(&dir.join("queue.yaml"), |text| pool(text, &names))?;
    rewrite(&dir.join("taskqueue-server.yaml"), widen_consent)?;
    let mut child = Command::new(binary)
        .arg("serve")
        .arg("--config")
        .arg(dir.join("taskqueue-server.yaml"))
        .arg("--log")
        .arg("warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|error| format!("{} serve: {error}", binary.display()))?;
    let stdout = child.stdout.take();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let Some(stdout) = stdout else {
            return;
        };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else {
                return;
            };
            // The announcement names the API's base URL: `(API http://…/projects/, …`.
            if let Some(url) = line
                .split("API ")
                .nth(1)
                .and_then(|rest| rest.split([',', ')']).next())
            {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    let mut server = ReferenceServer {
        child,
        base_url: String::new(),
        credentials: dir.join("authorized-user.json"),
        service_account: dir.join("service-account.json"),
        queues: names,
    };
    server.base_url = receiver.recv_timeout(STARTUP).map_err(|_| {
        format!(
            "{} serve did not announce its address within {} s",
            binary.display(),
            STARTUP.as_secs()
        )
    })?;
    Ok(server)
}

fn rewrite(path: &Path, change: impl Fn(&str) -> Result<String, String>) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let changed = change(&text).map_err(|why| format!("{}: {why}", path.display()))?;
    std::fs::write(path, changed)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// `init`'s queue.yaml with its one queue replaced by `names`, each with
/// the same ACL and no lease limit.
fn pool(text: &str, names: &[String]) -> Result<String, String> {
    let start = text.find("- name: ").ok_or("no queue entry to copy")?;
    let entry = &text[start..];
    let entry = entry
        .find("  retry_parameters:")
        .map_or(entry, |end| &entry[..end]);
    let first_line_end = entry.find('\n').ok_or("a one-line queue entry")?;
    let body = &entry[first_line_end..];
    let mut out = text[..start].to_owned();
    for name in names {
        out.push_str(&format!("- name: {name}{body}"));
    }
    Ok(out)
}

/// `init`'s configuration with the user's scopes widened by
/// [`FOREIGN_SCOPES`].
fn widen_consent(text: &str) -> Result<String, String> {
    let marker = "cloud-taskqueue.consumer]";
    if !text.contains(marker) {
        return Err("no user scope list to widen".to_owned());
    }
    let extra: Vec<String> = FOREIGN_SCOPES.iter().map(|s| format!("\"{s}\"")).collect();
    Ok(text.replacen(
        marker,
        &format!("cloud-taskqueue.consumer, {}]", extra.join(", ")),
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_copies_the_acl_without_the_lease_limit() {
        let text = "queue:\n- name: pull-queue\n  mode: pull\n  acl:\n  - user_email: a@b.c\n  retry_parameters:\n    task_retry_limit: 7\n";
        assert_eq!(
            pool(text, &["q1".to_owned(), "q2".to_owned()]),
            Ok("queue:\n- name: q1\n  mode: pull\n  acl:\n  - user_email: a@b.c\n- name: q2\n  mode: pull\n  acl:\n  - user_email: a@b.c\n".to_owned())
        );
        assert!(
            widen_consent("scopes: [taskqueue, cloud-taskqueue.consumer]\n")
                .is_ok_and(|text| text.contains(
                    "cloud-platform\", \"https://www.googleapis.com/auth/devstorage.read_only\"]"
                ))
        );
        assert!(widen_consent("nothing").is_err());
    }
}
