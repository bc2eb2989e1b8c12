//! Shared test fixtures. RSA keys are slow to generate in debug builds, so each test binary
//! generates two and every test shares them.

use crate::DevIssuer;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use std::sync::OnceLock;

pub(crate) const ISSUER: &str = "http://localhost:4566/local_pool";
pub(crate) const AUDIENCE: &str = "local-app-client";

static KEYS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];

/// Test key number `slot` (0 or 1) as PKCS#8 PEM.
pub(crate) fn key_pem(slot: usize) -> &'static str {
    KEYS[slot].get_or_init(|| {
        rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .unwrap()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string()
    })
}

/// A development issuer for [`ISSUER`] and [`AUDIENCE`] signing with test key `slot`.
pub(crate) fn dev_issuer(slot: usize) -> DevIssuer {
    DevIssuer::from_pkcs8_pem(key_pem(slot), ISSUER.to_owned(), AUDIENCE.to_owned()).unwrap()
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
