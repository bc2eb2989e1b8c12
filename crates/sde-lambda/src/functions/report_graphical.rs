//! `report-graphical`: `POST /report/graphical`, the post-frequency chart (SVG) of a search.
//! Only the index's aggregations are read, so it answers well within API Gateway's 29 s
//! whatever the index holds.

use crate::{deps, rest};
use sde_edge::rest::report_graphical_routes;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::report_deps().await?;
    rest::run(rest::api(
        report_graphical_routes(deps.reporter),
        &deps.cors_origin,
    ))
    .await
}
