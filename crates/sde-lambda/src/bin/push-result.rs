//! `push-result`: the `pushResult` task, hands the URL (or the error) to the owner's WebSocket.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, task, telemetry};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::push_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        task::push_result(&deps.registry, &deps.channel, &deps.workflow, event.payload)
    }))
    .await
}
