//! Unit tests of the SQLite internals: the query plans use indexes, and the schema version matches the
//! migrations.

use rusqlite::Connection;

use super::ops::STATEMENTS;
use super::schema::{MIGRATIONS, SCHEMA_VERSION, migrate, settle_plans};

fn migrated() -> Connection {
    let mut connection = Connection::open_in_memory().expect("an in-memory database");
    migrate(&mut connection).expect("the migrations apply to an empty database");
    settle_plans(&connection).expect("the store's connection settings apply");
    connection
}

/// The `detail` column of `EXPLAIN QUERY PLAN` for `statement`.
fn plan(connection: &Connection, statement: &str) -> Vec<String> {
    let mut explain = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
        .unwrap_or_else(|e| panic!("cannot explain `{statement}`: {e}"));
    let parameters = explain.parameter_count();
    let nulls: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Null; parameters];
    explain
        .query_map(rusqlite::params_from_iter(nulls), |row| {
            row.get::<_, String>(3)
        })
        .expect("the plan runs")
        .collect::<Result<_, _>>()
        .expect("the plan reads")
}

#[test]
fn every_statement_reaches_its_rows_through_an_index_without_sorting() {
    let connection = migrated();
    let mut failures = Vec::new();
    for (name, statement) in STATEMENTS {
        let plan = plan(&connection, statement);
        let bad = plan.iter().any(|step| {
            (step.starts_with("SCAN") && !step.starts_with("SCAN CONSTANT ROW"))
                || step.contains("TEMP B-TREE")
        });
        if bad {
            failures.push(format!("{name}: {plan:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "statements scanning or sorting:\n{}",
        failures.join("\n")
    );
}

#[test]
fn no_statement_is_prepared_again_when_it_is_reused() {
    let connection = migrated();
    let mut failures = Vec::new();
    for (name, statement) in STATEMENTS {
        // Through the statement cache, as the store runs them: two runs with different values (the cache clears
        // a statement's bindings when it takes it back).
        for round in 0..3_i64 {
            let mut cached = connection
                .prepare_cached(statement)
                .unwrap_or_else(|e| panic!("{name} prepares: {e}"));
            let values: Vec<rusqlite::types::Value> = (0..cached.parameter_count())
                .map(|_| rusqlite::types::Value::Integer(round))
                .collect();
            let mut rows = cached
                .query(rusqlite::params_from_iter(values))
                .unwrap_or_else(|e| panic!("{name} runs: {e}"));
            while rows
                .next()
                .unwrap_or_else(|e| panic!("{name} steps: {e}"))
                .is_some()
            {}
            drop(rows);
            let reprepared = cached.get_status(rusqlite::StatementStatus::RePrepare);
            if round == 2 && reprepared > 0 {
                failures.push(format!("{name}: prepared again {reprepared} times"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_lease_queries_use_the_lease_indexes() {
    let connection = migrated();
    let available = plan(&connection, super::ops::AVAILABLE).join(" | ");
    assert!(available.contains("tasks_by_eta"), "{available}");
    let with_tag = plan(&connection, super::ops::AVAILABLE_WITH_TAG).join(" | ");
    assert!(with_tag.contains("tasks_by_tag"), "{with_tag}");
}

#[test]
fn the_schema_version_counts_the_migrations() {
    assert_eq!(usize::try_from(SCHEMA_VERSION).ok(), Some(MIGRATIONS.len()));
    let connection = migrated();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version reads");
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn migrating_twice_changes_nothing() {
    let mut connection = migrated();
    migrate(&mut connection).expect("an up-to-date schema migrates to itself");
}

#[test]
fn a_version_1_database_migrates_to_the_partial_tag_index_keeping_its_tasks() {
    let mut connection = Connection::open_in_memory().expect("an in-memory database");
    connection
        .execute_batch(MIGRATIONS[0])
        .expect("the version 1 schema applies");
    connection
        .execute_batch(&format!(
            "PRAGMA user_version = 1; PRAGMA application_id = {};
             INSERT INTO tasks VALUES ('q', 'a', X'', 'red', 1, 5, 0, 0);
             INSERT INTO tasks VALUES ('q', 'b', X'', NULL, 1, 3, 0, 0);
             INSERT INTO tasks VALUES ('q', 'c', X'', 'red', 1, 4, 0, 0);",
            super::schema::APPLICATION_ID
        ))
        .expect("a version 1 file with tasks");
    migrate(&mut connection).expect("version 1 migrates");
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version reads");
    assert_eq!(version, SCHEMA_VERSION);
    let index: String = connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'tasks_by_tag'",
            [],
            |row| row.get(0),
        )
        .expect("the tag index exists");
    assert!(index.contains("WHERE tag IS NOT NULL"), "{index}");
    let red: Vec<String> = connection
        .prepare(
            "SELECT name FROM tasks INDEXED BY tasks_by_tag \
             WHERE queue = 'q' AND tag = 'red' ORDER BY eta, name",
        )
        .expect("the tag index serves a tag query")
        .query_map([], |row| row.get(0))
        .expect("the query runs")
        .collect::<Result<_, _>>()
        .expect("the rows read");
    assert_eq!(
        red,
        ["c", "a"],
        "the tagged tasks are in the rebuilt index, in ETA order"
    );
    let count: i64 = connection
        .query_row("SELECT COUNT(*) FROM tasks", [], |row| row.get(0))
        .expect("count");
    assert_eq!(count, 3, "the migration keeps every task");
}
