//! Composing stored objects into one on S3: a multipart upload whose parts are copied inside S3
//! (`UploadPartCopy`) wherever S3's rules allow, and read and re-sent only where they do not.
//!
//! S3 refuses a part under 5 MiB unless it is the last, and a copied part over 5 GiB. The parts
//! to compose can be any size (a slice that matched few posts is small), so the concatenation is
//! cut afresh: bytes run into a buffer only while the buffer is under 5 MiB (a small part, or the
//! head of the next part that tops the buffer up to 5 MiB), and every stretch of at least 5 MiB
//! from one source is copied in S3 without passing through here. So at most 5 MiB is ever held,
//! and every part but the last is at least 5 MiB.

use crate::MIN_PART_SIZE;
use crate::s3_store::{S3Store, S3Upload, store_error};
use bytes::Bytes;
use sde_core::{
    ContentInfo, MultipartUpload as _, ObjectKey, StoreError, StoreErrorKind, StoredObject,
};
use std::ops::Range;
use tracing::{debug, warn};

/// Largest part `UploadPartCopy` takes.
const MAX_COPY_PART: u64 = 5 * 1024 * 1024 * 1024;

/// One step of a composition: bytes `range` of `source`, copied in S3 or read into the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Copy { source: usize, range: Range<u64> },
    Read { source: usize, range: Range<u64> },
}

/// Cuts the concatenation of sources of `sizes` bytes into steps such that, sending a buffer as
/// a part whenever it reaches `min_part` and once at the end, every part but the last is at
/// least `min_part` and none over `max_copy`.
pub(crate) fn plan(sizes: &[u64], min_part: u64, max_copy: u64) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut buffered = 0u64;
    for (source, &size) in sizes.iter().enumerate() {
        let mut at = 0u64;
        while at < size {
            let left = size - at;
            if buffered > 0 || left < min_part {
                let take = left.min(min_part - buffered);
                steps.push(Step::Read {
                    source,
                    range: at..at + take,
                });
                at += take;
                buffered = (buffered + take) % min_part;
                continue;
            }
            let mut take = left.min(max_copy);
            let rest = left - take;
            if rest > 0 && rest < min_part {
                // Leave a whole part's worth for the next copy rather than a short tail.
                take = left - min_part;
            }
            steps.push(Step::Copy {
                source,
                range: at..at + take,
            });
            at += take;
        }
    }
    steps
}

pub(crate) async fn compose(
    store: &S3Store,
    target: &ObjectKey,
    parts: &[ObjectKey],
    content: &ContentInfo,
) -> Result<StoredObject, StoreError> {
    let mut sizes = Vec::with_capacity(parts.len());
    for part in parts {
        sizes.push(size_of(store, part).await?);
    }
    let min_part = MIN_PART_SIZE as u64;
    let steps = plan(&sizes, min_part, MAX_COPY_PART);
    let mut upload = store.begin_upload(target, content).await?;
    match run(store, &mut upload, parts, &steps, min_part).await {
        Ok(()) => {
            let stored = Box::new(upload).complete().await?;
            debug!(key = %target, parts = parts.len(), bytes = stored.bytes, "objects composed");
            Ok(stored)
        }
        Err(error) => {
            if let Err(abort_error) = Box::new(upload).abort().await {
                warn!(key = %target, error = %abort_error, "aborting a failed composition failed");
            }
            Err(error)
        }
    }
}

async fn run(
    store: &S3Store,
    upload: &mut S3Upload,
    parts: &[ObjectKey],
    steps: &[Step],
    min_part: u64,
) -> Result<(), StoreError> {
    let mut buffer: Vec<u8> = Vec::new();
    for step in steps {
        match step {
            Step::Copy { source, range } => {
                upload.copy_part(&parts[*source], range.clone()).await?
            }
            Step::Read { source, range } => {
                buffer.extend_from_slice(&read_range(store, &parts[*source], range).await?);
                if buffer.len() as u64 >= min_part {
                    upload
                        .upload_part(Bytes::from(std::mem::take(&mut buffer)))
                        .await?;
                }
            }
        }
    }
    if !buffer.is_empty() || steps.is_empty() {
        // The short last part, or the one empty part of an empty object.
        upload.upload_part(Bytes::from(buffer)).await?;
    }
    Ok(())
}

