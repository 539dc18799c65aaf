//! [`Payload`]: the bytes of a task, written on the wire as base64 in `payloadBase64`.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{self, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decodes the URL-safe alphabet with or without padding. Standard-alphabet input is mapped onto it first.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The payload of a task: opaque bytes, at most [`MAX_PAYLOAD_BYTES`](crate::limits::MAX_PAYLOAD_BYTES) of them
/// on insert.
///
/// On the wire it is the `payloadBase64` string. It is written in the URL-safe alphabet with padding, because
/// "Google does not accept '/' or '+' in the payloadBase64 field" (docs/wire-format.md §3.1). It is read in either
/// alphabet, padded or not, because real clients sent the standard alphabet and Google accepted missing padding.
///
/// `Debug` prints only the length: payloads can be large and sensitive.
///
/// ```
/// use taskqueue_model::Payload;
///
/// let payload = Payload::new("hello?>");
/// assert_eq!(payload.to_base64(), "aGVsbG8_Pg==");
/// assert_eq!(Payload::from_base64("aGVsbG8/Pg")?, payload);
/// assert_eq!(format!("{payload:?}"), "Payload { len: 7 }");
/// # Ok::<(), taskqueue_model::PayloadDecodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// Wraps the given bytes.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes the bytes out.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The number of bytes (decoded, not base64).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes in base64, URL-safe alphabet, with padding: the form written to `payloadBase64`.
    #[must_use]
    pub fn to_base64(&self) -> String {
        general_purpose::URL_SAFE.encode(&self.0)
    }

    /// Decodes base64 in the standard or the URL-safe alphabet, with or without padding.
    ///
    /// # Errors
    ///
    /// A character outside both alphabets, a string that mixes them (`+` or `/` together with `-` or `_`), wrong
    /// padding, or an impossible length. The message names the `payloadBase64` field.
    pub fn from_base64(text: &str) -> Result<Payload, PayloadDecodeError> {
        let bytes = text.as_bytes();
        let has_standard_symbols = bytes.iter().any(|b| matches!(b, b'+' | b'/'));
        let has_url_safe_symbols = bytes.iter().any(|b| matches!(b, b'-' | b'_'));
        if has_standard_symbols && has_url_safe_symbols {
            return Err(PayloadDecodeError::new(
                "mixes the standard (`+`, `/`) and URL-safe (`-`, `_`) alphabets".to_owned(),
            ));
        }
        let decoded = if has_standard_symbols {
            // A one-to-one byte mapping, so offsets in error messages still point into `text`.
            let normalized: Vec<u8> = bytes
                .iter()
                .map(|&b| match b {
                    b'+' => b'-',
                    b'/' => b'_',
                    other => other,
                })
                .collect();
            LENIENT_URL_SAFE.decode(normalized)
        } else {
            LENIENT_URL_SAFE.decode(bytes)
        };
        decoded
            .map(Payload)
            .map_err(|error| PayloadDecodeError::new(error.to_string()))
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("len", &self.0.len())
            .finish()
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(PayloadVisitor)
    }
}

/// Reads the `payloadBase64` string.
struct PayloadVisitor;

impl Visitor<'_> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a base64 string in `payloadBase64`")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Payload, E> {
        Payload::from_base64(text).map_err(E::custom)
    }
}

/// `payloadBase64` did not hold valid base64.
///
/// Its message reads like "invalid base64 in `payloadBase64`: Invalid symbol 33, offset 4.".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64 in `payloadBase64`: {message}")]
pub struct PayloadDecodeError {
    /// What is wrong with the text.
    message: String,
}

impl PayloadDecodeError {
    fn new(message: String) -> Self {
        Self { message }
    }
}
