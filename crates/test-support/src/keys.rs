//! The test keys and credential files of `data/keys/` (see its README):
//! made for this repository, registered nowhere, granting nothing.

use std::path::PathBuf;

/// A 2048-bit RSA private key, PKCS#8 (`BEGIN PRIVATE KEY`).
pub const RSA_PKCS8_PEM: &str = include_str!("../data/keys/test_rsa_pkcs8.pem");

/// The same key, PKCS#1 (`BEGIN RSA PRIVATE KEY`).
pub const RSA_PKCS1_PEM: &str = include_str!("../data/keys/test_rsa_pkcs1.pem");

/// Its public key, SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
pub const RSA_PUBLIC_PEM: &str = include_str!("../data/keys/test_rsa_public.pem");

/// Its public key, PKCS#1 (`BEGIN RSA PUBLIC KEY`).
pub const RSA_PUBLIC_PKCS1_PEM: &str = include_str!("../data/keys/test_rsa_public_pkcs1.pem");

/// A second, unrelated 2048-bit RSA private key, PKCS#8: signs what the
/// first key's holder must refuse.
pub const RSA_OTHER_PKCS8_PEM: &str = include_str!("../data/keys/test_rsa_other_pkcs8.pem");

/// A P-256 private key, PKCS#8: valid PEM that is not RSA.
pub const EC_P256_PKCS8_PEM: &str = include_str!("../data/keys/test_ec_p256_pkcs8.pem");

/// A `service_account` key file holding [`RSA_PKCS8_PEM`].
pub const SERVICE_ACCOUNT_JSON: &str = include_str!("../data/keys/service_account.json");

/// An `authorized_user` key file (made-up client and refresh token).
pub const AUTHORIZED_USER_JSON: &str = include_str!("../data/keys/authorized_user.json");

/// The path of the file `name` of `data/keys/`, for tests that hand a
/// path to the code under test.
#[must_use]
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/keys")
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_embedded_files() {
        for (name, text) in [
            ("test_rsa_pkcs8.pem", RSA_PKCS8_PEM),
            ("service_account.json", SERVICE_ACCOUNT_JSON),
        ] {
            assert_eq!(std::fs::read_to_string(path(name)).expect(name), text);
        }
    }
}
