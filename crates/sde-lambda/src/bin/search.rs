//! `search`: `POST /search`, one page of ranked posts.

use sde_edge::rest::search_routes;
use sde_lambda::{deps, rest, telemetry};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let deps = deps::search_deps().await?;
    rest::run(rest::api(
        search_routes(Arc::new(deps.index)),
        &deps.cors_origin,
    ))
    .await
}
