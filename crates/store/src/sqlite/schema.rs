//! Opening a database file: pragmas, identification, and the versioned schema with its migrations.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::sqlite::{SqliteOptions, Synchronous};

/// `PRAGMA application_id` of a task store: "TQRS" in ASCII. A file with another id is refused.
pub(crate) const APPLICATION_ID: i64 = 0x5451_5253;

/// The schema, one migration per version: `MIGRATIONS[i]` takes `PRAGMA user_version` from `i` to `i + 1`.
/// Never edit a released migration; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

/// The schema version this build writes: the number of migrations.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Version 1.
///
/// - `tasks`: one row per live task; the primary key `(queue, name)` finds a task by name, `tasks_by_eta` serves
///   leases, lists and `oldestTask` in (ETA, name) order, `tasks_by_tag` serves `groupByTag` leases.
/// - `tombstones`: one row per deleted name, found by `(queue, name)`; `tombstones_by_time` finds the expired
///   ones for purging without a scan.
/// - `lease_log`: tasks leased per queue and second, for `leasedLastMinute` and `leasedLastHour`;
///   `lease_log_by_second` finds the entries older than an hour for purging.
const SCHEMA_V1: &str = "
CREATE TABLE tasks (
    queue       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    tag         TEXT,
    enqueued_at INTEGER NOT NULL,
    eta         INTEGER NOT NULL,
    leased      INTEGER NOT NULL CHECK (leased IN (0, 1)),
    retry_count INTEGER NOT NULL CHECK (retry_count >= 0),
    PRIMARY KEY (queue, name)
);
CREATE INDEX tasks_by_eta ON tasks (queue, eta, name);
CREATE INDEX tasks_by_tag ON tasks (queue, tag, eta, name);

CREATE TABLE tombstones (
    queue      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (queue, name)
) WITHOUT ROWID;
CREATE INDEX tombstones_by_time ON tombstones (deleted_at);

CREATE TABLE lease_log (
    queue  TEXT    NOT NULL,
    second INTEGER NOT NULL,
    count  INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (queue, second)
) WITHOUT ROWID;
CREATE INDEX lease_log_by_second ON lease_log (second);
";

/// Version 2: `tasks_by_tag` becomes a partial index of the tagged tasks only. The one query it serves
/// (`tag = ?`, a tag lease) never matches an untagged task, and most tasks have no tag: indexing them only cost
/// every insert, lease and delete of an untagged task one more b-tree write.
const SCHEMA_V2: &str = "
DROP INDEX tasks_by_tag;
CREATE INDEX tasks_by_tag ON tasks (queue, tag, eta, name) WHERE tag IS NOT NULL;
";

/// Version 3: `access_tokens`, the SHA-256 digests of the access tokens issued, with their caller and expiry, so
/// that a restart signs nobody out; `access_tokens_by_expiry` finds the expired ones for purging.
const SCHEMA_V3: &str = "
CREATE TABLE access_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY,
    principal  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
";

/// Opens (creating if needed) the task store at `path`: checks that it is a SQLite file of ours, turns on WAL
/// and the configured `synchronous` level, and migrates the schema to [`SCHEMA_VERSION`].
pub(crate) fn open(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let fail = |what: &str, cause: &dyn std::fmt::Display| {
        StoreError::Storage(format!(
            "cannot open the task store {}: {what}: {cause}",
            path.display()
        ))
    };
    let mut connection = Connection::open(path).map_err(|e| fail("cannot open the file", &e))?;
    connection
        .busy_timeout(options.busy_timeout)
        .map_err(|e| fail("cannot set the busy timeout", &e))?;
    // The first read of the file: this is where garbage fails, with "file is not a database".
    connection
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(|e| fail("not a readable SQLite database", &e))?;
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| fail("cannot turn on write-ahead logging", &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail(
            "cannot turn on write-ahead logging",
            &format!("the journal mode stayed `{mode}`"),
        ));
    }
    let synchronous = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection
        .pragma_update(None, "synchronous", synchronous)
        .map_err(|e| fail("cannot set `synchronous`", &e))?;
    settle_plans(&connection).map_err(|e| fail("cannot fix the query plans", &e))?;
    migrate(&mut connection).map_err(|e| match e {
        StoreError::Storage(message) => fail("schema", &message),
        other => other,
    })?;
    Ok(connection)
}

/// Keeps every statement of the store prepared once, with one plan, whatever it is bound to.
///
/// The statement cache holds them all (about 25) with room to spare. The query planner stability guarantee
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`) is on: without it SQLite marks a statement whose plan might depend on a bound
/// value (any `LIMIT ?`, since 3.5x) to be compiled again each time it is rebound, and the statement cache clears
/// the bindings of every statement it takes back, so the lease query and the three purge statements that every
/// delete and lease runs were parsed and planned anew on each call. Their plans do not depend on the values
/// (`sqlite::tests` checks both the plans and that nothing is prepared twice).
pub(crate) fn settle_plans(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_prepared_statement_cache_capacity(64);
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map(drop)
}

/// Brings the schema to [`SCHEMA_VERSION`], in one immediate transaction (two processes opening a new file at
/// once do not both create it). Refuses a file of another application and one written by a newer schema.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let sql = |e: rusqlite::Error| StoreError::Storage(e.to_string());
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql)?;
    let application_id: i64 = transaction
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(sql)?;
    if version == 0 {
        let objects: i64 = transaction
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sql)?;
        if objects > 0 {
            return Err(StoreError::Storage(
                "the file is a SQLite database of another application (it has tables but no task-store schema)"
                    .to_owned(),
            ));
        }
    } else if application_id != APPLICATION_ID {
        return Err(StoreError::Storage(format!(
            "the file is a SQLite database of another application (application_id {application_id:#x}, expected {APPLICATION_ID:#x})"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::Storage(format!(
            "schema version {version} is newer than this server's {SCHEMA_VERSION}; open it with a newer taskqueue-server"
        )));
    }
    if version < 0 {
        return Err(StoreError::Storage(format!(
            "invalid schema version {version}"
        )));
    }
    let applied = usize::try_from(version).unwrap_or(usize::MAX);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction
            .execute_batch(migration)
            .map_err(|e| StoreError::Storage(format!("migration to version {}: {e}", index + 1)))?;
        let new_version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        transaction
            .pragma_update(None, "user_version", new_version)
            .map_err(sql)?;
    }
    if applied < MIGRATIONS.len() {
        transaction
            .pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(sql)?;
    }
    transaction.commit().map_err(sql)
}
