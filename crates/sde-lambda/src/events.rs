//! The EventBridge events a function takes: Step Functions' "Execution Status Change", which
//! EventBridge sends for every status an execution of a standard state machine reaches, and so
//! for every way one ends (a Catch-less error, a timeout or a StopExecution included).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use sde_core::{ExportSlots, describe_chain};
use serde::{Deserialize, Serialize};
use tracing::{error, info};

/// The `detail` of an "Execution Status Change" event, as far as it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    /// The execution's name: the export id.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`.
    pub status: String,
}

/// The statuses an execution ends in.
pub const ENDED: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// `release-export-slot`: the slot of the export whose execution ended, given back. An event
/// of another status frees nothing (the rule sends only ends). A failure is the function's
/// error, so Lambda's retries of an asynchronous invocation try again.
pub async fn release_export_slot(
    slots: &dyn ExportSlots,
    event: EventBridgeEvent<ExecutionStatusChange>,
) -> Result<(), lambda_runtime::Error> {
    let change = event.detail;
    if !ENDED.contains(&change.status.as_str()) {
        info!(
            status = change.status,
            execution = change.execution_arn,
            "an execution that has not ended keeps its slot"
        );
        return Ok(());
    }
    if let Err(failure) = sde_handlers::release_export_slot(slots, &change.name).await {
        error!(execution = change.execution_arn, error = %describe_chain(&failure), "giving back an export slot failed");
        return Err(failure.into());
    }
    Ok(())
}
