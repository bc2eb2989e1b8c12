//! The fan-out of a large export: `plan-export` pins a snapshot and cuts it into slices,
//! `generate-csv` writes one slice to an object of its own, and `compose-export` joins the
//! slices' objects into the one file a single run would have written (or, after a failure,
//! discards them).
//!
//! The composed file is the single-run file up to the order of rows: slice 0 alone writes the
//! header row and the Excel BOM, and each slice's gzip output is a whole gzip member, which
//! concatenated make one valid gzip stream. Rows come slice by slice, each slice in the index's
//! scan order.

use crate::execution::{ExecutionInput, ExportOutput};
use crate::generate_csv::{ExportSettings, download_name, export_key, key_segment, until_stopped};
use crate::task_failure::TaskFailure;
use chrono::Utc;
use sde_core::export::write_export_slice;
use sde_core::{
    ContentInfo, Disposition, DownloadLinks, ExportError, ExportOptions, ObjectKey, ObjectStore,
    ProgressBoard, SearchCriteria, SearchIndex, Slice, StoreError, Workflow, slice_count,
    slice_progress_id,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// What `plan-export` decides, kept by the state machine under `$.plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlicePlan {
    /// Whether the export fans out; if not, one `generate-csv` run writes it as before.
    pub sliced: bool,
    /// The pinned snapshot every slice reads (`null` unless sliced).
    #[serde(default)]
    pub snapshot: Option<String>,
    /// Posts matching in the snapshot (0 when the index pins no snapshots).
    pub total: u64,
    /// The slices, in file order; empty unless sliced.
    #[serde(default)]
    pub slices: Vec<Slice>,
}

/// The input of one slice's `generate-csv` run, as the `Map` state's item selector builds it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SliceInput {
    pub export: ExecutionInput,
    pub snapshot: String,
    pub slice: Slice,
}

/// What one slice's run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SliceOutput {
    pub key: String,
    pub rows: u64,
    pub bytes: u64,
}

/// The input of `compose-export`: the execution's state after the `Map` (or after its failure).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposeInput {
    pub export: ExecutionInput,
    pub plan: SlicePlan,
    /// The slices' outputs in slice order; absent after a failure.
    #[serde(default)]
    pub parts: Option<Vec<SliceOutput>>,
}

/// `plan-export`: pins a snapshot of the execution's query and cuts it into slices of at most
/// `settings.fan_out.rows_per_slice` rows. A result that fits one slice, or an index that pins
/// no snapshots, is not sliced (and its snapshot is released at once).
pub async fn plan_export(
    index: &dyn SearchIndex,
    settings: ExportSettings,
    input: &ExecutionInput,
) -> Result<SlicePlan, TaskFailure> {
    let criteria = SearchCriteria::try_from(&input.search_criteria)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    ExportOptions::try_from(&input.options)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let fan_out = settings.fan_out;
    let snapshot = index
        .open_snapshot(&criteria.query, fan_out.snapshot_keep_alive)
        .await
        .map_err(|e| TaskFailure::from(ExportError::Index(e)))?;
    let Some(snapshot) = snapshot else {
        return Ok(SlicePlan {
            sliced: false,
            snapshot: None,
            total: 0,
            slices: Vec::new(),
        });
    };
    let count = slice_count(snapshot.total, &fan_out);
    if count <= 1 {
        close_snapshot(index, &snapshot.id).await;
        return Ok(SlicePlan {
            sliced: false,
            snapshot: None,
            total: snapshot.total,
            slices: Vec::new(),
        });
    }
    info!(
        export_id = input.export_id,
        total = snapshot.total,
        slices = count,
        "export fans out"
    );
    Ok(SlicePlan {
        sliced: true,
        total: snapshot.total,
        slices: (0..count).map(|index| Slice { index, count }).collect(),
        snapshot: Some(snapshot.id),
    })
}

