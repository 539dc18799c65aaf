//! [`NetworkOptions`]: which servers an HTTP client trusts and through which
//! proxy it reaches them, as our own types (reqwest stays private).

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::Error;

/// Trust roots and proxy of an HTTP client: the token sources' (through
/// [`crate::HttpOptions::network`]) and the API transport's.
///
/// The defaults: Mozilla's root certificates (bundled, so a build behaves
/// the same everywhere), and the proxy named by the environment
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, with `NO_PROXY` exceptions, in
/// upper or lower case). The metadata server is always reached directly.
///
/// ```no_run
/// use taskqueue_auth::NetworkOptions;
///
/// # fn load() -> Result<NetworkOptions, Box<dyn std::error::Error>> {
/// // A server behind an internal CA, through the office proxy.
/// let network = NetworkOptions::default()
///     .with_root_certificates_pem(&std::fs::read("/etc/ssl/internal-ca.pem")?)?
///     .with_proxy("http://proxy.internal:3128");
/// # Ok(network)
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkOptions {
    roots: RootStore,
    extra_roots: Vec<CertificateDer<'static>>,
    proxy: ProxySetting,
}

/// Where the trusted root certificates come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RootStore {
    /// Mozilla's root certificates, bundled with the program (`webpki-roots`).
    #[default]
    Bundled,
    /// The operating system's verifier and trust store
    /// (`rustls-platform-verifier`; feature `platform-verifier`).
    Platform,
    /// None: only the certificates added with
    /// [`NetworkOptions::with_root_certificate`].
    None,
}

/// Which proxy, if any, requests go through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxySetting {
    /// The proxy named by `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY`, with
    /// the `NO_PROXY` exceptions.
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Disabled,
    /// Every request through this proxy (`http://`, `https://` or
    /// `socks5://` URL, credentials allowed), except the hosts of `no_proxy`.
    Url {
        /// The proxy's URL.
        url: String,
        /// Comma-separated hosts, domains and CIDR ranges reached directly,
        /// in `NO_PROXY` syntax.
        no_proxy: Option<String>,
    },
}

impl NetworkOptions {
    /// Trusts the operating system's verifier and trust store instead of the
    /// bundled roots (added certificates are trusted too).
    #[must_use]
    pub fn with_root_store(mut self, roots: RootStore) -> Self {
        self.roots = roots;
        self
    }

    /// Trusts `certificate` (DER) as a root, besides the root store.
    #[must_use]
    pub fn with_root_certificate(mut self, certificate: CertificateDer<'static>) -> Self {
        self.extra_roots.push(certificate);
        self
    }

    /// Trusts every certificate of a PEM bundle as a root, besides the root
    /// store.
    ///
    /// # Errors
    ///
    /// A permanent [`Error`] if the bundle is not PEM or holds no certificate.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let before = self.extra_roots.len();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|error| {
                Error::permanent(format!(
                    "the root certificate bundle is not valid PEM: {error}"
                ))
            })?;
            self.extra_roots.push(certificate);
        }
        if self.extra_roots.len() == before {
            return Err(Error::permanent(
                "the root certificate bundle holds no `BEGIN CERTIFICATE` section",
            ));
        }
        Ok(self)
    }

    /// Sends every request through the proxy at `url`.
    #[must_use]
    pub fn with_proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url {
            url: url.into(),
            no_proxy: None,
        };
        self
    }

    /// Sets the proxy setting as a whole (for example
    /// [`ProxySetting::Disabled`]).
    #[must_use]
    pub fn with_proxy_setting(mut self, proxy: ProxySetting) -> Self {
        self.proxy = proxy;
        self
    }

    /// Where the trusted roots come from.
    pub fn root_store(&self) -> RootStore {
        self.roots
    }

    /// The roots trusted besides the root store.
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }

    /// The proxy setting.
    pub fn proxy(&self) -> &ProxySetting {
        &self.proxy
    }
}
