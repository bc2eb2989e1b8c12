//! [`LocalFsStore`]: export files under `<data dir>/objects`, staged under `<data dir>/tmp`.

use crate::upload::{FileUpload, LOCAL_PART_SIZE};
use async_trait::async_trait;
use chrono::Utc;
use sde_core::{
    ContentInfo, DownloadGrant, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, SigningKey,
    StoreError, StoreErrorKind, StoredObject, UrlRefusal, UrlSigner,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tracing::info;

const SIGNING_KEY_FILE: &str = "secrets/url-signing-key";

/// A download a signed URL grants, resolved to the file that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDownload {
    pub path: PathBuf,
    pub grant: DownloadGrant,
}

/// Objects as files in a folder; downloads through signed URLs served by the local stack.
#[derive(Debug)]
pub struct LocalFsStore {
    objects_dir: PathBuf,
    staging_dir: PathBuf,
    base_url: String,
    signer: UrlSigner,
    part_size: usize,
    uploads_started: AtomicU64,
}

impl LocalFsStore {
    /// Opens the store of `data_dir`, creating its folders and, on first use, its URL-signing
    /// secret. `base_url` (e.g. `http://127.0.0.1:3000`) prefixes every signed URL.
    pub fn open(data_dir: &Path, base_url: impl Into<String>) -> Result<Self, StoreError> {
        let objects_dir = data_dir.join("objects");
        let staging_dir = data_dir.join("tmp").join("uploads");
        for dir in [&objects_dir, &staging_dir] {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let key = load_or_create_key(&data_dir.join(SIGNING_KEY_FILE))?;
        Ok(LocalFsStore {
            objects_dir,
            staging_dir,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            signer: UrlSigner::new(key, "/files/"),
            part_size: LOCAL_PART_SIZE,
            uploads_started: AtomicU64::new(0),
        })
    }

    /// Uses `part_size` for new uploads (tests use tiny parts).
    pub fn with_part_size(mut self, part_size: usize) -> Self {
        self.part_size = part_size.max(1);
        self
    }

    /// Where the object `key` lives on disk.
    pub fn object_path(&self, key: &ObjectKey) -> PathBuf {
        self.objects_dir.join(key.as_str())
    }

    /// Checks a download request (the path after `/files/` and the raw query string) and
    /// returns the file it may read.
    pub fn resolve_download(&self, key: &str, query: &str) -> Result<ResolvedDownload, UrlRefusal> {
        let grant = self.signer.verify(key, query, Utc::now())?;
        let key = ObjectKey::new(grant.key.clone()).map_err(|_| UrlRefusal::Malformed)?;
        Ok(ResolvedDownload {
            path: self.object_path(&key),
            grant,
        })
    }

    /// Deletes objects and abandoned staging files last modified more than `retention` ago, and
    /// empty folders untouched as long, returning how many files were deleted.
    pub fn sweep_expired(&self, retention: Duration) -> Result<usize, StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut deleted = 0;
        for dir in [&self.objects_dir, &self.staging_dir] {
            deleted += sweep_dir(dir, cutoff)?;
        }
        if deleted > 0 {
            info!(deleted, "expired exports deleted");
        }
        Ok(deleted)
    }
}

/// Sweeps `dir`. Uploads complete and exports are deleted while it runs, so an entry that
/// vanishes between being listed and being looked at is skipped, not an error.
fn sweep_dir(dir: &Path, cutoff: SystemTime) -> Result<usize, StoreError> {
    let io = |e| StoreError::io(format!("sweeping {}", dir.display()), e);
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let entries = match std::fs::read_dir(dir) {
        Err(error) if gone(&error) => return Ok(0),
        entries => entries.map_err(io)?,
    };
    let mut deleted = 0;
    for entry in entries {
        let entry = entry.map_err(io)?;
        let modified = match entry
            .metadata()
            .and_then(|m| Ok((m.is_dir(), m.modified()?)))
        {
            Err(error) if gone(&error) => continue,
            modified => modified.map_err(io)?,
        };
        match modified {
            (true, modified) => {
                deleted += sweep_dir(&entry.path(), cutoff)?;
                // Tidies away an empty folder untouched for the whole lifetime; a non-empty
                // one stays, and so does a recent one, which an upload may be completing into
                // (it creates the folder, then renames its file there).
                if modified < cutoff {
                    let _ = std::fs::remove_dir(entry.path());
                }
            }
            (false, modified) if modified < cutoff => match std::fs::remove_file(entry.path()) {
                Err(error) if gone(&error) => {}
                removed => {
                    removed.map_err(io)?;
                    deleted += 1;
                }
            },
            (false, _) => {}
        }
    }
    Ok(deleted)
}

fn load_or_create_key(path: &Path) -> Result<SigningKey, StoreError> {
    SigningKey::load_or_create(path)
        .map_err(|e| StoreError::io(format!("reading the signing key {}", path.display()), e))
}

