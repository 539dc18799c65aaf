//! URLs of the 8 methods, relative to the API's base URL.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use taskqueue_transport::url::Url;

use crate::{Error, QueueRef};

/// What is escaped in a path segment: everything but the unreserved
/// characters and `:` (domain-scoped project ids such as `example.com:app`).
/// `~` stays as is, so the partition prefix `s~app` goes out verbatim.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

/// Builds method URLs under a base URL that ends with `projects/`.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    base: String,
}

impl Paths {
    pub(crate) fn new(base: &Url) -> Self {
        let mut base = base.as_str().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self { base }
    }

    /// `{project}/taskqueues/{queue}`
    pub(crate) fn queue(&self, queue: &QueueRef, query: &[(&str, &str)]) -> Result<Url, Error> {
        self.build(queue, &[], query)
    }

    /// `{project}/taskqueues/{queue}/tasks`
    pub(crate) fn tasks(&self, queue: &QueueRef, query: &[(&str, &str)]) -> Result<Url, Error> {
        self.build(queue, &["tasks"], query)
    }

    /// `{project}/taskqueues/{queue}/tasks/{task}`
    pub(crate) fn task(
        &self,
        queue: &QueueRef,
        task: &str,
        query: &[(&str, &str)],
    ) -> Result<Url, Error> {
        self.build(queue, &["tasks", task], query)
    }

    fn build(&self, queue: &QueueRef, tail: &[&str], query: &[(&str, &str)]) -> Result<Url, Error> {
        let mut text = String::with_capacity(self.base.len() + 128);
        text.push_str(&self.base);
        push_escaped(&mut text, &queue.project);
        text.push_str("/taskqueues/");
        push_escaped(&mut text, &queue.queue);
        for segment in tail {
            text.push('/');
            push_escaped(&mut text, segment);
        }
        for (index, (key, value)) in query.iter().enumerate() {
            text.push(if index == 0 { '?' } else { '&' });
            push_escaped(&mut text, key);
            text.push('=');
            push_escaped(&mut text, value);
        }
        Url::parse(&text).map_err(|error| {
            Error::configuration(format!("cannot build a URL under the base URL: {error}"))
        })
    }
}

/// Appends `segment`, percent-escaping what [`SEGMENT`] escapes. Validated
/// names never need escaping, so they are copied as they are.
fn push_escaped(text: &mut String, segment: &str) {
    let plain = segment.bytes().all(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b':')
    });
    if plain {
        text.push_str(segment);
    } else {
        text.extend(utf8_percent_encode(segment, SEGMENT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_segments_are_copied_and_others_escaped_like_the_encoder() {
        for segment in [
            "s~app",
            "example.com:app",
            "q-1",
            "a_b",
            "resize photos",
            "a/b",
            "ü",
            "%",
            "?&=",
        ] {
            let mut fast = String::new();
            push_escaped(&mut fast, segment);
            let slow: String = utf8_percent_encode(segment, SEGMENT).collect();
            assert_eq!(fast, slow, "{segment:?}");
        }
    }
}
