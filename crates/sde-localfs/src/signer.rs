//! Signing and checking download URLs: `…/files/<key>?expires=<unix>&name=<file>&type=<mime>&sig=<hex>`.
//!
//! The signature covers the key, the expiry, the download name and the content type, so none of
//! them can be changed without the URL being refused.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Characters left as they are in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The secret that signs download URLs. Never printed.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SigningKey(bytes)
    }

    /// A fresh key from the operating system's secure random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        SigningKey(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// What a valid signed URL grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadGrant {
    pub key: String,
    pub expires_at: DateTime<Utc>,
    pub download_name: String,
    pub content_type: String,
}

/// Why a download URL was refused. All of them are a 403 to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("the download link is incomplete")]
    Malformed,
    #[error("the download link is not valid")]
    BadSignature,
    #[error("the download link has expired")]
    Expired,
}

/// Signs and checks download URLs with one key.
#[derive(Debug, Clone)]
pub struct UrlSigner {
    key: SigningKey,
}

impl UrlSigner {
    pub fn new(key: SigningKey) -> Self {
        UrlSigner { key }
    }

    /// The path and query (`/files/<key>?…`) granting `grant`.
    pub fn sign(&self, grant: &DownloadGrant) -> String {
        let expires = grant.expires_at.timestamp();
        let signature = hex::encode(
            self.mac(
                &grant.key,
                expires,
                &grant.download_name,
                &grant.content_type,
            )
            .finalize()
            .into_bytes(),
        );
        format!(
            "/files/{}?expires={expires}&name={}&type={}&sig={signature}",
            grant.key,
            utf8_percent_encode(&grant.download_name, QUERY_VALUE),
            utf8_percent_encode(&grant.content_type, QUERY_VALUE),
        )
    }

    /// Checks the key (the path after `/files/`) and raw query string of a download request.
    pub fn verify(
        &self,
        key: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<DownloadGrant, UrlRefusal> {
        let mut expires = None;
        let mut name = None;
        let mut content_type = None;
        let mut signature = None;
        for pair in query.split('&') {
            let (field, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| UrlRefusal::Malformed)?;
            let slot = match field {
                "expires" => &mut expires,
                "name" => &mut name,
                "type" => &mut content_type,
                "sig" => &mut signature,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(UrlRefusal::Malformed);
            }
        }
        let (Some(expires), Some(name), Some(content_type), Some(signature)) =
            (expires, name, content_type, signature)
        else {
            return Err(UrlRefusal::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| UrlRefusal::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| UrlRefusal::BadSignature)?;
        self.mac(key, expires, &name, &content_type)
            .verify_slice(&signature)
            .map_err(|_| UrlRefusal::BadSignature)?;
        let expires_at = Utc
            .timestamp_opt(expires, 0)
            .single()
            .ok_or(UrlRefusal::Malformed)?;
        if now >= expires_at {
            return Err(UrlRefusal::Expired);
        }
        Ok(DownloadGrant {
            key: key.to_owned(),
            expires_at,
            download_name: name,
            content_type,
        })
    }

    fn mac(&self, key: &str, expires: i64, name: &str, content_type: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        let mut mac = match HmacSha256::new_from_slice(self.key.as_bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts any key length"),
        };
        // Length-prefix every field so no two different grants sign the same bytes.
        for field in [
            key.as_bytes(),
            expires.to_string().as_bytes(),
            name.as_bytes(),
            content_type.as_bytes(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn grant(now: DateTime<Utc>) -> DownloadGrant {
        DownloadGrant {
            key: "exports/u1/run.csv".into(),
            expires_at: now + Duration::hours(1),
            download_name: "posts export, 1.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
        }
    }

    fn split(url: &str) -> (&str, &str) {
        let (path, query) = url.split_once('?').unwrap();
        (path.strip_prefix("/files/").unwrap(), query)
    }

    #[test]
    fn a_signed_url_verifies_back_to_its_grant() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate());
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        assert_eq!(signer.verify(key, query, now), Ok(grant(now)));
    }

    #[test]
    fn any_tampering_is_refused() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate());
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        assert_eq!(
            signer.verify("exports/u2/run.csv", query, now),
            Err(UrlRefusal::BadSignature)
        );
        let later = query.replace(
            &format!("expires={}", (now + Duration::hours(1)).timestamp()),
            &format!("expires={}", (now + Duration::days(9)).timestamp()),
        );
        assert_eq!(
            signer.verify(key, &later, now),
            Err(UrlRefusal::BadSignature)
        );
        let renamed = query.replace("name=posts", "name=evil");
        assert_eq!(
            signer.verify(key, &renamed, now),
            Err(UrlRefusal::BadSignature)
        );
        let retyped = query.replace("type=text", "type=html");
        assert_eq!(
            signer.verify(key, &retyped, now),
            Err(UrlRefusal::BadSignature)
        );
        let other_key = UrlSigner::new(SigningKey::generate());
        assert_eq!(
            other_key.verify(key, query, now),
            Err(UrlRefusal::BadSignature)
        );
        let unsigned = query.split("&sig=").next().unwrap();
        assert_eq!(
            signer.verify(key, unsigned, now),
            Err(UrlRefusal::Malformed)
        );
    }

    #[test]
    fn an_expired_url_is_refused() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate());
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        assert_eq!(
            signer.verify(key, query, now + Duration::hours(1)),
            Err(UrlRefusal::Expired)
        );
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(
            format!("{:?}", SigningKey::generate()),
            "SigningKey(<redacted>)"
        );
    }
}
