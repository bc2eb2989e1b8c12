//! `report-status`: `POST /report-status`, where an export is, for its owner.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, functions, rest::RestEvent, telemetry};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::report_status_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RestEvent>| async move {
            let response = functions::report_status(
                &deps.workflow,
                &deps.progress,
                event.payload,
                &deps.cors_origin,
            )
            .await;
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}
