//! [`ProgressBoard`] on S3: `progress/<export id>.json` in the exports bucket, written from the
//! background at most every couple of seconds so the export loop never waits on S3.
//!
//! A sliced export's slices record under their own ids
//! ([`slice_progress_id`](sde_core::slice_progress_id)), stored as
//! `progress/<export id>/slice-<n>-of-<count>.json`, and reading the export answers their sum.
//! One object per slice, each written only by its own slice, so concurrent slices never
//! overwrite each other's progress (a shared sum object would need a read-modify-write race
//! between up to 8 running slices). The cost falls on reads, which happen on status polls and
//! export lists: an export that is not sliced is one GET as before (plus one LIST before its
//! first progress is written); a sliced one is a GET that finds nothing, one LIST of its prefix,
//! and one GET per slice that has started (at most `SDE_EXPORT_MAX_SLICES`, 64), sent 16 at a
//! time — about 3 round trips of latency, and at S3's request prices well under a thousandth of
//! a cent per poll. The readers' roles already may `s3:ListBucket` (a missing key must be a 404).

use crate::config::S3Config;
use crate::s3_json::JsonObjects;
use async_trait::async_trait;
use sde_core::{ExportProgress, ObjectKey, ProgressBoard, export_of_slice_progress};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tracing::warn;

/// How often the progress of one export is written at most, by default.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Slice progress objects read at once when summing a sliced export.
const SLICE_READS_AT_ONCE: usize = 16;

/// The stored form of [`ExportProgress`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProgressRecord {
    rows_written: u64,
    total_rows: u64,
}

/// Progress of running exports, kept in S3 for `report-status` to read.
///
/// [`record`](ProgressBoard::record) only remembers the latest value; a task spawned on the
/// current Tokio runtime writes it (without a runtime nothing is written). A Lambda function
/// should call [`flush`](Self::flush) before it returns, since a frozen sandbox runs no tasks.
#[derive(Debug, Clone)]
pub struct S3ProgressBoard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    objects: JsonObjects,
    interval: Duration,
    /// Latest unwritten progress by object key.
    pending: Mutex<HashMap<String, ExportProgress>>,
    /// A background writer is running.
    writer_running: AtomicBool,
    /// Held while a batch is taken and written, so an older value never lands after a newer.
    writing: tokio::sync::Mutex<()>,
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, HashMap<String, ExportProgress>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes every pending value and writes it; returns how many there were.
    async fn write_pending(&self) -> usize {
        let _writing = self.writing.lock().await;
        let batch = std::mem::take(&mut *self.pending());
        let count = batch.len();
        for (key, progress) in batch {
            let record = ProgressRecord {
                rows_written: progress.rows_written,
                total_rows: progress.total_rows,
            };
            if let Err(error) = self.objects.put(&key, &record).await {
                warn!(key, error = %error, "writing export progress failed");
            }
        }
        count
    }
}

/// Writes pending progress, then waits an interval, until nothing is pending.
async fn write_in_background(inner: Arc<Inner>) {
    loop {
        if inner.write_pending().await == 0 {
            inner.writer_running.store(false, Ordering::SeqCst);
            // A `record` between the write above and the store may have seen a running writer
            // and left its value to us: take over again unless another writer already has.
            if inner.pending().is_empty() || inner.writer_running.swap(true, Ordering::SeqCst) {
                return;
            }
            continue;
        }
        tokio::time::sleep(inner.interval).await;
    }
}

impl S3ProgressBoard {
    /// A board in `config.bucket`, written with `config.encryption`, at most every 2 s per
    /// export.
    pub fn new(client: aws_sdk_s3::Client, config: &S3Config) -> Self {
        Self::with_interval(client, config, DEFAULT_INTERVAL)
    }

