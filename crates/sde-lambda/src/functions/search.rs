//! `search`: `POST /search`, one page of ranked posts.

use crate::{deps, rest};
use sde_edge::rest::search_routes;
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::search_deps().await?;
    rest::run(rest::api(
        search_routes(Arc::new(deps.index)),
        &deps.cors_origin,
    ))
    .await
}
