//! `download-request`: validate an export request and start its execution.

use crate::api_error::ApiError;
use crate::execution::{DeliveryType, ExecutionInput};
use sde_core::{
    ExportOptions, ExportOptionsRequest, Owner, SearchCriteria, SearchRequest, Workflow,
};
use serde::{Deserialize, Serialize};
use tracing::info;

/// The `/download-request` body: the delivery type, the `/search` body, and optional export
/// options beside them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DownloadRequest {
    #[serde(rename = "type", default)]
    pub delivery: Option<String>,
    #[serde(rename = "searchCriteria", default)]
    pub search_criteria: Option<SearchRequest>,
    #[serde(flatten)]
    pub options: ExportOptionsRequest,
}

/// The `/download-request` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadResponse {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
}

/// Validates `request` and starts an execution owned by `caller`. Nothing is started for a
/// request that would fail: bad criteria and options are refused here with a 400.
pub async fn download_request(
    workflow: &dyn Workflow,
    caller: &Owner,
    request: DownloadRequest,
) -> Result<DownloadResponse, ApiError> {
    let delivery: DeliveryType = request
        .delivery
        .as_deref()
        .ok_or_else(|| {
            ApiError::bad_request("\"type\" is required: \"direct\", \"email\" or \"push\"")
        })?
        .parse()
        .map_err(ApiError::bad_request)?;
    let search_criteria = request
        .search_criteria
        .ok_or_else(|| ApiError::bad_request("\"searchCriteria\" is required"))?;
    SearchCriteria::try_from(&search_criteria)?;
    ExportOptions::try_from(&request.options)?;

    let export_id = uuid::Uuid::new_v4().to_string();
    let input = ExecutionInput {
        delivery,
        search_criteria,
        options: request.options,
        owner: caller.clone(),
        export_id: export_id.clone(),
    };
    let input = serde_json::to_value(&input).map_err(ApiError::internal)?;
    let execution_arn = workflow.start(&export_id, input).await?;
    info!(%delivery, export_id, "export started");
    Ok(DownloadResponse { execution_arn })
}
