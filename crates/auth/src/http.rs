//! The providers' HTTP client (feature `http`): one reqwest client per
//! provider, created once, with bounded timeouts. reqwest stays private.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{Error, NetworkOptions, ProxySetting, RootStore};

/// The rustls configuration of every HTTP client in the workspace with the
/// default [`NetworkOptions`]: the ring provider and Mozilla's root
/// certificates, per client, no global state.
pub fn rustls_client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    rustls_client_config_for(&NetworkOptions::default())
}

/// The rustls configuration for `network`: the ring provider, the root
/// store it names ([`RootStore`]) plus its added roots, ALPN for HTTP/2 and
/// HTTP/1.1.
///
/// # Errors
///
/// An added root that is not a usable CA certificate, or
/// [`RootStore::Platform`] without the `platform-verifier` feature.
pub fn rustls_client_config_for(
    network: &NetworkOptions,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = match network.root_store() {
        RootStore::Platform => platform_verified(builder, network, provider)?,
        store => {
            let mut roots = rustls::RootCertStore::empty();
            if store == RootStore::Bundled {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for root in network.extra_roots() {
                roots.add(root.clone())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(feature = "platform-verifier")]
fn platform_verified(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    network: &NetworkOptions,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        network.extra_roots().iter().cloned(),
        provider,
    )?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

#[cfg(not(feature = "platform-verifier"))]
fn platform_verified(
    _builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    _network: &NetworkOptions,
    _provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    Err(rustls::Error::General(
        "RootStore::Platform needs the `platform-verifier` feature of taskqueue-auth".to_owned(),
    ))
}

/// The reqwest proxy settings for `proxy`: `None` keeps reqwest's reading
/// of the environment.
fn proxy_for(proxy: &ProxySetting) -> Result<Option<reqwest::Proxy>, reqwest::Error> {
    match proxy {
        ProxySetting::Url { url, no_proxy } => {
            let proxy = reqwest::Proxy::all(url.as_str())?
                .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
            Ok(Some(proxy))
        }
        _ => Ok(None),
    }
}

/// The User-Agent of token requests.
const USER_AGENT: &str = concat!("taskqueue-rs-auth/", env!("CARGO_PKG_VERSION"));

/// An HTTP client for token endpoints and the metadata server.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
}

/// What the providers need of a response. Its `Debug` shows the body's
/// length only: a token response body holds the tokens.
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The server's `Date` header, for clock-skew diagnosis.
    pub(crate) date: Option<SystemTime>,
    /// The `Metadata-Flavor` header, which identifies a real metadata server.
    pub(crate) metadata_flavor: Option<String>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("date", &self.date)
            .field("metadata_flavor", &self.metadata_flavor)
            .finish()
    }
}

/// The largest token or metadata response read (they are a few hundred bytes).
const MAX_BODY_BYTES: usize = 64 * 1024;

impl HttpClient {
    /// A client whose connections time out after `connect_timeout` and whose
    /// requests time out after `request_timeout` (both real time: socket
    /// deadlines, not protocol timers).
    pub(crate) fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        network: &NetworkOptions,
    ) -> Result<Self, Error> {
        Self::build(connect_timeout, request_timeout, network, true)
    }

    /// A client that never goes through an `HTTP_PROXY`/`HTTPS_PROXY`: the
    /// metadata server is link-local, and a proxy must not answer for it.
    pub(crate) fn direct(
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, Error> {
        Self::build(
            connect_timeout,
            request_timeout,
            &NetworkOptions::default(),
            false,
        )
    }

    fn build(
        connect_timeout: Duration,
        request_timeout: Duration,
        network: &NetworkOptions,
        use_proxy: bool,
    ) -> Result<Self, Error> {
        let tls = rustls_client_config_for(network).map_err(|source| {
            Error::permanent("the TLS configuration could not be built").with_source(source)
        })?;
        let mut builder = reqwest::Client::builder();
        if !use_proxy || *network.proxy() == ProxySetting::Disabled {
            builder = builder.no_proxy();
        } else if let Some(proxy) = proxy_for(network.proxy()).map_err(|source| {
            Error::permanent("the proxy setting is not a valid proxy URL").with_source(source)
        })? {
            builder = builder.proxy(proxy);
        }
        let client = builder
            .tls_backend_preconfigured(tls)
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            // A 307/308 would re-send the form, secrets included, to another
            // host: token endpoints and the metadata server never redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| {
                Error::permanent("the HTTP client could not be built").with_source(source)
            })?;
        Ok(Self { client })
    }

    /// POSTs `form` as `application/x-www-form-urlencoded` to `url`.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<HttpResponse, Error> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        Self::send(request, url).await
    }

    /// GETs `url` with the extra `headers`.
    pub(crate) async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, Error> {
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::send(request, url).await
    }

    async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<HttpResponse, Error> {
        let mut response = request
            .send()
            .await
            .map_err(|source| network_error(url, source))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let date = header("date").and_then(|text| httpdate::parse_http_date(&text).ok());
        let metadata_flavor = header("metadata-flavor");
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| network_error(url, source))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Error::permanent(format!(
                    "the response from {} exceeds {MAX_BODY_BYTES} bytes",
                    redacted_url(url)
                ))
                .with_status(status));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            body,
            date,
            metadata_flavor,
        })
    }
}

/// A connection failure or timeout: transient, and says where.
fn network_error(url: &str, source: reqwest::Error) -> Error {
    let what = if source.is_timeout() {
        "timed out"
    } else if source.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // The reqwest error is not kept as the source: its Display includes the
    // full URL, query string and all, which may carry scopes or more.
    Error::transient(format!("the request to {} {what}", redacted_url(url)))
}

/// The URL without its query string.
pub(crate) fn redacted_url(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}
