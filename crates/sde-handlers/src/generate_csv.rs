//! `generate-csv`: run the export of one execution and report where the file is.

use crate::execution::{ExecutionInput, ExportOutput};
use crate::task_failure::{TaskFailure, names};
use async_trait::async_trait;
use bytes::Bytes;
use sde_core::export::run_export;
use sde_core::{
    ContentInfo, DownloadLinks, ExportError, ExportOptions, ExportPlan, FanOutSettings,
    MultipartUpload, ObjectKey, ObjectStore, ProgressBoard, SearchCriteria, SearchIndex, SignedUrl,
    StoreError, StoreErrorKind, StoredObject, Workflow,
};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::{info, warn};

/// Settings of the export function, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSettings {
    /// How long download links stay valid (they point at our download route, which checks them
    /// and redirects to a short-lived presigned URL).
    pub url_ttl: Duration,
    /// Posts read from the index per batch.
    pub batch_size: NonZeroUsize,
    /// How often a running export asks whether its execution was stopped (a cancel): on AWS,
    /// stopping an execution does not stop the invocation running its task.
    pub stop_check_every: Duration,
    /// How large results are cut into slices (see [`sde_core::fanout`]).
    pub fan_out: FanOutSettings,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            url_ttl: Duration::from_secs(24 * 3600),
            batch_size: sde_core::export::DEFAULT_BATCH_SIZE,
            stop_check_every: Duration::from_secs(10),
            fan_out: FanOutSettings::default(),
        }
    }
}

/// Exports every post matching the execution's criteria to `exports/<owner>/<export id>.<ext>`.
/// Every `settings.stop_check_every` it asks `workflow` whether its execution still runs; once
/// it does not (the export was cancelled), the next part or the completion aborts the upload,
/// so nothing is stored, and the task fails as `Export.Cancelled`.
pub async fn generate_csv(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    progress: &dyn ProgressBoard,
    workflow: &dyn Workflow,
    settings: ExportSettings,
    input: &ExecutionInput,
) -> Result<ExportOutput, TaskFailure> {
    let criteria = SearchCriteria::try_from(&input.search_criteria)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let options = ExportOptions::try_from(&input.options)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let extension = options.extension();
    let key =
        export_key(input, &options).map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let plan = ExportPlan {
        query: criteria.query,
        options,
        key,
        download_name: download_name(&input.export_id, &extension),
        url_ttl: settings.url_ttl,
        batch_size: settings.batch_size,
    };
    let on_progress = |p| progress.record(&input.export_id, p);
    let report = until_stopped(
        workflow,
        &input.export_id,
        settings,
        store,
        |guarded| async move { run_export(index, &guarded, links, &plan, &on_progress).await },
    )
    .await?;
    Ok(ExportOutput {
        key: report.key.to_string(),
        report_url: report.url.into_string(),
        rows: report.rows,
        bytes: report.bytes,
        expires_at: report.expires_at,
    })
}

