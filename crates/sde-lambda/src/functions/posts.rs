//! `posts`: `POST /posts`, a new post by the caller, searchable when it answers and then queued
//! for real-time notices.

use crate::{deps, rest};
use sde_edge::rest::posts_routes;
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::posts_deps().await?;
    rest::run(rest::api(
        posts_routes(Arc::new(deps.store), Arc::new(deps.queue)),
        &deps.cors_origin,
    ))
    .await
}
