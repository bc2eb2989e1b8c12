//! `plan-export`: the `planExport` task, pins a snapshot of the result and cuts it into slices.

use crate::{deps, task};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::plan_export_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::plan_export(&deps.index, deps.settings, event.payload)
    }))
    .await
}
