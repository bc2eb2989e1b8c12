//! The export pipeline: scan every match → encode rows → gzip (optional) → fixed-size parts →
//! multipart upload → presigned URL. Memory is bounded by one batch plus one part.

use crate::criteria::PostQuery;
use crate::encode::RowEncoder;
use crate::index::{IndexError, PostScan, SearchIndex};
use crate::options::ExportOptions;
use crate::store::{
    ContentInfo, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError, StoredObject,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Duration;
use tracing::{info, warn};

/// Posts fetched from the index per batch unless the plan says otherwise.
pub const DEFAULT_BATCH_SIZE: NonZeroUsize = match NonZeroUsize::new(2_000) {
    Some(n) => n,
    None => unreachable!(),
};

/// Everything one export needs to know.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    pub query: PostQuery,
    pub options: ExportOptions,
    /// Where the file is stored.
    pub key: ObjectKey,
    /// File name the browser saves the download as.
    pub download_name: String,
    /// How long the download URL stays valid.
    pub url_ttl: Duration,
    pub batch_size: NonZeroUsize,
}

/// How far an export has got; sent after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportProgress {
    pub rows_written: u64,
    pub total_rows: u64,
}

/// A finished export.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub key: ObjectKey,
    pub url: SignedUrl,
    pub rows: u64,
    pub bytes: u64,
    pub expires_at: DateTime<Utc>,
}

/// A file written by [`write_export`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub object: StoredObject,
    pub rows: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the search results failed")]
    Index(#[source] IndexError),
    #[error("writing the export file failed")]
    Store(#[source] StoreError),
    #[error("the index reported {expected} matching posts but {written} were written")]
    RowCountMismatch { expected: u64, written: u64 },
    #[error("compressing the export failed")]
    Compress(#[source] std::io::Error),
}

impl From<IndexError> for ExportError {
    fn from(error: IndexError) -> Self {
        ExportError::Index(error)
    }
}

impl From<StoreError> for ExportError {
    fn from(error: StoreError) -> Self {
        ExportError::Store(error)
    }
}

impl ExportError {
    /// Whether running the same export again may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ExportError::Index(error) => error.kind.is_transient(),
            ExportError::Store(error) => error.kind.is_transient(),
            // The index changed under the scan; a fresh scan sees a consistent snapshot.
            ExportError::RowCountMismatch { .. } => true,
            ExportError::Compress(_) => false,
        }
    }
}

