//! Partial responses: the `fields` parameter of Google's APIs, applied to a response's JSON.
//!
//! The selector syntax is Google's: a comma-separated list of fields, `a/b` for a field inside another,
//! `a(b,c)` for several fields inside `a`, and `*` for every field at that level. A selection inside an array
//! applies to each element (`items(id,tag)`, `items/id`). Field names are letters, digits and `_`.
//!
//! - A selector that does not parse is a 400 `invalid` (Google answered 400 for a bad selector).
//! - A name the resource does not have selects nothing (Google, which knew the schema, refused it; this server
//!   filters the JSON it produced and does not).
//! - An empty `fields=` selects everything. Error responses are never filtered.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The deepest nesting a selector may have.
const MAX_DEPTH: usize = 32;

/// A parsed `fields` selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldMask {
    /// The fields selected at this level: a name (or `*`) and, if only part of it is wanted, the selection
    /// inside it.
    entries: Vec<(String, Option<FieldMask>)>,
}

impl FieldMask {
    /// Parses a selector; `None` for the empty selector (everything).
    ///
    /// # Errors
    ///
    /// 400 `invalid` naming the position of the first error.
    pub(crate) fn parse(text: &str) -> Result<Option<Self>, ApiError> {
        if text.is_empty() {
            return Ok(None);
        }
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let mask = parser
            .list(0)
            .and_then(|mask| match parser.peek() {
                None => Ok(mask),
                Some(_) => Err(parser.at),
            })
            .map_err(|at| {
                ApiError::invalid(format!(
                    "Invalid field selection {text:?} at character {}.",
                    at + 1
                ))
                .with_location("parameter", "fields")
            })?;
        Ok(Some(mask))
    }

    /// Keeps the selected parts of `value`.
    pub(crate) fn apply(&self, value: Value) -> Value {
        match value {
            Value::Object(object) => Value::Object(self.apply_object(object)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|item| self.apply(item)).collect())
            }
            scalar => scalar,
        }
    }

    fn apply_object(&self, object: Map<String, Value>) -> Map<String, Value> {
        let mut kept = Map::new();
        for (key, value) in object {
            let matching: Vec<&Option<FieldMask>> = self
                .entries
                .iter()
                .filter(|(name, _)| name == "*" || *name == key)
                .map(|(_, inner)| inner)
                .collect();
            if matching.is_empty() {
                continue;
            }
            if matching.iter().any(|inner| inner.is_none()) {
                kept.insert(key, value);
                continue;
            }
            let merged = FieldMask {
                entries: matching
                    .into_iter()
                    .flatten()
                    .flat_map(|inner| inner.entries.iter().cloned())
                    .collect(),
            };
            kept.insert(key, merged.apply(value));
        }
        kept
    }
}

/// A recursive-descent parser over the selector's bytes; errors are byte offsets.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// `entry ("," entry)*`.
    fn list(&mut self, depth: usize) -> Result<FieldMask, usize> {
        if depth > MAX_DEPTH {
            return Err(self.at);
        }
        let mut entries = vec![self.entry(depth)?];
        while self.peek() == Some(b',') {
            self.at += 1;
            entries.push(self.entry(depth)?);
        }
        Ok(FieldMask { entries })
    }

    /// `name ("/" entry | "(" list ")")?`.
    fn entry(&mut self, depth: usize) -> Result<(String, Option<FieldMask>), usize> {
        let name = self.name()?;
        match self.peek() {
            Some(b'/') => {
                self.at += 1;
                if depth + 1 > MAX_DEPTH {
                    return Err(self.at);
                }
                let inner = self.entry(depth + 1)?;
                Ok((
                    name,
                    Some(FieldMask {
                        entries: vec![inner],
                    }),
                ))
            }
            Some(b'(') => {
                self.at += 1;
                let inner = self.list(depth + 1)?;
                if self.peek() != Some(b')') {
                    return Err(self.at);
                }
                self.at += 1;
                Ok((name, Some(inner)))
            }
            _ => Ok((name, None)),
        }
    }

    /// `*` or `[A-Za-z0-9_]+`.
    fn name(&mut self) -> Result<String, usize> {
        if self.peek() == Some(b'*') {
            self.at += 1;
            return Ok("*".to_owned());
        }
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.at);
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::FieldMask;

    fn select(fields: &str, value: serde_json::Value) -> serde_json::Value {
        FieldMask::parse(fields)
            .expect("a valid selector")
            .map_or(value.clone(), |mask| mask.apply(value))
    }

    #[test]
    fn selections() {
        let tasks = json!({"kind": "taskqueues#tasks", "items": [
            {"id": "a", "tag": "x", "retry_count": 1},
            {"id": "b", "retry_count": 2}
        ]});
        assert_eq!(
            select("kind", tasks.clone()),
            json!({"kind": "taskqueues#tasks"})
        );
        assert_eq!(
            select("items/id", tasks.clone()),
            json!({"items": [{"id": "a"}, {"id": "b"}]})
        );
        assert_eq!(
            select("items(id,tag),kind", tasks.clone()),
            json!({"kind": "taskqueues#tasks", "items": [{"id": "a", "tag": "x"}, {"id": "b"}]})
        );
        assert_eq!(
            select("items/*", tasks.clone()),
            json!({"items": tasks["items"]})
        );
        assert_eq!(
            select("items,items/id", tasks.clone()),
            json!({"items": tasks["items"]})
        );
        assert_eq!(select("", tasks.clone()), tasks);
        assert_eq!(select("nothing", tasks), json!({}));
        let queue = json!({"id": "q", "stats": {"totalTasks": 3, "oldestTask": "1"}});
        assert_eq!(
            select("stats/totalTasks,id", queue),
            json!({"id": "q", "stats": {"totalTasks": 3}})
        );
    }

    #[test]
    fn bad_selectors_are_invalid() {
        let deep = format!("{}x", "a/".repeat(40));
        for bad in [
            "items(",
            "items()",
            "a,,b",
            ",a",
            "a/",
            "a b",
            "a)",
            "a(b))",
            "é",
            deep.as_str(),
        ] {
            let error = FieldMask::parse(bad).err();
            assert_eq!(error.map(|e| e.reason()), Some("invalid"), "{bad:?}");
        }
    }
}
