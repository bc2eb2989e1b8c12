//! `search`: `POST /search`, one page of ranked posts.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, functions, rest::RestEvent, telemetry};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::search_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RestEvent>| async move {
            let response = functions::search(&deps.index, event.payload, &deps.cors_origin).await;
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}
