//! [`RsaSigningKey`]: an RSA private key that signs RS256, from PEM or DER.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::{self, PemObject};

use crate::Error;

/// What PEM labels this module accepts, for error messages.
const EXPECTED_PEM: &str = "expected `-----BEGIN PRIVATE KEY-----` (PKCS#8) or \
     `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1)";

/// An RSA private key that signs RS256 JWTs (RSASSA-PKCS1-v1_5, SHA-256).
///
/// Both key encodings Google and OpenSSL produce are accepted: PKCS#8
/// (`-----BEGIN PRIVATE KEY-----`, what service account key files hold) and
/// PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`). ring requires 2048 to 8192
/// bit moduli.
///
/// `Debug` shows the modulus size and never the key.
pub struct RsaSigningKey {
    key_pair: RsaKeyPair,
}

impl RsaSigningKey {
    /// Parses the first private key of a PEM text.
    ///
    /// A text whose line breaks were flattened into literal `\n` sequences
    /// (a key pasted into an environment variable) is accepted too. Errors
    /// say what is wrong (not PEM, truncated, encrypted, not RSA, too short)
    /// and never quote the text.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let unescaped;
        let mut text = pem.trim();
        if text.is_empty() {
            return Err(Error::permanent("the private key is empty"));
        }
        if !text.contains('\n') && text.contains("\\n") {
            unescaped = text.replace("\\n", "\n");
            text = &unescaped;
        }
        if !text.contains('\n') && text.contains("-----BEGIN") {
            return Err(Error::permanent(
                "the private key's PEM text is on one line: its line breaks were lost (in a \
                 JSON key file they are written `\\n`)",
            ));
        }
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(Error::permanent(
                "the private key is encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`); \
                 decrypt it first, for example with `openssl pkcs8 -in encrypted.pem -out key.pem`",
            ));
        }
        let der = PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|error| Error::permanent(pem_error_message(&error, text)))?;
        match der {
            PrivateKeyDer::Pkcs8(der) => Self::from_pkcs8_der(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => Self::from_pkcs1_der(der.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(_) => Err(Error::permanent(
                "the private key is an elliptic-curve key (`-----BEGIN EC PRIVATE KEY-----`), \
                 not an RSA key: RS256 needs an RSA key",
            )),
            _ => Err(Error::permanent(format!(
                "the private key has an unsupported format; {EXPECTED_PEM}"
            ))),
        }
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` DER document holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        RsaKeyPair::from_pkcs8(der)
            .map(|key_pair| Self { key_pair })
            .map_err(|rejected| key_rejected("PKCS#8", rejected))
    }

    /// Parses a PKCS#1 `RSAPrivateKey` DER document.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        RsaKeyPair::from_der(der)
            .map(|key_pair| Self { key_pair })
            .map_err(|rejected| key_rejected("PKCS#1", rejected))
    }

    /// The size of the modulus in bits (2048 for Google's keys).
    pub fn modulus_bits(&self) -> usize {
        self.signature_len() * 8
    }

    /// The length of a signature in bytes (the modulus length).
    pub(crate) fn signature_len(&self) -> usize {
        self.key_pair.public().modulus_len()
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.signature_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| Error::permanent("signing the JWT with the RSA key failed"))?;
        Ok(signature)
    }
}

impl fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("modulus_bits", &self.modulus_bits())
            .field("key", &format_args!("[censored]"))
            .finish()
    }
}

/// Why the PEM text holds no usable key, without quoting it: pem errors can
/// carry whole lines, and a line may be the key itself.
fn pem_error_message(error: &pem::Error, text: &str) -> String {
    match error {
        pem::Error::NoItemsFound if text.contains("-----BEGIN") => format!(
            "the PEM text holds no private key (only other sections, such as a certificate \
             or a public key); {EXPECTED_PEM}"
        ),
        pem::Error::NoItemsFound => format!("the private key is not PEM text; {EXPECTED_PEM}"),
        pem::Error::MissingSectionEnd { .. } => {
            "the private key's PEM text is truncated: its `-----END ...-----` line is missing"
                .to_owned()
        }
        pem::Error::IllegalSectionStart { .. } => {
            "the private key's PEM text is malformed: its `-----BEGIN ...-----` line is broken \
             (were its line breaks lost? in a JSON key file they are written `\\n`)"
                .to_owned()
        }
        pem::Error::Base64Decode(_) => {
            "the private key's PEM body is not valid base64 (is the key truncated or edited?)"
                .to_owned()
        }
        pem::Error::SectionTooLarge => "the private key's PEM section is too large".to_owned(),
        _ => format!("the private key could not be read as PEM; {EXPECTED_PEM}"),
    }
}

/// Why ring refused a DER key, in words; `KeyRejected` only names a reason.
fn key_rejected(format: &str, rejected: ring::error::KeyRejected) -> Error {
    let reason = rejected.to_string();
    let why = match reason.as_str() {
        "WrongAlgorithm" => "it is not an RSA key: RS256 needs an RSA key".to_owned(),
        "TooSmall" => "its modulus is shorter than 2048 bits".to_owned(),
        "TooLarge" => "its modulus is longer than 8192 bits".to_owned(),
        "InvalidEncoding" => "its DER encoding is invalid".to_owned(),
        "InconsistentComponents" | "InvalidComponent" => {
            "its components are inconsistent".to_owned()
        }
        "PrivateModulusLenNotMultipleOf512Bits" => {
            "its modulus length is not a multiple of 512 bits".to_owned()
        }
        other => format!("ring rejected it ({other})"),
    };
    Error::permanent(format!("the {format} private key is unusable: {why}"))
}
