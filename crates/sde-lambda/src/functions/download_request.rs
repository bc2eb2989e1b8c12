//! `download-request`: `POST /download-request`, starts an export's execution.

use crate::{deps, rest};
use sde_edge::rest::{ExportStarter, download_request_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::download_request_deps().await?;
    let routes = download_request_routes(ExportStarter {
        workflow: Arc::new(deps.workflow),
        slots: Arc::new(deps.slots),
        limits: deps.limits,
    });
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
