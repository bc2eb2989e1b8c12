//! `report-status`: `POST /report-status`, where an export is, for its owner.

use sde_edge::rest::{StatusReader, report_status_routes};
use sde_lambda::{deps, rest, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = deps::report_status_deps().await?;
    let routes = report_status_routes(StatusReader {
        workflow: Arc::new(deps.workflow),
        progress: Arc::new(deps.progress),
    });
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
