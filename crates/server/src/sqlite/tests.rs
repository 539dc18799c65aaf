//! Unit tests of the SQLite internals: the query plans use indexes, and the schema version matches the
//! migrations.

use rusqlite::Connection;

use super::ops::STATEMENTS;
use super::schema::{MIGRATIONS, SCHEMA_VERSION, migrate};

fn migrated() -> Connection {
    let mut connection = Connection::open_in_memory().expect("an in-memory database");
    migrate(&mut connection).expect("the migrations apply to an empty database");
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