/// Runs a whole export: writes the file under `plan.key` and presigns a download URL for it.
/// On failure nothing is left under the key.
pub async fn run_export(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    plan: &ExportPlan,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<ExportReport, ExportError> {
    let content = ContentInfo {
        content_type: plan.options.content_type().to_owned(),
        download_name: plan.download_name.clone(),
    };
    let upload = store.start_upload(&plan.key, &content).await?;
    let written =
        write_export(index, &plan.query, &plan.options, plan.batch_size, upload, progress).await?;
    let url = store.presign_get(&plan.key, &content, plan.url_ttl).await?;
    info!(rows = written.rows, bytes = written.object.bytes, key = %plan.key, "export complete");
    Ok(ExportReport {
        key: written.object.key,
        expires_at: url.expires_at(),
        url,
        rows: written.rows,
        bytes: written.object.bytes,
    })
}

/// Streams every post matching `query` into `upload` and completes it; on any failure the upload
/// is aborted. The number of rows written must equal the scan's total.
pub async fn write_export(
    index: &dyn SearchIndex,
    query: &PostQuery,
    options: &ExportOptions,
    batch_size: NonZeroUsize,
    mut upload: Box<dyn MultipartUpload>,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<WrittenFile, ExportError> {
    let mut scan = match index.scan(query, batch_size).await {
        Ok(scan) => scan,
        Err(error) => return Err(abort(upload, error.into()).await),
    };
    let streamed = stream_rows(scan.as_mut(), options, upload.as_mut(), progress).await;
    if let Err(error) = scan.close().await {
        warn!(error = %error, "closing the scan failed");
    }
    match streamed {
        Ok(rows) => match upload.complete().await {
            Ok(object) => Ok(WrittenFile { object, rows }),
            Err(error) => Err(error.into()),
        },
        Err(error) => Err(abort(upload, error).await),
    }
}

async fn abort(upload: Box<dyn MultipartUpload>, error: ExportError) -> ExportError {
    if let Err(abort_error) = upload.abort().await {
        warn!(error = %abort_error, "aborting the upload failed");
    }
    error
}

async fn stream_rows(
    scan: &mut dyn PostScan,
    options: &ExportOptions,
    upload: &mut dyn MultipartUpload,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<u64, ExportError> {
    let total_rows = scan.total();
    let mut encoder = RowEncoder::new(options);
    let mut parts = PartAssembler::new(upload.part_size(), options.compress);
    let mut rows_buffer = Vec::with_capacity(64 * 1024);
    encoder.write_preamble(&mut rows_buffer);
    let mut rows_written = 0u64;
    progress(ExportProgress { rows_written, total_rows });
    while let Some(batch) = scan.next_batch().await? {
        for post in &batch {
            encoder.write_post(post, &mut rows_buffer);
        }
        rows_written += batch.len() as u64;
        parts.push(&rows_buffer)?;
        rows_buffer.clear();
        for part in parts.full_parts() {
            upload.upload_part(part).await?;
        }
        progress(ExportProgress { rows_written, total_rows });
    }
    if rows_written != total_rows {
        return Err(ExportError::RowCountMismatch { expected: total_rows, written: rows_written });
    }
    parts.push(&rows_buffer)?;
    for part in parts.finish()? {
        upload.upload_part(part).await?;
    }
    Ok(rows_written)
}

/// Cuts the (optionally gzipped) byte stream into parts of exactly `part_size`, keeping at
/// most one part plus one batch in memory.
struct PartAssembler {
    part_size: usize,
    sink: Sink,
    parts_cut: usize,
}

enum Sink {
    Plain(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
}

impl PartAssembler {
    fn new(part_size: usize, compress: bool) -> Self {
        let buffer = Vec::with_capacity(part_size.min(64 * 1024 * 1024));
        let sink = if compress {
            Sink::Gzip(GzEncoder::new(buffer, Compression::fast()))
        } else {
            Sink::Plain(buffer)
        };
        PartAssembler { part_size: part_size.max(1), sink, parts_cut: 0 }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Plain(buffer) => buffer.extend_from_slice(bytes),
            Sink::Gzip(encoder) => encoder.write_all(bytes).map_err(ExportError::Compress)?,
        }
        Ok(())
    }

    fn buffer(&mut self) -> &mut Vec<u8> {
        match &mut self.sink {
            Sink::Plain(buffer) => buffer,
            Sink::Gzip(encoder) => encoder.get_mut(),
        }
    }

    /// Takes every complete part out of the buffer.
    fn full_parts(&mut self) -> Vec<Bytes> {
        let part_size = self.part_size;
        let buffer = self.buffer();
        let mut parts = Vec::new();
        while buffer.len() >= part_size {
            let rest = buffer.split_off(part_size);
            let part = std::mem::replace(buffer, rest);
            parts.push(Bytes::from(part));
        }
        self.parts_cut += parts.len();
        parts
    }

    /// Flushes the compressor and returns the remaining parts; the last may be short. Always
    /// yields at least one part over the whole stream, so an empty file is one empty part.
    fn finish(mut self) -> Result<Vec<Bytes>, ExportError> {
        if let Sink::Gzip(encoder) = &mut self.sink {
            encoder.try_finish().map_err(ExportError::Compress)?;
        }
        let mut parts = self.full_parts();
        let rest = std::mem::take(self.buffer());
        if !rest.is_empty() || self.parts_cut == 0 {
            parts.push(Bytes::from(rest));
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(part_size: usize, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut assembler = PartAssembler::new(part_size, false);
        let mut parts = Vec::new();
        for chunk in chunks {
            assembler.push(chunk).unwrap();
            parts.extend(assembler.full_parts());
        }
        parts.extend(assembler.finish().unwrap());
        parts.into_iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn parts_are_exactly_part_size_except_a_short_last_one() {
        let parts = assemble(4, &[b"abc", b"defghij", b"k"]);
        assert_eq!(parts, [b"abcd".to_vec(), b"efgh".to_vec(), b"ijk".to_vec()]);
    }

    #[test]
    fn a_stream_that_fills_its_last_part_exactly_has_no_empty_tail() {
        assert_eq!(assemble(2, &[b"ab", b"cd"]), [b"ab".to_vec(), b"cd".to_vec()]);
    }

    #[test]
    fn an_empty_stream_is_one_empty_part() {
        assert_eq!(assemble(4, &[]), [Vec::<u8>::new()]);
    }
}
