//! Proptest strategies for every wire type, and for JSON text in the wire form.
//!
//! Unknown field names start with `x`, which no known field does, so they never collide with known names.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use taskqueue_model::{
    ErrorBody, ErrorDetail, ErrorEnvelope, Payload, QueuePath, Task, TaskQueue, TaskQueueAcl,
    TaskQueueStats, Tasks, Tasks2, Timestamp,
};

/// Short arbitrary text, any characters but newlines.
fn text() -> impl Strategy<Value = String> {
    ".{0,12}"
}

/// Any JSON value without floats (serde_json does not round-trip every float bit for bit by default).
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Fields no type knows, with arbitrary values.
pub(crate) fn unknown_fields() -> impl Strategy<Value = Map<String, Value>> {
    btree_map("x[A-Za-z0-9_]{0,8}", json_value(), 0..3).prop_map(|m| m.into_iter().collect())
}

pub(crate) fn timestamp() -> impl Strategy<Value = Timestamp> {
    any::<i64>().prop_map(Timestamp::from_micros)
}

pub(crate) fn payload() -> impl Strategy<Value = Payload> {
    vec(any::<u8>(), 0..48).prop_map(Payload::new)
}

pub(crate) fn queue_path() -> impl Strategy<Value = QueuePath> {
    (
        "[a-z]~[a-z0-9-]{1,10}|[a-z0-9.:-]{1,12}",
        "[A-Za-z0-9-]{1,12}",
    )
        .prop_map(|(project, queue)| QueuePath::new(project, queue))
}

