//! `download-request`: validate an export request, take one of its owner's export slots, and
//! start its execution.

use crate::api_error::{ApiError, ApiErrorKind};
use crate::execution::{DeliveryType, ExecutionInput};
use chrono::Utc;
use sde_core::{
    Caller, ExportOptions, ExportOptionsRequest, ExportSlots, Reservation, SearchCriteria,
    SearchRequest, Workflow,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tracing::{info, warn};

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

/// The longest an export's execution runs: the state machine's `TimeoutSeconds`, after which
/// Step Functions (and the local interpreter) end it as TIMED_OUT.
pub const LONGEST_EXECUTION: Duration = Duration::from_secs(7200);

/// Limits on exports, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    /// Exports one user may have running at once; more are refused with 429.
    pub max_running_per_owner: u32,
    /// How long a slot is held when its execution's end is never reported: the longest an
    /// execution runs, and a margin for the report of its end to arrive.
    pub slot_lifetime: Duration,
}

impl Default for ExportLimits {
    fn default() -> Self {
        ExportLimits {
            max_running_per_owner: 5,
            slot_lifetime: LONGEST_EXECUTION + Duration::from_secs(15 * 60),
        }
    }
}

/// The `/download-request` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownloadResponse {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
}

/// Validates `request`, takes a slot of `caller`'s in `slots` and starts an execution owned by
/// `caller`. Nothing is started for a request that would fail: bad criteria and options are
/// refused here with a 400, an email export for a caller whose address is not verified with a
/// 403, and a caller who already runs `limits.max_running_per_owner` exports with a 429. The
/// slot is given back if the execution cannot be started, and otherwise when it ends
/// ([`crate::release_export_slot`]).
pub async fn download_request(
    workflow: &dyn Workflow,
    slots: &dyn ExportSlots,
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

    let owner = owner_key(&caller.sub);
    let export_id = format!("{owner}_{}", uuid::Uuid::new_v4().simple());
    let input = ExecutionInput {
        delivery,
        search_criteria,
        options: request.options,
        owner: caller.clone(),
        export_id: export_id.clone(),
    };
    let input = serde_json::to_value(&input).map_err(ApiError::internal)?;

    let expires_at = Utc::now() + limits.slot_lifetime;
    let limit = limits.max_running_per_owner;
    if let Reservation::Full { held } = slots.reserve(&owner, &export_id, limit, expires_at).await?
    {
        return Err(ApiError::new(
            ApiErrorKind::TooManyRequests,
            format!(
                "you already have {held} exports running (the limit is {limit}); wait for one to finish"
            ),
        ));
    }
    let execution_arn = match workflow.start(&export_id, input).await {
        Ok(arn) => arn,
        Err(error) => {
            if let Err(release) = slots.release(&owner, &export_id).await {
                warn!(export_id, error = %release, "giving back the slot of an export that did not start failed");
            }
            return Err(error.into());
        }
    };
    info!(%delivery, export_id, "export started");
    Ok(DownloadResponse { execution_arn })
}

/// The owner part of execution names and the key of their export slots: `sub` in the
/// characters execution names allow but `_` (at most 40, so `_` and a 32-character id fit Step
/// Functions' 80). Cognito's and the development issuer's UUID subs keep every character.
pub fn owner_key(sub: &str) -> String {
    let key: String = sub
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    if key.is_empty() {
        // A sub of no allowed character at all (no issuer we know makes one).
        "-".to_owned()
    } else {
        key
    }
}

