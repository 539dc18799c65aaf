//! Serde helpers for optional int64 fields, which the API writes as JSON strings.
//!
//! The discovery document types `stats.oldestTask`, `stats.leasedLastMinute` and `stats.leasedLastHour` as
//! `type: string, format: int64`, so Google's own clients write them as strings (`"42"`). Real clients and emulators
//! also sent plain numbers, and AppScale sent `null` (docs/wire-format.md §3.1 and §3.3). These helpers therefore
//! write a string and read a string, a number or `null`.
//!
//! Use them on an `Option<i64>` field:
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Stats {
//!     #[serde(default, with = "taskqueue_model::int64", skip_serializing_if = "Option::is_none")]
//!     oldest_task: Option<i64>,
//! }
//!
//! let stats: Stats = serde_json::from_str(r#"{"oldest_task": 1498510174}"#)?;
//! assert_eq!(stats.oldest_task, Some(1_498_510_174));
//! assert_eq!(serde_json::to_string(&stats)?, r#"{"oldest_task":"1498510174"}"#);
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! [`Timestamp`](crate::Timestamp) uses the same reading rules.

use std::fmt;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `Some(n)` as the JSON string `"n"` and `None` as `null`.
///
/// Pair it with `skip_serializing_if = "Option::is_none"` to leave the field out instead of writing `null`.
///
/// # Errors
///
/// Only the serializer's own errors.
pub fn serialize<S>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    match value {
        Some(n) => serializer.collect_str(n),
        None => serializer.serialize_none(),
    }
}

/// Reads a JSON string holding an integer, a JSON integer, or `null` (as `None`).
///
/// Pair it with `#[serde(default)]` so that a missing field is `None`.
///
/// # Errors
///
/// A fractional number, a string that is not a base-10 integer, or a value outside the `i64` range.
pub fn deserialize<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_option(OptionalInt64Visitor)
}

/// Reads an int64 written as a JSON string or a JSON integer, and names what it reads in its errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Int64Visitor {
    /// What the value is, for the `expected ...` part of error messages: "an int64" or "a timestamp ...".
    pub(crate) what: &'static str,
}

impl Int64Visitor {
    /// The visitor for plain int64 fields.
    pub(crate) const INT64: Self = Self { what: "an int64" };
}

impl Visitor<'_> for Int64Visitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} as an integer or a string holding a base-10 integer",
            self.what
        )
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // JSON numbers with a fraction or an exponent arrive here. Even `1.0` is refused: the API never writes one.
        Err(E::invalid_value(Unexpected::Float(value), &self))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<i64, E> {
        parse_decimal_i64(value).ok_or_else(|| E::invalid_value(Unexpected::Str(value), &self))
    }
}

/// Parses an optional `-` followed by ASCII digits. Refuses `+`, spaces, fractions and exponents.
fn parse_decimal_i64(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads `null` as `None` and anything else through [`Int64Visitor`].
struct OptionalInt64Visitor;

impl<'de> Visitor<'de> for OptionalInt64Visitor {
    type Value = Option<i64>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an int64 as an integer, a string holding a base-10 integer, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_some<D>(self, deserializer: D) -> Result<Option<i64>, D::Error>
    where
        D: Deserializer<'de>,
    {
        deserializer.deserialize_any(Int64Visitor::INT64).map(Some)
    }
}
