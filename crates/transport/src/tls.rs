//! The TLS configuration: rustls with the ring provider and Mozilla's roots.
//!
//! Building the configuration here (rather than letting reqwest pick a
//! process-wide default provider) keeps the crate free of global state and of
//! the aws-lc C build.

use std::sync::Arc;

/// A rustls client configuration for HTTPS to Google (or any public host).
pub(crate) fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
