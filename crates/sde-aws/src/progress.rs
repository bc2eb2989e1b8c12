//! [`ProgressBoard`] on S3: `progress/<export id>.json` in the exports bucket, written from the
//! background at most every couple of seconds so the export loop never waits on S3.

use crate::config::S3Config;
use crate::s3_json::JsonObjects;
use async_trait::async_trait;
use sde_core::{ExportProgress, ObjectKey, ProgressBoard};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tracing::warn;

/// How often the progress of one export is written at most, by default.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

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

    /// The object key of `export_id`'s progress, if the id makes a safe key.
    fn key(export_id: &str) -> Option<String> {
        ObjectKey::new(format!("progress/{export_id}.json"))
            .ok()
            .map(|key| key.as_str().to_owned())
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

    async fn read(&self, export_id: &str) -> Option<ExportProgress> {
        let key = Self::key(export_id)?;
        if let Some(progress) = self.inner.pending().get(&key) {
            return Some(*progress);
        }
        match self.inner.objects.get::<ProgressRecord>(&key).await {
            Ok(record) => record.map(|record| ExportProgress {
                rows_written: record.rows_written,
                total_rows: record.total_rows,
            }),
            Err(error) => {
                warn!(key, error = %error, "reading export progress failed");
                None
            }
        }
    }
}
