//! Subscriptions: `GET`, `POST` and `DELETE` on `/subscriptions/daily` and
//! `/subscriptions/real-time` — list the caller's terms of that kind, add one, remove one (the
//! term in a `{"value": "term"}` body), real-time terms kept in step with the matcher.

use crate::body::JsonBody;
use crate::caller::SignedIn;
use crate::error::EdgeError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sde_core::{SubscriptionKind, SubscriptionMatcher, SubscriptionRequest, Subscriptions};
use sde_handlers::subscriptions::{SubscriptionAnswer, list_subscriptions, subscribe, unsubscribe};
use std::sync::Arc;

/// The store, the matcher and which kind of subscription a route serves.
#[derive(Debug, Clone)]
struct Served {
    store: Arc<dyn Subscriptions>,
    matcher: Arc<dyn SubscriptionMatcher>,
    kind: SubscriptionKind,
}

/// The six subscription routes over `store`, telling `matcher` of real-time changes.
pub fn subscriptions_routes(
    store: Arc<dyn Subscriptions>,
    matcher: Arc<dyn SubscriptionMatcher>,
) -> Router {
    SubscriptionKind::ALL
        .into_iter()
        .fold(Router::new(), |router, kind| {
            let served = Served {
                store: store.clone(),
                matcher: matcher.clone(),
                kind,
            };
            router.route(
                &format!("/subscriptions/{kind}"),
                get(list).post(add).delete(remove).with_state(served),
            )
        })
}

async fn list(
    State(served): State<Served>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<String>>, EdgeError> {
    let terms = list_subscriptions(served.store.as_ref(), &caller.owner, served.kind).await?;
    Ok(Json(terms))
}

async fn add(
    State(served): State<Served>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<SubscriptionRequest>,
) -> Result<(StatusCode, Json<SubscriptionAnswer>), EdgeError> {
    let added = subscribe(
        served.store.as_ref(),
        served.matcher.as_ref(),
        &caller,
        served.kind,
        request,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

async fn remove(
    State(served): State<Served>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<SubscriptionRequest>,
) -> Result<Json<SubscriptionAnswer>, EdgeError> {
    let removed = unsubscribe(
        served.store.as_ref(),
        served.matcher.as_ref(),
        &caller.owner,
        served.kind,
        request,
    )
    .await?;
    Ok(Json(removed))
}
