//! Reading the JSON key files of the token-endpoint grants
//! (`authorized_user`, `service_account`): field by field, so errors name
//! the field and never quote a value (a serde error may quote one).

use std::path::Path;

use serde_json::{Map, Value};

use crate::{CredentialSource, Error};

/// Where a key file's text came from, for error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin<'a> {
    /// A string given to `from_json`.
    Json,
    /// A file given to `from_file`.
    File(&'a Path),
}

/// A parsed key file of one expected `type`.
pub(crate) struct KeyFile {
    fields: Map<String, Value>,
}

/// Names the fields only: their values include private keys and secrets.
impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyFile {
    /// Parses `json`, which must be an object whose `type` is `expected`.
    pub(crate) fn parse(json: &str, expected: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(json).map_err(|error| {
            format!(
                "it is not valid JSON (syntax error at line {}, column {})",
                error.line(),
                error.column()
            )
        })?;
        let Value::Object(fields) = value else {
            return Err("it is not a JSON object".to_owned());
        };
        let file = Self { fields };
        match file.optional("type")? {
            Some(kind) if kind == expected => Ok(file),
            Some(kind) => Err(format!(
                "unsupported credential type {}: expected `{expected}`",
                quote_type(kind)
            )),
            None => Err(format!("field `type` is missing: expected `{expected}`")),
        }
    }

    /// A string field that must be present and non-empty.
    pub(crate) fn required(&self, field: &str) -> Result<&str, String> {
        match self.optional(field)? {
            Some(value) => Ok(value),
            None => Err(format!("field `{field}` is missing")),
        }
    }

    /// A string field that may be absent (`null` and `""` count as absent).
    pub(crate) fn optional(&self, field: &str) -> Result<Option<&str>, String> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) if value.trim().is_empty() => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(format!("field `{field}` is not a string")),
        }
    }
}

/// A `type` value, quoted only if it looks like one.
fn quote_type(kind: &str) -> String {
    let plausible = kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plausible {
        format!("`{kind}`")
    } else {
        "(not shown)".to_owned()
    }
}

/// The error for an unusable key file of type `kind`.
pub(crate) fn invalid(
    kind: &str,
    origin: Origin<'_>,
    why: &str,
    source: CredentialSource,
) -> Error {
    let message = match origin {
        Origin::Json => format!("invalid {kind} credentials: {why}"),
        Origin::File(path) => format!("invalid {kind} key file {}: {why}", path.display()),
    };
    Error::permanent(message).with_credential_source(source)
}

/// The text of the key file at `path`.
pub(crate) fn read(path: &Path, kind: &str, source: CredentialSource) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|error| {
        Error::permanent(format!(
            "could not read the {kind} key file {}: {}",
            path.display(),
            error.kind()
        ))
        .with_credential_source(source)
        .with_source(error)
    })
}