/// `generate-csv` for one slice: writes slice `input.slice` of the snapshot to
/// `exports/<owner>/<export id>.slices/<n>.part`, with the same stop check as a whole export.
pub async fn generate_slice(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    progress: &dyn ProgressBoard,
    workflow: &dyn Workflow,
    settings: ExportSettings,
    input: &SliceInput,
) -> Result<SliceOutput, TaskFailure> {
    let export = &input.export;
    let criteria = SearchCriteria::try_from(&export.search_criteria)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let options = ExportOptions::try_from(&export.options)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    if !input.slice.is_valid() {
        return Err(TaskFailure::invalid_request(format!(
            "slice {} of {} does not exist",
            input.slice.index, input.slice.count
        )));
    }
    let key = slice_key(export, input.slice.index)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let content = ContentInfo {
        content_type: options.content_type().to_owned(),
        download_name: key.file_name().to_owned(),
        disposition: Disposition::Attachment,
    };
    let progress_id = slice_progress_id(&export.export_id, input.slice);
    let on_progress = |p| progress.record(&progress_id, p);
    let written = until_stopped(
        workflow,
        &export.export_id,
        settings,
        store,
        |guarded| async move {
            let upload = guarded.start_upload(&key, &content).await?;
            write_export_slice(
                index,
                &input.snapshot,
                &criteria.query,
                input.slice,
                &options,
                settings.batch_size,
                upload,
                &on_progress,
            )
            .await
        },
    )
    .await?;
    Ok(SliceOutput {
        key: written.object.key.to_string(),
        rows: written.rows,
        bytes: written.object.bytes,
    })
}

/// `compose-export`: joins the slices' objects, in slice order, into the export's file, deletes
/// them, releases the snapshot and returns what a single `generate-csv` run returns. The rows
/// written must add up to the snapshot's total. Given no parts (after a failure), it discards
/// the slices instead: see [`discard_slices`].
pub async fn compose_export(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ExportSettings,
    input: &ComposeInput,
) -> Result<Option<ExportOutput>, TaskFailure> {
    let Some(parts) = &input.parts else {
        discard_slices(index, store, input).await;
        return Ok(None);
    };
    let export = &input.export;
    let options = ExportOptions::try_from(&export.options)
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let expected = expected_slice_keys(input)?;
    let given: Vec<&str> = parts.iter().map(|part| part.key.as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(ObjectKey::as_str).collect();
    if given != wanted {
        discard_slices(index, store, input).await;
        return Err(TaskFailure::invalid_request(
            "the slices' outputs do not match the plan",
        ));
    }
    let rows: u64 = parts.iter().map(|part| part.rows).sum();
    if rows != input.plan.total {
        discard_slices(index, store, input).await;
        return Err(ExportError::RowCountMismatch {
            expected: input.plan.total,
            written: rows,
        }
        .into());
    }
    let key =
        export_key(export, &options).map_err(|e| TaskFailure::invalid_request(e.to_string()))?;
    let content = ContentInfo {
        content_type: options.content_type().to_owned(),
        download_name: download_name(&export.export_id, &options.extension()),
        disposition: Disposition::Attachment,
    };
    let composed = store.compose(&key, &expected, &content).await;
    discard_slices(index, store, input).await;
    let stored = composed.map_err(|e| TaskFailure::from(ExportError::Store(e)))?;
    let expires_at = Utc::now() + chrono::Duration::from_std(settings.url_ttl).unwrap_or_default();
    let url = links.issue(&key, &content, expires_at);
    info!(rows, bytes = stored.bytes, key = %key, slices = parts.len(), "sliced export complete");
    Ok(Some(ExportOutput {
        key: key.to_string(),
        expires_at: url.expires_at(),
        report_url: url.into_string(),
        rows,
        bytes: stored.bytes,
    }))
}

/// Deletes every slice object of the plan and releases its snapshot. Best effort: what fails is
/// logged (the bucket's lifecycle rule removes what is left), never the execution's failure.
pub async fn discard_slices(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    input: &ComposeInput,
) {
    for key in expected_slice_keys(input).unwrap_or_default() {
        if let Err(error) = store.delete(&key).await {
            warn!(key = %key, error = %error, "deleting a slice object failed");
        }
    }
    if let Some(snapshot) = &input.plan.snapshot {
        close_snapshot(index, snapshot).await;
    }
}

async fn close_snapshot(index: &dyn SearchIndex, snapshot: &str) {
    if let Err(error) = index.close_snapshot(snapshot).await {
        warn!(error = %error, "closing a snapshot failed; it expires by itself");
    }
}

fn expected_slice_keys(input: &ComposeInput) -> Result<Vec<ObjectKey>, TaskFailure> {
    input
        .plan
        .slices
        .iter()
        .map(|slice| slice_key(&input.export, slice.index))
        .collect::<Result<_, StoreError>>()
        .map_err(|e| TaskFailure::invalid_request(e.to_string()))
}

/// Where slice `index` of the export of `input` is written: beside the export's file, under
/// `exports/<owner>/<export id>.slices/`.
pub fn slice_key(input: &ExecutionInput, index: u32) -> Result<ObjectKey, StoreError> {
    ObjectKey::new(format!(
        "exports/{}/{}.slices/{index:05}.part",
        key_segment(&input.owner.sub),
        key_segment(&input.export_id),
    ))
}
