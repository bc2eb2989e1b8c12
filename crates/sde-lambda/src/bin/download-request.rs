//! `download-request`: `POST /download-request`, starts an export's execution.

use sde_edge::rest::{ExportStarter, download_request_routes};
use sde_lambda::{deps, rest, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = deps::download_request_deps().await?;
    let routes = download_request_routes(ExportStarter {
        workflow: Arc::new(deps.workflow),
        limits: deps.limits,
    });
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