#[async_trait]
impl ObjectStore for LocalFsStore {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        _content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        let n = self.uploads_started.fetch_add(1, Ordering::Relaxed);
        let staging = self.staging_dir.join(format!(
            "{}-{}-{n}.part",
            std::process::id(),
            key.file_name()
        ));
        let upload =
            FileUpload::create(key.clone(), staging, self.object_path(key), self.part_size).await?;
        Ok(Box::new(upload))
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        expires_in: Duration,
    ) -> Result<SignedUrl, StoreError> {
        let expires_in = chrono::Duration::from_std(expires_in).map_err(|e| {
            StoreError::new(
                StoreErrorKind::InvalidKey,
                "presigning with an out-of-range expiry",
            )
            .with_source(e)
        })?;
        let grant = DownloadGrant {
            key: key.as_str().to_owned(),
            expires_at: Utc::now() + expires_in,
            download_name: content.download_name.clone(),
            content_type: content.content_type.clone(),
            disposition: content.disposition,
        };
        let url = format!("{}{}", self.base_url, self.signer.sign(&grant));
        Ok(SignedUrl::new(url, grant.expires_at))
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        let path = self.object_path(key);
        tokio::fs::try_exists(&path)
            .await
            .map_err(|e| StoreError::io(format!("checking {key}"), e))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.object_path(key)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StoreError::io(format!("deleting {key}"), error)),
        }
    }

    /// Appends the parts' files to a staging file, then renames it into place.
    async fn compose(
        &self,
        target: &ObjectKey,
        parts: &[ObjectKey],
        _content: &ContentInfo,
    ) -> Result<StoredObject, StoreError> {
        let n = self.uploads_started.fetch_add(1, Ordering::Relaxed);
        let staging = self.staging_dir.join(format!(
            "{}-{}-{n}.compose",
            std::process::id(),
            target.file_name()
        ));
        let sources: Vec<(ObjectKey, PathBuf)> = parts
            .iter()
            .map(|part| (part.clone(), self.object_path(part)))
            .collect();
        let final_path = self.object_path(target);
        let written = tokio::task::spawn_blocking({
            let staging = staging.clone();
            move || concatenate(&sources, &staging, &final_path)
        })
        .await
        .map_err(|e| {
            StoreError::new(StoreErrorKind::Io, format!("composing {target}")).with_source(e)
        })?;
        match written {
            Ok(bytes) => Ok(StoredObject {
                key: target.clone(),
                bytes,
            }),
            Err(error) => {
                let _ = std::fs::remove_file(&staging);
                Err(error)
            }
        }
    }
}

/// Copies `sources` in order into `staging`, then renames it to `final_path`; returns its size.
fn concatenate(
    sources: &[(ObjectKey, PathBuf)],
    staging: &Path,
    final_path: &Path,
) -> Result<u64, StoreError> {
    let mut out = std::fs::File::create(staging)
        .map_err(|e| StoreError::io(format!("creating {}", staging.display()), e))?;
    let mut bytes = 0;
    for (key, path) in sources {
        let mut part = match std::fs::File::open(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::new(
                    StoreErrorKind::NotFound,
                    format!("composing: part {key} is missing"),
                )
                .with_source(error));
            }
            part => part.map_err(|e| StoreError::io(format!("opening part {key}"), e))?,
        };
        bytes += std::io::copy(&mut part, &mut out)
            .map_err(|e| StoreError::io(format!("copying part {key}"), e))?;
    }
    out.sync_all()
        .map_err(|e| StoreError::io(format!("flushing {}", staging.display()), e))?;
    if let Some(dir) = final_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
    }
    std::fs::rename(staging, final_path)
        .map_err(|e| StoreError::io(format!("renaming into {}", final_path.display()), e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_survives_a_reopen_so_old_links_keep_working() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalFsStore::open(dir.path(), "http://x").unwrap();
        let second = LocalFsStore::open(dir.path(), "http://x").unwrap();
        assert_eq!(first.signer.sign(&grant()), second.signer.sign(&grant()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SIGNING_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
        }
    }

    #[test]
    fn a_corrupt_signing_key_is_a_clear_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join(SIGNING_KEY_FILE), "nonsense").unwrap();
        let error = LocalFsStore::open(dir.path(), "http://x").unwrap_err();
        assert!(
            format!("{error:?}").contains("does not hold 64 hex digits"),
            "{error:?}"
        );
    }

    fn grant() -> DownloadGrant {
        DownloadGrant {
            key: "a.csv".into(),
            expires_at: chrono::DateTime::UNIX_EPOCH,
            download_name: "a.csv".into(),
            content_type: "text/csv".into(),
            disposition: sde_core::Disposition::Attachment,
        }
    }
}
