//! `push-result`: the `pushResult` task, hands the URL (or the error) to the owner's WebSocket.

use crate::{deps, task};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::push_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::push_result(&deps.registry, &deps.channel, &deps.workflow, event.payload)
    }))
    .await
}
