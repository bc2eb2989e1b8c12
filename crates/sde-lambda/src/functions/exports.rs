//! `exports`: `GET /exports` and `DELETE /exports/{id}`, the caller's exports of the last day;
//! cancel a running one or delete a finished one's file.

use crate::{deps, rest};
use sde_edge::rest::{MyExports, exports_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::exports_deps().await?;
    let routes = exports_routes(MyExports {
        workflow: Arc::new(deps.workflow),
        store: Arc::new(deps.store),
        progress: Arc::new(deps.progress),
        registry: Arc::new(deps.registry),
        channel: Arc::new(deps.channel),
    });
    rest::run(rest::api(routes, &deps.cors_origin)).await
}
