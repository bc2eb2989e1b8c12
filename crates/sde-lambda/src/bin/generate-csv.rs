//! `generate-csv`: the `generateCsv` task, streams the whole result set to S3.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, task, telemetry};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::generate_csv_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::generate_csv(
            &deps.index,
            &deps.store,
            &deps.progress,
            deps.settings,
            event.payload,
        )
    }))
    .await
}
