//! OAuth 2.0 for the Task Queue REST API: typed scopes, access tokens that
//! never print their secret, and the [`TokenProvider`] seam that the transport
//! asks for a token before every request.
//!
//! Every request to the Task Queue must carry an OAuth 2.0 access token with
//! one of four scopes. The seed document's table is the spec:
//!
//! | scope | access |
//! |---|---|
//! | `https://www.googleapis.com/auth/taskqueue` | read/write |
//! | `https://www.googleapis.com/auth/taskqueue.consumer` | read-only |
//! | `https://www.googleapis.com/auth/cloud-taskqueue` | read/write |
//! | `https://www.googleapis.com/auth/cloud-taskqueue.consumer` | read-only |
//!
//! # Example
//!
//! ```
//! use taskqueue_auth::{AccessToken, Access, Scope, ScopeSet, StaticTokenProvider, TokenProvider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), taskqueue_auth::Error> {
//! let provider = StaticTokenProvider::new(AccessToken::new("ya29.secret"));
//! let scopes = ScopeSet::from([Scope::TaskqueueConsumer]);
//! let token = provider.token(&scopes).await?;
//! assert_eq!(token.secret(), "ya29.secret");
//! // The secret never reaches Debug output or logs.
//! assert!(!format!("{token:?}").contains("ya29"));
//! // The consumer scope is read-only, as the seed document says.
//! assert!(scopes.grants(Access::Read));
//! assert!(!scopes.grants(Access::Write));
//! # Ok(())
//! # }
//! ```

mod error;
mod provider;
mod scope;
mod secret;
mod token;

pub use error::Error;
pub use provider::{SharedTokenProvider, StaticTokenProvider, TokenProvider};
pub use scope::{Access, Scope, ScopeSet};
pub use secret::SecretString;
pub use token::AccessToken;

/// The clock abstraction every time computation goes through, re-exported so
/// users of this crate need not name `taskqueue-clock` themselves.
pub use taskqueue_clock as clock;
