//! The object store seen from the domain: a streaming multipart writer and presigned downloads.

use crate::error::BoxError;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

/// Key of a stored object, e.g. `exports/<owner>/<execution>.csv`. Keys are made by us, never
/// taken from a request: they contain only `[A-Za-z0-9._/-]`, never `..`, and do not start
/// with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Checks that `key` has the safe shape described on the type.
    pub fn new(key: impl Into<String>) -> Result<Self, StoreError> {
        let key = key.into();
        let safe_chars = key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
        let safe_segments = key
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        if key.is_empty() || key.len() > 512 || !safe_chars || !safe_segments {
            return Err(StoreError::new(
                StoreErrorKind::InvalidKey,
                format!("checking key {key:?}"),
            ));
        }
        Ok(ObjectKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment, used as the default download file name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a stored object is to be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInfo {
    /// `Content-Type` of the download.
    pub content_type: String,
    /// File name offered by `Content-Disposition`.
    pub download_name: String,
    /// Whether the browser saves the file or shows it.
    pub disposition: Disposition,
}

/// Whether a browser saves a download (`attachment`) or shows it (`inline`: in a tab, or in an
/// `<img>` for a chart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Disposition {
    #[default]
    Attachment,
    Inline,
}

impl Disposition {
    /// The `Content-Disposition` header naming the file `download_name`: [`content_disposition`]
    /// for an attachment, the same with `inline` for a file to show.
    pub fn header(self, download_name: &str) -> String {
        let attachment = content_disposition(download_name);
        match self {
            Disposition::Attachment => attachment,
            Disposition::Inline => attachment.replacen("attachment", "inline", 1),
        }
    }
}

/// The `Content-Disposition` that saves a download as `download_name` (RFC 6266): an ASCII
/// `filename` for old clients, in which anything outside printable ASCII, quotes, backslashes,
/// `%`, `;` and path separators become `_`, and the exact name as RFC 8187 `filename*`. The
/// result is always printable ASCII, so it is a valid header value whatever the name holds, and
/// nothing in the name can end the header or add a parameter. A blank name saves as `download`.
pub fn content_disposition(download_name: &str) -> String {
    let name = if download_name.trim().is_empty() {
        "download"
    } else {
        download_name
    };
    let fallback: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' | '/' | ';' => '_',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let mut header = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''");
    for byte in name.bytes() {
        // RFC 8187 attr-char; every other byte is percent-encoded.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            header.push(char::from(byte));
        } else {
            header.push_str(&format!("%{byte:02X}"));
        }
    }
    header
}

/// A URL that grants whoever holds it a download until it expires. Its `Debug` form is redacted
/// so it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedUrl {
    url: String,
    expires_at: DateTime<Utc>,
}

impl SignedUrl {
    pub fn new(url: String, expires_at: DateTime<Utc>) -> Self {
        SignedUrl { url, expires_at }
    }

    /// The URL itself; hand it to the user, never to a log.
    pub fn expose(&self) -> &str {
        &self.url
    }

    pub fn into_string(self) -> String {
        self.url
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUrl")
            .field("url", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A completed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: ObjectKey,
    /// Size in bytes of the stored object.
    pub bytes: u64,
}

/// Where exports are written and served from. Implementations: a local folder and S3.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Starts a multipart upload to `key`. Nothing is visible under `key` until
    /// [`MultipartUpload::complete`] returns; an existing object there is replaced then.
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError>;

    /// A URL that downloads `key` with `Content-Disposition: attachment; filename=<download
    /// name>` until `expires_in` from now. Like S3, it does not check that the object exists:
    /// a URL for a missing object fails when it is used.
    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        expires_in: Duration,
    ) -> Result<SignedUrl, StoreError>;

    /// Whether a completed object is stored under `key` (an upload in progress is not).
    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError>;

    /// Deletes the object under `key`; deleting what is not there succeeds, as on S3.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError>;

    /// Stores the objects `parts`, concatenated in order, as one object under `target`, served
    /// as `content`, and returns it. The parts may be of any size, empty included, and stay
    /// where they are (the caller deletes them). Nothing is visible under `target` until the
    /// whole is written, and a failure leaves nothing there; a missing part is `NotFound`.
    ///
    /// The default refuses: a store that cannot compose (a test double) says so.
    async fn compose(
        &self,
        target: &ObjectKey,
        parts: &[ObjectKey],
        content: &ContentInfo,
    ) -> Result<StoredObject, StoreError> {
        let _ = (parts, content);
        Err(StoreError::new(
            StoreErrorKind::Denied,
            format!("composing {target}: this store cannot compose objects"),
        ))
    }
}

