//! The PostgreSQL schema: versioned migrations, applied in one transaction under an advisory lock, so that
//! several server instances starting at once on a new database create it once.

use deadpool_postgres::Object;

use crate::StoreError;
use crate::postgres::pg;

/// The schema, one migration per version: `MIGRATIONS[i]` takes the recorded version from `i` to `i + 1`.
/// Never edit a released migration; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[SCHEMA_V1];

/// The schema version this build writes: the number of migrations.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// The key of the advisory lock held while migrating ("TQRS" in ASCII, as SQLite's `application_id`).
const MIGRATION_LOCK: i64 = 0x5451_5253;

/// Version 1.
///
/// - `tasks`: one row per live task; the primary key finds a task by name, `tasks_by_eta` serves leases, lists
///   and `oldestTask` in (ETA, name) order, `tasks_by_tag` (tagged tasks only) serves tag leases.
/// - `tombstones`: deleted names; `tombstones_by_time` finds the expired ones for purging.
/// - `lease_log`: tasks leased per queue, second and shard. Concurrent leases in one second add to one of
///   [`LEASE_LOG_SHARDS`](super::ops::LEASE_LOG_SHARDS) rows chosen at random rather than all waiting for the
///   lock of a single row; stats sum the shards.
/// - `access_tokens`: the SHA-256 digests of the access tokens issued, with their caller and expiry, so that
///   every instance accepts a token any of them issued and a restart signs nobody out.
const SCHEMA_V1: &str = "
CREATE TABLE tasks (
    queue       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    payload     BYTEA   NOT NULL,
    tag         TEXT,
    enqueued_at BIGINT  NOT NULL,
    eta         BIGINT  NOT NULL,
    leased      BOOLEAN NOT NULL,
    retry_count BIGINT  NOT NULL CHECK (retry_count >= 0),
    PRIMARY KEY (queue, name)
);
CREATE INDEX tasks_by_eta ON tasks (queue, eta, name);
CREATE INDEX tasks_by_tag ON tasks (queue, tag, eta, name) WHERE tag IS NOT NULL;

CREATE TABLE tombstones (
    queue      TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (queue, name)
);
CREATE INDEX tombstones_by_time ON tombstones (deleted_at);

CREATE TABLE lease_log (
    queue  TEXT     NOT NULL,
    second BIGINT   NOT NULL,
    shard  SMALLINT NOT NULL,
    count  BIGINT   NOT NULL CHECK (count >= 0),
    PRIMARY KEY (queue, second, shard)
);
CREATE INDEX lease_log_by_second ON lease_log (second);

CREATE TABLE access_tokens (
    digest     BYTEA  NOT NULL PRIMARY KEY,
    principal  TEXT   NOT NULL,
    scopes     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
";

/// Brings the schema to [`SCHEMA_VERSION`]: creates the version table if needed, takes the migration lock, and
/// applies the missing migrations in the same transaction. Refuses a database written by a newer schema.
pub(crate) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let transaction = client.transaction().await.map_err(pg)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS taskqueue_schema (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(pg)?;
    let version: i32 = transaction
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM taskqueue_schema",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    if version > SCHEMA_VERSION {
        return Err(StoreError::Storage(format!(
            "schema version {version} is newer than this server's {SCHEMA_VERSION}; use a newer taskqueue-server"
        )));
    }
    let applied = usize::try_from(version).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction
            .batch_execute(migration)
            .await
            .map_err(|e| StoreError::storage(&format!("migration to version {}", index + 1), e))?;
        let new_version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        transaction
            .execute(
                "INSERT INTO taskqueue_schema (version) VALUES ($1)",
                &[&new_version],
            )
            .await
            .map_err(pg)?;
    }
    transaction.commit().await.map_err(pg)
}
