//! The store operations in SQL, each run by the writer thread inside a savepoint of the current batch.
//!
//! Every statement reaches its rows through an index; `sqlite::tests` checks the query plans.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use taskqueue_model::Timestamp;

use crate::sqlite::purge_hints::PurgeHints;
use crate::sqlite::worker::Context;
use crate::store_config::{HOUR, MINUTE, is_over_limit, lease_second, window_start};
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, OverLimit, PurgeReport, QueueStats, StoreError,
    StoredTask, TagFilter,
};

/// How many expired tombstones, old lease-log entries and expired tokens a delete or a lease purges on the side,
/// when [`PurgeHints`] say there may be some.
const OPPORTUNISTIC_PURGE: u32 = 8;

pub(crate) const SELECT_TASK: &str = "SELECT name, payload, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = ?1 AND name = ?2";
pub(crate) const TASK_EXISTS: &str = "SELECT 1 FROM tasks WHERE queue = ?1 AND name = ?2";
pub(crate) const SELECT_TOMBSTONE: &str =
    "SELECT deleted_at FROM tombstones WHERE queue = ?1 AND name = ?2";
pub(crate) const DELETE_TOMBSTONE: &str = "DELETE FROM tombstones WHERE queue = ?1 AND name = ?2";
pub(crate) const INSERT_TASK: &str = "INSERT INTO tasks \
     (queue, name, payload, tag, enqueued_at, eta, leased, retry_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0)";
pub(crate) const LIST: &str = "SELECT name, X'' AS payload, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = ?1 ORDER BY eta, name LIMIT ?2";
pub(crate) const DELETE_TASK: &str = "DELETE FROM tasks WHERE queue = ?1 AND name = ?2";
pub(crate) const UPSERT_TOMBSTONE: &str = "INSERT INTO tombstones (queue, name, deleted_at) \
     VALUES (?1, ?2, ?3) ON CONFLICT (queue, name) DO UPDATE SET deleted_at = excluded.deleted_at";
/// Available tasks in (ETA, name) order: the ETA reached and no lease holding the task (a lease is held at its
/// expiry instant, `StoredTask::is_lease_held`); `?3` is the lease limit when over-limit tasks are skipped, else
/// NULL.
pub(crate) const AVAILABLE: &str = "SELECT name, payload, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = ?1 AND eta <= ?2 AND (eta < ?2 OR leased = 0) \
     AND (?3 IS NULL OR retry_count < ?3) \
     ORDER BY eta, name LIMIT ?4";
/// Available tasks of one tag in (ETA, name) order; `?4` as `?3` of [`AVAILABLE`].
pub(crate) const AVAILABLE_WITH_TAG: &str = "SELECT name, payload, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = ?1 AND tag = ?2 AND eta <= ?3 AND (eta < ?3 OR leased = 0) \
     AND (?4 IS NULL OR retry_count < ?4) \
     ORDER BY eta, name LIMIT ?5";
/// `retry_count` saturates at `u32::MAX`, as in the memory store.
pub(crate) const TAKE_LEASE: &str = "UPDATE tasks SET eta = ?3, leased = 1, \
     retry_count = MIN(retry_count + 1, 4294967295) WHERE queue = ?1 AND name = ?2";
pub(crate) const LOG_LEASES: &str = "INSERT INTO lease_log (queue, second, count) VALUES (?1, ?2, ?3) \
     ON CONFLICT (queue, second) DO UPDATE SET count = count + excluded.count";
pub(crate) const SET_ETA: &str =
    "UPDATE tasks SET eta = ?3, leased = ?4 WHERE queue = ?1 AND name = ?2";
pub(crate) const COUNT_TASKS: &str = "SELECT COUNT(*) FROM tasks WHERE queue = ?1";
pub(crate) const OLDEST_ETA: &str = "SELECT MIN(eta) FROM tasks WHERE queue = ?1";
pub(crate) const LEASED_BETWEEN: &str = "SELECT COALESCE(SUM(count), 0) FROM lease_log \
     WHERE queue = ?1 AND second BETWEEN ?2 AND ?3";
pub(crate) const PURGE_TOMBSTONES: &str = "DELETE FROM tombstones WHERE (queue, name) IN \
     (SELECT queue, name FROM tombstones WHERE deleted_at <= ?1 ORDER BY deleted_at LIMIT ?2)";
