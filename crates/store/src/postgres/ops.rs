//! The store operations in SQL for PostgreSQL: one autocommit statement each where the semantics allow, every
//! statement prepared once per pooled connection.

use std::time::Duration;

use deadpool_postgres::Object;
use taskqueue_model::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::postgres::pg;
use crate::store_config::{HOUR, MINUTE, lease_second, window_start};
use crate::{
    IssuedToken, LeaseProof, LeaseRequest, NewTask, OverLimit, PurgeReport, QueueStats,
    StoreConfig, StoreError, StoredTask, TagFilter,
};

/// How many rows of `lease_log` one (queue, second) is spread over; see the schema.
pub(crate) const LEASE_LOG_SHARDS: i16 = 16;

/// Inserts unless a live task has the name or a live tombstone blocks it; clears an expired tombstone.
///
/// The tombstone is probed by its key alone (a scalar subquery): with `deleted_at > $7` among its conditions, a
/// plan made on a small table walked `tombstones_by_time` over every live tombstone instead.
const INSERT: &str = "WITH inserted AS ( \
         INSERT INTO tasks (queue, name, payload, tag, enqueued_at, eta, leased, retry_count) \
         SELECT $1::text, $2::text, $3::bytea, $4::text, $5::bigint, $6::bigint, FALSE, 0 \
         WHERE NOT COALESCE((SELECT deleted_at > $7::bigint FROM tombstones WHERE queue = $1 AND name = $2), \
                            FALSE) \
         ON CONFLICT (queue, name) DO NOTHING \
         RETURNING name), \
     cleared AS (DELETE FROM tombstones WHERE queue = $1 AND name = $2 AND EXISTS (SELECT 1 FROM inserted)) \
     SELECT COUNT(*) FROM inserted";
/// [`INSERT`] for many tasks at once (arrays of queue, name, payload, tag, enqueue time, ETA and tombstone
/// cutoff, one element per task, no name twice): inserts in (queue, name) order, so that concurrent batches
/// take their locks in one order, and returns the (queue, name) of the tasks inserted.
///
/// The tombstone checks are scalar subqueries, one primary-key probe per task, and the expired tombstones of
/// the names inserted are deleted by their `ctid`s: written as joins, the plan would hash the whole tombstone
/// table for a handful of tasks whenever the table is small enough to look cheap to scan.
///
/// The delete runs only when there is an expired tombstone to clear (a one-time filter on the number of
/// `ctid`s found, which PostgreSQL checks before it starts the scan). The statement is prepared once per
/// connection with a generic plan, made from the table's statistics at that moment: on a tombstone table that
/// was small then, that plan finds the `ctid`s with a sequential scan (a TID scan of an array of unknown length
/// is costed as ten random reads), and keeps doing so as the table grows. Measured with a backlog of 10,000
/// tasks, that scan on every batch made this statement cost 0.36 ms for 4.6 tasks instead of 0.14 ms. New names,
/// the common case, have no tombstone, so the scan is skipped whatever the plan.
const INSERT_MANY: &str = "WITH input AS ( \
         SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[], $6::bigint[], \
                              $7::bigint[]) \
             AS i(queue, name, payload, tag, enqueued_at, eta, cutoff)), \
     inserted AS ( \
         INSERT INTO tasks (queue, name, payload, tag, enqueued_at, eta, leased, retry_count) \
         SELECT i.queue, i.name, i.payload, i.tag, i.enqueued_at, i.eta, FALSE, 0 FROM input i \
         WHERE NOT COALESCE((SELECT t.deleted_at > i.cutoff FROM tombstones t \
                             WHERE t.queue = i.queue AND t.name = i.name), FALSE) \
         ORDER BY i.queue, i.name \
         ON CONFLICT (queue, name) DO NOTHING \
         RETURNING queue, name), \
     expired AS ( \
         SELECT array_remove(ARRAY( \
             SELECT (SELECT t.ctid FROM tombstones t WHERE t.queue = n.queue AND t.name = n.name) \
             FROM inserted n), NULL) AS ctids), \
     cleared AS ( \
         DELETE FROM tombstones WHERE ctid = ANY ((SELECT ctids FROM expired)::tid[]) \
             AND (SELECT cardinality(ctids) > 0 FROM expired)) \
     SELECT queue, name FROM inserted";