    /// A board that writes each export's progress at most every `interval`.
    pub fn with_interval(
        client: aws_sdk_s3::Client,
        config: &S3Config,
        interval: Duration,
    ) -> Self {
        S3ProgressBoard {
            inner: Arc::new(Inner {
                objects: JsonObjects {
                    client,
                    bucket: config.bucket.clone(),
                    encryption: config.encryption.clone(),
                },
                interval,
                pending: Mutex::new(HashMap::new()),
                writer_running: AtomicBool::new(false),
                writing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Writes every recorded value not yet written, now.
    pub async fn flush(&self) {
        self.inner.write_pending().await;
    }

    /// The object key of `id`'s progress, if the id makes a safe key: `progress/<export>.json`
    /// for an export, `progress/<export>/slice-<n>-of-<count>.json` for one of its slices.
    fn key(id: &str) -> Option<String> {
        let key = match export_of_slice_progress(id) {
            None => format!("progress/{id}.json"),
            Some(export) => {
                let slice = id[export.len()..].trim_start_matches('#');
                format!("{}{slice}.json", Self::slices_prefix(export))
            }
        };
        ObjectKey::new(key).ok().map(|key| key.as_str().to_owned())
    }

    /// Where the progress of `export_id`'s slices lives.
    fn slices_prefix(export_id: &str) -> String {
        format!("progress/{export_id}/")
    }

    /// The sum of the progress of `export_id`'s slices, stored or still pending here; `None`
    /// when no slice has recorded any.
    async fn slices_sum(&self, export_id: &str) -> Option<ExportProgress> {
        let prefix = Self::slices_prefix(export_id);
        // Validates the export id the way `key` does before it reaches a LIST.
        ObjectKey::new(format!("{prefix}x")).ok()?;
        let mut found: HashMap<String, ExportProgress> = match self.stored_slices(&prefix).await {
            Ok(found) => found,
            Err(error) => {
                warn!(prefix, error = %error, "reading sliced export progress failed");
                HashMap::new()
            }
        };
        for (key, progress) in self.inner.pending().iter() {
            if key.starts_with(&prefix) {
                found.insert(key.clone(), *progress);
            }
        }
        if found.is_empty() {
            return None;
        }
        Some(
            found
                .values()
                .fold(ExportProgress::default(), |sum, slice| ExportProgress {
                    rows_written: sum.rows_written + slice.rows_written,
                    total_rows: sum.total_rows + slice.total_rows,
                }),
        )
    }

    /// The slice progress objects under `prefix`, by key.
    async fn stored_slices(
        &self,
        prefix: &str,
    ) -> Result<HashMap<String, ExportProgress>, aws_sdk_s3::Error> {
        let objects = &self.inner.objects;
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = objects
                .client
                .list_objects_v2()
                .bucket(&objects.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter(|key| key.ends_with(".json"))
                    .map(str::to_owned),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut found = HashMap::new();
        for chunk in keys.chunks(SLICE_READS_AT_ONCE) {
            let mut reads = tokio::task::JoinSet::new();
            for key in chunk {
                let (objects, key) = (objects.clone(), key.clone());
                reads.spawn(async move {
                    let record = objects.get::<ProgressRecord>(&key).await;
                    (key, record)
                });
            }
            while let Some(read) = reads.join_next().await {
                match read {
                    Ok((key, Ok(Some(record)))) => {
                        found.insert(
                            key,
                            ExportProgress {
                                rows_written: record.rows_written,
                                total_rows: record.total_rows,
                            },
                        );
                    }
                    // Deleted between the list and the read.
                    Ok((_, Ok(None))) => {}
                    Ok((key, Err(error))) => {
                        warn!(key, error = %error, "reading a slice's progress failed");
                    }
                    Err(error) => warn!(error = %error, "reading a slice's progress failed"),
                }
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl ProgressBoard for S3ProgressBoard {
    fn record(&self, export_id: &str, progress: ExportProgress) {
        let Some(key) = Self::key(export_id) else {
            warn!(
                export_id,
                "export id makes no safe key; progress not recorded"
            );
            return;
        };
        self.inner.pending().insert(key, progress);
        if self.inner.writer_running.swap(true, Ordering::SeqCst) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(write_in_background(Arc::clone(&self.inner)));
            }
            Err(_) => self.inner.writer_running.store(false, Ordering::SeqCst),
        }
    }

    /// The export's own progress, or, for a sliced export, the sum of its slices' progress
    /// recorded so far.
    async fn read(&self, export_id: &str) -> Option<ExportProgress> {
        let key = Self::key(export_id)?;
        if let Some(progress) = self.inner.pending().get(&key) {
            return Some(*progress);
        }
        let own = match self.inner.objects.get::<ProgressRecord>(&key).await {
            Ok(record) => record.map(|record| ExportProgress {
                rows_written: record.rows_written,
                total_rows: record.total_rows,
            }),
            Err(error) => {
                warn!(key, error = %error, "reading export progress failed");
                None
            }
        };
        match own {
            Some(progress) => Some(progress),
            None if export_of_slice_progress(export_id).is_none() => {
                self.slices_sum(export_id).await
            }
            None => None,
        }
    }
}
