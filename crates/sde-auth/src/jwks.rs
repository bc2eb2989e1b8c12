//! JSON Web Key Sets (RFC 7517): the public keys an issuer publishes so that anyone can check
//! its tokens' signatures, in the shape Cognito serves at `<issuer>/.well-known/jwks.json`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A JSON Web Key Set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys; those that are not RS256 signing keys are ignored when verifying.
    pub keys: Vec<Jwk>,
}

/// One JSON Web Key. Only the members Cognito publishes for its RSA keys are kept; others are
/// ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type, `RSA` for the keys used here.
    pub kty: String,
    /// Intended algorithm, `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use, `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Key id, matched against a token header's `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// RSA modulus, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// An RS256 signing key from its big-endian modulus and exponent, with its RFC 7638
    /// thumbprint as `kid`, so the id changes exactly when the key does.
    pub fn rs256(modulus: &[u8], exponent: &[u8]) -> Self {
        let n = URL_SAFE_NO_PAD.encode(strip_leading_zeros(modulus));
        let e = URL_SAFE_NO_PAD.encode(strip_leading_zeros(exponent));
        let kid = rsa_thumbprint(&n, &e);
        Jwk {
            kty: "RSA".to_owned(),
            alg: Some("RS256".to_owned()),
            use_: Some("sig".to_owned()),
            kid: Some(kid),
            n: Some(n),
            e: Some(e),
        }
    }
}

/// RFC 7638 thumbprint of an RSA key: base64url(SHA-256 of the canonical JSON of `e`, `kty`, `n`).
fn rsa_thumbprint(n: &str, e: &str) -> String {
    // The members are base64url text, so they need no JSON escaping.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The RS256 verification keys of a key set, by `kid`.
#[derive(Clone, Default)]
pub(crate) struct KeyTable {
    keys: HashMap<String, DecodingKey>,
}

impl KeyTable {
    /// Keeps the set's RSA signing keys that have a `kid` and are not marked for another use or
    /// algorithm; the rest are skipped (and logged), so one odd key does not hide the others.
    pub(crate) fn from_set(set: &JwkSet) -> Self {
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let usable = jwk.kty == "RSA"
                && jwk.use_.as_deref().is_none_or(|u| u == "sig")
                && jwk.alg.as_deref().is_none_or(|a| a == "RS256");
            let (Some(kid), Some(n), Some(e), true) = (&jwk.kid, &jwk.n, &jwk.e, usable) else {
                tracing::debug!(kid = ?jwk.kid, kty = %jwk.kty, "skipping a jwk that is not an rs256 signing key");
                continue;
            };
            match DecodingKey::from_rsa_components(n, e) {
                Ok(key) => {
                    keys.insert(kid.clone(), key);
                }
                Err(error) => {
                    tracing::warn!(%kid, %error, "skipping a jwk with unreadable key material")
                }
            }
        }
        KeyTable { keys }
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_matches_the_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_key_set_serialises_in_cognitos_shape() {
        let set = JwkSet {
            keys: vec![Jwk::rs256(&[0, 0xc3, 0x01], &[1, 0, 1])],
        };
        let json = serde_json::to_value(&set).unwrap();
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["n"], "wwE");
        assert_eq!(key["e"], "AQAB");
        assert!(key["kid"].is_string());
    }

    #[test]
    fn keys_for_other_uses_or_algorithms_are_not_used_for_verification() {
        let good = Jwk::rs256(&[0xc3; 256], &[1, 0, 1]);
        let encryption = Jwk {
            use_: Some("enc".into()),
            kid: Some("enc".into()),
            ..good.clone()
        };
        let other_alg = Jwk {
            alg: Some("RS512".into()),
            kid: Some("rs512".into()),
            ..good.clone()
        };
        let no_kid = Jwk {
            kid: None,
            ..good.clone()
        };
        let table = KeyTable::from_set(&JwkSet {
            keys: vec![good.clone(), encryption, other_alg, no_kid],
        });
        assert_eq!(table.len(), 1);
        assert!(table.get(good.kid.as_deref().unwrap()).is_some());
    }

    #[test]
    fn a_cognito_key_set_with_unknown_members_is_read() {
        let json = r#"{"keys":[{"alg":"RS256","e":"AQAB","kid":"abc=","kty":"RSA","n":"wwE","use":"sig","x5t":"zzz"}]}"#;
        let set: JwkSet = serde_json::from_str(json).unwrap();
        assert_eq!(set.keys[0].kid.as_deref(), Some("abc="));
        assert_eq!(KeyTable::from_set(&set).len(), 1);
    }
}