prop_compose! {
    pub(crate) fn task()(
        kind in option::of(text()),
        id in option::of(text()),
        queue_name in option::of(text()),
        payload in option::of(payload()),
        enqueue_timestamp in option::of(timestamp()),
        lease_timestamp in option::of(timestamp()),
        retry_count in option::of(any::<i32>()),
        tag in option::of(text()),
        unknown_fields in unknown_fields(),
    ) -> Task {
        {
            let mut value = Task::default();
            value.kind = kind;
            value.id = id;
            value.queue_name = queue_name;
            value.payload = payload;
            value.enqueue_timestamp = enqueue_timestamp;
            value.lease_timestamp = lease_timestamp;
            value.retry_count = retry_count;
            value.tag = tag;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    pub(crate) fn tasks()(kind in option::of(text()), items in vec(task(), 0..3), unknown_fields in unknown_fields()) -> Tasks {
        {
            let mut value = Tasks::default();
            value.kind = kind;
            value.items = items;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    pub(crate) fn tasks2()(kind in option::of(text()), items in vec(task(), 0..3), unknown_fields in unknown_fields()) -> Tasks2 {
        {
            let mut value = Tasks2::default();
            value.kind = kind;
            value.items = items;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    pub(crate) fn stats()(
        total_tasks in option::of(any::<i32>()),
        oldest_task in option::of(any::<i64>()),
        leased_last_minute in option::of(any::<i64>()),
        leased_last_hour in option::of(any::<i64>()),
        unknown_fields in unknown_fields(),
    ) -> TaskQueueStats {
        {
            let mut value = TaskQueueStats::default();
            value.total_tasks = total_tasks;
            value.oldest_task = oldest_task;
            value.leased_last_minute = leased_last_minute;
            value.leased_last_hour = leased_last_hour;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

fn emails() -> impl Strategy<Value = Option<Vec<String>>> {
    option::of(vec("[a-z]{1,6}@[a-z]{1,6}\\.com", 0..3))
}

prop_compose! {
    pub(crate) fn acl()(
        admin_emails in emails(),
        consumer_emails in emails(),
        producer_emails in emails(),
        unknown_fields in unknown_fields(),
    ) -> TaskQueueAcl {
        {
            let mut value = TaskQueueAcl::default();
            value.admin_emails = admin_emails;
            value.consumer_emails = consumer_emails;
            value.producer_emails = producer_emails;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    pub(crate) fn task_queue()(
        kind in option::of(text()),
        id in option::of(text()),
        max_leases in option::of(any::<i32>()),
        stats in option::of(stats()),
        acl in option::of(acl()),
        unknown_fields in unknown_fields(),
    ) -> TaskQueue {
        {
            let mut value = TaskQueue::default();
            value.kind = kind;
            value.id = id;
            value.max_leases = max_leases;
            value.stats = stats;
            value.acl = acl;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    fn error_detail()(
        domain in option::of(text()),
        reason in option::of(text()),
        message in option::of(text()),
        location_type in option::of(text()),
        location in option::of(text()),
        unknown_fields in unknown_fields(),
    ) -> ErrorDetail {
        {
            let mut value = ErrorDetail::default();
            value.domain = domain;
            value.reason = reason;
            value.message = message;
            value.location_type = location_type;
            value.location = location;
            value.unknown_fields = unknown_fields;
            value
        }
    }
}

prop_compose! {
    pub(crate) fn error_envelope()(
        code in option::of(any::<u16>()),
        message in option::of(text()),
        errors in vec(error_detail(), 0..3),
        status in option::of(text()),
        unknown_fields in unknown_fields(),
    ) -> ErrorEnvelope {
        {
            let mut value = ErrorEnvelope::default();
            value.error = {
            let mut value = ErrorBody::default();
            value.code = code;
            value.message = message;
            value.errors = errors;
            value.status = status;
            value.unknown_fields = unknown_fields;
            value
        };
            value
        }
    }
}

/// Builds a JSON object from the unknown fields and the known fields that are present.
fn object(unknown: Map<String, Value>, known: Vec<(&str, Option<Value>)>) -> Value {
    let mut map = unknown;
    for (key, value) in known {
        if let Some(value) = value {
            map.insert(key.to_owned(), value);
        }
    }
    Value::Object(map)
}

/// A JSON string holding an int64, as the API writes one.
fn int64_string() -> impl Strategy<Value = Value> {
    any::<i64>().prop_map(|n| Value::String(n.to_string()))
}

/// A task in its canonical wire form, with unknown fields.
pub(crate) fn task_json() -> impl Strategy<Value = Value> {
    (
        (option::of(text()), option::of(text()), option::of(text())),
        option::of(vec(any::<u8>(), 0..48)),
        (option::of(int64_string()), option::of(int64_string())),
        option::of(any::<i32>()),
        option::of(text()),
        unknown_fields(),
    )
        .prop_map(
            |((kind, id, queue_name), payload, (enqueue, lease), retry_count, tag, unknown)| {
                object(
                    unknown,
                    vec![
                        ("kind", kind.map(Value::String)),
                        ("id", id.map(Value::String)),
                        ("queueName", queue_name.map(Value::String)),
                        (
                            "payloadBase64",
                            payload.map(|b| Value::String(Payload::new(b).to_base64())),
                        ),
                        ("enqueueTimestamp", enqueue),
                        ("leaseTimestamp", lease),
                        ("retry_count", retry_count.map(Value::from)),
                        ("tag", tag.map(Value::String)),
                    ],
                )
            },
        )
}

/// A lease or list response in its canonical wire form: `items` is left out when empty.
pub(crate) fn task_list_json() -> impl Strategy<Value = Value> {
    (option::of(text()), vec(task_json(), 0..3), unknown_fields()).prop_map(
        |(kind, items, unknown)| {
            let items = (!items.is_empty()).then_some(Value::Array(items));
            object(
                unknown,
                vec![("kind", kind.map(Value::String)), ("items", items)],
            )
        },
    )
}

/// A queue in its canonical wire form, with unknown fields at every level.
pub(crate) fn task_queue_json() -> impl Strategy<Value = Value> {
    let stats = (
        option::of(any::<i32>()),
        option::of(int64_string()),
        option::of(int64_string()),
        option::of(int64_string()),
        unknown_fields(),
    )
        .prop_map(|(total, oldest, minute, hour, unknown)| {
            object(
                unknown,
                vec![
                    ("totalTasks", total.map(Value::from)),
                    ("oldestTask", oldest),
                    ("leasedLastMinute", minute),
                    ("leasedLastHour", hour),
                ],
            )
        });
    let acl = (emails(), emails(), emails(), unknown_fields()).prop_map(
        |(admins, consumers, producers, unknown)| {
            object(
                unknown,
                vec![
                    ("adminEmails", admins.map(|e| json!(e))),
                    ("consumerEmails", consumers.map(|e| json!(e))),
                    ("producerEmails", producers.map(|e| json!(e))),
                ],
            )
        },
    );
    (
        option::of(text()),
        option::of(text()),
        option::of(any::<i32>()),
        option::of(stats),
        option::of(acl),
        unknown_fields(),
    )
        .prop_map(|(kind, id, max_leases, stats, acl, unknown)| {
            object(
                unknown,
                vec![
                    ("kind", kind.map(Value::String)),
                    ("id", id.map(Value::String)),
                    ("maxLeases", max_leases.map(Value::from)),
                    ("stats", stats),
                    ("acl", acl),
                ],
            )
        })
}

/// An error body in its canonical wire form, with unknown fields inside `error` and inside each detail.
pub(crate) fn error_envelope_json() -> impl Strategy<Value = Value> {
    let detail = (
        (option::of(text()), option::of(text()), option::of(text())),
        (option::of(text()), option::of(text())),
        unknown_fields(),
    )
        .prop_map(
            |((domain, reason, message), (location_type, location), unknown)| {
                object(
                    unknown,
                    vec![
                        ("domain", domain.map(Value::String)),
                        ("reason", reason.map(Value::String)),
                        ("message", message.map(Value::String)),
                        ("locationType", location_type.map(Value::String)),
                        ("location", location.map(Value::String)),
                    ],
                )
            },
        );
    (
        option::of(any::<u16>()),
        option::of(text()),
        vec(detail, 0..3),
        option::of(text()),
        unknown_fields(),
    )
        .prop_map(|(code, message, errors, status, unknown)| {
            let errors = (!errors.is_empty()).then_some(Value::Array(errors));
            let body = object(
                unknown,
                vec![
                    ("code", code.map(Value::from)),
                    ("message", message.map(Value::String)),
                    ("errors", errors),
                    ("status", status.map(Value::String)),
                ],
            );
            json!({ "error": body })
        })
}
