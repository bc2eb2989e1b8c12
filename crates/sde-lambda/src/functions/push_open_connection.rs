//! `push-open-connection`: the WebSocket routes `$connect`, `$disconnect`, `OpenConnection` and//! `$default`.

use crate::{deps, websocket};
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use std::convert::Infallible;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::push_deps().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let response = websocket::route(deps.parts(), deps.anonymous, event.payload).await;
            Ok::<_, Infallible>(response)
        },
    ))
    .await
}
