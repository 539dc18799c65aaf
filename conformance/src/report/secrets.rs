//! The secret scanner: before any report is written, its text is searched
//! for every secret value the run knows (the static token, key-file secrets,
//! every bearer token the forwarder saw) in the forms a report could carry
//! it: raw, base64 (standard and URL-safe, at any alignment, padded or not),
//! URL-encoded, and JSON- or XML-escaped. A hit aborts the run without
//! printing the secret.

use std::fmt;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Transformed needles shorter than this are not searched: they would match
/// by chance. The raw value is always searched.
const MIN_TRANSFORMED_LEN: usize = 8;

/// Lines of a multi-line secret (a PEM key) at least this long are searched
/// on their own too.
const MIN_LINE_LEN: usize = 16;

/// The secrets of a run.
#[derive(Clone, Default)]
pub struct SecretScanner {
    /// (secret number from 1, form, needle).
    needles: Vec<(usize, &'static str, String)>,
    count: usize,
}

impl fmt::Debug for SecretScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretScanner")
            .field("secrets", &self.count)
            .finish_non_exhaustive()
    }
}

/// Where a secret was found: which one (by number, never by value) and in
/// which form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    /// The report it was found in.
    pub report: String,
    /// The secret's number, in the order they were added, from 1.
    pub secret: usize,
    /// The form: `raw`, `base64`, `base64url`, `url-encoded`, `json-escaped`,
    /// `xml-escaped`, `line`.
    pub form: &'static str,
}

impl fmt::Display for SecretHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} report contains secret #{} ({} form); no report was written",
            self.report, self.secret, self.form
        )
    }
}

impl std::error::Error for SecretHit {}

impl SecretScanner {
    /// A scanner that knows no secret.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many secrets it knows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it knows no secret.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds a secret (surrounding whitespace ignored; an empty one, or one
    /// already known, is ignored).
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty()
            || self
                .needles
                .iter()
                .any(|(_, form, needle)| *form == "raw" && needle == secret)
        {
            return;
        }
        self.count += 1;
        let number = self.count;
        let mut push = |form: &'static str, needle: String, min: usize| {
            if needle.len() >= min
                && !self
                    .needles
                    .iter()
                    .any(|(n, _, known)| *n == number && *known == needle)
            {
                self.needles.push((number, form, needle));
            }
        };
        push("raw", secret.to_owned(), 1);
        for needle in base64_needles(secret.as_bytes(), &STANDARD_NO_PAD) {
            push("base64", needle, MIN_TRANSFORMED_LEN);
        }
        for needle in base64_needles(secret.as_bytes(), &URL_SAFE_NO_PAD) {
            push("base64url", needle, MIN_TRANSFORMED_LEN);
        }
        for needle in url_encodings(secret) {
            push("url-encoded", needle, MIN_TRANSFORMED_LEN);
        }
        push("json-escaped", json_escaped(secret), MIN_TRANSFORMED_LEN);
        push("xml-escaped", xml_escaped(secret), MIN_TRANSFORMED_LEN);
        if secret.contains('\n') {
            for line in secret.lines().map(str::trim) {
                push("line", line.to_owned(), MIN_LINE_LEN);
            }
        }
    }

    /// Adds every string value of a JSON key file that holds a secret
    /// (`private_key`, `private_key_id`, `client_secret`, `refresh_token`).
    pub fn add_key_file(&mut self, json: &str) {
        for secret in key_file_secrets(json) {
            self.add(&secret);
        }
    }

    /// Searches `text`, the report named `report`, for every secret.
    pub fn scan(&self, report: &str, text: &str) -> Result<(), SecretHit> {
        match self
            .needles
            .iter()
            .find(|(_, _, needle)| text.contains(needle.as_str()))
        {
            Some((secret, form, _)) => Err(SecretHit {
                report: report.to_owned(),
                secret: *secret,
                form,
            }),
            None => Ok(()),
        }
    }
}

/// Every string value of a JSON key file that holds a secret
/// (`private_key`, `private_key_id`, `client_secret`, `refresh_token`).
pub(crate) fn key_file_secrets(json: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    [
        "private_key",
        "private_key_id",
        "client_secret",
        "refresh_token",
    ]
    .into_iter()
    .filter_map(|name| fields.get(name)?.as_str().map(str::to_owned))
    .collect()
}

/// The base64 of `secret` as it appears inside any longer encoding: for each
/// of the 3 alignments, the characters that depend on the secret's bytes
/// only (so padding and the neighbours' bits are left out).
fn base64_needles(secret: &[u8], engine: &impl base64::Engine) -> Vec<String> {
    (0..3usize)
        .filter_map(|offset| {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret);
            let encoded = engine.encode(&bytes);
            let start = (offset * 8).div_ceil(6);
            let end = (bytes.len() * 8) / 6;
            encoded.get(start..end).map(str::to_owned)
        })
        .collect()
}

/// `secret` percent-encoded (every byte outside the unreserved set), with
/// upper- and lower-case hex, and in form encoding (space as `+`).
fn url_encodings(secret: &str) -> Vec<String> {
    let encode = |upper: bool, plus: bool| {
        let mut out = String::new();
        for &byte in secret.as_bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    out.push(char::from(byte));
                }
                b' ' if plus => out.push('+'),
                _ if upper => out.push_str(&format!("%{byte:02X}")),
                _ => out.push_str(&format!("%{byte:02x}")),
            }
        }
        out
    };
    vec![
        encode(true, false),
        encode(false, false),
        encode(true, true),
    ]
}

