//! `compose-export`: the `composeExport` task, joins a fanned-out export's slices into its file
//! (or discards them after a failure).

use crate::{deps, task};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::compose_export_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::compose_export(
            &deps.index,
            &deps.store,
            &deps.links,
            deps.settings,
            event.payload,
        )
    }))
    .await
}
