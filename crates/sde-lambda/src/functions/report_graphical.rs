//! `report-graphical`: `POST /report/graphical`, the post-frequency chart (SVG) of a search.
//! Only the index's aggregations are read, so it answers well within API Gateway's 29 s
//! whatever the index holds.

use crate::{deps, rest};
use sde_edge::rest::{Reporter, report_graphical_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::report_deps().await?;
    let reporter = Reporter {
        stats: Arc::new(deps.index),
        store: Arc::new(deps.store),
        links: Arc::new(deps.links),
        settings: deps.settings,
    };
    rest::run(rest::api(
        report_graphical_routes(reporter),
        &deps.cors_origin,
    ))
    .await
}
