//! Property tests: every type survives value → JSON → value, and JSON text with unknown fields survives
//! JSON → value → JSON. Also: no input makes the parsers panic.

use std::fmt::Debug;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use taskqueue_model::{
    ErrorEnvelope, Payload, QueuePath, Task, TaskQueue, Tasks, Tasks2, Timestamp, short_queue_name,
};

use crate::strategies;

/// Writes `value` as JSON text, reads it back, and checks nothing changed.
fn assert_value_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T =
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
    prop_assert_eq!(&back, value, "through {}", text);
    Ok(())
}

/// Reads JSON text as `T`, writes it back, and checks the JSON is the same.
fn assert_text_round_trip<T>(json: &Value) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + Debug,
{
    let text = json.to_string();
    let parsed: T =
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
    let written = serde_json::to_value(&parsed).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&written, json, "parsed as {:?}", parsed);
    Ok(())
}

proptest! {
    #[test]
    fn task_round_trips(task in strategies::task()) {
        assert_value_round_trip(&task)?;
    }

    #[test]
    fn tasks_round_trip(tasks in strategies::tasks()) {
        assert_value_round_trip(&tasks)?;
    }

    #[test]
    fn tasks2_round_trip(tasks in strategies::tasks2()) {
        assert_value_round_trip(&tasks)?;
    }

    #[test]
    fn task_queue_round_trips(queue in strategies::task_queue()) {
        assert_value_round_trip(&queue)?;
    }

    #[test]
    fn stats_round_trip(stats in strategies::stats()) {
        assert_value_round_trip(&stats)?;
    }

    #[test]
    fn acl_round_trips(acl in strategies::acl()) {
        assert_value_round_trip(&acl)?;
    }

    #[test]
    fn error_envelope_round_trips(envelope in strategies::error_envelope()) {
        assert_value_round_trip(&envelope)?;
    }

    #[test]
    fn timestamp_round_trips(timestamp in strategies::timestamp()) {
        assert_value_round_trip(&timestamp)?;
        prop_assert_eq!(Timestamp::from_system_time(timestamp.to_system_time()), timestamp);
    }

    #[test]
    fn payload_round_trips(payload in strategies::payload()) {
        assert_value_round_trip(&payload)?;
    }

    #[test]
    fn payload_decodes_every_alphabet_and_padding(payload in strategies::payload()) {
        let url_safe = payload.to_base64();
        let standard: String = url_safe.chars().map(|c| match c { '-' => '+', '_' => '/', c => c }).collect();
        for encoded in [url_safe.clone(), standard.clone(), url_safe.trim_end_matches('=').to_owned(), standard.trim_end_matches('=').to_owned()] {
            let decoded = Payload::from_base64(&encoded);
            prop_assert_eq!(decoded.as_ref(), Ok(&payload), "decoding {}", encoded);
        }
    }

    #[test]
    fn queue_path_round_trips_through_its_long_form(path in strategies::queue_path()) {
        let long_form = path.to_string();
        let parsed = QueuePath::parse(&long_form);
        prop_assert_eq!(parsed.as_ref(), Some(&path));
        prop_assert_eq!(short_queue_name(&long_form), path.queue.as_str());
    }

    #[test]
    fn task_json_round_trips(json in strategies::task_json()) {
        assert_text_round_trip::<Task>(&json)?;
    }

    #[test]
    fn task_list_json_round_trips(json in strategies::task_list_json()) {
        assert_text_round_trip::<Tasks>(&json)?;
        assert_text_round_trip::<Tasks2>(&json)?;
    }

    #[test]
    fn task_queue_json_round_trips(json in strategies::task_queue_json()) {
        assert_text_round_trip::<TaskQueue>(&json)?;
    }

    #[test]
    fn error_envelope_json_round_trips(json in strategies::error_envelope_json()) {
        assert_text_round_trip::<ErrorEnvelope>(&json)?;
    }

    #[test]
    fn arbitrary_text_never_panics_and_what_parses_is_consistent(text in ".{0,64}") {
        // The parsers must return, not panic; what they accept must agree with what they write.
        if let Ok(task) = serde_json::from_str::<Task>(&text) {
            prop_assert!(serde_json::to_string(&task).is_ok());
        }
        if let Ok(timestamp) = serde_json::from_str::<Timestamp>(&format!("\"{text}\"")) {
            prop_assert_eq!(text.parse::<i64>().ok(), Some(timestamp.as_micros()));
        }
        if let Ok(payload) = Payload::from_base64(&text) {
            prop_assert_eq!(Payload::from_base64(&payload.to_base64()), Ok(payload));
        }
        if let Some(path) = QueuePath::parse(&text) {
            prop_assert_eq!(path.to_string(), text.clone());
        }
        prop_assert!(text.ends_with(short_queue_name(&text)));
        if taskqueue_model::validate::task_name(&text).is_ok() {
            prop_assert!(!text.is_empty() && text.len() <= 500);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(json in strategies::json_value()) {
        let _ = serde_json::from_value::<Task>(json.clone());
        let _ = serde_json::from_value::<Tasks>(json.clone());
        let _ = serde_json::from_value::<TaskQueue>(json.clone());
        let _ = serde_json::from_value::<ErrorEnvelope>(json);
    }

    #[test]
    fn timestamp_arithmetic_agrees_with_integers(micros in any::<i64>(), secs in 0u64..=u64::from(u32::MAX)) {
        let timestamp = Timestamp::from_micros(micros);
        let duration = Duration::from_secs(secs);
        let added = i64::try_from(i128::from(micros) + i128::from(secs) * 1_000_000).ok();
        prop_assert_eq!(timestamp.checked_add(duration).map(Timestamp::as_micros), added);
        prop_assert_eq!(timestamp.saturating_add(duration).as_micros(), added.unwrap_or(i64::MAX));
        if let Some(later) = timestamp.checked_add(duration) {
            prop_assert_eq!(later.duration_since(timestamp), Some(duration));
            prop_assert_eq!(later.checked_sub(duration), Some(timestamp));
        }
        prop_assert_eq!(
            Timestamp::from_system_time(UNIX_EPOCH + duration),
            Timestamp::from_micros(i64::try_from(secs * 1_000_000).unwrap_or(i64::MAX))
        );
    }
}