/// An upload in progress. Parts are sent in order; every part but the last is exactly
/// [`part_size`](Self::part_size) bytes long.
#[async_trait]
pub trait MultipartUpload: Send {
    /// Size of every part except the last (S3 requires at least 5 MiB).
    fn part_size(&self) -> usize;

    /// Sends the next part. May return before the part is durable (uploads in flight are
    /// bounded); a failure of an earlier part surfaces here or at `complete`.
    async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError>;

    /// Waits for every part and makes the object visible. The pipeline always sends at least
    /// one part (an empty file is one empty part).
    async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError>;

    /// Discards every part; nothing becomes visible. Safe to call after a failed part.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// What went wrong in the object store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The store could not be reached or was overloaded; trying again may succeed.
    Unavailable,
    /// The object does not exist.
    NotFound,
    /// The store refused us (credentials, permissions).
    Denied,
    /// A key of an unsafe shape.
    InvalidKey,
    /// A local I/O failure (disk full, permissions).
    Io,
}

impl StoreErrorKind {
    /// Whether the same call may succeed if tried again.
    pub fn is_transient(self) -> bool {
        matches!(self, StoreErrorKind::Unavailable)
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreErrorKind::Unavailable => "object store unavailable",
            StoreErrorKind::NotFound => "object not found",
            StoreErrorKind::Denied => "object store denied access",
            StoreErrorKind::InvalidKey => "invalid object key",
            StoreErrorKind::Io => "object store i/o failed",
        })
    }
}

/// An object store failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl StoreError {
    /// An error of `kind` met while doing `context` (lowercase, e.g. "uploading part 3").
    pub fn new(kind: StoreErrorKind, context: impl Into<String>) -> Self {
        StoreError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// Keeps `source` as the cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// A local I/O failure while doing `context`.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::new(StoreErrorKind::Io, context).with_source(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_disposition_keeps_the_safe_file_name() {
        assert_eq!(
            Disposition::Inline.header("post-frequency \"x\".svg"),
            "inline; filename=\"post-frequency _x_.svg\"; filename*=UTF-8''post-frequency%20%22x%22.svg"
        );
        assert_eq!(
            Disposition::Attachment.header("a.svg"),
            content_disposition("a.svg")
        );
    }

    #[test]
    fn keys_are_confined_to_a_safe_shape() {
        assert!(ObjectKey::new("exports/u-1/run_2.csv.gz").is_ok());
        for bad in [
            "",
            "/abs",
            "a/../b",
            "a//b",
            "a/./b",
            "sp ace",
            "semi;colon",
            "a\\b",
            "ünï",
        ] {
            assert!(ObjectKey::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn content_disposition_names_the_download_in_ascii_and_utf8() {
        assert_eq!(
            content_disposition("export.csv"),
            "attachment; filename=\"export.csv\"; filename*=UTF-8''export.csv"
        );
        assert_eq!(
            content_disposition("Größe \"x\"\\%/.csv"),
            "attachment; filename=\"Gr__e _x____.csv\"; \
             filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%22x%22%5C%25%2F.csv"
        );
    }

    #[test]
    fn content_disposition_is_always_a_valid_header_value() {
        for name in [
            "",
            "a\r\nSet-Cookie: x",
            "名前.csv",
            "tab\there",
            "; filename=evil",
            "a\"; evil=1\r\n/..\\x.csv",
        ] {
            let value = content_disposition(name);
            assert!(
                value.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{value:?}"
            );
            assert!(value.starts_with("attachment; filename=\""));
            assert_eq!(value.matches('"').count(), 2, "{value:?}");
            assert_eq!(value.matches(';').count(), 2, "{value:?}");
        }
        assert!(content_disposition("  ").contains("filename=\"download\""));
    }

    #[test]
    fn signed_urls_never_print_in_debug_output() {
        let url = SignedUrl::new("https://x/files/a?sig=secret".into(), Utc::now());
        assert!(!format!("{url:?}").contains("secret"));
        assert_eq!(url.expose(), "https://x/files/a?sig=secret");
    }
}
