//! `ws-authorizer`: the WebSocket `$connect` REQUEST authorizer (ID token in `?token=`).

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, telemetry, websocket};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = &deps::authorizer_deps()?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| {
            websocket::authorize(&deps.verifier, deps.anonymous, event.payload)
        },
    ))
    .await
}
