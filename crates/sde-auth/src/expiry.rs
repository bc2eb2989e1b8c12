//! When a token stops being valid, read from a token a verifier has already accepted, so a
//! long-lived connection opened with it can end when it does.

use crate::bearer_token;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Deserialize)]
struct Expiry {
    exp: u64,
}

/// The `exp` claim of `credential` (a bare token or `Bearer <token>`), as a time. It reads
/// the payload without checking the signature: call it only with a credential that
/// [`IdTokenVerifier::verify`](crate::IdTokenVerifier::verify) has accepted. `None` when the
/// credential has no readable `exp`.
pub fn verified_token_expiry(credential: &str) -> Option<SystemTime> {
    let token = bearer_token(credential).ok()?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let Expiry { exp } = serde_json::from_slice(&bytes).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn the_expiry_is_the_exp_claim_of_a_bare_or_bearer_token() {
        let token = token_with(r#"{"sub":"u","exp":1800000000}"#);
        let expected = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(verified_token_expiry(&token), Some(expected));
        assert_eq!(
            verified_token_expiry(&format!("Bearer {token}")),
            Some(expected)
        );
    }

    #[test]
    fn a_token_without_a_readable_exp_has_none() {
        assert_eq!(verified_token_expiry(&token_with(r#"{"sub":"u"}"#)), None);
        assert_eq!(verified_token_expiry("not a token"), None);
        assert_eq!(verified_token_expiry("a.%%%.c"), None);
    }
}
