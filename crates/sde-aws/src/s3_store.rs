//! [`ObjectStore`] on S3: exports are written with a multipart upload that keeps a bounded
//! number of parts in flight, and served through presigned GET URLs that name the download.

use crate::config::{Encryption, S3Config};
use crate::errors::fault;
use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use bytes::Bytes;
use chrono::Utc;
use sde_core::{
    ContentInfo, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError, StoreErrorKind,
    StoredObject,
};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// S3 takes at most this many parts in one upload.
const MAX_PARTS: i32 = 10_000;
/// The longest a SigV4 presigned URL can live.
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Maps an S3 failure to the store's error kinds, keeping the SDK error as the cause.
pub(crate) fn store_error<E>(
    context: impl Into<String>,
    error: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let fault = fault(&error);
    let kind = if fault.transient {
        StoreErrorKind::Unavailable
    } else if fault.is_denied() || fault.is("NoSuchBucket") {
        // A missing bucket is a deployment fault, not a missing object.
        StoreErrorKind::Denied
    } else if fault.is_any(&["NoSuchKey", "NoSuchUpload", "NotFound"]) || fault.status == Some(404)
    {
        StoreErrorKind::NotFound
    } else {
        // Anything else S3 refuses (a missing bucket, an invalid argument, a part too small)
        // will be refused again: the core has no closer kind than "refused us".
        StoreErrorKind::Denied
    };
    StoreError::new(kind, context).with_source(error)
}

/// The exports bucket as an [`ObjectStore`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    config: S3Config,
}

impl S3Store {
    /// A store writing to `config.bucket` through `client` (see [`s3_client`](crate::s3_client)).
    /// A part size of 0 or fewer than one part in flight are raised to 1; parts under
    /// [`MIN_PART_SIZE`](crate::MIN_PART_SIZE) are refused by S3 for all but the last part.
    pub fn new(client: aws_sdk_s3::Client, mut config: S3Config) -> Self {
        config.part_size = config.part_size.max(1);
        config.parts_in_flight = config.parts_in_flight.max(1);
        S3Store { client, config }
    }

    /// The bucket objects are written to.
    pub fn bucket(&self) -> &str {
        &self.config.bucket
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        Ok(Box::new(self.begin_upload(key, content).await?))
    }

    async fn compose(
        &self,
        target: &ObjectKey,
        parts: &[ObjectKey],
        content: &ContentInfo,
    ) -> Result<StoredObject, StoreError> {
        crate::s3_compose::compose(self, target, parts, content).await
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        expires_in: Duration,
    ) -> Result<SignedUrl, StoreError> {
        if expires_in > MAX_PRESIGN {
            warn!(
                requested_secs = expires_in.as_secs(),
                "presigned urls live at most 7 days; shortening"
            );
        }
        let expires_in = expires_in.min(MAX_PRESIGN);
        let context = || format!("presigning {key}");
        let start = SystemTime::now();
        let presigning = PresigningConfig::builder()
            .start_time(start)
            .expires_in(expires_in)
            .build()
            .map_err(|error| {
                StoreError::new(StoreErrorKind::Denied, context()).with_source(error)
            })?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.config.bucket)
            .key(key.as_str())
            .response_content_type(&content.content_type)
            .response_content_disposition(content.disposition.header(&content.download_name))
            .presigned(presigning)
            .await
            .map_err(|error| store_error(context(), error))?;
        let expires_at = chrono::DateTime::<Utc>::from(start)
            + chrono::Duration::from_std(expires_in).unwrap_or(chrono::Duration::zero());
        Ok(SignedUrl::new(presigned.uri().to_owned(), expires_at))
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.config.bucket)
            .key(key.as_str())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error.as_service_error().is_some_and(
                    aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(store_error(format!("checking {key}"), error)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.config.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|error| store_error(format!("deleting {key}"), error))?;
        Ok(())
    }
}

impl S3Store {
    /// Starts a multipart upload of `key` (encrypted as configured, served as `content`).
    pub(crate) async fn begin_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<S3Upload, StoreError> {
        let request = self
            .client
            .create_multipart_upload()
            .bucket(&self.config.bucket)
            .key(key.as_str())
            .content_type(&content.content_type)
            .content_disposition(content.disposition.header(&content.download_name));
        let request = match &self.config.encryption {
            Encryption::S3Managed => request.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms { key_id } => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
        };
        let context = || format!("starting the upload of {key}");
        let output = request
            .send()
            .await
            .map_err(|error| store_error(context(), error))?;
        let upload_id = output
            .upload_id()
            .ok_or_else(|| StoreError::new(StoreErrorKind::Unavailable, context()))?
            .to_owned();
        debug!(key = %key, "multipart upload started");
        Ok(S3Upload {
            client: self.client.clone(),
            bucket: self.config.bucket.clone(),
            key: key.clone(),
            upload_id,
            part_size: self.config.part_size,
            parts_in_flight: self.config.parts_in_flight,
            next_part_number: 1,
            in_flight: VecDeque::new(),
            done: Vec::new(),
            bytes: 0,
            finished: false,
        })
    }