pub(crate) const PURGE_LEASE_LOG: &str = "DELETE FROM lease_log WHERE (queue, second) IN \
     (SELECT queue, second FROM lease_log WHERE second < ?1 ORDER BY second LIMIT ?2)";
pub(crate) const SAVE_TOKEN: &str = "INSERT OR REPLACE INTO access_tokens \
     (digest, principal, scopes, expires_at) VALUES (?1, ?2, ?3, ?4)";
pub(crate) const FIND_TOKEN: &str =
    "SELECT principal, scopes, expires_at FROM access_tokens WHERE digest = ?1";
pub(crate) const PURGE_TOKENS: &str = "DELETE FROM access_tokens WHERE digest IN \
     (SELECT digest FROM access_tokens WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
/// The oldest keys of the purged tables, through their time indexes: the [`PurgeHints`] after a purge.
pub(crate) const OLDEST_TOMBSTONE: &str = "SELECT MIN(deleted_at) FROM tombstones";
pub(crate) const OLDEST_LEASE_LOG: &str = "SELECT MIN(second) FROM lease_log";
pub(crate) const OLDEST_TOKEN: &str = "SELECT MIN(expires_at) FROM access_tokens";

/// Every statement, named, for the query-plan test.
#[cfg(test)]
pub(crate) const STATEMENTS: &[(&str, &str)] = &[
    ("SELECT_TASK", SELECT_TASK),
    ("TASK_EXISTS", TASK_EXISTS),
    ("SELECT_TOMBSTONE", SELECT_TOMBSTONE),
    ("DELETE_TOMBSTONE", DELETE_TOMBSTONE),
    ("INSERT_TASK", INSERT_TASK),
    ("LIST", LIST),
    ("DELETE_TASK", DELETE_TASK),
    ("UPSERT_TOMBSTONE", UPSERT_TOMBSTONE),
    ("AVAILABLE", AVAILABLE),
    ("AVAILABLE_WITH_TAG", AVAILABLE_WITH_TAG),
    ("TAKE_LEASE", TAKE_LEASE),
    ("LOG_LEASES", LOG_LEASES),
    ("SET_ETA", SET_ETA),
    ("COUNT_TASKS", COUNT_TASKS),
    ("OLDEST_ETA", OLDEST_ETA),
    ("LEASED_BETWEEN", LEASED_BETWEEN),
    ("PURGE_TOMBSTONES", PURGE_TOMBSTONES),
    ("PURGE_LEASE_LOG", PURGE_LEASE_LOG),
    ("SAVE_TOKEN", SAVE_TOKEN),
    ("FIND_TOKEN", FIND_TOKEN),
    ("PURGE_TOKENS", PURGE_TOKENS),
    ("OLDEST_TOMBSTONE", OLDEST_TOMBSTONE),
    ("OLDEST_LEASE_LOG", OLDEST_LEASE_LOG),
    ("OLDEST_TOKEN", OLDEST_TOKEN),
];

/// A SQLite failure as a [`StoreError::Storage`], or [`StoreError::StorageFull`] when the disk is full.
pub(crate) fn sql(error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return StoreError::StorageFull(format!("SQLite: {error}"));
    }
    StoreError::storage("SQLite", error)
}

/// Reads a row of `name, payload, tag, enqueued_at, eta, leased, retry_count`, the columns every task query selects.
fn task_from_row(queue: &str, row: &Row<'_>) -> rusqlite::Result<StoredTask> {
    Ok(StoredTask {
        queue: queue.to_owned(),
        name: row.get(0)?,
        payload: row.get(1)?,
        tag: row.get(2)?,
        enqueued_at: Timestamp::from_micros(row.get(3)?),
        eta: Timestamp::from_micros(row.get(4)?),
        leased: row.get(5)?,
        retry_count: row.get(6)?,
    })
}

fn find(conn: &Connection, queue: &str, name: &str) -> Result<Option<StoredTask>, StoreError> {
    conn.prepare_cached(SELECT_TASK)
        .map_err(sql)?
        .query_row(params![queue, name], |row| task_from_row(queue, row))
        .optional()
        .map_err(sql)
}

fn exists(conn: &Connection, queue: &str, name: &str) -> Result<bool, StoreError> {
    conn.prepare_cached(TASK_EXISTS)
        .map_err(sql)?
        .exists(params![queue, name])
        .map_err(sql)
}

