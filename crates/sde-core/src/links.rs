//! Links that last: download URLs signed with our own key, `<route><key>?expires=<unix>&name=<file>&type=<mime>&sig=<hex>`,
//! with `&disposition=inline` before `sig` for a file the browser is to show rather than save.
//!
//! The signature (HMAC-SHA256) covers the key, the expiry, the download name, the content type
//! and an inline disposition, so none of them can be changed without the URL being refused. An
//! attachment signs exactly the bytes it signed before dispositions existed, so links already
//! handed out keep working. A presigned S3 URL made
//! with a function's temporary credentials dies with them, long before the day an email
//! promises; so every channel hands out a [`DownloadLinks`] link to our own download route,
//! which checks it and redirects to a freshly presigned URL valid for minutes. The local store
//! signs its own file URLs the same way.

use crate::store::{ContentInfo, Disposition, ObjectKey, SignedUrl};
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

    /// A key written as 64 hex digits (how it is kept in a file or an SSM SecureString).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
        Some(SigningKey(bytes))
    }

    /// The key as 64 hex digits, for the file it is kept in.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key kept in `path` (64 hex digits), created there (mode 0600) on first use. Two
    /// processes starting together agree on one key.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        use std::io::Write as _;
        let invalid = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold 64 hex digits", path.display()),
            )
        };
        match std::fs::read_to_string(path) {
            Ok(text) => SigningKey::from_hex(&text).ok_or_else(invalid),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(path) {
                    Ok(mut file) => {
                        file.write_all(key.to_hex().as_bytes())?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        SigningKey::from_hex(&std::fs::read_to_string(path)?).ok_or_else(invalid)
                    }
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key for one purpose (`purpose` names it), derived from this one, so links of one kind
    /// can never be passed off as links of another even though one secret is stored.
    pub fn derive(&self, purpose: &str) -> SigningKey {
        SigningKey(
            mac_of_fields(self, &[b"sde derived key", purpose.as_bytes()])
                .finalize()
                .into_bytes()
                .into(),
        )
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
    pub disposition: Disposition,
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

/// Signs and checks download URLs of one route with one key.
#[derive(Debug, Clone)]
pub struct UrlSigner {
    key: SigningKey,
    route: &'static str,
}

impl UrlSigner {
    /// Signs URLs of `route` (e.g. `/files/`, ending in `/`: the object key follows it).
    pub fn new(key: SigningKey, route: &'static str) -> Self {
        UrlSigner { key, route }
    }

    /// The path and query (`<route><key>?…`) granting `grant`.
    pub fn sign(&self, grant: &DownloadGrant) -> String {
        let expires = grant.expires_at.timestamp();
        let signature = hex::encode(
            self.mac(
                &grant.key,
                expires,
                &grant.download_name,
                &grant.content_type,
                grant.disposition,
            )
            .finalize()
            .into_bytes(),
        );
        let inline = match grant.disposition {
            Disposition::Attachment => "",
            Disposition::Inline => "&disposition=inline",
        };
        format!(
            "{}{}?expires={expires}&name={}&type={}{inline}&sig={signature}",
            self.route,
            grant.key,
            utf8_percent_encode(&grant.download_name, QUERY_VALUE),
            utf8_percent_encode(&grant.content_type, QUERY_VALUE),
        )
    }

    /// Checks the key (the path after the route) and raw query string of a download request.
    pub fn verify(
        &self,
        key: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<DownloadGrant, UrlRefusal> {
        let [expires, name, content_type, signature, disposition] =
            query_fields(query, ["expires", "name", "type", "sig", "disposition"])?;
        let (Some(expires), Some(name), Some(content_type), Some(signature)) =
            (expires, name, content_type, signature)
        else {
            return Err(UrlRefusal::Malformed);
        };
        let disposition = match disposition.as_deref() {
            None => Disposition::Attachment,
            Some("inline") => Disposition::Inline,
            Some(_) => return Err(UrlRefusal::Malformed),
        };
        let expires: i64 = expires.parse().map_err(|_| UrlRefusal::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| UrlRefusal::BadSignature)?;
        self.mac(key, expires, &name, &content_type, disposition)
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
            disposition,
        })
    }

    fn mac(
        &self,
        key: &str,
        expires: i64,
        name: &str,
        content_type: &str,
        disposition: Disposition,
    ) -> HmacSha256 {
        let expires = expires.to_string();
        let mut mac = mac_of_fields(
            &self.key,
            &[
                key.as_bytes(),
                expires.as_bytes(),
                name.as_bytes(),
                content_type.as_bytes(),
            ],
        );
        // Only an inline link signs its disposition (as a fifth field), so attachment links
        // sign what they always did.
        if disposition == Disposition::Inline {
            let field = b"inline";
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac
    }
}

/// The fields of a raw query string with their decoded values, in order. A query re-encoded as
/// a form on its way (API Gateway's event → the function's request) writes a space as `+`; a
/// `+` of ours was sent as `%2B`. A value that is not UTF-8 once decoded is
/// [`UrlRefusal::Malformed`].
pub(crate) fn query_pairs(
    query: &str,
) -> impl Iterator<Item = (&str, Result<String, UrlRefusal>)> + '_ {
    query.split('&').map(|pair| {
        let (field, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = value.replace('+', " ");
        let value = percent_decode_str(&value)
            .decode_utf8()
            .map(|value| value.into_owned())
            .map_err(|_| UrlRefusal::Malformed);
        (field, value)
    })
}

/// The values of the query fields named `names`, in that order (`None` for one absent); other
/// fields are ignored. A named field given twice is [`UrlRefusal::Malformed`].
pub(crate) fn query_fields<const N: usize>(
    query: &str,
    names: [&str; N],
) -> Result<[Option<String>; N], UrlRefusal> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for (field, value) in query_pairs(query) {
        let Some(slot) = names.iter().position(|name| *name == field) else {
            continue;
        };
        if values[slot].replace(value?).is_some() {
            return Err(UrlRefusal::Malformed);
        }
    }
    Ok(values)
}

/// An HMAC-SHA256 over `fields`, each length-prefixed so no two different lists of fields sign
/// the same bytes.
pub(crate) fn mac_of_fields(key: &SigningKey, fields: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
    let mut mac = match HmacSha256::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("hmac accepts any key length"),
    };
    for field in fields {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac
}

/// The route lasting links point to.
pub const DOWNLOAD_ROUTE: &str = "/download/";

/// Issues and checks the links every channel hands out: to our own download route under
/// `base_url` (the API's public URL), signed, valid until their expiry.
#[derive(Debug, Clone)]
pub struct DownloadLinks {
    signer: UrlSigner,
    base_url: String,
}

impl DownloadLinks {
    pub fn new(key: SigningKey, base_url: &str) -> Self {
        DownloadLinks {
            signer: UrlSigner::new(key, DOWNLOAD_ROUTE),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// A link to `key`, saved as `content` says, that works until `expires_at`.
    pub fn issue(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        expires_at: DateTime<Utc>,
    ) -> SignedUrl {
        let path = self.signer.sign(&DownloadGrant {
            key: key.as_str().to_owned(),
            // Whole seconds: the expiry travels as a unix timestamp.
            expires_at: Utc
                .timestamp_opt(expires_at.timestamp(), 0)
                .single()
                .unwrap_or(expires_at),
            download_name: content.download_name.clone(),
            content_type: content.content_type.clone(),
            disposition: content.disposition,
        });
        SignedUrl::new(format!("{}{path}", self.base_url), expires_at)
    }

    /// Checks a request to the download route: the key after [`DOWNLOAD_ROUTE`] and the raw
    /// query string, at `now`.
    pub fn check(
        &self,
        key: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<DownloadGrant, UrlRefusal> {
        self.signer.verify(key, query, now)
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
            disposition: Disposition::Attachment,
        }
    }

    fn split(url: &str) -> (&str, &str) {
        let (path, query) = url.split_once('?').unwrap();
        (path.strip_prefix("/files/").unwrap(), query)
    }

    #[test]
    fn a_signed_url_verifies_back_to_its_grant() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate(), "/files/");
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        assert_eq!(signer.verify(key, query, now), Ok(grant(now)));
    }

    #[test]
    fn a_query_re_encoded_as_a_form_still_verifies() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate(), "/files/");
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        let as_form = query.replace("%20", "+");
        assert_ne!(as_form, query, "the grant has spaces to re-encode");
        assert_eq!(signer.verify(key, &as_form, now), Ok(grant(now)));
    }

    #[test]
    fn any_tampering_is_refused() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate(), "/files/");
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
        let other_key = UrlSigner::new(SigningKey::generate(), "/files/");
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
    fn an_inline_link_says_so_and_cannot_be_turned_into_an_attachment_or_back() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate(), "/files/");
        let inline = DownloadGrant {
            disposition: Disposition::Inline,
            ..grant(now)
        };
        let url = signer.sign(&inline);
        let (key, query) = split(&url);
        assert!(query.contains("&disposition=inline&sig="), "{query}");
        assert_eq!(signer.verify(key, query, now), Ok(inline));
        let saved = query.replace("&disposition=inline", "");
        assert_eq!(
            signer.verify(key, &saved, now),
            Err(UrlRefusal::BadSignature)
        );
        let attachment = signer.sign(&grant(now));
        let (key, query) = split(&attachment);
        assert!(!query.contains("disposition"), "{query}");
        let shown = query.replace("&sig=", "&disposition=inline&sig=");
        assert_eq!(
            signer.verify(key, &shown, now),
            Err(UrlRefusal::BadSignature)
        );
        let odd = query.replace("&sig=", "&disposition=attachment&sig=");
        assert_eq!(signer.verify(key, &odd, now), Err(UrlRefusal::Malformed));
    }

    #[test]
    fn an_expired_url_is_refused() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let signer = UrlSigner::new(SigningKey::generate(), "/files/");
        let url = signer.sign(&grant(now));
        let (key, query) = split(&url);
        assert_eq!(
            signer.verify(key, query, now + Duration::hours(1)),
            Err(UrlRefusal::Expired)
        );
    }

    #[test]
    fn a_lasting_link_points_at_the_download_route_and_checks_back() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let links = DownloadLinks::new(SigningKey::generate(), "https://api.example.com/dev/");
        let key = ObjectKey::new("exports/u1/run.csv").unwrap();
        let content = ContentInfo {
            content_type: "text/csv; charset=utf-8".into(),
            download_name: "posts.csv".into(),
            disposition: Disposition::Attachment,
        };
        let url = links.issue(&key, &content, now + Duration::hours(24));
        let rest = url
            .expose()
            .strip_prefix("https://api.example.com/dev/download/")
            .unwrap();
        let (key_part, query) = rest.split_once('?').unwrap();
        let grant = links.check(key_part, query, now).unwrap();
        assert_eq!(grant.key, "exports/u1/run.csv");
        assert_eq!(grant.download_name, "posts.csv");
        assert_eq!(
            links.check(key_part, query, now + Duration::hours(24)),
            Err(UrlRefusal::Expired)
        );
    }

    #[test]
    fn a_key_survives_its_file_and_a_damaged_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("sde-key-{}", std::process::id()));
        let path = dir.join("secrets/link-key");
        let first = SigningKey::load_or_create(&path).unwrap();
        let second = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.to_hex(), second.to_hex());
        std::fs::write(&path, "not hex").unwrap();
        assert!(SigningKey::load_or_create(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(
            format!("{:?}", SigningKey::generate()),
            "SigningKey(<redacted>)"
        );
    }
}