    pub(crate) fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

/// A part being uploaded: resolves to its number and ETag.
type PartTask = JoinHandle<Result<CompletedPart, StoreError>>;

/// One multipart upload in progress.
pub(crate) struct S3Upload {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: ObjectKey,
    upload_id: String,
    part_size: usize,
    parts_in_flight: usize,
    next_part_number: i32,
    /// Parts still uploading, oldest first.
    in_flight: VecDeque<PartTask>,
    /// Parts uploaded, with their ETags.
    done: Vec<CompletedPart>,
    bytes: u64,
    /// Completed or aborted: nothing left to clean up on drop.
    finished: bool,
}

impl S3Upload {
    /// Adds bytes `range` of the stored object `source` as the next part, copied inside S3
    /// (`UploadPartCopy`), so they never pass through this function.
    pub(crate) async fn copy_part(
        &mut self,
        source: &ObjectKey,
        range: std::ops::Range<u64>,
    ) -> Result<(), StoreError> {
        if self.next_part_number > MAX_PARTS {
            return Err(StoreError::new(
                StoreErrorKind::Denied,
                format!(
                    "copying into {} (s3 takes at most {MAX_PARTS} parts)",
                    self.key
                ),
            ));
        }
        while self.in_flight.len() >= self.parts_in_flight {
            self.settle_oldest().await?;
        }
        let number = self.next_part_number;
        self.next_part_number += 1;
        self.bytes += range.end - range.start;
        let request = self
            .client
            .upload_part_copy()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .part_number(number)
            // Keys hold only [A-Za-z0-9._/-], which need no escaping in a copy source.
            .copy_source(format!("{}/{}", self.bucket, source.as_str()))
            .copy_source_range(format!("bytes={}-{}", range.start, range.end - 1));
        let key = self.key.clone();
        let source = source.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            let context = || format!("copying {source} into part {number} of {key}");
            let output = request
                .send()
                .await
                .map_err(|error| store_error(context(), error))?;
            let e_tag = output
                .copy_part_result()
                .and_then(|result| result.e_tag())
                .ok_or_else(|| StoreError::new(StoreErrorKind::Unavailable, context()))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .e_tag(e_tag)
                .build())
        }));
        Ok(())
    }

    /// Waits for the oldest part in flight.
    async fn settle_oldest(&mut self) -> Result<(), StoreError> {
        let Some(task) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let part = task.await.map_err(|error| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("uploading a part of {}", self.key),
            )
            .with_source(error)
        })??;
        self.done.push(part);
        Ok(())
    }

    /// Waits for every part, then completes the upload.
    async fn finish(&mut self) -> Result<StoredObject, StoreError> {
        while !self.in_flight.is_empty() {
            self.settle_oldest().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|part| part.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| {
                store_error(format!("completing the upload of {}", self.key), error)
            })?;
        Ok(StoredObject {
            key: self.key.clone(),
            bytes: self.bytes,
        })
    }

    /// Stops the parts in flight and aborts the upload; an upload S3 no longer knows counts as
    /// aborted.
    async fn abort_now(&mut self) -> Result<(), StoreError> {
        self.finished = true;
        for task in &self.in_flight {
            task.abort();
        }
        for task in self.in_flight.drain(..) {
            let _ = task.await;
        }
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if fault(&error).is("NoSuchUpload") => Ok(()),
            Err(error) => Err(store_error(
                format!("aborting the upload of {}", self.key),
                error,
            )),
        }
    }
}

#[async_trait]
impl MultipartUpload for S3Upload {
    fn part_size(&self) -> usize {
        self.part_size
    }

    async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
        if self.next_part_number > MAX_PARTS {
            return Err(StoreError::new(
                StoreErrorKind::Denied,
                format!(
                    "uploading part {} of {} (s3 takes at most {MAX_PARTS} parts)",
                    self.next_part_number, self.key
                ),
            ));
        }
        while self.in_flight.len() >= self.parts_in_flight {
            self.settle_oldest().await?;
        }
        let number = self.next_part_number;
        self.next_part_number += 1;
        self.bytes += part.len() as u64;
        let length = i64::try_from(part.len()).unwrap_or(i64::MAX);
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(length)
            .body(ByteStream::from(part));
        let key = self.key.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            let context = || format!("uploading part {number} of {key}");
            let output = request
                .send()
                .await
                .map_err(|error| store_error(context(), error))?;
            let e_tag = output
                .e_tag()
                .ok_or_else(|| StoreError::new(StoreErrorKind::Unavailable, context()))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .e_tag(e_tag)
                .build())
        }));
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<StoredObject, StoreError> {
        match self.finish().await {
            Ok(stored) => {
                self.finished = true;
                debug!(key = %self.key, bytes = stored.bytes, "multipart upload complete");
                Ok(stored)
            }
            Err(error) => {
                if let Err(abort_error) = self.abort_now().await {
                    warn!(key = %self.key, error = %abort_error, "aborting a failed upload failed");
                }
                Err(error)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        self.abort_now().await
    }
}

impl Drop for S3Upload {
    /// An upload dropped without `complete` or `abort` (a cancelled export) is aborted in the
    /// background, best effort; the bucket's lifecycle rule cleans up whatever this misses.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for task in &self.in_flight {
            task.abort();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .upload_id(&self.upload_id);
        let key = self.key.clone();
        runtime.spawn(async move {
            if let Err(error) = request.send().await {
                warn!(key = %key, error = %aws_sdk_s3::error::DisplayErrorContext(&error), "aborting a dropped upload failed");
            }
        });
    }
}