const TASK_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM tasks WHERE queue = $1 AND name = $2)";
const TOMBSTONE: &str = "SELECT deleted_at FROM tombstones WHERE queue = $1 AND name = $2";
const SELECT_TASK: &str = "SELECT name, payload, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = $1 AND name = $2";
const LIST: &str = "SELECT name, ''::bytea, tag, enqueued_at, eta, leased, retry_count \
     FROM tasks WHERE queue = $1 ORDER BY eta, name LIMIT $2";
/// Deletes the task and writes its tombstone; affects one row if the task existed.
const DELETE: &str = "WITH removed AS (DELETE FROM tasks WHERE queue = $1 AND name = $2 RETURNING name) \
     INSERT INTO tombstones (queue, name, deleted_at) SELECT $1::text, name, $3::bigint FROM removed \
     ON CONFLICT (queue, name) DO UPDATE SET deleted_at = EXCLUDED.deleted_at";
/// Extends or releases a lease held at `$6` (leased, `eta >= $6`: the expiry instant is still held), proved by
/// its ETA `$3` unless `$3` is NULL ([`LeaseProof::AnyHolder`]).
///
/// `eta + 0` keeps the ETA out of the index conditions, so the task is found by its primary key: a plan made on a
/// small table otherwise walked `tasks_by_eta` over every task of the queue due after `$6`.
const MODIFY: &str = "UPDATE tasks SET eta = $4, leased = $5 \
     WHERE queue = $1 AND name = $2 AND leased AND eta + 0 >= $6::bigint \
       AND ($3::bigint IS NULL OR eta = $3::bigint) \
     RETURNING name, payload, tag, enqueued_at, eta, leased, retry_count";
const OLDEST_AVAILABLE_TAG: &str = "SELECT tag FROM tasks \
     WHERE queue = $1 AND eta <= $2 AND (eta < $2 OR NOT leased) \
       AND ($3::bigint IS NULL OR retry_count < $3) \
     ORDER BY eta, name LIMIT 1";
const STATS: &str = "SELECT \
     (SELECT COUNT(*) FROM tasks WHERE queue = $1), \
     (SELECT MIN(eta) FROM tasks WHERE queue = $1), \
     (SELECT COALESCE(SUM(count), 0)::bigint FROM lease_log WHERE queue = $1 AND second BETWEEN $2 AND $4), \
     (SELECT COALESCE(SUM(count), 0)::bigint FROM lease_log WHERE queue = $1 AND second BETWEEN $3 AND $4)";
/// The purges take the oldest rows through their time index, locked with `SKIP LOCKED` (instances purging at once
/// skip each other's rows), and delete them by the `ctid`s they locked: written as `(key) IN (…)`, a plan made on
/// a small table walked the whole primary key to join it with the rows picked.
const PURGE_TOMBSTONES: &str = "WITH doomed AS ( \
         SELECT ctid FROM tombstones WHERE deleted_at <= $1 ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
     DELETE FROM tombstones t USING doomed d WHERE t.ctid = d.ctid";
const PURGE_LEASE_LOG: &str = "WITH doomed AS ( \
         SELECT ctid FROM lease_log WHERE second < $1 ORDER BY second LIMIT $2 FOR UPDATE SKIP LOCKED) \
     DELETE FROM lease_log l USING doomed d WHERE l.ctid = d.ctid";
const PURGE_TOKENS: &str = "WITH doomed AS ( \
         SELECT ctid FROM access_tokens WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 \
         FOR UPDATE SKIP LOCKED) \
     DELETE FROM access_tokens a USING doomed d WHERE a.ctid = d.ctid";
const SAVE_TOKEN: &str = "INSERT INTO access_tokens (digest, principal, scopes, expires_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO UPDATE \
     SET principal = EXCLUDED.principal, scopes = EXCLUDED.scopes, expires_at = EXCLUDED.expires_at";
const FIND_TOKEN: &str =
    "SELECT principal, scopes, expires_at FROM access_tokens WHERE digest = $1";