fn tombstone_of(
    conn: &Connection,
    cx: &Context,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<Tombstone, StoreError> {
    let deleted_at: Option<i64> = conn
        .prepare_cached(SELECT_TOMBSTONE)
        .map_err(sql)?
        .query_row(params![queue, name], |row| row.get(0))
        .optional()
        .map_err(sql)?;
    let cutoff = cx.config.tombstone_cutoff(now).as_micros();
    Ok(match deleted_at {
        None => Tombstone::None,
        Some(deleted_at) if deleted_at > cutoff => Tombstone::Live,
        Some(_) => Tombstone::Expired,
    })
}

/// Whether a name is tombstoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tombstone {
    /// No tombstone row.
    None,
    /// A tombstone that still blocks the name.
    Live,
    /// A tombstone row past its lifetime, not yet purged: it no longer blocks the name.
    Expired,
}

/// The error for a name with no live task: tombstoned or unknown.
fn missing(conn: &Connection, cx: &Context, queue: &str, name: &str, now: Timestamp) -> StoreError {
    match tombstone_of(conn, cx, queue, name, now) {
        Ok(Tombstone::Live) => StoreError::Tombstoned,
        Ok(Tombstone::None | Tombstone::Expired) => StoreError::NotFound,
        Err(error) => error,
    }
}

fn remove_and_tombstone(
    conn: &Connection,
    cx: &mut Context,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(DELETE_TASK)
        .map_err(sql)?
        .execute(params![queue, name])
        .map_err(sql)?;
    conn.prepare_cached(UPSERT_TOMBSTONE)
        .map_err(sql)?
        .execute(params![queue, name, now.as_micros()])
        .map_err(sql)?;
    PurgeHints::wrote(&mut cx.purge_hints.tombstones, now.as_micros());
    Ok(())
}

pub(crate) fn insert(
    conn: &Connection,
    cx: &mut Context,
    queue: &str,
    mut task: NewTask,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    let (name, tombstone) = match task.name.take() {
        Some(name) => {
            if exists(conn, queue, &name)? {
                return Err(StoreError::AlreadyExists);
            }
            match tombstone_of(conn, cx, queue, &name, now)? {
                Tombstone::Live => return Err(StoreError::Tombstoned),
                tombstone => (name, tombstone),
            }
        }
        None => loop {
            let name = cx.names.next_name(now);
            if exists(conn, queue, &name)? {
                continue;
            }
            match tombstone_of(conn, cx, queue, &name, now)? {
                Tombstone::Live => {}
                tombstone => break (name, tombstone),
            }
        },
    };
    // An expired tombstone row of the name goes; most names have none, and skip the write.
    if tombstone == Tombstone::Expired {
        conn.prepare_cached(DELETE_TOMBSTONE)
            .map_err(sql)?
            .execute(params![queue, name])
            .map_err(sql)?;
    }
    let eta = task.eta.unwrap_or(now);
    conn.prepare_cached(INSERT_TASK)
        .map_err(sql)?
        .execute(params![
            queue,
            name,
            task.payload,
            task.tag,
            now.as_micros(),
            eta.as_micros()
        ])
        .map_err(sql)?;
    Ok(StoredTask::inserted(queue, name, task, now))
}

pub(crate) fn get(
    conn: &Connection,
    cx: &Context,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    match find(conn, queue, name)? {
        Some(task) => Ok(task),
        None => Err(missing(conn, cx, queue, name, now)),
    }
}

