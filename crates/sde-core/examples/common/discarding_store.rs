//! The object store of the export benchmarks: accepts every part of every upload and forgets
//! it, so a benchmark measures the export, not the disk. Included by `fanout_latency` and
//! `pipeline_cpu` with `#[path]`.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use sde_core::ObjectKey;
use sde_core::store::{
    ContentInfo, MultipartUpload, ObjectStore, SignedUrl, StoreError, StoredObject,
};

/// The part size uploads report: the S3 adapter's default.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Accepts every part and forgets it.
#[derive(Debug)]
pub struct DiscardingStore;

pub struct DiscardingUpload {
    bytes: u64,
}

#[async_trait]
impl ObjectStore for DiscardingStore {
    async fn start_upload(
        &self,
        _: &ObjectKey,
        _: &ContentInfo,
    ) -> std::result::Result<Box<dyn MultipartUpload>, StoreError> {
        Ok(Box::new(DiscardingUpload { bytes: 0 }))
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        _: &ContentInfo,
        _: std::time::Duration,
    ) -> std::result::Result<SignedUrl, StoreError> {
        Ok(SignedUrl::new(
            format!("https://discarded/{key}"),
            Utc::now(),
        ))
    }

    async fn exists(&self, _: &ObjectKey) -> std::result::Result<bool, StoreError> {
        Ok(false)
    }

    async fn delete(&self, _: &ObjectKey) -> std::result::Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for DiscardingUpload {
    fn part_size(&self) -> usize {
        PART_SIZE
    }

    async fn upload_part(&mut self, part: Bytes) -> std::result::Result<(), StoreError> {
        self.bytes += part.len() as u64;
        Ok(())
    }

    async fn complete(self: Box<Self>) -> std::result::Result<StoredObject, StoreError> {
        Ok(StoredObject {
            key: ObjectKey::new("discarded")?,
            bytes: self.bytes,
        })
    }

    async fn abort(self: Box<Self>) -> std::result::Result<(), StoreError> {
        Ok(())
    }
}
