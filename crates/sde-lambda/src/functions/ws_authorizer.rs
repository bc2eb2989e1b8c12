//! `ws-authorizer`: the WebSocket `$connect` REQUEST authorizer (ID token in `?token=`).

use crate::{deps, websocket};
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use lambda_runtime::{LambdaEvent, service_fn};

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = &deps::authorizer_deps()?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| {
            websocket::authorize(&deps.verifier, deps.anonymous, event.payload)
        },
    ))
    .await
}