/// Every statement, named, for the query-plan test (`postgres::plan_tests`).
#[cfg(test)]
pub(crate) fn statements() -> Vec<(&'static str, String)> {
    let fixed = [
        ("INSERT", INSERT),
        ("INSERT_MANY", INSERT_MANY),
        ("TASK_EXISTS", TASK_EXISTS),
        ("TOMBSTONE", TOMBSTONE),
        ("SELECT_TASK", SELECT_TASK),
        ("LIST", LIST),
        ("DELETE", DELETE),
        ("MODIFY", MODIFY),
        ("OLDEST_AVAILABLE_TAG", OLDEST_AVAILABLE_TAG),
        ("STATS", STATS),
        ("PURGE_TOMBSTONES", PURGE_TOMBSTONES),
        ("PURGE_LEASE_LOG", PURGE_LEASE_LOG),
        ("PURGE_TOKENS", PURGE_TOKENS),
        ("SAVE_TOKEN", SAVE_TOKEN),
        ("FIND_TOKEN", FIND_TOKEN),
    ];
    let mut all: Vec<(&'static str, String)> = fixed
        .into_iter()
        .map(|(name, statement)| (name, statement.to_owned()))
        .collect();
    all.push(("LEASE (any)", lease_statement(Pick::Any)));
    all.push(("LEASE (tag)", lease_statement(Pick::Tag)));
    all.push((
        "LEASE (untagged among first)",
        lease_statement(Pick::UntaggedAmongFirst),
    ));
    all
}

/// Which tasks a lease statement picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    /// The first available ones, any tag.
    Any,
    /// The first available ones of the tag in `$10`.
    Tag,
    /// The untagged ones among the first available ones.
    UntaggedAmongFirst,
}

/// The lease statement: picks the tasks with `FOR UPDATE SKIP LOCKED`, deletes and tombstones those at the lease
/// limit (`$5`, NULL unless the policy is [`OverLimit::Delete`]), leases the others until `$7`, and adds their
/// number to a shard (`$9`) of the second's lease-log row (`$8`), all in one statement.
///
/// `$3` is the lease limit when over-limit tasks are skipped, else NULL; `$4` how many to pick.
///
/// The picked rows are updated (or deleted) through the `ctid` the pick locked, with no second index probe:
/// the statement holds their row locks, so the versions it locked are the ones it changes. (Were a `ctid` ever
/// stale, the change would skip the row, which stays available: never a task leased twice.)
fn lease_statement(pick: Pick) -> String {
    let tag = match pick {
        Pick::Tag => "AND tag = $10::text",
        Pick::Any | Pick::UntaggedAmongFirst => "",
    };
    let untagged = match pick {
        Pick::UntaggedAmongFirst => "WHERE tag IS NULL",
        Pick::Any | Pick::Tag => "",
    };
    format!(
        "WITH chosen AS ( \
             SELECT ctid, name, tag, eta, retry_count FROM tasks \
             WHERE queue = $1::text AND eta <= $2::bigint AND (eta < $2::bigint OR NOT leased) {tag} \
               AND ($3::bigint IS NULL OR retry_count < $3::bigint) \
             ORDER BY eta, name LIMIT $4::bigint FOR UPDATE SKIP LOCKED), \
         picked AS (SELECT ctid, name, eta, retry_count, \
                    COALESCE(retry_count >= $5::bigint, FALSE) AS over FROM chosen {untagged}), \
         removed AS ( \
             DELETE FROM tasks t USING picked p \
             WHERE t.ctid = p.ctid AND t.name = p.name AND p.over RETURNING t.name), \
         buried AS ( \
             INSERT INTO tombstones (queue, name, deleted_at) SELECT $1, name, $6::bigint FROM removed \
             ON CONFLICT (queue, name) DO UPDATE SET deleted_at = EXCLUDED.deleted_at), \
         leased AS ( \
             UPDATE tasks t SET eta = $7::bigint, leased = TRUE, \
                 retry_count = LEAST(t.retry_count + 1, 4294967295) \
             FROM picked p WHERE t.ctid = p.ctid AND t.name = p.name AND NOT p.over \
             RETURNING t.name, t.payload, t.tag, t.enqueued_at, t.eta, t.leased, t.retry_count, \
                 p.eta AS picked_eta), \
         logged AS ( \
             INSERT INTO lease_log (queue, second, shard, count) \
             SELECT $1, $8::bigint, $9::smallint, COUNT(*) FROM leased HAVING COUNT(*) > 0 \
             ON CONFLICT (queue, second, shard) DO UPDATE SET count = lease_log.count + EXCLUDED.count) \
         SELECT name, payload, tag, enqueued_at, eta, leased, retry_count FROM leased \
         ORDER BY picked_eta, name"
    )
}

