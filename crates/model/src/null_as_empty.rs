//! A serde `deserialize_with` helper that reads a JSON `null` list as an empty list.

use serde::{Deserialize, Deserializer};

/// Reads a list, treating `null` like a missing field: an empty list.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
}
