//! [`RsaVerifyingKey`]: an RSA public key that verifies RS256 signatures,
//! from a SubjectPublicKeyInfo or PKCS#1 document, PEM or DER.
//!
//! ring verifies with a PKCS#1 `RSAPublicKey` but parses it only when a
//! signature is checked, and then says nothing but "no". So the key is
//! parsed when it is loaded, strictly (DER, not BER) with the RustCrypto
//! `spki` and `pkcs1` crates, and checked against ring's limits: a bad key
//! is refused at configuration time with a reason, never discovered later
//! as a run of "invalid signature" answers.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pkcs1::der::asn1::ObjectIdentifier;
use pkcs1::der::{self, Decode as _, ErrorKind, Tag};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::{self, PemObject};
use spki::SubjectPublicKeyInfoRef;

use crate::Error;

/// What PEM labels this module accepts, for error messages.
const EXPECTED_PEM: &str = "expected `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) or \
     `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1)";

const SPKI_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PKCS1_BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
const PKCS1_END: &str = "-----END RSA PUBLIC KEY-----";

/// The modulus sizes `RSA_PKCS1_2048_8192_SHA256` accepts.
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;
/// ring's bound on the public exponent: 2^33 - 1.
const MAX_EXPONENT: u64 = (1 << 33) - 1;

// Algorithm object identifiers.
/// rsaEncryption (RFC 3279).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSASSA-PSS (RFC 4055).
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// An RSA public key that verifies RS256 JWT signatures
/// (RSASSA-PKCS1-v1_5 with SHA-256), for [`crate::verify_rs256`].
///
/// Both public key encodings OpenSSL writes are accepted:
/// SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`, what
/// `openssl rsa -pubout` and most tools produce) and PKCS#1
/// (`-----BEGIN RSA PUBLIC KEY-----`). As for signing, the modulus must be
/// 2048 to 8192 bits long. Certificates are not read: extract their key
/// with `openssl x509 -in cert.pem -pubkey -noout`.
///
/// Two keys are equal when they are the same key, whatever encoding they
/// were read from. `Debug` shows the modulus size only.
///
/// ```
/// use taskqueue_auth::RsaVerifyingKey;
///
/// # fn main() -> Result<(), taskqueue_auth::Error> {
/// # let spki = taskqueue_test_support::keys::RSA_PUBLIC_PEM;
/// # let pkcs1 = taskqueue_test_support::keys::RSA_PUBLIC_PKCS1_PEM;
/// let key = RsaVerifyingKey::from_pem(spki)?;
/// assert_eq!(key.modulus_bits(), 2048);
/// assert_eq!(key, RsaVerifyingKey::from_pem(pkcs1)?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RsaVerifyingKey {
    /// The PKCS#1 `RSAPublicKey` DER, checked to be canonical DER.
    pkcs1_der: Box<[u8]>,
    modulus_bits: usize,
}