/// Reads a row of `name, payload, tag, enqueued_at, eta, leased, retry_count`.
fn task_from_row(queue: &str, row: &Row) -> Result<StoredTask, StoreError> {
    let retry_count: i64 = row.try_get(6).map_err(pg)?;
    Ok(StoredTask {
        queue: queue.to_owned(),
        name: row.try_get(0).map_err(pg)?,
        payload: row.try_get(1).map_err(pg)?,
        tag: row.try_get(2).map_err(pg)?,
        enqueued_at: Timestamp::from_micros(row.try_get(3).map_err(pg)?),
        eta: Timestamp::from_micros(row.try_get(4).map_err(pg)?),
        leased: row.try_get(5).map_err(pg)?,
        retry_count: u32::try_from(retry_count).unwrap_or(u32::MAX),
    })
}

async fn query(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(pg)?;
    client.query(&statement, params).await.map_err(pg)
}

async fn execute(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(pg)?;
    client.execute(&statement, params).await.map_err(pg)
}

async fn query_one(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(pg)?;
    client.query_one(&statement, params).await.map_err(pg)
}

/// Whether a tombstone deleted after the cutoff blocks the name.
async fn is_tombstoned(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let rows = query(client, TOMBSTONE, &[&queue, &name]).await?;
    let cutoff = config.tombstone_cutoff(now).as_micros();
    Ok(rows
        .first()
        .map(|row| row.try_get::<_, i64>(0))
        .transpose()
        .map_err(pg)?
        .is_some_and(|deleted_at| deleted_at > cutoff))
}

