//! `plan-digests`: started by the daily schedule; queues one digest job per daily subscriber for
//! the previous UTC day (or the day its event names).

use crate::{deps, events};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::plan_digests_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        events::plan_digests(
            &deps.subscriptions,
            &deps.queue,
            event.payload,
            chrono::Utc::now(),
        )
        .await
        // The cause chain, so the logged failure says what went wrong.
        .map_err(|failure| lambda_runtime::Error::from(sde_core::describe_chain(&failure)))
    }))
    .await
}
