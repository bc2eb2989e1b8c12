//! A multipart upload into a local file: parts are appended to a hidden temporary file that is
//! renamed into place on completion, so a failed or crashed export never leaves a visible file.

use async_trait::async_trait;
use bytes::Bytes;
use sde_core::{MultipartUpload, ObjectKey, StoreError, StoredObject};
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::fs;
use tracing::warn;

/// Part size of local uploads; any size works locally, this one keeps writes large.
pub const LOCAL_PART_SIZE: usize = 8 * 1024 * 1024;

/// An upload that becomes the file at `final_path` when completed.
#[derive(Debug)]
pub struct FileUpload {
    key: ObjectKey,
    temp_path: PathBuf,
    final_path: PathBuf,
    /// Shared with the blocking task writing the current part.
    file: Option<Arc<File>>,
    part_size: usize,
    bytes: u64,
}

impl FileUpload {
    /// Starts an upload to `final_path`, staging parts in `temp_path` (same file system).
    pub async fn create(
        key: ObjectKey,
        temp_path: PathBuf,
        final_path: PathBuf,
        part_size: usize,
    ) -> Result<Self, StoreError> {
        if let Some(dir) = temp_path.parent() {
            fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let file = fs::File::create(&temp_path)
            .await
            .map_err(|e| StoreError::io(format!("creating {}", temp_path.display()), e))?
            .into_std()
            .await;
        Ok(FileUpload {
            key,
            temp_path,
            final_path,
            file: Some(Arc::new(file)),
            part_size,
            bytes: 0,
        })
    }

    /// An upload straight to a file of the caller's choosing (the `sde export --out` case),
    /// staged beside it as `.<name>.part`.
    pub async fn to_path(final_path: &Path) -> Result<Self, StoreError> {
        let name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let temp_path = final_path.with_file_name(format!(".{name}.{}.part", std::process::id()));
        let key = ObjectKey::new(sanitise_key(&name))?;
        Self::create(key, temp_path, final_path.to_path_buf(), LOCAL_PART_SIZE).await
    }

    async fn discard(&mut self) {
        self.file = None;
        if let Err(error) = fs::remove_file(&self.temp_path).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            warn!(path = %self.temp_path.display(), error = %error, "removing an aborted upload failed");
        }
    }
}

fn sanitise_key(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe == "." || safe == ".." {
        "export".into()
    } else {
        safe
    }
}

#[async_trait]
impl MultipartUpload for FileUpload {
    fn part_size(&self) -> usize {
        self.part_size
    }

    async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
        let Some(file) = self.file.as_mut() else {
            return Err(StoreError::io(
                "writing a part",
                std::io::Error::other("upload already finished"),
            ));
        };
        // One blocking write of the whole part, straight from its buffer (tokio's own file
        // would copy it into chunks of its own first).
        let file = Arc::clone(file);
        let bytes = part.len() as u64;
        tokio::task::spawn_blocking(move || (&*file).write_all(&part))
            .await
            .map_err(std::io::Error::other)
            .and_then(|written| written)
            .map_err(|e| StoreError::io(format!("writing {}", self.temp_path.display()), e))?;
        self.bytes += bytes;
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<StoredObject, StoreError> {
        let Some(file) = self.file.take() else {
            return Err(StoreError::io(
                "completing",
                std::io::Error::other("upload already finished"),
            ));
        };
        let finished = async {
            tokio::task::spawn_blocking(move || file.sync_all())
                .await
                .map_err(std::io::Error::other)??;
            if let Some(dir) = self.final_path.parent() {
                fs::create_dir_all(dir).await?;
            }
            fs::rename(&self.temp_path, &self.final_path).await
        }
        .await;
        if let Err(error) = finished {
            self.discard().await;
            return Err(StoreError::io(
                format!("storing {}", self.final_path.display()),
                error,
            ));
        }
        Ok(StoredObject {
            key: self.key.clone(),
            bytes: self.bytes,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        self.discard().await;
        Ok(())
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        // An upload dropped without complete or abort (a panic, a cancelled task) must not leave
        // its staging file behind.
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}