/// Runs `work` on the export store guarded by [`StopAware`], asking every
/// `settings.stop_check_every` whether the execution of `export_id` still runs; once it does
/// not, the guarded store aborts the upload and the task fails as `Export.Cancelled`.
pub(crate) async fn until_stopped<'a, T, F, Fut>(
    workflow: &dyn Workflow,
    export_id: &str,
    settings: ExportSettings,
    store: &'a dyn ObjectStore,
    work: F,
) -> Result<T, TaskFailure>
where
    F: FnOnce(StopAware<'a>) -> Fut,
    Fut: std::future::Future<Output = Result<T, ExportError>>,
{
    let stopped = Arc::new(AtomicBool::new(false));
    let done = AtomicBool::new(false);
    let guarded = StopAware {
        store,
        stopped: stopped.clone(),
    };
    let export = async {
        let result = work(guarded).await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let arn = workflow.execution_arn(export_id);
    let watch = watch_for_stop(workflow, &arn, settings.stop_check_every, &stopped, &done);
    let (result, ()) = tokio::join!(export, watch);
    if stopped.load(Ordering::SeqCst) {
        info!(export_id, "export stopped midway; its upload was aborted");
        return Err(TaskFailure::new(
            names::CANCELLED,
            "the execution was stopped while the export ran; its upload was aborted",
        ));
    }
    Ok(result?)
}

/// Asks every `every` whether `execution_arn` still runs, until `done`; sets `stopped` once it
/// does not. A describe that fails is logged and the export goes on.
async fn watch_for_stop(
    workflow: &dyn Workflow,
    execution_arn: &str,
    every: Duration,
    stopped: &AtomicBool,
    done: &AtomicBool,
) {
    let step = every.min(Duration::from_millis(200));
    let mut waited = Duration::ZERO;
    loop {
        tokio::time::sleep(step).await;
        if done.load(Ordering::SeqCst) {
            return;
        }
        waited += step;
        if waited < every {
            continue;
        }
        waited = Duration::ZERO;
        match workflow.describe(execution_arn).await {
            Ok(execution) if execution.status.is_finished() => {
                stopped.store(true, Ordering::SeqCst);
                return;
            }
            Ok(_) => {}
            Err(error) => warn!(error = %error, "checking whether the export was stopped failed"),
        }
    }
}

/// The export store, refusing further parts and the completion of uploads once `stopped` is
/// set, which aborts them.
#[derive(Debug)]
pub(crate) struct StopAware<'a> {
    store: &'a dyn ObjectStore,
    stopped: Arc<AtomicBool>,
}

fn stopped_error() -> StoreError {
    StoreError::new(StoreErrorKind::Denied, "the export's execution was stopped")
}

#[async_trait]
impl ObjectStore for StopAware<'_> {
    async fn start_upload(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
    ) -> Result<Box<dyn MultipartUpload>, StoreError> {
        let inner = self.store.start_upload(key, content).await?;
        Ok(Box::new(StopAwareUpload {
            inner,
            stopped: self.stopped.clone(),
        }))
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        content: &ContentInfo,
        expires_in: Duration,
    ) -> Result<SignedUrl, StoreError> {
        self.store.presign_get(key, content, expires_in).await
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        self.store.exists(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.store.delete(key).await
    }

    async fn compose(
        &self,
        target: &ObjectKey,
        parts: &[ObjectKey],
        content: &ContentInfo,
    ) -> Result<StoredObject, StoreError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(stopped_error());
        }
        self.store.compose(target, parts, content).await
    }
}

struct StopAwareUpload {
    inner: Box<dyn MultipartUpload>,
    stopped: Arc<AtomicBool>,
}

#[async_trait]
impl MultipartUpload for StopAwareUpload {
    fn part_size(&self) -> usize {
        self.inner.part_size()
    }

    async fn upload_part(&mut self, part: Bytes) -> Result<(), StoreError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(stopped_error());
        }
        self.inner.upload_part(part).await
    }

    async fn complete(self: Box<Self>) -> Result<StoredObject, StoreError> {
        if self.stopped.load(Ordering::SeqCst) {
            if let Err(error) = self.inner.abort().await {
                warn!(error = %error, "aborting the upload of a stopped export failed");
            }
            return Err(stopped_error());
        }
        self.inner.complete().await
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.abort().await
    }
}

/// Where the export of `input` is written: `exports/<owner>/<export id>.<ext>`. Known from the
/// input alone, so the file of an export stopped midway can be found and deleted.
pub fn export_key(
    input: &ExecutionInput,
    options: &ExportOptions,
) -> Result<ObjectKey, sde_core::StoreError> {
    ObjectKey::new(format!(
        "exports/{}/{}.{}",
        key_segment(&input.owner.sub),
        key_segment(&input.export_id),
        options.extension()
    ))
}

/// A key segment made only of characters object keys allow.
pub(crate) fn key_segment(text: &str) -> String {
    let safe: String = text
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    }
}

/// `posts-20240131-1a2b3c4d.csv`: the date of the export and the end of its id (the start
/// names the owner).
pub(crate) fn download_name(export_id: &str, extension: &str) -> String {
    let date = chrono::Utc::now().format("%Y%m%d");
    let id = key_segment(export_id);
    let short: String = id
        .chars()
        .skip(id.chars().count().saturating_sub(8))
        .collect();
    format!("posts-{date}-{short}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_cannot_escape_their_folder() {
        assert_eq!(key_segment("../../etc/passwd"), "______etc_passwd");
        assert_eq!(key_segment(""), "_");
        assert_eq!(key_segment("3f2a-b1"), "3f2a-b1");
    }

    #[test]
    fn download_names_are_plain_file_names() {
        let name = download_name("owner_5e6f00001a2b3c4d", "csv.gz");
        assert!(
            name.starts_with("posts-") && name.ends_with("-1a2b3c4d.csv.gz"),
            "{name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        );
    }
}