/// The error for a name with no live task: tombstoned or unknown.
async fn missing(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> StoreError {
    match is_tombstoned(client, config, queue, name, now).await {
        Ok(true) => StoreError::Tombstoned,
        Ok(false) => StoreError::NotFound,
        Err(error) => error,
    }
}

async fn task_exists(client: &Object, queue: &str, name: &str) -> Result<bool, StoreError> {
    query_one(client, TASK_EXISTS, &[&queue, &name])
        .await?
        .try_get(0)
        .map_err(pg)
}

pub(crate) async fn insert(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    task: &NewTask,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    let eta = task.eta.unwrap_or(now);
    let cutoff = config.tombstone_cutoff(now).as_micros();
    // A refusal is re-examined: the task or tombstone that caused it may have gone in between (a concurrent
    // delete turns a live task into a tombstone), so the answer names what blocks the name now.
    for _ in 0..3 {
        let inserted: i64 = query_one(
            client,
            INSERT,
            &[
                &queue,
                &name,
                &task.payload,
                &task.tag,
                &now.as_micros(),
                &eta.as_micros(),
                &cutoff,
            ],
        )
        .await?
        .try_get(0)
        .map_err(pg)?;
        if inserted == 1 {
            return Ok(StoredTask::inserted(
                queue,
                name.to_owned(),
                task.clone(),
                now,
            ));
        }
        if task_exists(client, queue, name).await? {
            return Err(StoreError::AlreadyExists);
        }
        if is_tombstoned(client, config, queue, name, now).await? {
            return Err(StoreError::Tombstoned);
        }
    }
    Err(StoreError::AlreadyExists)
}

/// One insert of [`insert_many`]: the task `task` named `name` in `queue`, at `now`.
#[derive(Debug)]
pub(crate) struct PendingInsert {
    pub queue: String,
    pub name: String,
    pub task: NewTask,
    pub now: Timestamp,
}

impl PendingInsert {
    /// The task as stored by a successful insert.
    pub(crate) fn into_stored(self) -> StoredTask {
        StoredTask::inserted(&self.queue, self.name, self.task, self.now)
    }

    /// Inserts it alone, saying what blocks the name if it cannot.
    pub(crate) async fn insert_alone(
        &self,
        client: &Object,
        config: &StoreConfig,
    ) -> Result<StoredTask, StoreError> {
        insert(
            client,
            config,
            &self.queue,
            &self.name,
            &self.task,
            self.now,
        )
        .await
    }
}

/// Inserts `pending` (no (queue, name) twice) in one statement; returns, for each, whether it was inserted. One
/// that was not is blocked by a live task or tombstone, or raced with another insert of its name:
/// [`PendingInsert::insert_alone`] tells which.
pub(crate) async fn insert_many(
    client: &Object,
    config: &StoreConfig,
    pending: &[&PendingInsert],
) -> Result<Vec<bool>, StoreError> {
    let queues: Vec<&str> = pending.iter().map(|p| p.queue.as_str()).collect();
    let names: Vec<&str> = pending.iter().map(|p| p.name.as_str()).collect();
    let payloads: Vec<&[u8]> = pending.iter().map(|p| p.task.payload.as_slice()).collect();
    let tags: Vec<Option<&str>> = pending.iter().map(|p| p.task.tag.as_deref()).collect();
    let enqueued: Vec<i64> = pending.iter().map(|p| p.now.as_micros()).collect();
    let etas: Vec<i64> = pending
        .iter()
        .map(|p| p.task.eta.unwrap_or(p.now).as_micros())
        .collect();
    let cutoffs: Vec<i64> = pending
        .iter()
        .map(|p| config.tombstone_cutoff(p.now).as_micros())
        .collect();
    let rows = query(
        client,
        INSERT_MANY,
        &[
            &queues, &names, &payloads, &tags, &enqueued, &etas, &cutoffs,
        ],
    )
    .await?;
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    for row in &rows {
        let queue: String = row.try_get(0).map_err(pg)?;
        let name: String = row.try_get(1).map_err(pg)?;
        inserted.insert((queue, name));
    }
    Ok(pending
        .iter()
        .map(|p| inserted.contains(&(p.queue.clone(), p.name.clone())))
        .collect())
}

pub(crate) async fn get(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    match query(client, SELECT_TASK, &[&queue, &name]).await?.first() {
        Some(row) => task_from_row(queue, row),
        None => Err(missing(client, config, queue, name, now).await),
    }
}

pub(crate) async fn list(
    client: &Object,
    queue: &str,
    limit: u32,
) -> Result<Vec<StoredTask>, StoreError> {
    query(client, LIST, &[&queue, &i64::from(limit)])
        .await?
        .iter()
        .map(|row| task_from_row(queue, row))
        .collect()
}

pub(crate) async fn delete(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    if execute(client, DELETE, &[&queue, &name, &now.as_micros()]).await? == 1 {
        Ok(())
    } else {
        Err(missing(client, config, queue, name, now).await)
    }
}

pub(crate) async fn lease(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    request: &LeaseRequest,
    max_leases: Option<u32>,
    now: Timestamp,
) -> Result<Vec<StoredTask>, StoreError> {
    if request.num_tasks == 0 {
        return Ok(Vec::new());
    }
    let (skip_at, delete_at) = match config.over_limit {
        OverLimit::Skip => (max_leases.map(i64::from), None),
        OverLimit::Delete => (None, max_leases.map(i64::from)),
    };
    let now_micros = now.as_micros();
    let (pick, tag) = match &request.tags {
        TagFilter::Any => (Pick::Any, None),
        TagFilter::Tag(tag) => (Pick::Tag, Some(tag.clone())),
        TagFilter::OldestTag => {
            let rows = query(
                client,
                OLDEST_AVAILABLE_TAG,
                &[&queue, &now_micros, &skip_at],
            )
            .await?;
            match rows.first() {
                None => return Ok(Vec::new()),
                Some(row) => match row.try_get::<_, Option<String>>(0).map_err(pg)? {
                    Some(tag) => (Pick::Tag, Some(tag)),
                    None => (Pick::UntaggedAmongFirst, None),
                },
            }
        }
    };
    let expiry = now.saturating_add(request.lease_duration()).as_micros();
    let limit = i64::from(request.num_tasks);
    let second = lease_second(now);
    let shard = fastrand::i16(0..LEASE_LOG_SHARDS);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &queue,
        &now_micros,
        &skip_at,
        &limit,
        &delete_at,
        &now_micros,
        &expiry,
        &second,
        &shard,
    ];
    if let Some(tag) = &tag {
        params.push(tag);
    }
    query(client, &lease_statement(pick), &params)
        .await?
        .iter()
        .map(|row| task_from_row(queue, row))
        .collect()
}

