//! Parsing `WWW-Authenticate` (RFC 9110 §11.6.1) far enough to read a
//! Bearer challenge (RFC 6750 §3): its `error` and its `scope` list.
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! The parser is lenient: it never fails, skips what it cannot read, and
//! keeps what it could. Scheme and parameter names compare case-insensitively.

/// One challenge: its scheme and its auth-params (names lowercased, values
/// unquoted). A token68 challenge has no params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lowercase), the first if repeated.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }
}

/// The challenges of a `WWW-Authenticate` value (several header fields
/// joined with `,` form one value).
pub(crate) fn parse(value: &str) -> Vec<Challenge> {
    let mut parser = Parser {
        input: value.as_bytes(),
        at: 0,
    };
    let mut challenges = Vec::new();
    loop {
        parser.skip_list_separators();
        if parser.at_end() {
            return challenges;
        }
        let Some(scheme) = parser.token() else {
            // Not a challenge: skip to the next list element.
            parser.skip_past_comma();
            continue;
        };
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
        };
        parser.skip_whitespace();
        parser.read_params_or_token68(&mut challenge);
        challenges.push(challenge);
    }
}

/// The Bearer challenge that reports `insufficient_scope`, if any.
pub(crate) fn insufficient_scope(value: &str) -> Option<Challenge> {
    parse(value).into_iter().find(|challenge| {
        challenge.is_bearer()
            && challenge
                .param("error")
                .is_some_and(|error| error == "insufficient_scope")
    })
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.at >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.at += 1;
        }
    }

    fn skip_past_comma(&mut self) {
        while let Some(byte) = self.peek() {
            self.at += 1;
            if byte == b',' {
                return;
            }
        }
    }

    /// A token (RFC 9110 `tchar`s), or `None` without moving.
    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| self.text(start, self.at))
    }

    fn text(&self, start: usize, end: usize) -> String {
        String::from_utf8_lossy(&self.input[start..end]).into_owned()
    }

    /// After a scheme: a token68, or a comma-separated list of auth-params
    /// up to the start of the next challenge.
    fn read_params_or_token68(&mut self, challenge: &mut Challenge) {
        if self.skip_token68() {
            return;
        }
        loop {
            self.skip_list_separators();
            if self.at_end() {
                return;
            }
            let start = self.at;
            let Some(name) = self.token() else {
                // Junk: skip to the next list element.
                self.skip_past_comma();
                continue;
            };
            self.skip_whitespace();
            if self.peek() != Some(b'=') {
                // `name` is the scheme of the next challenge.
                self.at = start;
                return;
            }
            self.at += 1; // '='
            self.skip_whitespace();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()
            } else {
                self.token().unwrap_or_default()
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
            self.skip_whitespace();
            if !matches!(self.peek(), Some(b',') | None) {
                // Junk after a value: skip to the next list element.
                self.skip_past_comma();
            }
        }
    }

    /// Consumes a token68 (`abc/+==`) if one is all that follows, up to the
    /// next comma or the end; otherwise moves nothing.
    fn skip_token68(&mut self) -> bool {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte))
        {
            self.at += 1;
        }
        let is_token68 = self.at > start && {
            while self.peek() == Some(b'=') {
                self.at += 1;
            }
            self.skip_whitespace();
            matches!(self.peek(), Some(b',') | None)
        };
        if !is_token68 {
            self.at = start;
        }
        is_token68
    }

    /// A quoted-string starting at `"`, unescaped. An unterminated string
    /// runs to the end of the input.
    fn quoted_string(&mut self) -> String {
        self.at += 1; // opening quote
        let mut value = Vec::new();
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.at += 1;
                    }
                }
                _ => value.push(byte),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}

fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_owned(),
            params: params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn challenges_parse() {
        let scopes = "https://www.googleapis.com/auth/taskqueue https://www.googleapis.com/auth/cloud-taskqueue";
        let google = format!(
            r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{scopes}""#
        );
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            ("", vec![]),
            (" , ,", vec![]),
            ("Bearer", vec![challenge("Bearer", &[])]),
            (
                r#"Bearer realm="https://accounts.google.com/""#,
                vec![challenge(
                    "Bearer",
                    &[("realm", "https://accounts.google.com/")],
                )],
            ),
            // Google's 403, as captured in the wild.
            (
                &google,
                vec![challenge(
                    "Bearer",
                    &[
                        ("realm", "https://accounts.google.com/"),
                        ("error", "insufficient_scope"),
                        ("scope", scopes),
                    ],
                )],
            ),
            // Unquoted token values, odd case, spaces around `=`.
            (
                "bEaReR ERROR = insufficient_scope ,Scope=x",
                vec![challenge(
                    "bEaReR",
                    &[("error", "insufficient_scope"), ("scope", "x")],
                )],
            ),
            // Escapes, and a comma inside a quoted string.
            (
                r#"Bearer error_description="a \"quoted\", \\ value", error=invalid_token"#,
                vec![challenge(
                    "Bearer",
                    &[
                        ("error_description", r#"a "quoted", \ value"#),
                        ("error", "invalid_token"),
                    ],
                )],
            ),
            // Several challenges, one a token68 with padding and a slash.
            (
                r#"Basic realm="x", Negotiate a/b+c==, Bearer error="insufficient_scope", scope="s""#,
                vec![
                    challenge("Basic", &[("realm", "x")]),
                    challenge("Negotiate", &[]),
                    challenge("Bearer", &[("error", "insufficient_scope"), ("scope", "s")]),
                ],
            ),
            (
                "Negotiate abc==, Bearer",
                vec![challenge("Negotiate", &[]), challenge("Bearer", &[])],
            ),
            // Two header fields joined with a comma.
            (
                r#"Bearer realm="a", Bearer error="insufficient_scope""#,
                vec![
                    challenge("Bearer", &[("realm", "a")]),
                    challenge("Bearer", &[("error", "insufficient_scope")]),
                ],
            ),
            // Unterminated quoted string and junk: keep what can be read.
            (
                r#"Bearer error="insufficient_scope", scope="a b"#,
                vec![challenge(
                    "Bearer",
                    &[("error", "insufficient_scope"), ("scope", "a b")],
                )],
            ),
            (
                r#"Bearer error="x" junk, scope=y"#,
                vec![challenge("Bearer", &[("error", "x"), ("scope", "y")])],
            ),
            (r#"="x", Bearer"#, vec![challenge("Bearer", &[])]),
        ];
        for (value, expected) in cases {
            assert_eq!(parse(value), expected, "{value:?}");
        }
    }

    #[test]
    fn only_a_bearer_insufficient_scope_challenge_counts() {
        let cases = [
            (r#"Bearer error="insufficient_scope""#, true),
            ("bearer error=insufficient_scope", true),
            (
                r#"Basic realm="x", Bearer error="insufficient_scope""#,
                true,
            ),
            (r#"Bearer error="invalid_token""#, false),
            (r#"Basic error="insufficient_scope""#, false),
            (r#"Bearer error_description="insufficient_scope""#, false),
            (r#"Bearer realm="error=\"insufficient_scope\"""#, false),
            ("", false),
        ];
        for (value, expected) in cases {
            assert_eq!(insufficient_scope(value).is_some(), expected, "{value:?}");
        }
    }
}
