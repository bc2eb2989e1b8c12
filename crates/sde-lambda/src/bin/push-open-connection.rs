//! `push-open-connection`: the WebSocket routes `$connect`, `$disconnect` and `OpenConnection`.

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, functions, telemetry, websocket::WsEvent};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::push_deps().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<WsEvent>| async move {
        let response = functions::push_open_connection(
            &deps.workflow,
            &deps.registry,
            &deps.channel,
            event.payload,
        )
        .await;
        Ok::<_, Infallible>(response)
    }))
    .await
}
