//! The mock target's reset front: wiremock cannot drop a connection, so a
//! scenario that scripts a connection reset (`reset: true`) puts this front
//! on 127.0.0.1 before its wiremock server, and the client, its token
//! source and its metadata source talk to the front.
//!
//! The front reads each request and asks the mock's script
//! ([`Resets::take`]) whether it is the next scripted exchange and that
//! exchange a reset: then the script counts it, writes its wire line
//! (`GET tasks/t1 [<at-1>] -> reset`) and moves on, and the front drops the
//! connection without an answer. Every other request goes on to wiremock
//! unchanged, which serves it from the same script, strictly in order, or
//! names what differs. The front never sleeps: a retry's backoff runs on
//! the scenario's virtual clock as without it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use url::Url;

use super::script::{MockTarget, Resets};
use crate::target::front::{self, Answer, Answerer, RawRequest};

/// The real-time bound on wiremock's answer to one relayed request.
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running reset front; stops when dropped.
#[derive(Debug)]
pub(crate) struct ResetFront {
    address: std::net::SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for ResetFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the front needs per request.
#[derive(Debug)]
struct Front {
    /// The front's own origin, to read requests as wiremock would.
    origin: Url,
    /// The wiremock server's origin.
    upstream: Url,
    resets: Resets,
    http: reqwest::Client,
}

impl ResetFront {
    /// Starts a front on 127.0.0.1 before `mock`.
    pub(crate) async fn start(mock: &MockTarget) -> Result<ResetFront, String> {
        let upstream = Url::parse(&mock.uri())
            .map_err(|error| format!("the mock's address `{}`: {error}", mock.uri()))?;
        let http = front::relay_client(RELAY_TIMEOUT)
            .map_err(|error| format!("the reset front's HTTP client: {error}"))?;
        let (listener, address) = front::listen("the reset front").await?;
        let origin = Url::parse(&format!("http://{address}"))
            .map_err(|error| format!("the reset front's address {address}: {error}"))?;
        let front = Arc::new(Front {
            origin,
            upstream,
            resets: mock.resets(),
            http,
        });
        let task = tokio::spawn(front::accept(listener, front));
        Ok(ResetFront { address, task })
    }

    /// `http://127.0.0.1:{port}`: where the client finds the mock.
    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `127.0.0.1:{port}`, for the metadata server source.
    pub(crate) fn host(&self) -> String {
        self.address.to_string()
    }
}

impl Answerer for Front {
    async fn answer(self: Arc<Self>, request: RawRequest) -> Answer {
        let seen = self.origin.join(&request.target);
        if let Ok(url) = &seen
            && self.resets.take(url, &request)
        {
            return Answer::Reset;
        }
        let relayed = match seen {
            Ok(url) => {
                let mut target = self.upstream.clone();
                target.set_path(url.path());
                target.set_query(url.query());
                front::relay(&self.http, target, request, None).await
            }
            Err(error) => Err(format!("request target: {error}")),
        };
        match relayed {
            Ok(reply) => Answer::Respond(reply),
            Err(error) => Answer::Respond((
                502,
                vec![("content-type".to_owned(), "text/plain".to_owned())],
                format!("conformance mock: the reset front got no answer from wiremock: {error}")
                    .into_bytes(),
            )),
        }
    }
}
