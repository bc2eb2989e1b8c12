//! `report-status`: where an export is, for its owner only.

use crate::api_error::ApiError;
use crate::execution::ExportOutput;
use sde_core::{ExecutionDescription, ExecutionStatus, Owner, ProgressBoard, Workflow};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `/report-status` body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportStatusRequest {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
}

/// The `/report-status` response: the frontend's two fields plus progress and the failure reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportStatusResponse {
    pub status: ExecutionStatus,
    #[serde(rename = "reportURL")]
    pub report_url: String,
    #[serde(rename = "rowsWritten", skip_serializing_if = "Option::is_none")]
    pub rows_written: Option<u64>,
    #[serde(rename = "totalRows", skip_serializing_if = "Option::is_none")]
    pub total_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reports the execution `request.execution_arn` to `caller`. Another user's execution is
/// indistinguishable from one that does not exist (404).
pub async fn report_status(
    workflow: &dyn Workflow,
    progress: &dyn ProgressBoard,
    caller: &Owner,
    request: &ReportStatusRequest,
) -> Result<ReportStatusResponse, ApiError> {
    let execution = owned_execution(workflow, caller, &request.execution_arn).await?;
    let report = execution.output.as_ref().and_then(export_output);
    let (rows_written, total_rows) = match (&report, execution.status) {
        (Some(report), _) => (Some(report.rows), Some(report.rows)),
        (None, ExecutionStatus::Running) => match progress.read(&execution.name).await {
            Some(p) => (Some(p.rows_written), Some(p.total_rows)),
            None => (None, None),
        },
        _ => (None, None),
    };
    let error = match execution.status {
        ExecutionStatus::Running | ExecutionStatus::Succeeded => None,
        ExecutionStatus::TimedOut => Some("the export took too long and was stopped".to_owned()),
        ExecutionStatus::Aborted => Some("the export was stopped".to_owned()),
        ExecutionStatus::Failed => Some(
            crate::task_failure::reason(execution.error.as_deref().unwrap_or_default()).to_owned(),
        ),
    };
    let report_url = match execution.status {
        ExecutionStatus::Succeeded => report.map(|r| r.report_url).unwrap_or_default(),
        _ => String::new(),
    };
    Ok(ReportStatusResponse {
        status: execution.status,
        report_url,
        rows_written,
        total_rows,
        error,
    })
}

/// Describes `execution_arn` if `caller` owns it; otherwise the same 404 as an unknown ARN.
pub async fn owned_execution(
    workflow: &dyn Workflow,
    caller: &Owner,
    execution_arn: &str,
) -> Result<ExecutionDescription, ApiError> {
    let execution = described_execution(workflow, execution_arn).await?;
    let owner_sub = execution
        .input
        .pointer("/owner/sub")
        .and_then(Value::as_str);
    if owner_sub != Some(caller.sub.as_str()) {
        return Err(ApiError::not_found("no such export"));
    }
    Ok(execution)
}

/// Describes `execution_arn`, whoever owns it; callers check ownership.
pub(crate) async fn described_execution(
    workflow: &dyn Workflow,
    execution_arn: &str,
) -> Result<ExecutionDescription, ApiError> {
    if execution_arn.trim().is_empty() || execution_arn.len() > 2048 {
        return Err(ApiError::bad_request(
            "\"executionArn\" must be the ARN /download-request returned",
        ));
    }
    Ok(workflow.describe(execution_arn).await?)
}

/// The export report inside an execution's output: at `$.report` (where the state machine keeps
/// it beside the input) or at the top level.
pub fn export_output(output: &Value) -> Option<ExportOutput> {
    [output.get("report"), Some(output)]
        .into_iter()
        .flatten()
        .find_map(|candidate| serde_json::from_value(candidate.clone()).ok())
}
