//! Reading YAML with serde-saphyr into the raw file types, and the helpers that turn a located value into a
//! [`ConfigError`] naming `file:line:column`.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_saphyr::localizer::Localizer;
use serde_saphyr::{Location, SnippetMode, Spanned, UserMessageFormatter};

use super::ConfigError;

/// Parses `text` (the contents of `path`) as a `T`.
///
/// Syntax errors, wrong types, unknown keys (every raw type denies them), missing keys and duplicate keys all
/// become a [`ConfigError`] at serde-saphyr's location, with its user-facing wording.
pub(crate) fn from_yaml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|error| {
        let formatter = UserMessageFormatter.with_localizer(&WithoutLocation);
        let message = error.render_with_options(serde_saphyr::render_options! {
            formatter: &formatter,
            snippets: SnippetMode::Off,
        });
        match error.location() {
            Some(location) => ConfigError::at(path, location.line(), location.column(), message),
            None => ConfigError::file(path, message),
        }
    })
}

/// serde-saphyr's English wording without the `at line L, column C` suffix: [`ConfigError`] puts the position
/// in front, as `file:L:C:`.
struct WithoutLocation;

impl Localizer for WithoutLocation {
    fn attach_location<'a>(&self, base: Cow<'a, str>, _location: Location) -> Cow<'a, str> {
        base
    }
}

/// An error at the place `spanned` was read from.
pub(crate) fn at<T>(path: &Path, spanned: &Spanned<T>, message: impl Into<String>) -> ConfigError {
    at_location(path, spanned.referenced, message)
}

/// An error at `location` of `path`.
pub(crate) fn at_location(
    path: &Path,
    location: Location,
    message: impl Into<String>,
) -> ConfigError {
    ConfigError::at(path, location.line(), location.column(), message)
}

/// Parses a duration in the grammar the whole workspace shares (the CLI's flags and the conformance scenarios
/// too): [`humantime`]'s, numbers with units, such as `500ms`, `30s`, `10m`, `1h30m`, `1.5h` or `7d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text.trim())
}

/// A duration key's value, or an error at its place saying what is wrong and how durations are written.
pub(crate) fn duration(
    path: &Path,
    key: &str,
    value: &Spanned<String>,
) -> Result<Duration, ConfigError> {
    parse_duration(&value.value).map_err(|error| {
        at(
            path,
            value,
            format!(
                "`{key}: {}` is not a duration ({error}): write numbers with units (ms, s, m, h, d), such as \
                 30s, 10m, 1h30m or 7d",
                value.value
            ),
        )
    })
}

/// Like [`duration`], refusing zero.
pub(crate) fn positive_duration(
    path: &Path,
    key: &str,
    value: &Spanned<String>,
) -> Result<Duration, ConfigError> {
    let parsed = duration(path, key, value)?;
    if parsed.is_zero() {
        return Err(at(path, value, format!("`{key}` must be longer than zero")));
    }
    Ok(parsed)
}

/// Whether `email` looks like an email address: one `@` with something on both sides, and no whitespace or
/// control character. (Deliverability is not the point: ACLs and principals compare these strings.)
pub(crate) fn is_email(email: &str) -> bool {
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An email value, or an error at its place.
pub(crate) fn email(
    path: &Path,
    key: &str,
    value: &Spanned<String>,
) -> Result<String, ConfigError> {
    if is_email(&value.value) {
        Ok(value.value.clone())
    } else {
        Err(at(
            path,
            value,
            format!(
                "`{key}: {}` is not an email address (expected one `@`, such as \
                 worker@project.iam.gserviceaccount.com)",
                value.value.escape_debug()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{is_email, parse_duration};

    #[test]
    fn durations_are_numbers_with_units() {
        let cases = [
            ("500ms", Some(Duration::from_millis(500))),
            ("30s", Some(Duration::from_secs(30))),
            ("10m", Some(Duration::from_secs(600))),
            ("1h", Some(Duration::from_secs(3600))),
            (" 7d ", Some(Duration::from_secs(7 * 86_400))),
            ("0s", Some(Duration::ZERO)),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("1h 30m", Some(Duration::from_secs(5400))),
            ("1.5h", Some(Duration::from_secs(5400))),
            ("2 days", Some(Duration::from_secs(2 * 86_400))),
            ("1w", Some(Duration::from_secs(7 * 86_400))),
            ("30", None),
            ("s", None),
            ("", None),
            ("-1s", None),
            ("1x", None),
            ("soon", None),
            ("99999999999999999999s", None),
            ("999999999999999999d", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).ok(), expected, "{text:?}");
        }
    }

    #[test]
    fn emails_have_one_at_sign() {
        for good in [
            "a@b",
            "worker@p.iam.gserviceaccount.com",
            "Dev.Name+x@example.com",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c", "a@b\n"] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }
}
