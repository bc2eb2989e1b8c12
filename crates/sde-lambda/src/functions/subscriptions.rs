//! `subscriptions`: `GET`, `POST` and `DELETE` on `/subscriptions/daily` and
//! `/subscriptions/real-time`, the caller's subscriptions to search terms.

use crate::{deps, rest};
use sde_edge::rest::subscriptions_routes;
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::subscriptions_deps().await?;
    rest::run(rest::api(
        subscriptions_routes(Arc::new(deps.store), deps.matcher),
        &deps.cors_origin,
    ))
    .await
}