async fn size_of(store: &S3Store, key: &ObjectKey) -> Result<u64, StoreError> {
    let head = store
        .client()
        .head_object()
        .bucket(store.bucket())
        .key(key.as_str())
        .send()
        .await
        .map_err(|error| {
            let missing = error
                .as_service_error()
                .is_some_and(aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found);
            let error = store_error(format!("composing: reading the size of {key}"), error);
            if missing {
                StoreError::new(
                    StoreErrorKind::NotFound,
                    format!("composing: part {key} is missing"),
                )
                .with_source(error)
            } else {
                error
            }
        })?;
    Ok(head
        .content_length()
        .and_then(|length| u64::try_from(length).ok())
        .unwrap_or(0))
}

async fn read_range(
    store: &S3Store,
    key: &ObjectKey,
    range: &Range<u64>,
) -> Result<Bytes, StoreError> {
    let context = || format!("composing: reading bytes {range:?} of {key}");
    let output = store
        .client()
        .get_object()
        .bucket(store.bucket())
        .key(key.as_str())
        .range(format!("bytes={}-{}", range.start, range.end - 1))
        .send()
        .await
        .map_err(|error| store_error(context(), error))?;
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|error| {
            StoreError::new(StoreErrorKind::Unavailable, context()).with_source(error)
        })?
        .into_bytes();
    if bytes.len() as u64 != range.end - range.start {
        return Err(StoreError::new(StoreErrorKind::Unavailable, context()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts a plan sends: copies as they are, reads gathered into buffers of `min`.
    fn part_sizes(steps: &[Step], min: u64) -> Vec<u64> {
        let mut parts = Vec::new();
        let mut buffered = 0;
        for step in steps {
            match step {
                Step::Copy { range, .. } => parts.push(range.end - range.start),
                Step::Read { range, .. } => {
                    buffered += range.end - range.start;
                    if buffered >= min {
                        parts.push(buffered);
                        buffered = 0;
                    }
                }
            }
        }
        if buffered > 0 {
            parts.push(buffered);
        }
        parts
    }

    #[test]
    fn every_part_but_the_last_is_at_least_the_minimum_and_every_byte_is_sent_once() {
        let (min, max) = (5, 12);
        for sizes in [
            vec![6, 1, 0, 12, 2],
            vec![1, 1, 1, 1, 1, 1, 1],
            vec![30, 4, 13, 5, 0],
            vec![0, 0],
            vec![4],
            vec![25],
            vec![3, 40, 3],
        ] {
            let steps = plan(&sizes, min, max);
            let parts = part_sizes(&steps, min);
            let total: u64 = sizes.iter().sum();
            assert_eq!(parts.iter().sum::<u64>(), total, "{sizes:?}");
            if let Some((_, full)) = parts.split_last() {
                assert!(full.iter().all(|&p| p >= min), "{sizes:?} → {parts:?}");
            }
            assert!(
                parts.iter().all(|&p| p <= max.max(min)),
                "{sizes:?} → {parts:?}"
            );
            // Steps read each source front to back without gaps.
            let mut next = vec![0u64; sizes.len()];
            for step in &steps {
                let (Step::Copy { source, range } | Step::Read { source, range }) = step;
                assert_eq!(range.start, next[*source]);
                next[*source] = range.end;
            }
            assert_eq!(next, sizes);
        }
    }

    #[test]
    fn large_stretches_are_copied_and_only_small_ones_read() {
        let steps = plan(&[6, 1, 12, 2], 5, 100);
        assert_eq!(
            steps,
            [
                Step::Copy {
                    source: 0,
                    range: 0..6
                },
                Step::Read {
                    source: 1,
                    range: 0..1
                },
                Step::Read {
                    source: 2,
                    range: 0..4
                },
                Step::Copy {
                    source: 2,
                    range: 4..12
                },
                Step::Read {
                    source: 3,
                    range: 0..2
                },
            ]
        );
    }
}