impl RsaVerifyingKey {
    /// Parses the first public key of a PEM text: a SubjectPublicKeyInfo
    /// (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) section, whichever comes
    /// first.
    ///
    /// A text whose line breaks were flattened into literal `\n` sequences
    /// (a key pasted into an environment variable or a JSON string) is
    /// accepted too. Errors say what is wrong (not PEM, truncated, a private
    /// key or certificate instead, not RSA, too short) and never quote the
    /// text.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let unescaped;
        let mut text = pem.trim();
        if text.is_empty() {
            return Err(Error::permanent("the public key is empty"));
        }
        if !text.contains('\n') && text.contains("\\n") {
            unescaped = text.replace("\\n", "\n");
            text = &unescaped;
        }
        if !text.contains('\n') && text.contains("-----BEGIN") {
            return Err(Error::permanent(
                "the public key's PEM text is on one line: its line breaks were lost (in JSON \
                 they are written `\\n`)",
            ));
        }
        match (text.find(SPKI_BEGIN), text.find(PKCS1_BEGIN)) {
            (Some(spki), Some(pkcs1)) if pkcs1 < spki => Self::from_pkcs1_pem(text),
            (Some(_), _) => Self::from_spki_pem(text),
            (None, Some(_)) => Self::from_pkcs1_pem(text),
            (None, None) => Err(Error::permanent(no_public_key_message(text))),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) holding an
    /// `rsaEncryption` key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        spki_rsa_public_key(der)
            .and_then(Self::from_rsa_public_key)
            .map_err(|why| unusable("SubjectPublicKeyInfo", why))
    }

    /// Parses a DER PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1), the form
    /// `openssl rsa -RSAPublicKey_out` writes and ring's
    /// `RsaKeyPair::public_key()` returns.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        Self::from_rsa_public_key(der).map_err(|why| unusable("PKCS#1", why))
    }

    /// The size of the modulus in bits (2048 for Google's keys).
    pub fn modulus_bits(&self) -> usize {
        self.modulus_bits
    }

    /// The key as a DER PKCS#1 `RSAPublicKey`, whatever it was read from.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1_der
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-256
    /// signature of `message`.
    pub(crate) fn verifies_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        // ring checks this too; checking first spares it the work.
        if signature.len() != self.modulus_bits.div_ceil(8) {
            return false;
        }
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.pkcs1_der)
            .verify(message, signature)
            .is_ok()
    }

    fn from_spki_pem(text: &str) -> Result<Self, Error> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(text.as_bytes())
            .map_err(|error| Error::permanent(pem_error_message(&error)))?;
        Self::from_spki_der(&der)
    }

    fn from_pkcs1_pem(text: &str) -> Result<Self, Error> {
        // rustls-pki-types skips `RSA PUBLIC KEY` sections: decode it here,
        // by the same rules (base64 body lines between BEGIN and END).
        let start = text
            .find(PKCS1_BEGIN)
            .map_or(text.len(), |at| at + PKCS1_BEGIN.len());
        let rest = text.get(start..).unwrap_or_default();
        let Some(end) = rest.find(PKCS1_END) else {
            return Err(Error::permanent(
                "the public key's PEM text is truncated: its `-----END RSA PUBLIC KEY-----` line \
                 is missing",
            ));
        };
        let body: String = rest
            .get(..end)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD.decode(body).map_err(|_| {
            Error::permanent(
                "the public key's PEM body is not valid base64 (is the key truncated or edited?)",
            )
        })?;
        Self::from_pkcs1_der(&der)
    }

    /// Checks a PKCS#1 `RSAPublicKey` DER as ring will use it.
    fn from_rsa_public_key(der: &[u8]) -> Result<Self, String> {
        let key = pkcs1::RsaPublicKey::from_der(der).map_err(der_error)?;
        // `as_bytes` strips the sign byte; zero stays one zero byte.
        let modulus = key.modulus.as_bytes();
        let exponent = key.public_exponent.as_bytes();
        if modulus.iter().all(|byte| *byte == 0) {
            return Err("its modulus is zero".to_owned());
        }
        let modulus_bits = bit_length(modulus);
        if modulus_bits < MIN_MODULUS_BITS {
            return Err(format!(
                "its modulus is {modulus_bits} bits long, shorter than the {MIN_MODULUS_BITS} \
                 bits RS256 verification requires"
            ));
        }
        if modulus_bits > MAX_MODULUS_BITS {
            return Err(format!(
                "its modulus is {modulus_bits} bits long, longer than the {MAX_MODULUS_BITS} \
                 bits supported"
            ));
        }
        if modulus.last().is_some_and(|low| low % 2 == 0) {
            return Err("its modulus is even".to_owned());
        }
        let exponent = match exponent {
            bytes if bytes.len() <= 8 => bytes
                .iter()
                .fold(0_u64, |value, byte| (value << 8) | u64::from(*byte)),
            _ => u64::MAX,
        };
        if !(3..=MAX_EXPONENT).contains(&exponent) || exponent % 2 == 0 {
            return Err(
                "its public exponent is unusable (it must be odd, at least 3 and below 2^33)"
                    .to_owned(),
            );
        }
        Ok(Self {
            pkcs1_der: der.into(),
            modulus_bits,
        })
    }
}

