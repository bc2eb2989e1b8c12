//! The one Lambda binary of sde. Lambda starts it as `bootstrap` with the function's `handler`
//! from serverless.yml in `_HANDLER`; that names the function it runs (see [`functions`]).
//! `SDE_FUNCTION`, when set, names it instead, for runtime emulators that set `_HANDLER`
//! themselves.

use sde_lambda::{functions, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let handler = std::env::var("SDE_FUNCTION")
        .or_else(|_| std::env::var("_HANDLER"))
        .unwrap_or_default();
    functions::run(&handler).await
}
