//! `generate-csv`: run the export of one execution and report where the file is.

use crate::execution::{ExecutionInput, ExportOutput};
use crate::task_failure::TaskFailure;
use sde_core::export::run_export;
use sde_core::{
    DownloadLinks, ExportOptions, ExportPlan, ObjectKey, ObjectStore, ProgressBoard,
    SearchCriteria, SearchIndex,
};
use std::num::NonZeroUsize;
use std::time::Duration;

/// Settings of the export function, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSettings {
    /// How long download links stay valid (they point at our download route, which checks them
    /// and redirects to a short-lived presigned URL).
    pub url_ttl: Duration,
    /// Posts read from the index per batch.
    pub batch_size: NonZeroUsize,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            url_ttl: Duration::from_secs(24 * 3600),
            batch_size: sde_core::export::DEFAULT_BATCH_SIZE,
        }
    }
}

/// Exports every post matching the execution's criteria to `exports/<owner>/<export id>.<ext>`.
pub async fn generate_csv(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    progress: &dyn ProgressBoard,
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
    let report = run_export(index, store, links, &plan, &on_progress).await?;
    Ok(ExportOutput {
        key: report.key.to_string(),
        report_url: report.url.into_string(),
        rows: report.rows,
        bytes: report.bytes,
        expires_at: report.expires_at,
    })
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
fn download_name(export_id: &str, extension: &str) -> String {
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
