//! `subscriptions`: `GET`, `POST` and `DELETE` on `/subscriptions/daily` and
//! `/subscriptions/real-time`, the caller's subscriptions to search terms, and `GET`/`POST
//! /unsubscribe`, the one-click unsubscribe links of subscription emails.

use crate::{deps, rest};
use sde_core::Subscriptions;
use sde_edge::rest::{Unsubscribes, subscriptions_routes, unsubscribe_routes};
use std::sync::Arc;

/// Builds the function's parts from the environment, then serves its events.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let deps = deps::subscriptions_deps().await?;
    let store: Arc<dyn Subscriptions> = Arc::new(deps.store);
    let unsubscribes = Unsubscribes::new(
        store.clone(),
        deps.matcher.clone(),
        Arc::new(deps.unsubscribe_links),
        deps.site_url,
    );
    rest::run(rest::api(
        subscriptions_routes(store, deps.matcher).merge(unsubscribe_routes(unsubscribes)),
        &deps.cors_origin,
    ))
    .await
}
