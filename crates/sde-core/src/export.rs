//! The export pipeline: scan every match → encode rows → gzip (optional) → fixed-size parts →
//! multipart upload → presigned URL. Memory is bounded by one batch plus one part.

use crate::criteria::PostQuery;
use crate::encode::RowEncoder;
use crate::fanout::Slice;
use crate::index::{IndexError, PostScan, SearchIndex};
use crate::links::DownloadLinks;
use crate::options::ExportOptions;
use crate::store::{
    ContentInfo, Disposition, MultipartUpload, ObjectKey, ObjectStore, SignedUrl, StoreError,
    StoredObject,
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
    /// How long the download link stays valid.
    pub url_ttl: Duration,
    pub batch_size: NonZeroUsize,
}

/// How far an export has got; sent after every batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// Runs a whole export: writes the file under `plan.key` and issues a lasting download link for
/// it. On failure nothing is left under the key.
pub async fn run_export(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    plan: &ExportPlan,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<ExportReport, ExportError> {
    let content = ContentInfo {
        content_type: plan.options.content_type().to_owned(),
        download_name: plan.download_name.clone(),
        disposition: Disposition::Attachment,
    };
    let upload = store.start_upload(&plan.key, &content).await?;
    let written = write_export(
        index,
        &plan.query,
        &plan.options,
        plan.batch_size,
        upload,
        progress,
    )
    .await?;
    let expires_at = Utc::now() + chrono::Duration::from_std(plan.url_ttl).unwrap_or_default();
    let url = links.issue(&plan.key, &content, expires_at);
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
    upload: Box<dyn MultipartUpload>,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<WrittenFile, ExportError> {
    let scan = index.scan(query, batch_size).await;
    write_scan(scan, options, true, upload, progress).await
}

/// Streams slice `slice` of the snapshot `snapshot` (opened for `query`) into `upload` and
/// completes it, like [`write_export`]. Only slice 0 writes the preamble (header row, Excel
/// BOM); with gzip each slice is a whole gzip member, so the slices' objects concatenated in
/// order are the file a single run writes, up to the order of rows.
#[allow(clippy::too_many_arguments)]
pub async fn write_export_slice(
    index: &dyn SearchIndex,
    snapshot: &str,
    query: &PostQuery,
    slice: Slice,
    options: &ExportOptions,
    batch_size: NonZeroUsize,
    upload: Box<dyn MultipartUpload>,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<WrittenFile, ExportError> {
    let scan = index.scan_slice(snapshot, query, slice, batch_size).await;
    write_scan(scan, options, slice.writes_preamble(), upload, progress).await
}

async fn write_scan(
    scan: Result<Box<dyn PostScan>, IndexError>,
    options: &ExportOptions,
    preamble: bool,
    mut upload: Box<dyn MultipartUpload>,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<WrittenFile, ExportError> {
    let mut scan = match scan {
        Ok(scan) => scan,
        Err(error) => return Err(abort(upload, error.into()).await),
    };
    let streamed = stream_rows(scan.as_mut(), options, preamble, upload.as_mut(), progress).await;
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
    preamble: bool,
    upload: &mut dyn MultipartUpload,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
) -> Result<u64, ExportError> {
    let total_rows = scan.total();
    let mut encoder = RowEncoder::new(options);
    let mut parts = PartAssembler::new(upload.part_size(), options.compress);
    if preamble {
        parts.write(|out| encoder.write_preamble(out))?;
    }
    let mut rows_written = 0u64;
    progress(ExportProgress {
        rows_written,
        total_rows,
    });
    let mut batch = Vec::new();
    while scan.next_batch(&mut batch).await? {
        parts.write(|out| {
            for post in &batch {
                encoder.write_post(post, out);
            }
        })?;
        rows_written += batch.len() as u64;
        for part in parts.full_parts() {
            upload.upload_part(part).await?;
        }
        progress(ExportProgress {
            rows_written,
            total_rows,
        });
    }
    if rows_written != total_rows {
        return Err(ExportError::RowCountMismatch {
            expected: total_rows,
            written: rows_written,
        });
    }
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

/// Where encoded rows go: straight into the part being filled, or through the compressor.
enum Sink {
    Plain(Vec<u8>),
    Gzip {
        compressor: GzEncoder<Vec<u8>>,
        /// The rows of one batch, before compression.
        rows: Vec<u8>,
    },
}

impl PartAssembler {
    fn new(part_size: usize, compress: bool) -> Self {
        // Most exports are far smaller than a part: the first buffer starts small and grows
        // with what is written. Reserving a whole part (8 MiB locally) for every export made
        // the allocator carve each from its arenas, whose touched pages it keeps resident:
        // the local stack's memory crept by megabytes per thousand small exports.
        let buffer = Vec::with_capacity(part_size.min(FIRST_BUFFER_BYTES));
        let sink = if compress {
            Sink::Gzip {
                compressor: GzEncoder::new(buffer, Compression::fast()),
                rows: Vec::with_capacity(64 * 1024),
            }
        } else {
            Sink::Plain(buffer)
        };
        PartAssembler {
            part_size: part_size.max(1),
            sink,
            parts_cut: 0,
        }
    }

    /// Appends what `encode` writes to the stream.
    fn write(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), ExportError> {
        match &mut self.sink {
            Sink::Plain(buffer) => encode(buffer),
            Sink::Gzip { compressor, rows } => {
                rows.clear();
                encode(rows);
                compressor.write_all(rows).map_err(ExportError::Compress)?;
            }
        }
        Ok(())
    }

    fn buffer(&mut self) -> &mut Vec<u8> {
        match &mut self.sink {
            Sink::Plain(buffer) => buffer,
            Sink::Gzip { compressor, .. } => compressor.get_mut(),
        }
    }

    /// Takes every complete part out of the buffer.
    fn full_parts(&mut self) -> Vec<Bytes> {
        let part_size = self.part_size;
        let buffer = self.buffer();
        let mut parts = Vec::new();
        while buffer.len() >= part_size {
            // The rest starts a buffer of a whole part, so it is not regrown (and copied) from
            // the size of a batch every time a part is cut.
            let mut rest = part_buffer(part_size);
            rest.extend_from_slice(&buffer[part_size..]);
            buffer.truncate(part_size);
            parts.push(Bytes::from(std::mem::replace(buffer, rest)));
        }
        self.parts_cut += parts.len();
        parts
    }

    /// Flushes the compressor and returns the remaining parts; the last may be short. Always
    /// yields at least one part over the whole stream, so an empty file is one empty part.
    fn finish(mut self) -> Result<Vec<Bytes>, ExportError> {
        if let Sink::Gzip { compressor, .. } = &mut self.sink {
            compressor.try_finish().map_err(ExportError::Compress)?;
        }
        let mut parts = self.full_parts();
        let rest = std::mem::take(self.buffer());
        if !rest.is_empty() || self.parts_cut == 0 {
            parts.push(Bytes::from(rest));
        }
        Ok(parts)
    }
}

/// What the first part's buffer reserves, before the export shows how large it is.
const FIRST_BUFFER_BYTES: usize = 64 * 1024;

/// An empty buffer for a part after the first, capped so that a huge part size reserves
/// nothing absurd up front. Once a part has been cut the export is known to be large, so the
/// next part's buffer is reserved whole rather than regrown (and copied) batch by batch.
fn part_buffer(part_size: usize) -> Vec<u8> {
    Vec::with_capacity(part_size.min(64 * 1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria::PageRequest;
    use crate::index::{IndexErrorKind, SearchPage};
    use crate::options::{Column, ExportFormat};
    use crate::post::{Post, UserId};
    use async_trait::async_trait;
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    /// A scan over fixed posts that can claim a wrong total or fail at a given batch.
    #[derive(Debug, Clone)]
    struct FakeIndex {
        posts: Vec<Post>,
        claimed_total: Option<u64>,
        fail_at_batch: Option<usize>,
    }

    struct FakeScan {
        batches: Vec<Vec<Post>>,
        total: u64,
        next: usize,
        fail_at_batch: Option<usize>,
        closed: Arc<Mutex<bool>>,
    }

    #[async_trait]
    impl SearchIndex for FakeIndex {
        async fn search(&self, _: &PostQuery, _: PageRequest) -> Result<SearchPage, IndexError> {
            Ok(SearchPage::default())
        }

        async fn scan(
            &self,
            _: &PostQuery,
            batch_size: NonZeroUsize,
        ) -> Result<Box<dyn PostScan>, IndexError> {
            Ok(Box::new(FakeScan {
                batches: self
                    .posts
                    .chunks(batch_size.get())
                    .map(<[Post]>::to_vec)
                    .collect(),
                total: self.claimed_total.unwrap_or(self.posts.len() as u64),
                next: 0,
                fail_at_batch: self.fail_at_batch,
                closed: Arc::new(Mutex::new(false)),
            }))
        }
    }

    #[async_trait]
    impl PostScan for FakeScan {
        fn total(&self) -> u64 {
            self.total
        }

        async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
            if self.fail_at_batch == Some(self.next) {
                return Err(IndexError::new(
                    IndexErrorKind::Unavailable,
                    "reading a batch",
                ));
            }
            self.next += 1;
            batch.clear();
            batch.extend(
                self.batches
                    .get(self.next - 1)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            Ok(!batch.is_empty())
        }

        async fn close(self: Box<Self>) -> Result<(), IndexError> {
            *self.closed.lock().unwrap() = true;
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    struct Recorded {
        parts: Vec<Vec<u8>>,
        completed: bool,
        aborted: bool,
    }

    #[derive(Debug, Clone)]
    struct RecordingUpload {
        part_size: usize,
        recorded: Arc<Mutex<Recorded>>,
    }

    #[async_trait]
    impl MultipartUpload for RecordingUpload {
        fn part_size(&self) -> usize {
            self.part_size
        }

        async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
            self.recorded.lock().unwrap().parts.push(part.to_vec());
            Ok(())
        }

        async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError> {
            let mut recorded = self.recorded.lock().unwrap();
            recorded.completed = true;
            let bytes = recorded.parts.iter().map(|p| p.len() as u64).sum();
            Ok(StoredObject {
                key: ObjectKey::new("k").unwrap(),
                bytes,
            })
        }

        async fn abort(self: Box<Self>) -> Result<(), StoreError> {
            self.recorded.lock().unwrap().aborted = true;
            Ok(())
        }
    }

    fn posts(n: usize) -> Vec<Post> {
        (0..n)
            .map(|i| Post {
                id: format!("p{i}"),
                user_id: UserId::Int(i as i64),
                date_created: "2019-07-21T10:00:00Z".parse().unwrap(),
                content: format!("post number {i}, with a comma"),
                tags: vec!["#t".into()],
            })
            .collect()
    }

    async fn export(
        index: FakeIndex,
        options: ExportOptions,
        part_size: usize,
    ) -> (
        Result<WrittenFile, ExportError>,
        Recorded,
        Vec<ExportProgress>,
    ) {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let upload = RecordingUpload {
            part_size,
            recorded: recorded.clone(),
        };
        let seen = Mutex::new(Vec::new());
        let on_progress = |p: ExportProgress| seen.lock().unwrap().push(p);
        let batch = NonZeroUsize::new(7).unwrap();
        let result = write_export(
            &index,
            &PostQuery::default(),
            &options,
            batch,
            Box::new(upload),
            &on_progress,
        )
        .await;
        let recorded = std::mem::take(&mut *recorded.lock().unwrap());
        (result, recorded, seen.into_inner().unwrap())
    }

    fn index(n: usize) -> FakeIndex {
        FakeIndex {
            posts: posts(n),
            claimed_total: None,
            fail_at_batch: None,
        }
    }

    #[tokio::test]
    async fn every_post_becomes_one_row_in_fixed_size_parts() {
        let (result, recorded, progress) = export(index(50), ExportOptions::default(), 256).await;
        let written = result.unwrap();
        assert_eq!(written.rows, 50);
        assert!(recorded.completed && !recorded.aborted);
        let (last, full) = recorded.parts.split_last().unwrap();
        assert!(full.iter().all(|p| p.len() == 256) && last.len() <= 256);
        let file: Vec<u8> = recorded.parts.concat();
        assert_eq!(written.object.bytes, file.len() as u64);
        let rows = csv::Reader::from_reader(file.as_slice()).records().count();
        assert_eq!(rows, 50);
        assert_eq!(
            progress.first(),
            Some(&ExportProgress {
                rows_written: 0,
                total_rows: 50
            })
        );
        assert_eq!(
            progress.last(),
            Some(&ExportProgress {
                rows_written: 50,
                total_rows: 50
            })
        );
        assert!(
            progress
                .windows(2)
                .all(|w| w[0].rows_written <= w[1].rows_written)
        );
    }

    #[tokio::test]
    async fn gzip_output_inflates_to_the_plain_file() {
        let (plain, plain_parts, _) = export(index(40), ExportOptions::default(), 64).await;
        plain.unwrap();
        let options = ExportOptions {
            compress: true,
            ..ExportOptions::default()
        };
        let (gzipped, gz_parts, _) = export(index(40), options, 64).await;
        let gzipped = gzipped.unwrap();
        let compressed = gz_parts.parts.concat();
        assert_eq!(gzipped.object.bytes, compressed.len() as u64);
        assert_eq!(&compressed[..2], &[0x1f, 0x8b], "gzip magic");
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, plain_parts.parts.concat());
    }

    #[tokio::test]
    async fn an_empty_result_is_a_header_only_csv() {
        let (result, recorded, _) = export(index(0), ExportOptions::default(), 1024).await;
        assert_eq!(result.unwrap().rows, 0);
        assert_eq!(
            recorded.parts,
            [b"UserID,DateCreated,Content,Tags\r\n".to_vec()]
        );
    }

    #[tokio::test]
    async fn an_empty_ndjson_result_is_one_empty_part() {
        let options = ExportOptions {
            format: ExportFormat::Ndjson,
            columns: vec![Column::Uuid],
            ..ExportOptions::default()
        };
        let (result, recorded, _) = export(index(0), options, 1024).await;
        assert_eq!(result.unwrap().object.bytes, 0);
        assert_eq!(recorded.parts, [Vec::<u8>::new()]);
    }

    #[tokio::test]
    async fn fewer_rows_than_the_index_total_fails_and_aborts_the_upload() {
        let lying = FakeIndex {
            claimed_total: Some(51),
            ..index(50)
        };
        let (result, recorded, _) = export(lying, ExportOptions::default(), 256).await;
        assert!(matches!(
            result,
            Err(ExportError::RowCountMismatch {
                expected: 51,
                written: 50
            })
        ));
        assert!(recorded.aborted && !recorded.completed);
    }

    #[tokio::test]
    async fn a_failing_scan_aborts_the_upload_and_keeps_the_cause() {
        let failing = FakeIndex {
            fail_at_batch: Some(3),
            ..index(50)
        };
        let (result, recorded, _) = export(failing, ExportOptions::default(), 256).await;
        let error = result.unwrap_err();
        assert!(error.is_transient());
        assert!(matches!(&error, ExportError::Index(e) if e.kind == IndexErrorKind::Unavailable));
        assert!(recorded.aborted && !recorded.completed);
    }

    fn assemble(part_size: usize, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut assembler = PartAssembler::new(part_size, false);
        let mut parts = Vec::new();
        for chunk in chunks {
            assembler.write(|out| out.extend_from_slice(chunk)).unwrap();
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
        assert_eq!(
            assemble(2, &[b"ab", b"cd"]),
            [b"ab".to_vec(), b"cd".to_vec()]
        );
    }

    #[test]
    fn a_small_export_does_not_reserve_a_whole_part_and_a_large_one_still_gets_whole_parts() {
        const PART: usize = 8 * 1024 * 1024;
        let mut small = PartAssembler::new(PART, false);
        small
            .write(|out| out.extend_from_slice(&[b'x'; 1000]))
            .unwrap();
        assert!(small.full_parts().is_empty());
        assert!(
            small.buffer().capacity() <= FIRST_BUFFER_BYTES,
            "a 1,000-byte export reserved {} bytes",
            small.buffer().capacity()
        );
        let parts = small.finish().unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].len(), 1000);

        let mut large = PartAssembler::new(PART, false);
        large.write(|out| out.resize(PART + 10, b'y')).unwrap();
        let parts = large.full_parts();
        assert_eq!(parts.iter().map(Bytes::len).collect::<Vec<_>>(), [PART]);
        assert_eq!(large.buffer().len(), 10);
        assert!(
            large.buffer().capacity() >= PART,
            "after a part is cut the next one is reserved whole"
        );
    }

    #[test]
    fn an_empty_stream_is_one_empty_part() {
        assert_eq!(assemble(4, &[]), [Vec::<u8>::new()]);
    }
}
