//! A custom `TokenProvider`: tokens from anywhere (a secret manager, a sidecar, a file), here a file re-read on every
//! refusal. `TokenCache` is the other way: implement `TokenSource` and let the cache handle expiry.
//!
//! ```sh
//! echo ya29.my-token > /tmp/token
//! TASKQUEUE_EMULATOR_HOST=127.0.0.1:8080 TOKEN_FILE=/tmp/token \
//!     cargo run -p taskqueue-client --example custom_token_provider
//! ```
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use std::path::PathBuf;
use std::sync::Mutex;

use taskqueue_client::auth::Error;
use taskqueue_client::{
    AccessToken, Client, GetQueueRequest, QueueRef, ScopeSet, TokenProvider, async_trait,
};

/// Reads the token from a file, and again after the server refused it.
#[derive(Debug)]
struct FileToken {
    path: PathBuf,
    cached: Mutex<Option<AccessToken>>,
}

#[async_trait]
impl TokenProvider for FileToken {
    async fn token(&self, _scopes: &ScopeSet) -> Result<AccessToken, Error> {
        if let Some(token) = self
            .cached
            .lock()
            .map_err(|_| Error::permanent("poisoned"))?
            .clone()
        {
            return Ok(token);
        }
        let text = std::fs::read_to_string(&self.path).map_err(|error| {
            Error::permanent(format!("cannot read {}: {error}", self.path.display()))
        })?;
        let token = AccessToken::new(text.trim());
        *self
            .cached
            .lock()
            .map_err(|_| Error::permanent("poisoned"))? = Some(token.clone());
        Ok(token)
    }

    fn invalidate(&self, rejected: &AccessToken) {
        if let Ok(mut cached) = self.cached.lock()
            && cached.as_ref() == Some(rejected)
        {
            *cached = None;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path =
        std::env::var_os("TOKEN_FILE").map_or_else(|| PathBuf::from("/tmp/token"), PathBuf::from);
    let client = Client::builder()
        .token_provider(FileToken {
            path,
            cached: Mutex::new(None),
        })
        .build()?;
    let answer = client
        .get_queue(GetQueueRequest::new(QueueRef::new(
            "s~dev-project",
            "pull-queue",
        )))
        .await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
