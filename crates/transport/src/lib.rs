//! A transport for Google REST APIs: adds the bearer token, retries safely,
//! and maps every failure to one precise [`Error`].
//!
//! It is API-agnostic: `taskqueue-client` builds Task Queue requests on top
//! of it, and any other Google REST API can too. reqwest (with rustls) does
//! the HTTP, created once per [`Transport`] and reused; no reqwest type
//! appears in this crate's public API.
//!
//! - **Auth.** Every attempt asks the [`TokenProvider`](taskqueue_auth::TokenProvider)
//!   for a token. After a 401 the rejected token is invalidated and, if the
//!   provider hands out a different one, the request is sent once more (once
//!   per call). A 403 is never refreshed nor retried; [`Error::is_scope_denied`]
//!   (with the required and granted scopes in a [`ScopeDenial`]) and
//!   [`Error::is_acl_denied`] tell a missing scope from an ACL refusal.
//! - **Retries.** Exponential backoff with full jitter, bounded in attempts and
//!   in total time, only on 408, 429, 500, 502, 503, 504 and connection
//!   errors or timeouts, and only for requests marked retryable. Sleeps go
//!   through the injected [`Clock`](taskqueue_clock::Clock), so tests run in
//!   virtual time.
//! - **Errors.** Google's error envelope is parsed when present; the raw body
//!   (bounded) is kept either way.
//! - **Tracing.** A span per call (`taskqueue.call`) and per attempt, with
//!   OpenTelemetry's HTTP client field names: `http.request.method`,
//!   `url.full` (credentials in the URL shown as `REDACTED`),
//!   `server.address`, `server.port`, `http.response.status_code`,
//!   `error.type`, `http.request.resend_count`; plus the operation, the
//!   attempt number and the latency. Never a token.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use taskqueue_auth::{AccessToken, Scope, ScopeSet, StaticTokenProvider};
//! use taskqueue_transport::{Request, Transport};
//!
//! # async fn run() -> Result<(), taskqueue_transport::Error> {
//! let transport = Transport::builder()
//!     .token_provider(Arc::new(StaticTokenProvider::new(AccessToken::new("ya29.token"))))
//!     .scopes(ScopeSet::from([Scope::Taskqueue]))
//!     .build()?;
//! let url = "https://www.googleapis.com/taskqueue/v1beta2/projects/s~app/taskqueues/q"
//!     .parse()
//!     .map_err(taskqueue_transport::Error::invalid_request)?;
//! let response = transport
//!     .send(Request::get(url).operation("taskqueue.taskqueues.get"))
//!     .await?;
//! let queue: serde_json::Value = response.json()?;
//! println!("{queue}");
//! # Ok(())
//! # }
//! ```

// This crate's README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod crate_readme {}

mod builder;
mod challenge;
mod denial;
mod error;
mod message;
mod send;

pub use builder::{Transport, TransportBuilder};
pub use denial::ScopeDenial;
pub use error::Error;
pub use message::{Request, Response};
pub use taskqueue_clock::RetryPolicy;

/// The `http` crate, whose `Method`, `StatusCode` and `HeaderMap` this
/// crate's API speaks.
pub use http;
/// The `url` crate, whose `Url` this crate's API speaks.
pub use url;
