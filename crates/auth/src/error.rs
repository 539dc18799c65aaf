//! The one public error type of `taskqueue-auth`.

use std::error::Error as StdError;
use std::fmt;

/// Why a token could not be had.
///
/// Classify it with the predicates; the message says what to do. It never
/// contains a secret.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    message: String,
    transient: bool,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A failure that may succeed if tried again later (a token endpoint
    /// outage, a timeout). Use it when writing your own [`crate::TokenProvider`].
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(message.into(), true)
    }

    /// A failure that will not go away by retrying (revoked credentials, a
    /// broken key file). Use it when writing your own [`crate::TokenProvider`].
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(message.into(), false)
    }

    /// The same error, recording the lower-level error that caused it.
    /// The source must not carry secrets in its `Display` or `Debug`.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.inner.transient
    }

    fn new(message: String, transient: bool) -> Self {
        Self {
            inner: Box::new(Inner {
                message,
                transient,
                source: None,
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|source| source.as_ref() as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_thread_safe_and_one_pointer_wide() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn predicates_and_source_follow_the_constructor() {
        let io = std::io::Error::other("connection reset");
        let error = Error::transient("token endpoint unreachable").with_source(io);
        assert!(error.is_transient());
        assert_eq!(error.to_string(), "token endpoint unreachable");
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        assert!(!Error::permanent("revoked").is_transient());
    }
}
