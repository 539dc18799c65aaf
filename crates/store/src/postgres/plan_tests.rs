//! The plans PostgreSQL makes for the store's statements on tables that are tiny when a connection first runs
//! them: no statement may reach its rows with a sequential scan. A connection plans each statement once (generic
//! plans) and keeps the plan, so a scan chosen because a table was small then would stay as the table grows.

use crate::postgres::ops;
use crate::{LeaseRequest, NewTask, PostgresStore, Store, StoreConfig};
use taskqueue_model::Timestamp;

// The throwaway PostgreSQL cluster of the store's integration tests.
#[allow(dead_code)]
#[path = "../../tests/it/pg_cluster.rs"]
mod pg_cluster;

#[tokio::test]
async fn no_statement_scans_a_table_even_when_planned_on_tiny_tables() {
    let url = pg_cluster::fresh_url().await;
    let store = PostgresStore::connect(&url, StoreConfig::default())
        .await
        .expect("the store connects");
    // A few rows in every table, then fresh statistics: tables small enough that a scan looks cheapest.
    let now = Timestamp::from_micros(1_893_456_000_000_000);
    for name in ["a", "b", "c"] {
        store
            .insert("q", NewTask::new(b"x".to_vec()).with_name(name), now)
            .await
            .expect("insert");
    }
    store.delete("q", "a", now).await.expect("delete");
    store
        .lease("q", &LeaseRequest::new(1, 60), None, now)
        .await
        .expect("lease");
    let client = store.pool.get().await.expect("a pooled connection");
    client.batch_execute("ANALYZE").await.expect("analyze");

    let mut failures = Vec::new();
    for (name, statement) in ops::statements() {
        let plan = generic_plan(&client, name, &statement).await;
        let mut wrong = Vec::new();
        if plan.iter().any(|line| line.contains("Seq Scan")) {
            wrong.push("a sequential scan".to_owned());
        }
        if let Some(node) = unbounded_index_scan(&plan) {
            wrong.push(format!(
                "an index scan without an index condition: `{node}`"
            ));
        }
        let (expected, forbidden) = expected_scans(name);
        for index in expected {
            if !plan.iter().any(|line| line.contains(index)) {
                wrong.push(format!("no `{index}`"));
            }
        }
        for index in forbidden {
            if plan.iter().any(|line| line.contains(index)) {
                wrong.push(format!("`{index}`"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{name}: {}\n{}", wrong.join(", "), plan.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "statements planned to read more rows than they need:\n{}",
        failures.join("\n\n")
    );
}

/// What each statement's plan must use (the index or `ctid` scan that finds its rows without reading others), and
/// what it must not: an index that also finds them, but among rows it does not need (a range of ETAs or deletion
/// times around a single key).
fn expected_scans(statement: &str) -> (&'static [&'static str], &'static [&'static str]) {
    const BY_TIME: &[&str] = &["tombstones_by_time"];
    const BY_ETA: &[&str] = &["tasks_by_eta", "tasks_by_tag"];
    match statement {
        "INSERT" | "TOMBSTONE" => (&["using tombstones_pkey"], BY_TIME),
        "INSERT_MANY" => (
            &["using tombstones_pkey", "Tid Scan on tombstones"],
            BY_TIME,
        ),
        "TASK_EXISTS" | "SELECT_TASK" | "DELETE" | "MODIFY" => (&["using tasks_pkey"], BY_ETA),
        "LIST" | "OLDEST_AVAILABLE_TAG" | "STATS" => (&["using tasks_by_eta"], &[]),
        "PURGE_TOMBSTONES" => (&["using tombstones_by_time", "Tid Scan on tombstones"], &[]),
        "PURGE_LEASE_LOG" => (&["using lease_log_by_second", "Tid Scan on lease_log"], &[]),
        "PURGE_TOKENS" => (
            &["using access_tokens_by_expiry", "Tid Scan on access_tokens"],
            &[],
        ),
        "FIND_TOKEN" => (&["using access_tokens_pkey"], &[]),
        "LEASE (any)" | "LEASE (untagged among first)" => {
            (&["using tasks_by_eta", "Tid Scan on tasks"], &[])
        }
        "LEASE (tag)" => (&["using tasks_by_tag", "Tid Scan on tasks"], &[]),
        _ => (&[], &[]),
    }
}

/// The generic plan of `statement`, as this connection (with the store's settings) makes it: `EXPLAIN EXECUTE`
/// of it prepared, with every parameter NULL.
async fn generic_plan(
    client: &deadpool_postgres::Object,
    name: &str,
    statement: &str,
) -> Vec<String> {
    let parameters = client
        .prepare(statement)
        .await
        .unwrap_or_else(|e| panic!("{name} does not prepare: {e}"))
        .params()
        .len();
    client
        .batch_execute(&format!("PREPARE plan_check AS {statement}"))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let nulls = vec!["NULL"; parameters].join(", ");
    let explained = client
        .simple_query(&format!("EXPLAIN EXECUTE plan_check({nulls})"))
        .await
        .unwrap_or_else(|e| panic!("{name} does not explain: {e}"));
    client
        .batch_execute("DEALLOCATE plan_check")
        .await
        .expect("deallocate");
    explained
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

/// The first index scan of `plan` with no `Index Cond` among its details: a walk of the whole index.
fn unbounded_index_scan(plan: &[String]) -> Option<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    plan.iter().enumerate().find_map(|(at, line)| {
        if !line.contains("Index Scan") && !line.contains("Index Only Scan") {
            return None;
        }
        // The node's details: the lines after it, more indented, up to the next node.
        let details = plan[at + 1..]
            .iter()
            .take_while(|detail| indent(detail) > indent(line) && !detail.contains("->"));
        let bounded = details
            .map(|detail| detail.trim_start())
            .any(|detail| detail.starts_with("Index Cond:"));
        (!bounded).then(|| line.trim().to_owned())
    })
}

#[test]
fn an_index_scan_without_a_condition_is_found() {
    let plan = |lines: &[&str]| {
        lines
            .iter()
            .map(|line| (*line).to_owned())
            .collect::<Vec<_>>()
    };
    // (plan, the unbounded scan found)
    let cases = [
        (
            plan(&[
                "Nested Loop",
                "  ->  Index Scan using tombstones_pkey on tombstones",
                "  ->  Index Scan using tombstones_by_time on tombstones t",
                "        Index Cond: (deleted_at <= $1)",
            ]),
            Some("->  Index Scan using tombstones_pkey on tombstones"),
        ),
        (
            plan(&[
                "Index Scan using tasks_pkey on tasks",
                "  Index Cond: ((queue = $1) AND (name = $2))",
            ]),
            None,
        ),
        (
            plan(&[
                "Limit",
                "  ->  Index Only Scan using tasks_by_eta on tasks",
                "        Filter: (queue = $1)",
            ]),
            Some("->  Index Only Scan using tasks_by_eta on tasks"),
        ),
    ];
    for (plan, expected) in cases {
        assert_eq!(unbounded_index_scan(&plan).as_deref(), expected, "{plan:?}");
    }
}
