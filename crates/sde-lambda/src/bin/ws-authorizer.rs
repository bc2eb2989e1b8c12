//! `ws-authorizer`: the WebSocket `$connect` REQUEST authorizer (ID token in `?token=`).

use lambda_runtime::{LambdaEvent, service_fn};
use sde_lambda::{deps, functions, telemetry, websocket::AuthorizerEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let verifier = &deps::authorizer_deps()?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<AuthorizerEvent>| {
        functions::ws_authorizer(verifier, event.payload)
    }))
    .await
}
