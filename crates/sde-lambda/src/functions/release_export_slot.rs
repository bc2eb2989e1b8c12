//! `release-export-slot`: EventBridge's Step Functions "Execution Status Change" event for an
//! export that ended, whatever its end; gives back its owner's slot.

use crate::{deps, events};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let slots = &deps::release_export_slot_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<events::ExecutionStatusChange>>| {
            events::release_export_slot(slots, event.payload)
        },
    ))
    .await
}
