//! `download-request`: validate an export request and start its execution.

use crate::api_error::{ApiError, ApiErrorKind};
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

/// Limits on exports, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    /// Exports one user may have running at once; more are refused with 429.
    pub max_running_per_owner: u64,
}

impl Default for ExportLimits {
    fn default() -> Self {
        ExportLimits {
            max_running_per_owner: 5,
        }
    }
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
    limits: ExportLimits,
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

    // Execution names start with the owner so their running exports can be counted.
    let owner_prefix = owner_prefix(&caller.sub);
    let running = workflow.count_running(&owner_prefix).await?;
    if running >= limits.max_running_per_owner {
        return Err(ApiError::new(
            ApiErrorKind::TooManyRequests,
            format!(
                "you already have {running} exports running (the limit is {}); wait for one to finish",
                limits.max_running_per_owner
            ),
        ));
    }
    let export_id = format!("{owner_prefix}{}", uuid::Uuid::new_v4().simple());
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

/// `<sub>_`: the owner part of execution names, made of the characters execution names allow
/// (at most 40, so a 32-character id fits Step Functions' 80).
pub fn owner_prefix(sub: &str) -> String {
    let safe: String = sub
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    format!("{safe}_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_prefixes_are_valid_execution_name_starts() {
        assert_eq!(
            owner_prefix("3f1c2d9e-aaaa-bbbb-cccc-0123456789ab"),
            "3f1c2d9e-aaaa-bbbb-cccc-0123456789ab_"
        );
        assert_eq!(owner_prefix("a b*c?[d]"), "abcd_");
        assert!(owner_prefix(&"x".repeat(200)).len() + 32 <= 80);
    }
}
