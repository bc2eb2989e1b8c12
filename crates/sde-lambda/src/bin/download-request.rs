//! `download-request`: `POST /download-request`, starts an export's execution.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, functions, rest::RestEvent, telemetry};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::download_request_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RestEvent>| async move {
            let response = functions::download_request(
                &deps.workflow,
                deps.limits,
                event.payload,
                &deps.cors_origin,
            )
            .await;
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}
