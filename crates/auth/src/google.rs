//! Names of Google's OAuth 2.0 services that both ends of the wire need, with or without the `http` feature: the
//! token endpoint's URL and the metadata server's flavor header. The providers send them; the reference server
//! answers to them.

/// Google's token endpoint: the `token_uri` of every key file Google issues today, and the default when a key
/// file has none. (Older key files name `https://accounts.google.com/o/oauth2/token`; see docs/oauth-interop.md.)
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The header a metadata server requires on every request and sets on every response, in the lowercase form
/// HTTP/2 uses (header names are case-insensitive).
pub const METADATA_FLAVOR_HEADER: &str = "metadata-flavor";

/// The value of [`METADATA_FLAVOR_HEADER`] both ways.
pub const METADATA_FLAVOR: &str = "Google";