/// The owner key of an export id (an execution name) this handler made: `<owner key>_<id>`.
pub fn owner_of_export(export_id: &str) -> Option<&str> {
    let (owner, id) = export_id.split_once('_')?;
    (!owner.is_empty() && !id.is_empty()).then_some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use sde_core::{
        ExecutionDescription, ExportSlotsError, Owner, WorkflowError, WorkflowErrorKind,
    };
    use serde_json::{Value, json};
    use std::sync::Mutex;

    fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts every execution, or refuses every one as unavailable.
    #[derive(Debug, Default)]
    struct RecordingWorkflow {
        started: Mutex<Vec<String>>,
        unavailable: bool,
    }

    #[async_trait::async_trait]
    impl Workflow for RecordingWorkflow {
        fn execution_arn(&self, name: &str) -> String {
            format!("arn:aws:states:eu-west-1:1:execution:m:{name}")
        }
        async fn stop(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
            unreachable!("not used")
        }
        async fn list_started_since(
            &self,
            _: &str,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<sde_core::ExecutionSummary>, WorkflowError> {
            unreachable!("not used")
        }
        async fn start(&self, name: &str, _: Value) -> Result<String, WorkflowError> {
            if self.unavailable {
                return Err(WorkflowError::new(
                    WorkflowErrorKind::Unavailable,
                    "starting",
                ));
            }
            lock(&self.started).push(name.to_owned());
            Ok(format!("arn:aws:states:eu-west-1:1:execution:m:{name}"))
        }
        async fn describe(&self, _: &str) -> Result<ExecutionDescription, WorkflowError> {
            Err(WorkflowError::new(
                WorkflowErrorKind::NotFound,
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

    /// Slots held as (owner, export id, expiry).
    #[derive(Debug, Default)]
    struct RecordingSlots {
        held: Mutex<Vec<(String, String, DateTime<Utc>)>>,
    }

    #[async_trait::async_trait]
    impl ExportSlots for RecordingSlots {
        async fn reserve(
            &self,
            owner: &str,
            export_id: &str,
            limit: u32,
            expires_at: DateTime<Utc>,
        ) -> Result<Reservation, ExportSlotsError> {
            let mut held = lock(&self.held);
            let count = held.iter().filter(|(o, _, _)| o == owner).count() as u32;
            if count >= limit {
                return Ok(Reservation::Full { held: count });
            }
            held.push((owner.to_owned(), export_id.to_owned(), expires_at));
            Ok(Reservation::Reserved)
        }
        async fn release(&self, owner: &str, export_id: &str) -> Result<(), ExportSlotsError> {
            lock(&self.held).retain(|(o, id, _)| !(o == owner && id == export_id));
            Ok(())
        }
    }

    fn request(delivery: &str) -> DownloadRequest {
        serde_json::from_value(json!({"type": delivery, "searchCriteria": {"search": []}}))
            .unwrap_or_default()
    }

    fn ada() -> Caller {
        Caller::verified(Owner {
            sub: "3f1c2d9e-aaaa-bbbb-cccc-0123456789ab".into(),
            email: "ada@example.com".into(),
        })
    }

    #[tokio::test]
    async fn an_unverified_address_gets_no_email_export_but_may_download() {
        let (workflow, slots) = (RecordingWorkflow::default(), RecordingSlots::default());
        let limits = ExportLimits::default();
        let unverified = Caller {
            owner: Owner {
                sub: "u-1".into(),
                email: "someone-else@example.com".into(),
            },
            email_verified: false,
        };
        let refused = download_request(&workflow, &slots, limits, &unverified, request("email"))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(refused.to_string().contains("not verified"), "{refused}");
        assert!(lock(&workflow.started).is_empty());
        assert!(
            lock(&slots.held).is_empty(),
            "a refused request takes no slot"
        );
        for delivery in ["direct", "push"] {
            let started =
                download_request(&workflow, &slots, limits, &unverified, request(delivery)).await;
            assert!(started.is_ok(), "{delivery}");
        }
        let verified = Caller::verified(unverified.owner.clone());
        assert!(
            download_request(&workflow, &slots, limits, &verified, request("email"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn each_export_holds_a_slot_of_its_owner_until_the_longest_execution_is_over() {
        let (workflow, slots) = (RecordingWorkflow::default(), RecordingSlots::default());
        let before = Utc::now();
        let response = download_request(
            &workflow,
            &slots,
            ExportLimits::default(),
            &ada(),
            request("direct"),
        )
        .await
        .unwrap();
        let held = lock(&slots.held).clone();
        let started = lock(&workflow.started).clone();
        assert_eq!(started.len(), 1);
        let (owner, export_id, expires_at) = &held[0];
        assert_eq!(owner, "3f1c2d9e-aaaa-bbbb-cccc-0123456789ab");
        assert_eq!(
            export_id, &started[0],
            "the slot is held for the execution's name"
        );
        assert!(response.execution_arn.ends_with(export_id.as_str()));
        assert_eq!(owner_of_export(export_id), Some(owner.as_str()));
        assert!(*expires_at >= before + LONGEST_EXECUTION, "{expires_at}");
    }

    #[tokio::test]
    async fn an_owner_at_the_limit_gets_429_and_nothing_starts() {
        let (workflow, slots) = (RecordingWorkflow::default(), RecordingSlots::default());
        let limits = ExportLimits {
            max_running_per_owner: 2,
            ..ExportLimits::default()
        };
        for _ in 0..2 {
            download_request(&workflow, &slots, limits, &ada(), request("push"))
                .await
                .unwrap();
        }
        let refused = download_request(&workflow, &slots, limits, &ada(), request("direct"))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 429);
        assert_eq!(
            refused.to_string(),
            "you already have 2 exports running (the limit is 2); wait for one to finish"
        );
        assert_eq!(lock(&workflow.started).len(), 2);
    }

    #[tokio::test]
    async fn an_export_that_cannot_start_gives_its_slot_back() {
        let workflow = RecordingWorkflow {
            unavailable: true,
            ..RecordingWorkflow::default()
        };
        let slots = RecordingSlots::default();
        let refused = download_request(
            &workflow,
            &slots,
            ExportLimits::default(),
            &ada(),
            request("direct"),
        )
        .await
        .unwrap_err();
        assert_eq!(refused.status(), 503);
        assert!(lock(&slots.held).is_empty(), "{:?}", lock(&slots.held));
    }

    #[test]
    fn the_slot_lifetime_outlasts_the_state_machines_timeout() {
        let definition: Value = serde_json::from_str(include_str!(
            "../../../statemachine/download-request.asl.json"
        ))
        .unwrap_or_default();
        assert_eq!(
            definition["TimeoutSeconds"].as_u64(),
            Some(LONGEST_EXECUTION.as_secs()),
            "LONGEST_EXECUTION is the state machine's TimeoutSeconds"
        );
        assert!(ExportLimits::default().slot_lifetime > LONGEST_EXECUTION);
    }

    #[test]
    fn owner_keys_are_valid_execution_name_starts_and_come_back_from_export_ids() {
        assert_eq!(
            owner_key("3f1c2d9e-aaaa-bbbb-cccc-0123456789ab"),
            "3f1c2d9e-aaaa-bbbb-cccc-0123456789ab"
        );
        assert_eq!(owner_key("a b*c?[d]_e"), "abcde");
        assert_eq!(owner_key("東京"), "-");
        assert!(owner_key(&"x".repeat(200)).len() + 1 + 32 <= 80);
        let id = format!("{}_{}", owner_key("a_b"), uuid::Uuid::new_v4().simple());
        assert_eq!(owner_of_export(&id), Some("ab"));
        for other in ["no-separator", "_id", "owner_", ""] {
            assert_eq!(owner_of_export(other), None, "{other:?}");
        }
    }
}
