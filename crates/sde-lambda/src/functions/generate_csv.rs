//! `generate-csv`: the `generateCsv` task, streams the whole result set to S3.

use crate::{deps, task};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::generate_csv_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::generate_csv(
            &deps.index,
            &deps.store,
            &deps.links,
            &deps.progress,
            &deps.workflow,
            deps.settings,
            event.payload,
        )
    }))
    .await
}
