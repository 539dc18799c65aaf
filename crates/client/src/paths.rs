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
        text.extend(utf8_percent_encode(&queue.project, SEGMENT));
        text.push_str("/taskqueues/");
        text.extend(utf8_percent_encode(&queue.queue, SEGMENT));
        for segment in tail {
            text.push('/');
            text.extend(utf8_percent_encode(segment, SEGMENT));
        }
        for (index, (key, value)) in query.iter().enumerate() {
            text.push(if index == 0 { '?' } else { '&' });
            text.extend(utf8_percent_encode(key, SEGMENT));
            text.push('=');
            text.extend(utf8_percent_encode(value, SEGMENT));
        }
        Url::parse(&text).map_err(|error| {
            Error::configuration(format!("cannot build a URL under the base URL: {error}"))
        })
    }
}