impl fmt::Debug for RsaVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaVerifyingKey")
            .field("modulus_bits", &self.modulus_bits)
            .finish_non_exhaustive()
    }
}

/// The `RSAPublicKey` DER inside a SubjectPublicKeyInfo.
fn spki_rsa_public_key(der: &[u8]) -> Result<&[u8], String> {
    let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(der_error)?;
    let algorithm = spki.algorithm;
    if algorithm.oid != RSA_ENCRYPTION {
        return Err(match algorithm.oid {
            EC_PUBLIC_KEY => "it is an elliptic-curve key, not an RSA key: RS256 needs an RSA key",
            RSASSA_PSS => "it is an RSASSA-PSS key: RS256 needs an rsaEncryption RSA key",
            _ => "it is not an RSA key: RS256 needs an RSA key",
        }
        .to_owned());
    }
    // The parameters are NULL (RFC 3279 §2.3.1); some encoders omit them.
    if algorithm
        .parameters
        .is_some_and(|parameters| !parameters.is_null())
    {
        return Err("its algorithm parameters are not NULL".to_owned());
    }
    spki.subject_public_key
        .as_bytes()
        .ok_or_else(|| "its key bit string is malformed".to_owned())
}

/// Why `der` refused a document, in the words of a key's error message.
fn der_error(error: der::Error) -> String {
    let why = match error.kind() {
        ErrorKind::Incomplete { .. } => "truncated".to_owned(),
        ErrorKind::TrailingData { .. } => "trailing data".to_owned(),
        // `der` reports a non-minimal length as a length error of the element.
        ErrorKind::IndefiniteLength
        | ErrorKind::Length { .. }
        | ErrorKind::Overflow
        | ErrorKind::Overlength => "bad length: indefinite, not minimal or too long".to_owned(),
        ErrorKind::TagUnexpected { .. } | ErrorKind::TagUnknown { .. } => {
            "unexpected element".to_owned()
        }
        ErrorKind::Value { tag: Tag::Integer } => {
            return "its modulus or public exponent is negative".to_owned();
        }
        ErrorKind::Noncanonical { tag: Tag::Integer } => {
            return "its modulus or public exponent is empty or not minimally encoded".to_owned();
        }
        other => other.to_string(),
    };
    format!("its DER encoding is invalid ({why})")
}

/// The bit length of a big-endian magnitude whose first byte is not zero.
fn bit_length(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        Some(first) => (magnitude.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

fn unusable(format: &str, why: String) -> Error {
    Error::permanent(format!("the {format} public key is unusable: {why}"))
}

/// Why a PEM text with neither public key label holds no usable key.
fn no_public_key_message(text: &str) -> String {
    if text.contains("-----BEGIN CERTIFICATE-----") {
        format!(
            "the PEM text holds a certificate, not a public key; extract its key with \
             `openssl x509 -in cert.pem -pubkey -noout`; {EXPECTED_PEM}"
        )
    } else if text.contains("PRIVATE KEY-----") {
        format!(
            "the PEM text holds a private key, not a public key; derive the public key with \
             `openssl pkey -in key.pem -pubout`; {EXPECTED_PEM}"
        )
    } else if text.contains("-----BEGIN") {
        format!("the PEM text holds no public key; {EXPECTED_PEM}")
    } else {
        format!("the public key is not PEM text; {EXPECTED_PEM}")
    }
}

/// Why the PEM text holds no usable key, without quoting it.
fn pem_error_message(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { .. } => {
            "the public key's PEM text is truncated: its `-----END ...-----` line is missing"
                .to_owned()
        }
        pem::Error::IllegalSectionStart { .. } => {
            "the public key's PEM text is malformed: a `-----BEGIN ...-----` line is broken"
                .to_owned()
        }
        pem::Error::Base64Decode(_) => {
            "the public key's PEM body is not valid base64 (is the key truncated or edited?)"
                .to_owned()
        }
        pem::Error::SectionTooLarge => "the public key's PEM section is too large".to_owned(),
        _ => format!("the public key could not be read as PEM; {EXPECTED_PEM}"),
    }
}