pub(crate) async fn modify_lease(
    client: &Object,
    config: &StoreConfig,
    queue: &str,
    name: &str,
    proof: LeaseProof,
    new_lease_secs: u32,
    now: Timestamp,
) -> Result<StoredTask, StoreError> {
    let eta = now.saturating_add(Duration::from_secs(u64::from(new_lease_secs)));
    let expected_eta = match proof {
        LeaseProof::Eta(eta) => Some(eta.as_micros()),
        LeaseProof::AnyHolder => None,
    };
    let rows = query(
        client,
        MODIFY,
        &[
            &queue,
            &name,
            &expected_eta,
            &eta.as_micros(),
            &(new_lease_secs > 0),
            &now.as_micros(),
        ],
    )
    .await?;
    match rows.first() {
        Some(row) => task_from_row(queue, row),
        None if task_exists(client, queue, name).await? => Err(StoreError::LeaseExpired),
        None => Err(missing(client, config, queue, name, now).await),
    }
}

pub(crate) async fn stats(
    client: &Object,
    queue: &str,
    now: Timestamp,
) -> Result<QueueStats, StoreError> {
    let row = query_one(
        client,
        STATS,
        &[
            &queue,
            &window_start(now, MINUTE),
            &window_start(now, HOUR),
            &lease_second(now),
        ],
    )
    .await?;
    let total: i64 = row.try_get(0).map_err(pg)?;
    let oldest: Option<i64> = row.try_get(1).map_err(pg)?;
    let minute: i64 = row.try_get(2).map_err(pg)?;
    let hour: i64 = row.try_get(3).map_err(pg)?;
    Ok(QueueStats {
        total_tasks: u64::try_from(total).unwrap_or(0),
        oldest_eta: oldest.map(Timestamp::from_micros),
        leased_last_minute: u64::try_from(minute).unwrap_or(0),
        leased_last_hour: u64::try_from(hour).unwrap_or(0),
    })
}

pub(crate) async fn purge(
    client: &Object,
    config: &StoreConfig,
    now: Timestamp,
    limit: u32,
) -> Result<PurgeReport, StoreError> {
    let limit = i64::from(limit);
    let cutoff = config.tombstone_cutoff(now).as_micros();
    let tombstones = execute(client, PURGE_TOMBSTONES, &[&cutoff, &limit]).await?;
    let lease_log = execute(client, PURGE_LEASE_LOG, &[&window_start(now, HOUR), &limit]).await?;
    let tokens = execute(client, PURGE_TOKENS, &[&now.as_micros(), &limit]).await?;
    Ok(PurgeReport {
        tombstones,
        lease_log,
        tokens,
    })
}

pub(crate) async fn save_token(client: &Object, token: &IssuedToken) -> Result<(), StoreError> {
    execute(
        client,
        SAVE_TOKEN,
        &[
            &token.digest.as_slice(),
            &token.principal,
            &token.scopes.join(" "),
            &token.expires_at.as_micros(),
        ],
    )
    .await
    .map(drop)
}

pub(crate) async fn find_token(
    client: &Object,
    digest: [u8; 32],
) -> Result<Option<IssuedToken>, StoreError> {
    let rows = query(client, FIND_TOKEN, &[&digest.as_slice()]).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let scopes: String = row.try_get(1).map_err(pg)?;
    Ok(Some(IssuedToken {
        digest,
        principal: row.try_get(0).map_err(pg)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at: Timestamp::from_micros(row.try_get(2).map_err(pg)?),
    }))
}
