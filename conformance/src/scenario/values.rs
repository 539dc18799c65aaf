//! The typed values of a scenario, parsed once when the file is read, so a
//! malformed one is refused with its `file:line:column` and nothing later
//! parses a string again.
//!
//! - [`Interval`]: a duration as humantime writes it (`90s`, `1h30m`,
//!   `500ms`, `2d`), the grammar the server's configuration and the CLI
//!   read too; its text is kept for the record (`advance 90s`).
//! - [`UtcTime`]: an RFC 3339 UTC time (`2030-01-01T00:00:00Z`).
//! - [`CallMethod`]: an API method, `tasks.lease` or `taskqueue.tasks.lease`.
//! - [`ErrorKind`]: the kind of failure `expect.error.kind` names.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use taskqueue_model::ApiMethod;

/// Parses `text` as a duration: humantime's grammar, a sum of
/// `<number><unit>` parts (`ms`, `s`, `m`, `h`, `d`, and their long
/// names); `None` if it is not one.
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

/// A duration as a scenario writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    text: String,
    value: Duration,
}

impl Interval {
    /// `text` parsed; the error says why not.
    pub fn parse(text: &str) -> Result<Interval, String> {
        humantime::parse_duration(text.trim())
            .map(|value| Interval {
                text: text.trim().to_owned(),
                value,
            })
            .map_err(|error| {
                format!("`{text}` is not a duration such as `30m`, `1h30m` or `500ms` ({error})")
            })
    }

    /// `seconds` whole seconds, written `{seconds}s`.
    pub fn seconds(seconds: u64) -> Interval {
        Interval {
            text: format!("{seconds}s"),
            value: Duration::from_secs(seconds),
        }
    }

    /// The duration.
    pub fn get(&self) -> Duration {
        self.value
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Interval::parse(&text).map_err(de::Error::custom)
    }
}

/// An RFC 3339 UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime(pub SystemTime);

impl UtcTime {
    /// `text` parsed: `2030-01-01T00:00:00Z`.
    pub fn parse(text: &str) -> Result<UtcTime, String> {
        humantime::parse_rfc3339(text.trim())
            .map(UtcTime)
            .map_err(|error| {
                format!("`{text}` is not a UTC time such as `2030-01-01T00:00:00Z` ({error})")
            })
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UtcTime::parse(&text).map_err(de::Error::custom)
    }
}

/// An API method a `call` step names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallMethod(pub ApiMethod);

impl CallMethod {
    /// `tasks.lease` or `taskqueue.tasks.lease`.
    pub fn parse(name: &str) -> Result<CallMethod, String> {
        crate::target::dispatch::method(name.trim())
            .map(CallMethod)
            .ok_or_else(|| {
                format!(
                    "unknown method `{name}`; expected one of {}",
                    crate::scenario::load::METHODS.join(", ")
                )
            })
    }
}

impl<'de> Deserialize<'de> for CallMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CallMethod::parse(&text).map_err(de::Error::custom)
    }
}

/// The kind of failure an `expect.error` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Refused by the client before sending.
    Validation,
    /// A 401.
    Unauthenticated,
    /// The token lacks a scope the method needs.
    ScopeDenied,
    /// The queue's ACL refuses the caller.
    AclDenied,
    /// Another 403.
    PermissionDenied,
    /// A 404.
    NotFound,
    /// A 400.
    BadRequest,
    /// A 409.
    Conflict,
    /// Worth retrying (5xx, 429, a transport failure).
    Transient,
    /// An answer that does not decode.
    Decode,
    /// The token source failed.
    Auth,
}

impl ErrorKind {
    /// The name scenarios write.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::ScopeDenied => "scope_denied",
            ErrorKind::AclDenied => "acl_denied",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Transient => "transient",
            ErrorKind::Decode => "decode",
            ErrorKind::Auth => "auth",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_humantimes_grammar_or_are_refused() {
        let cases: &[(&str, Option<u64>)] = &[
            ("90s", Some(90_000)),
            ("30m", Some(1_800_000)),
            ("2h", Some(7_200_000)),
            ("1h30m", Some(5_400_000)),
            ("500ms", Some(500)),
            ("1d", Some(86_400_000)),
            ("5 minutes", Some(300_000)),
            ("", None),
            ("10", None),
            ("s", None),
            ("-5s", None),
            ("99999999999999999999h", None),
        ];
        for (text, millis) in cases {
            let parsed = parse_duration(text).map(|d| u64::try_from(d.as_millis()).expect("fits"));
            assert_eq!(parsed, *millis, "{text:?}");
            assert_eq!(Interval::parse(text).is_ok(), millis.is_some(), "{text:?}");
        }
        let interval = Interval::parse("1h30m").expect("valid");
        assert_eq!(interval.to_string(), "1h30m");
        assert!(
            Interval::parse("soon")
                .expect_err("invalid")
                .starts_with("`soon` is not a duration")
        );
    }

    #[test]
    fn utc_times_parse_to_the_right_instant() {
        let secs = |text| {
            UtcTime::parse(text).ok().map(|t| {
                t.0.duration_since(std::time::UNIX_EPOCH)
                    .expect("after epoch")
                    .as_secs()
            })
        };
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(secs("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(secs("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        for bad in [
            "2030-01-01",
            "2030-13-01T00:00:00Z",
            "2030-01-01T00:00:00+01:00",
            "x",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn methods_and_error_kinds_parse_from_their_names() {
        assert_eq!(
            CallMethod::parse("tasks.lease").map(|m| m.0.id()),
            Ok("taskqueue.tasks.lease")
        );
        assert_eq!(
            CallMethod::parse("taskqueue.tasks.lease").map(|m| m.0.id()),
            Ok("taskqueue.tasks.lease")
        );
        assert!(
            CallMethod::parse("tasks.fetch")
                .expect_err("unknown")
                .starts_with("unknown method `tasks.fetch`; expected one of taskqueues.get")
        );
        let kind: ErrorKind = serde_saphyr::from_str("scope_denied").expect("a kind");
        assert_eq!(kind, ErrorKind::ScopeDenied);
        assert_eq!(kind.to_string(), "scope_denied");
        assert!(serde_saphyr::from_str::<ErrorKind>("exploded").is_err());
    }
}