pub(crate) fn list(
    conn: &Connection,
    queue: &str,
    limit: u32,
) -> Result<Vec<StoredTask>, StoreError> {
    let mut statement = conn.prepare_cached(LIST).map_err(sql)?;
    let rows = statement
        .query_map(params![queue, limit], |row| task_from_row(queue, row))
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

pub(crate) fn delete(
    conn: &Connection,
    cx: &mut Context,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    if !exists(conn, queue, name)? {
        return Err(missing(conn, cx, queue, name, now));
    }
    remove_and_tombstone(conn, cx, queue, name, now)?;
    purge_on_the_side(conn, cx, now)
}

/// Runs [`AVAILABLE`] (`tag` `None`) or [`AVAILABLE_WITH_TAG`].
fn available(
    conn: &Connection,
    queue: &str,
    tag: Option<&str>,
    skip_at: Option<u32>,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<StoredTask>, StoreError> {
    let now = now.as_micros();
    let (mut statement, parameters): (_, Vec<&dyn ToSql>) = match &tag {
        None => (
            conn.prepare_cached(AVAILABLE).map_err(sql)?,
            vec![&queue, &now, &skip_at, &limit],
        ),
        Some(tag) => (
            conn.prepare_cached(AVAILABLE_WITH_TAG).map_err(sql)?,
            vec![&queue, tag, &now, &skip_at, &limit],
        ),
    };
    let rows = statement
        .query_map(parameters.as_slice(), |row| task_from_row(queue, row))
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

pub(crate) fn lease(
    conn: &Connection,
    cx: &mut Context,
    queue: &str,
    request: &LeaseRequest,
    max_leases: Option<u32>,
    now: Timestamp,
) -> Result<Vec<StoredTask>, StoreError> {
    let skip_at = match cx.config.over_limit {
        OverLimit::Skip => max_leases,
        OverLimit::Delete => None,
    };
    let n = request.num_tasks;
    let chosen = if n == 0 {
        Vec::new()
    } else {
        match &request.tags {
            TagFilter::Any => available(conn, queue, None, skip_at, now, n)?,
            TagFilter::Tag(tag) => available(conn, queue, Some(tag), skip_at, now, n)?,
            TagFilter::OldestTag => {
                let oldest = available(conn, queue, None, skip_at, now, 1)?;
                match oldest.first().map(|task| task.tag.clone()) {
                    None => Vec::new(),
                    Some(Some(tag)) => available(conn, queue, Some(&tag), skip_at, now, n)?,
                    Some(None) => available(conn, queue, None, skip_at, now, n)?
                        .into_iter()
                        .filter(|task| task.tag.is_none())
                        .collect(),
                }
            }
        }
    };

    let expiry = now.saturating_add(request.lease_duration());
    let mut leased = Vec::with_capacity(chosen.len());
    for mut task in chosen {
        if is_over_limit(task.retry_count, max_leases) {
            // Only reachable with OverLimit::Delete: Skip filtered these out.
            remove_and_tombstone(conn, cx, queue, &task.name, now)?;
            continue;
        }
        conn.prepare_cached(TAKE_LEASE)
            .map_err(sql)?
            .execute(params![queue, task.name, expiry.as_micros()])
            .map_err(sql)?;
        task.eta = expiry;
        task.leased = true;
        task.retry_count = task.retry_count.saturating_add(1);
        leased.push(task);
    }
    if !leased.is_empty() {
        let count = i64::try_from(leased.len()).unwrap_or(i64::MAX);
        conn.prepare_cached(LOG_LEASES)
            .map_err(sql)?
            .execute(params![queue, lease_second(now), count])
            .map_err(sql)?;
        PurgeHints::wrote(&mut cx.purge_hints.lease_log, lease_second(now));
    }
    purge_on_the_side(conn, cx, now)?;
    Ok(leased)
}

pub(crate) fn modify_lease(
    conn: &Connection,
    cx: &Context,
    queue: &str,
    name: &str,
    proof: LeaseProof,
    new_lease_secs: u32,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    let Some(mut task) = find(conn, queue, name)? else {
        return Err(missing(conn, cx, queue, name, now));
    };
    if !proof.admits(&task, now) {
        return Err(StoreError::LeaseExpired);
    }
    task.eta = now.saturating_add(Duration::from_secs(u64::from(new_lease_secs)));
    task.leased = new_lease_secs > 0;
    conn.prepare_cached(SET_ETA)
        .map_err(sql)?
        .execute(params![queue, name, task.eta.as_micros(), task.leased])
        .map_err(sql)?;
    Ok(task)
}

pub(crate) fn stats(
    conn: &Connection,
    queue: &str,
    now: Timestamp,
) -> Result<QueueStats, StoreError> {
    let total: i64 = conn
        .prepare_cached(COUNT_TASKS)
        .map_err(sql)?
        .query_row(params![queue], |row| row.get(0))
        .map_err(sql)?;
    let oldest: Option<i64> = conn
        .prepare_cached(OLDEST_ETA)
        .map_err(sql)?
        .query_row(params![queue], |row| row.get(0))
        .map_err(sql)?;
    let leased_since = |first: i64| -> Result<u64, StoreError> {
        let count: i64 = conn
            .prepare_cached(LEASED_BETWEEN)
            .map_err(sql)?
            .query_row(params![queue, first, lease_second(now)], |row| row.get(0))
            .map_err(sql)?;
        Ok(u64::try_from(count).unwrap_or(0))
    };
    Ok(QueueStats {
        total_tasks: u64::try_from(total).unwrap_or(0),
        oldest_eta: oldest.map(Timestamp::from_micros),
        leased_last_minute: leased_since(window_start(now, MINUTE))?,
        leased_last_hour: leased_since(window_start(now, HOUR))?,
    })
}

/// Purges up to `limit` rows of each table (expired tombstones, lease-log entries older than an hour, expired
/// tokens), whatever the [`PurgeHints`] say, and refreshes them.
pub(crate) fn purge(
    conn: &Connection,
    cx: &mut Context,
    now: Timestamp,
    limit: u32,
) -> Result<PurgeReport, StoreError> {
    purge_tables(conn, cx, now, limit, true)
}

/// The purge on the side of a delete or a lease: [`OPPORTUNISTIC_PURGE`] rows of each table whose
/// [`PurgeHints`] bound says it may hold expired rows.
fn purge_on_the_side(
    conn: &Connection,
    cx: &mut Context,
    now: Timestamp,
) -> Result<(), StoreError> {
    purge_tables(conn, cx, now, OPPORTUNISTIC_PURGE, false).map(drop)
}

fn purge_tables(
    conn: &Connection,
    cx: &mut Context,
    now: Timestamp,
    limit: u32,
    always: bool,
) -> Result<PurgeReport, StoreError> {
    let cutoff = cx.config.tombstone_cutoff(now).as_micros();
    let hour_ago = window_start(now, HOUR);
    let hints = &mut cx.purge_hints;
    // (the purge, its parameter, the last key it removes, the table's bound, the query of its oldest key)
    let tables: [(&str, i64, i64, &mut Option<i64>, &str); 3] = [
        (
            PURGE_TOMBSTONES,
            cutoff,
            cutoff,
            &mut hints.tombstones,
            OLDEST_TOMBSTONE,
        ),
        // The lease log keeps the last hour: `second < hour_ago`.
        (
            PURGE_LEASE_LOG,
            hour_ago,
            hour_ago.saturating_sub(1),
            &mut hints.lease_log,
            OLDEST_LEASE_LOG,
        ),
        (
            PURGE_TOKENS,
            now.as_micros(),
            now.as_micros(),
            &mut hints.tokens,
            OLDEST_TOKEN,
        ),
    ];
    let mut purged = [0_u64; 3];
    for (count, (statement, parameter, last_expired, bound, oldest)) in
        purged.iter_mut().zip(tables)
    {
        if !always && !PurgeHints::may_hold_expired(*bound, last_expired) {
            continue;
        }
        let removed = conn
            .prepare_cached(statement)
            .map_err(sql)?
            .execute(params![parameter, limit])
            .map_err(sql)?;
        let least: Option<i64> = conn
            .prepare_cached(oldest)
            .map_err(sql)?
            .query_row([], |row| row.get(0))
            .map_err(sql)?;
        *bound = Some(least.unwrap_or(i64::MAX));
        *count = u64::try_from(removed).unwrap_or(u64::MAX);
    }
    let [tombstones, lease_log, tokens] = purged;
    Ok(PurgeReport {
        tombstones,
        lease_log,
        tokens,
    })
}

pub(crate) fn save_token(
    conn: &Connection,
    cx: &mut Context,
    token: &IssuedToken,
) -> Result<(), StoreError> {
    conn.prepare_cached(SAVE_TOKEN)
        .map_err(sql)?
        .execute(params![
            token.digest.as_slice(),
            token.principal,
            token.scopes.join(" "),
            token.expires_at.as_micros()
        ])
        .map_err(sql)?;
    PurgeHints::wrote(&mut cx.purge_hints.tokens, token.expires_at.as_micros());
    Ok(())
}

pub(crate) fn find_token(
    conn: &Connection,
    digest: [u8; 32],
) -> Result<Option<IssuedToken>, StoreError> {
    conn.prepare_cached(FIND_TOKEN)
        .map_err(sql)?
        .query_row(params![digest.as_slice()], |row| {
            let scopes: String = row.get(1)?;
            Ok(IssuedToken {
                digest,
                principal: row.get(0)?,
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                expires_at: Timestamp::from_micros(row.get(2)?),
            })
        })
        .optional()
        .map_err(sql)
}
