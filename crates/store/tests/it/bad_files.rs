//! Opening a file that is not a usable task store gives a clear `StoreError::Storage` naming the file, never a
//! panic: garbage bytes, a damaged SQLite file, a database of another application, a newer schema, a directory.

use std::path::Path;

use taskqueue_store::{NewTask, SqliteStore, Store, StoreConfig, StoreError};

use crate::support::at;

/// Opens `path` and returns the error message, failing if it opens.
fn open_error(path: &Path) -> String {
    match SqliteStore::open(path, StoreConfig::default()) {
        Ok(store) => panic!("{} opened: {store:?}", path.display()),
        Err(StoreError::Storage(message)) => {
            assert!(
                message.contains(&path.display().to_string()),
                "the message names the file: {message}"
            );
            message
        }
        Err(other) => panic!("not a storage error: {other:?}"),
    }
}

#[test]
fn garbage_bytes_are_not_a_database() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, garbage).expect("write garbage");
    let message = open_error(&path);
    assert!(message.contains("not a database"), "{message}");
}

#[test]
fn a_sqlite_header_followed_by_garbage_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("damaged.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8176_u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8));
    std::fs::write(&path, bytes).expect("write");
    open_error(&path);
}

#[test]
fn a_database_of_another_application_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).expect("create another database");
    other
        .execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .expect("create a table");
    drop(other);
    let message = open_error(&path);
    assert!(message.contains("another application"), "{message}");
}

#[test]
fn a_versioned_database_with_another_application_id_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).expect("create another database");
    other
        .execute_batch("PRAGMA user_version = 1; PRAGMA application_id = 1234;")
        .expect("version it");
    drop(other);
    let message = open_error(&path);
    assert!(message.contains("another application"), "{message}");
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tasks.db");
    {
        let store = SqliteStore::open(&path, StoreConfig::default()).expect("open");
        store
            .insert("q", NewTask::new(b"x".to_vec()).with_name("t1"), at(0))
            .await
            .expect("insert");
    }
    let connection = rusqlite::Connection::open(&path).expect("open directly");
    connection
        .execute_batch("PRAGMA user_version = 99;")
        .expect("bump the version");
    drop(connection);
    let message = open_error(&path);
    assert!(message.contains("newer"), "{message}");
    let connection = rusqlite::Connection::open(&path).expect("open directly");
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read the version");
    assert_eq!(version, 99);
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    open_error(dir.path());
}

#[test]
fn a_missing_parent_directory_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    open_error(&dir.path().join("missing").join("tasks.db"));
}

#[tokio::test]
async fn an_empty_file_becomes_a_new_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("create an empty file");
    let store =
        SqliteStore::open(&path, StoreConfig::default()).expect("an empty file is a new database");
    assert_eq!(store.path(), path);
    let stats = store.stats("q", at(0)).await.expect("stats");
    assert_eq!(stats.total_tasks, 0);
}
