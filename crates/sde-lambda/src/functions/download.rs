//! `download`: `GET /download/{key+}`, follows a lasting link to a presigned URL.

use crate::{deps, rest};
use sde_edge::rest::{Downloads, download_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::download_deps().await?;
    let routes = download_routes(Downloads::new(Arc::new(deps.store), Arc::new(deps.links)));
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
