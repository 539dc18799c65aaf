//! Queue paths, short queue names, and the validated name types.

use std::str::FromStr;

use taskqueue_model::{ProjectId, QueueName, QueuePath, Task, TaskName, short_queue_name};

#[test]
fn queue_path_parses_only_the_long_form() {
    let cases = [
        ("projects/s~app/taskqueues/pull", Some(("s~app", "pull"))),
        ("projects/b~app/taskqueues/q-1", Some(("b~app", "q-1"))),
        (
            "projects/example.com:app/taskqueues/q",
            Some(("example.com:app", "q")),
        ),
        ("projects/app/taskqueues/q", Some(("app", "q"))),
        ("pull", None),
        ("", None),
        ("projects//taskqueues/q", None),
        ("projects/app/taskqueues/", None),
        ("projects/app/taskqueues", None),
        ("projects/app/taskqueues/q/tasks", None),
        ("projects/app/taskqueues/q/", None),
        ("projects/app/queues/q", None),
        ("projects/a/b/taskqueues/q", None),
        ("/projects/app/taskqueues/q", None),
        ("project/app/taskqueues/q", None),
    ];
    for (input, expected) in cases {
        let parsed = QueuePath::parse(input);
        let segments = parsed
            .as_ref()
            .map(|p| (p.project.as_str(), p.queue.as_str()));
        assert_eq!(segments, expected, "{input:?}");
        if let Some(path) = parsed {
            assert_eq!(path.to_string(), input);
        }
        let short = expected.map_or(input, |(_, queue)| queue);
        assert_eq!(short_queue_name(input), short, "{input:?}");
    }
}

#[test]
fn task_queue_name_helpers_handle_both_forms() {
    let cases = [
        (
            Some("projects/s~app/taskqueues/pull"),
            Some("pull"),
            Some(QueuePath::new("s~app", "pull")),
        ),
        (Some("pull"), Some("pull"), None),
        (None, None, None),
    ];
    for (queue_name, short, path) in cases {
        let task = {
            let mut value = Task::default();
            value.queue_name = queue_name.map(str::to_owned);
            value
        };
        assert_eq!(task.short_queue_name(), short, "{queue_name:?}");
        assert_eq!(task.queue_path(), path, "{queue_name:?}");
    }
}

/// Checks one name type against a table of (input, valid?) cases, through every constructor.
fn check_name_type<T>(
    cases: &[(String, bool)],
    new: fn(String) -> Result<T, taskqueue_model::ValidationError>,
    field: &str,
) where
    T: FromStr<Err = taskqueue_model::ValidationError>
        + AsRef<str>
        + std::fmt::Display
        + std::fmt::Debug
        + PartialEq,
{
    for (input, valid) in cases {
        let built = new(input.clone());
        let parsed = input.parse::<T>();
        assert_eq!(built.is_ok(), *valid, "{input:?}: {built:?}");
        assert_eq!(built, parsed, "{input:?}");
        match built {
            Ok(name) => {
                assert_eq!(name.as_ref(), input);
                assert_eq!(name.to_string(), *input);
            }
            Err(error) => assert_eq!(error.field(), field, "{input:?}"),
        }
    }
}

#[test]
fn task_names_are_1_to_500_of_letters_digits_underscore_hyphen() {
    let cases = [
        ("f32a7aab42bdaf6f".to_owned(), true),
        ("a".to_owned(), true),
        ("A-Z_a-z-0-9".to_owned(), true),
        ("x".repeat(500), true),
        ("x".repeat(501), false),
        (String::new(), false),
        ("with space".to_owned(), false),
        ("dot.ted".to_owned(), false),
        ("slash/ed".to_owned(), false),
        ("tilde~".to_owned(), false),
        ("é".to_owned(), false),
    ];
    check_name_type::<TaskName>(&cases, TaskName::new, "id");
    let name = TaskName::new("abc").map(TaskName::into_string);
    assert_eq!(name.as_deref(), Ok("abc"));
}

#[test]
fn queue_names_are_1_to_100_of_letters_digits_hyphen() {
    let cases = [
        ("wms-test-pull-queue".to_owned(), true),
        ("Q".to_owned(), true),
        ("q".repeat(100), true),
        ("q".repeat(101), false),
        (String::new(), false),
        ("under_score".to_owned(), false),
        ("projects/s~app/taskqueues/pull".to_owned(), false),
        ("space d".to_owned(), false),
    ];
    check_name_type::<QueueName>(&cases, QueueName::new, "taskqueue");
    let name = QueueName::new("q").map(QueueName::into_string);
    assert_eq!(name.as_deref(), Ok("q"));
}

#[test]
fn projects_are_sent_verbatim_with_their_prefix() {
    let cases = [
        ("neuromancer-seung-import".to_owned(), true),
        ("s~neuromancer-seung-import".to_owned(), true),
        ("b~app".to_owned(), true),
        ("example.com:app".to_owned(), true),
        ("s~example.com:app".to_owned(), true),
        ("p".repeat(100), true),
        ("p".repeat(101), false),
        (String::new(), false),
        ("a/b".to_owned(), false),
        ("a b".to_owned(), false),
        ("a_b".to_owned(), false),
        ("app?x=1".to_owned(), false),
        ("é".to_owned(), false),
    ];
    check_name_type::<ProjectId>(&cases, ProjectId::new, "project");
    let name = ProjectId::new("s~app").map(ProjectId::into_string);
    assert_eq!(name.as_deref(), Ok("s~app"));
}
