//! `download-request`: validate an export request and start its execution.

use crate::api_error::{ApiError, ApiErrorKind};
use crate::execution::{DeliveryType, ExecutionInput};
use sde_core::{
    Caller, ExportOptions, ExportOptionsRequest, SearchCriteria, SearchRequest, Workflow,
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
/// request that would fail: bad criteria and options are refused here with a 400, and an email
/// export for a caller whose address is not verified with a 403.
pub async fn download_request(
    workflow: &dyn Workflow,
    limits: ExportLimits,
    caller: &Caller,
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
    if delivery == DeliveryType::Email {
        caller.with_verified_email()?;
    }
    let caller = &caller.owner;

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
    use sde_core::{ExecutionDescription, Owner, WorkflowError};
    use serde_json::{Value, json};
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct CountingWorkflow {
        started: Mutex<u32>,
    }

    #[async_trait::async_trait]
    impl Workflow for CountingWorkflow {
        async fn start(&self, name: &str, _: Value) -> Result<String, WorkflowError> {
            *self
                .started
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
            Ok(format!("arn:aws:states:eu-west-1:1:execution:m:{name}"))
        }
        async fn count_running(&self, _: &str) -> Result<u64, WorkflowError> {
            Ok(0)
        }
        async fn describe(&self, _: &str) -> Result<ExecutionDescription, WorkflowError> {
            Err(WorkflowError::new(
                sde_core::WorkflowErrorKind::NotFound,
                "describing",
            ))
        }
        async fn send_task_success(&self, _: &str, _: Value) -> Result<(), WorkflowError> {
            Ok(())
        }
        async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
            Ok(())
        }
    }

    fn request(delivery: &str) -> DownloadRequest {
        serde_json::from_value(json!({"type": delivery, "searchCriteria": {"search": []}}))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn an_unverified_address_gets_no_email_export_but_may_download() {
        let workflow = CountingWorkflow::default();
        let unverified = Caller {
            owner: Owner {
                sub: "u-1".into(),
                email: "someone-else@example.com".into(),
            },
            email_verified: false,
        };
        let refused = download_request(
            &workflow,
            ExportLimits::default(),
            &unverified,
            request("email"),
        )
        .await
        .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(refused.to_string().contains("not verified"), "{refused}");
        assert_eq!(
            *workflow
                .started
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            0
        );
        for delivery in ["direct", "push"] {
            let started = download_request(
                &workflow,
                ExportLimits::default(),
                &unverified,
                request(delivery),
            )
            .await;
            assert!(started.is_ok(), "{delivery}");
        }
        let verified = Caller::verified(unverified.owner.clone());
        assert!(
            download_request(
                &workflow,
                ExportLimits::default(),
                &verified,
                request("email")
            )
            .await
            .is_ok()
        );
    }

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
