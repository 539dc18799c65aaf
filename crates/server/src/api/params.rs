//! Query parameters: the standard ones every Google API accepted (`alt`, `prettyPrint`, `fields`, `quotaUser`,
//! `userIp`, `key`, `oauth_token`) and the typed method parameters (`getStats`, `numTasks`, `leaseSecs`,
//! `groupByTag`, `tag`, `newLeaseSeconds`).
//!
//! - Parameters the method does not know are ignored, as Google's frontends ignored them.
//! - A parameter this module reads must appear at most once: a repeated one is a 400 `invalid`, never a silent
//!   choice between two values.
//! - Booleans are `true` or `false` (any case); `"false"` is false. Integers are decimal, optionally signed;
//!   range checks are the model's validators'.
//! - `quotaUser`, `userIp` and `key` are accepted and ignored; `oauth_token` is a bearer token, used when the
//!   request has no `Authorization: Bearer` header. `Debug` never prints the values of `oauth_token` or `key`.

use std::fmt;

use super::error::ApiError;

/// The names whose values `Debug` hides.
const SECRET_PARAMETERS: [&str; 2] = ["oauth_token", "key"];

/// The decoded query string of a request, in order, repeated names kept.
#[derive(Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in &self.pairs {
            if SECRET_PARAMETERS.contains(&name.as_str()) {
                list.entry(&(name, "[censored]"));
            } else {
                list.entry(&(name, value));
            }
        }
        list.finish()
    }
}

/// The standard parameters that shape the response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Standard {
    /// `prettyPrint`: indented JSON (the default) or compact.
    pub(crate) pretty: bool,
    /// `fields`: the partial-response selector, if any.
    pub(crate) fields: Option<String>,
}

impl Params {
    /// Decodes `query` (`application/x-www-form-urlencoded`; `+` is a space, bad escapes are kept literally and
    /// invalid UTF-8 is replaced, so decoding never fails).
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .map(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The one value of `name`, if given.
    ///
    /// # Errors
    ///
    /// 400 `invalid` if `name` is repeated.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(
                ApiError::invalid(format!("Parameter {name} was given more than once."))
                    .with_location("parameter", name),
            );
        }
        Ok(first)
    }

    /// `name` as a boolean: `true` or `false`, in any case.
    ///
    /// # Errors
    ///
    /// 400 `invalid` for any other value, or a repeated parameter.
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        let Some(value) = self.single(name)? else {
            return Ok(None);
        };
        if value.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if value.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(ApiError::invalid(format!(
                "Invalid boolean value for parameter {name}: {}. Use true or false.",
                quoted(value)
            ))
            .with_location("parameter", name))
        }
    }

    /// `name` as an integer.
    ///
    /// # Errors
    ///
    /// 400 `invalid` for a value that is not a decimal integer (within ±2^63), or a repeated parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.single(name)? else {
            return Ok(None);
        };
        value.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(format!(
                "Invalid integer value for parameter {name}: {}.",
                quoted(value)
            ))
            .with_location("parameter", name)
        })
    }

    /// `name` as an integer that must be given.
    ///
    /// # Errors
    ///
    /// 400 `required` if it is missing; see [`integer`](Self::integer).
    pub(crate) fn required_integer(&self, name: &str) -> Result<i64, ApiError> {
        self.integer(name)?
            .ok_or_else(|| ApiError::required_parameter(name))
    }

    /// `alt`, `prettyPrint` and `fields`.
    ///
    /// # Errors
    ///
    /// 400 `invalid` for an `alt` other than `json` (there is no media download in this API), a `prettyPrint`
    /// that is not a boolean, or a repeated parameter.
    pub(crate) fn standard(&self) -> Result<Standard, ApiError> {
        if let Some(alt) = self.single("alt")?
            && alt != "json"
        {
            return Err(ApiError::invalid(format!(
                "Invalid value for parameter alt: {}. This API only answers alt=json.",
                quoted(alt)
            ))
            .with_location("parameter", "alt"));
        }
        let pretty = self.boolean("prettyPrint")?.unwrap_or(true);
        let fields = self.single("fields")?.map(str::to_owned);
        Ok(Standard { pretty, fields })
    }

    /// What `prettyPrint` asks for, or the default (true) if it is missing, repeated or not a boolean: the layout
    /// of an error answered before the parameters are checked.
    pub(crate) fn pretty_or_default(&self) -> bool {
        self.boolean("prettyPrint").ok().flatten().unwrap_or(true)
    }

    /// The `oauth_token` parameter: `None` if missing, `Some(Err(()))` if repeated.
    pub(crate) fn oauth_token(&self) -> Option<Result<&str, ()>> {
        match self.single("oauth_token") {
            Ok(token) => token.map(Ok),
            Err(_) => Some(Err(())),
        }
    }
}

/// `value` quoted for an error message, cut to 64 characters.
pub(crate) fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    match value.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn booleans_integers_and_repeats() {
        let params = Params::parse(Some(
            "getStats=false&groupByTag=TRUE&numTasks=%2B7&leaseSecs=x&tag=a+b&tag2=&n=1&n=2",
        ));
        assert_eq!(params.boolean("getStats").ok(), Some(Some(false)));
        assert_eq!(params.boolean("groupByTag").ok(), Some(Some(true)));
        assert_eq!(params.boolean("missing").ok(), Some(None));
        assert_eq!(params.integer("numTasks").ok(), Some(Some(7)));
        assert_eq!(
            params.integer("leaseSecs").map_err(|e| e.reason()),
            Err("invalid")
        );
        assert_eq!(params.single("tag").ok(), Some(Some("a b")));
        assert_eq!(
            params.boolean("tag2").map_err(|e| e.reason()),
            Err("invalid")
        );
        assert_eq!(params.integer("n").map_err(|e| e.reason()), Err("invalid"));
        assert_eq!(
            params.required_integer("absent").map_err(|e| e.reason()),
            Err("required")
        );
    }

    #[test]
    fn standard_parameters() {
        let standard = Params::parse(Some("alt=json&prettyPrint=false&fields=id"))
            .standard()
            .ok();
        assert_eq!(standard.as_ref().map(|s| s.pretty), Some(false));
        assert_eq!(standard.and_then(|s| s.fields).as_deref(), Some("id"));
        assert!(Params::parse(None).standard().is_ok_and(|s| s.pretty));
        assert!(Params::parse(Some("alt=media")).standard().is_err());
        assert!(Params::parse(Some("prettyPrint=yes")).standard().is_err());
        assert!(Params::parse(Some("prettyPrint=yes")).pretty_or_default());
    }

    #[test]
    fn debug_hides_tokens_and_keys() {
        let params = Params::parse(Some("oauth_token=tqs.secret&key=AIzaSecret&numTasks=1"));
        let debug = format!("{params:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("Secret"),
            "{debug}"
        );
        assert!(debug.contains("numTasks"), "{debug}");
        assert_eq!(params.oauth_token(), Some(Ok("tqs.secret")));
        assert_eq!(
            Params::parse(Some("oauth_token=a&oauth_token=b")).oauth_token(),
            Some(Err(()))
        );
    }
}
