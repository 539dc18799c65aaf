//! Concurrent inserts, many at once: every insert gets the answer it would get alone, however the store groups
//! them (the PostgreSQL store writes concurrent inserts in shared statements). One mix of inserts runs against
//! every backend, and against PostgreSQL both batched and with every insert alone: new names, the same new name
//! twice at once, names of live tasks, and names of unexpired tombstones.

use std::collections::BTreeMap;
use std::sync::Arc;

use taskqueue_store::{NewTask, PostgresOptions, PostgresStore, Store, StoreConfig, StoreError};

use crate::support::{Backend, at, memory, multi_thread_runtime as runtime, sqlite};

/// What an insert of a name is answered, as the test compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    Inserted,
    AlreadyExists,
    Tombstoned,
}

const NEW: usize = 60;
const LIVE: usize = 20;
const BURIED: usize = 20;

async fn postgres_with(options: PostgresOptions, name: &'static str) -> Backend {
    let url = crate::pg_cluster::fresh_url().await;
    let store = PostgresStore::connect_with(&url, StoreConfig::default(), options)
        .await
        .unwrap_or_else(|e| panic!("a new PostgreSQL store opens: {e}"));
    Backend {
        name,
        store: Box::new(store),
        _dir: None,
    }
}

/// Fires the mix at once; returns, per name, the sorted answers its inserts got, and checks what is stored.
async fn run_mix(store: Arc<dyn Store>) -> BTreeMap<String, Vec<Answer>> {
    let before = at(0);
    for index in 0..LIVE {
        store
            .insert(
                "q",
                NewTask::new(b"old".to_vec()).with_name(format!("live-{index}")),
                before,
            )
            .await
            .expect("a live task");
    }
    for index in 0..BURIED {
        let name = format!("buried-{index}");
        store
            .insert(
                "q",
                NewTask::new(b"old".to_vec()).with_name(name.clone()),
                before,
            )
            .await
            .expect("a task to delete");
        store.delete("q", &name, before).await.expect("a tombstone");
    }
    let now = at(1);
    let mut names: Vec<String> = Vec::new();
    for index in 0..NEW {
        names.push(format!("new-{index}"));
        if index % 3 == 0 {
            names.push(format!("new-{index}"));
        }
    }
    names.extend((0..LIVE).map(|index| format!("live-{index}")));
    names.extend((0..BURIED).map(|index| format!("buried-{index}")));
    let inserts: Vec<_> = names
        .into_iter()
        .map(|name| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let task = NewTask::new(name.as_bytes().to_vec()).with_name(name.clone());
                let answer = match store.insert("q", task, now).await {
                    Ok(stored) => {
                        assert_eq!(stored.name, name);
                        assert_eq!(stored.payload, name.as_bytes());
                        assert_eq!(stored.enqueued_at, now);
                        Answer::Inserted
                    }
                    Err(StoreError::AlreadyExists) => Answer::AlreadyExists,
                    Err(StoreError::Tombstoned) => Answer::Tombstoned,
                    Err(other) => panic!("insert of {name}: {other}"),
                };
                (name, answer)
            })
        })
        .collect();
    let mut answers: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    for insert in inserts {
        let (name, answer) = insert.await.expect("an insert task");
        answers.entry(name).or_default().push(answer);
    }
    for list in answers.values_mut() {
        list.sort();
    }
    for index in 0..NEW {
        let name = format!("new-{index}");
        let stored = store.get("q", &name, now).await.expect("the new task");
        assert_eq!(stored.payload, name.as_bytes());
    }
    for index in 0..LIVE {
        let stored = store
            .get("q", &format!("live-{index}"), now)
            .await
            .expect("the live task");
        assert_eq!(stored.payload, b"old", "a refused insert changes nothing");
    }
    answers
}

#[test]
fn concurrent_inserts_get_the_answers_they_would_get_alone_on_every_store() {
    let runtime = runtime();
    let backends = runtime.block_on(async {
        vec![
            memory(StoreConfig::default()),
            sqlite(StoreConfig::default()),
            postgres_with(
                PostgresOptions::default().with_concurrent_inserts(1),
                "postgres, batched",
            )
            .await,
            postgres_with(
                PostgresOptions::default().with_insert_batch(1),
                "postgres, alone",
            )
            .await,
        ]
    });
    for backend in backends {
        let store: Arc<dyn Store> = Arc::from(backend.store);
        let answers = runtime.block_on(run_mix(store));
        for (name, got) in &answers {
            let expected = if name.starts_with("live-") {
                vec![Answer::AlreadyExists]
            } else if name.starts_with("buried-") {
                vec![Answer::Tombstoned]
            } else if name
                .trim_start_matches("new-")
                .parse::<usize>()
                .is_ok_and(|index| index % 3 == 0)
            {
                vec![Answer::Inserted, Answer::AlreadyExists]
            } else {
                vec![Answer::Inserted]
            };
            assert_eq!(
                got, &expected,
                "{}: answers to the inserts of {name}",
                backend.name
            );
        }
        assert_eq!(answers.len(), NEW + LIVE + BURIED, "{}", backend.name);
    }
}

#[test]
fn batched_inserts_clear_the_expired_tombstones_of_their_names() {
    const NAMES: usize = 40;
    let runtime = runtime();
    runtime.block_on(async {
        let url = crate::pg_cluster::fresh_url().await;
        let config = StoreConfig::default();
        let ttl = i64::try_from(config.tombstone_ttl.as_secs()).expect("the TTL fits");
        let options = PostgresOptions::default().with_concurrent_inserts(1);
        let store: Arc<dyn Store> = Arc::new(
            PostgresStore::connect_with(&url, config, options)
                .await
                .expect("a new PostgreSQL store"),
        );
        for index in 0..NAMES {
            let name = format!("again-{index}");
            store
                .insert(
                    "q",
                    NewTask::new(b"old".to_vec()).with_name(name.clone()),
                    at(0),
                )
                .await
                .expect("a task to delete");
            store.delete("q", &name, at(0)).await.expect("a tombstone");
        }
        let now = at(ttl + 60);
        let inserts: Vec<_> = (0..NAMES)
            .map(|index| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let name = format!("again-{index}");
                    store
                        .insert("q", NewTask::new(b"new".to_vec()).with_name(name), now)
                        .await
                })
            })
            .collect();
        for insert in inserts {
            insert
                .await
                .expect("an insert task")
                .expect("an expired tombstone does not block its name");
        }
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("a connection to the test database");
        let driver = tokio::spawn(connection);
        let left: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM tombstones WHERE name LIKE 'again-%'",
                &[],
            )
            .await
            .expect("the tombstone count")
            .get(0);
        assert_eq!(
            left, 0,
            "the expired tombstones of the re-inserted names are gone"
        );
        drop(client);
        let _ = driver.await;
    });
}
