//! `Tasks` and `Tasks2`: a missing `items` is empty, an empty one is left out, and `kind` is never trusted.

use serde_json::json;
use taskqueue_model::{Task, Tasks, Tasks2, kind};

use crate::TestResult;

#[test]
fn items_read_the_same_whatever_the_kind_and_however_empty() -> TestResult {
    // (input, the ids of the items)
    let cases = [
        (json!({}), vec![]),
        (json!({"kind": "taskqueues#tasks"}), vec![]),
        (json!({"kind": "taskqueue#tasks", "items": []}), vec![]),
        (json!({"items": null}), vec![]),
        (
            json!({"kind": "taskqueue#tasks", "items": [{"id": "a"}, {"id": "b"}]}),
            vec!["a", "b"],
        ),
        (
            json!({"kind": "taskqueues#tasks", "items": [{"id": "a"}, {"id": "b"}]}),
            vec!["a", "b"],
        ),
        (
            json!({"kind": "unexpected#kind", "items": [{"id": "c"}]}),
            vec!["c"],
        ),
    ];
    for (input, ids) in cases {
        let leased: Tasks = serde_json::from_value(input.clone())?;
        let listed: Tasks2 = serde_json::from_value(input.clone())?;
        let leased_ids: Vec<_> = leased.iter().filter_map(|t| t.id.as_deref()).collect();
        assert_eq!(leased_ids, ids, "{input}");
        assert_eq!(leased.len(), ids.len(), "{input}");
        assert_eq!(leased.is_empty(), ids.is_empty(), "{input}");
        assert_eq!(listed.items, leased.items, "{input}");
    }
    Ok(())
}

#[test]
fn empty_items_are_left_out_when_writing() -> TestResult {
    let cases = [
        (
            serde_json::to_value(Tasks::new(vec![]))?,
            json!({"kind": "taskqueue#tasks"}),
        ),
        (
            serde_json::to_value(Tasks2::new(vec![]))?,
            json!({"kind": "taskqueues#tasks"}),
        ),
        (serde_json::to_value(Tasks::default())?, json!({})),
        (
            serde_json::to_value(Tasks2::new(vec![Task::default().with_id("a")]))?,
            json!({"kind": "taskqueues#tasks", "items": [{"id": "a"}]}),
        ),
    ];
    for (written, expected) in cases {
        assert_eq!(written, expected);
    }
    Ok(())
}

#[test]
fn constructors_use_the_discovery_kinds() {
    assert_eq!(Tasks::new(vec![]).kind.as_deref(), Some(kind::LEASED_TASKS));
    assert_eq!(
        Tasks2::new(vec![]).kind.as_deref(),
        Some(kind::LISTED_TASKS)
    );
    assert_eq!(kind::LEASED_TASKS, "taskqueue#tasks");
    assert_eq!(kind::LISTED_TASKS, "taskqueues#tasks");
}

#[test]
fn task_lists_iterate_by_reference_and_by_value() {
    let items = vec![Task::default().with_id("a"), Task::default().with_id("b")];
    let leased = Tasks::new(items.clone());
    let listed = Tasks2::new(items.clone());

    let mut by_ref = Vec::new();
    for task in &leased {
        by_ref.push(task.clone());
    }
    for task in &listed {
        by_ref.push(task.clone());
    }
    let by_value: Vec<Task> = leased.into_iter().chain(listed).collect();

    let twice: Vec<Task> = items.iter().chain(&items).cloned().collect();
    assert_eq!(by_ref, twice);
    assert_eq!(by_value, twice);
}
