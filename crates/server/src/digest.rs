//! [`SecretDigest`]: how the server keeps secrets (access and refresh tokens, client secrets): as SHA-256 digests,
//! never in clear.

use std::fmt;

use ring::digest::{SHA256, digest};

/// The SHA-256 digest of a secret. Comparing digests instead of secrets means a leaked store or configuration file
/// holds nothing a caller can present, and lookups by digest take the same time whatever the secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    ///
    /// ```
    /// use taskqueue_server::SecretDigest;
    ///
    /// let digest = SecretDigest::of("1//refresh-token");
    /// assert!(digest.matches("1//refresh-token"));
    /// assert!(!digest.matches("1//other"));
    /// assert_eq!(SecretDigest::from_hex(&digest.to_hex()), Some(digest));
    /// ```
    #[must_use]
    pub fn of(secret: &str) -> Self {
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest(&SHA256, secret.as_bytes()).as_ref());
        Self(bytes)
    }

    /// Whether `secret` has this digest.
    #[must_use]
    pub fn matches(&self, secret: &str) -> bool {
        Self::of(secret) == *self
    }

    /// The digest in lowercase hex (64 digits), as configuration files hold it.
    #[must_use]
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        self.0
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }

    /// The 32 bytes of the digest.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Parses 64 hex digits; `None` otherwise.
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for SecretDigest {
    /// Prints a short prefix only: enough to tell digests apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretDigest({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}
