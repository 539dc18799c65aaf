//! An HTTPS server on 127.0.0.1, signed by the test CA of `data/tls/`,
//! answering every request with one JSON body, and the table of root
//! settings that must and must not trust it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use taskqueue_auth::{NetworkOptions, RootStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The test CA's certificate (PEM).
pub const CA_PEM: &[u8] = include_bytes!("../data/tls/ca.pem");

/// The server's certificate (PEM), for `127.0.0.1` and `localhost`, signed
/// by [`CA_PEM`].
pub const SERVER_CERT_PEM: &[u8] = include_bytes!("../data/tls/server.pem");

/// The server certificate's private key (PKCS#8 PEM).
pub const SERVER_KEY_PEM: &[u8] = include_bytes!("../data/tls/server.key");

/// Network options trusting the test CA beside the bundled roots.
///
/// # Panics
///
/// If the test CA's PEM does not parse (a broken fixture).
#[must_use]
pub fn with_test_ca() -> NetworkOptions {
    NetworkOptions::default()
        .with_root_certificates_pem(CA_PEM)
        .expect("the test CA parses")
}

/// One root setting and whether a [`TlsServer`] must be trusted under it.
#[derive(Clone, Debug)]
pub struct TrustCase {
    /// What the setting is, for failure messages.
    pub label: &'static str,
    /// The network options under test.
    pub network: NetworkOptions,
    /// Whether a connection to a [`TlsServer`] succeeds.
    pub trusted: bool,
}

/// The root settings every HTTPS client of the stack is tested with: the test
/// CA added to the bundled roots or as the only root (trusted), the bundled
/// roots alone or no roots at all (refused).
#[must_use]
pub fn trust_cases() -> Vec<TrustCase> {
    let case = |label, network, trusted| TrustCase {
        label,
        network,
        trusted,
    };
    vec![
        case("test CA added to the bundled roots", with_test_ca(), true),
        case(
            "test CA as the only root",
            with_test_ca().with_root_store(RootStore::None),
            true,
        ),
        case("bundled roots only", NetworkOptions::default(), false),
        case(
            "no roots at all",
            NetworkOptions::default().with_root_store(RootStore::None),
            false,
        ),
    ]
}

/// An HTTPS server that answers every request with `200` and its JSON body,
/// counting the requests it answered and the handshakes that failed. It
/// stops when dropped.
#[derive(Debug)]
pub struct TlsServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    failed_handshakes: Arc<AtomicUsize>,
    accept_loop: JoinHandle<()>,
}

impl TlsServer {
    /// Starts the server on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    ///
    /// The port cannot be bound, or the fixtures do not load.
    pub async fn start(body: &'static str) -> io::Result<Self> {
        let acceptor = TlsAcceptor::from(Arc::new(server_config()?));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let (counted, failed) = (requests.clone(), failed_handshakes.clone());
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, counted, failed) =
                    (acceptor.clone(), counted.clone(), failed.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    let service = service_fn(move |_request| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        async move {
                            http::Response::builder()
                                .header(http::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(Bytes::from_static(body.as_bytes())))
                        }
                    });
                    // A connection error only ends this connection.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            failed_handshakes,
            accept_loop,
        })
    }

    /// `https://127.0.0.1:{port}`, without a trailing slash.
    pub fn uri(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The TLS handshakes that failed so far (a client refusing the
    /// certificate is one).
    pub fn failed_handshakes(&self) -> usize {
        self.failed_handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// The server's rustls configuration: the ring provider, HTTP/1.1 only.
fn server_config() -> io::Result<rustls::ServerConfig> {
    let invalid = |error: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, error.to_string())
    };
    let chain = CertificateDer::pem_slice_iter(SERVER_CERT_PEM)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(&error))?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM).map_err(|error| invalid(&error))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| invalid(&error))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|error| invalid(&error))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
