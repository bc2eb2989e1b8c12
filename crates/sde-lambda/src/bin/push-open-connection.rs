//! `push-open-connection`: the WebSocket routes `$connect`, `$disconnect`, `OpenConnection` and
//! `$default`.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, telemetry, websocket};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::push_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let response = websocket::route(deps.parts(), deps.anonymous, event.payload).await;
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}
