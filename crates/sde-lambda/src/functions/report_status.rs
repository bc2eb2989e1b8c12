//! `report-status`: `POST /report-status`, where an export is, for its owner.

use crate::{deps, rest};
use sde_edge::rest::{StatusReader, report_status_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::report_status_deps().await?;
    let routes = report_status_routes(StatusReader {
        workflow: Arc::new(deps.workflow),
        progress: Arc::new(deps.progress),
    });
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