fn json_escaped(secret: &str) -> String {
    let quoted = serde_json::Value::String(secret.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn xml_escaped(secret: &str) -> String {
    super::card::xml_escape(secret)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    use super::*;

    const TOKEN: &str = "ya29.a0AfB_byC-secret/value+with?odd&chars";

    fn scanner() -> SecretScanner {
        let mut scanner = SecretScanner::new();
        scanner.add("unrelated-secret-1");
        scanner.add(TOKEN);
        scanner
    }

    fn form_found(text: &str) -> Option<(usize, &'static str)> {
        scanner()
            .scan("junit", text)
            .err()
            .map(|hit| (hit.secret, hit.form))
    }

    #[test]
    fn every_form_of_a_secret_is_found() {
        let padded_std = STANDARD.encode(TOKEN);
        let padded_url = URL_SAFE.encode(TOKEN);
        let inside_basic = STANDARD.encode(format!("user:{TOKEN}"));
        let inside_url = URL_SAFE.encode(format!("xy{TOKEN}z"));
        let cases: Vec<(String, &str)> = vec![
            (format!("Authorization: Bearer {TOKEN}"), "raw"),
            (format!("token={padded_std}"), "base64"),
            (padded_url.clone(), "base64url"),
            (padded_url.trim_end_matches('=').to_owned(), "base64url"),
            (format!("Basic {inside_basic}"), "base64"),
            (inside_url, "base64url"),
            (
                "ya29.a0AfB_byC-secret%2Fvalue%2Bwith%3Fodd%26chars".to_owned(),
                "url-encoded",
            ),
            (
                "ya29.a0AfB_byC-secret%2fvalue%2bwith%3fodd%26chars".to_owned(),
                "url-encoded",
            ),
            (
                "<failure>ya29.a0AfB_byC-secret/value+with?odd&amp;chars</failure>".to_owned(),
                "xml-escaped",
            ),
        ];
        for (text, form) in cases {
            let (secret, found) = form_found(&text).expect(&text);
            assert_eq!(secret, 2, "{text}");
            // Where the two alphabets agree, the needle is reported once, as `base64`.
            let same = form == "base64url" && found == "base64";
            assert!(found == form || same, "{text}: {found}");
        }
        let mut pem = SecretScanner::new();
        pem.add("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n");
        let hit = pem
            .scan("matrix", "key: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
            .expect_err("a PEM line");
        assert_eq!(hit.form, "line");
        let json = serde_json::json!({ "note": "a\"b\\c-secret-value" }).to_string();
        let mut quoted = SecretScanner::new();
        quoted.add("a\"b\\c-secret-value");
        assert_eq!(
            quoted.scan("summary", &json).expect_err("escaped").form,
            "json-escaped"
        );
    }

    #[test]
    fn clean_text_passes_and_a_hit_never_shows_the_secret() {
        let scanner = scanner();
        assert_eq!(
            scanner.scan("summary", "GET tasks/t1 [<at-1>] -> 200; ya29 <at-2>"),
            Ok(())
        );
        let hit = scanner
            .scan("junit", &format!("x {TOKEN} y"))
            .expect_err("found");
        let message = hit.to_string();
        assert_eq!(
            message,
            "the junit report contains secret #2 (raw form); no report was written"
        );
        assert!(!message.contains(TOKEN));
        assert!(!format!("{scanner:?}").contains("ya29"));
    }

    #[test]
    fn key_files_give_their_secret_fields() {
        let mut scanner = SecretScanner::new();
        scanner.add_key_file(
            r#"{"type": "authorized_user", "client_id": "public-id.apps",
                "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0refresh-token-value"}"#,
        );
        assert_eq!(scanner.len(), 2);
        assert!(scanner.scan("r", "public-id.apps").is_ok());
        assert!(scanner.scan("r", "1//0refresh-token-value").is_err());
        scanner.add_key_file("not json");
        scanner.add("  ");
        scanner.add("d-FL95Q19q7MQmFpd7hHD0Ty");
        assert_eq!(scanner.len(), 2);
        assert!(!scanner.is_empty());
    }

    #[test]
    fn url_safe_base64_is_found_where_the_alphabets_differ() {
        let mut scanner = SecretScanner::new();
        scanner.add("???>>>???>>>???>>>");
        let url = URL_SAFE.encode("???>>>???>>>???>>>");
        assert!(url.contains('_') && url.contains('-'), "{url}");
        assert_eq!(
            scanner.scan("r", &url).expect_err("found").form,
            "base64url"
        );
        let std = STANDARD.encode("???>>>???>>>???>>>");
        assert_eq!(scanner.scan("r", &std).expect_err("found").form, "base64");
    }

    #[test]
    fn base64_needles_cover_every_alignment() {
        let secret = b"abcdefghijklmnop";
        for prefix in ["", "x", "xy", "xyz"] {
            let mut bytes = prefix.as_bytes().to_vec();
            bytes.extend_from_slice(secret);
            bytes.extend_from_slice(b"tail");
            let encoded = STANDARD.encode(&bytes);
            assert!(
                base64_needles(secret, &STANDARD_NO_PAD)
                    .iter()
                    .any(|needle| encoded.contains(needle.as_str())),
                "prefix {prefix:?}"
            );
        }
    }
}
