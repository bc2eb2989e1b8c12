//! Posts: `POST /posts`, a new post by the caller, answered `201 Created` with the post as
//! stored once it is searchable (and queued for real-time notices).

use crate::body::JsonBody;
use crate::caller::SignedIn;
use crate::error::EdgeError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use sde_core::{NotificationQueue, Post, PostRequest, PostStore};
use std::sync::Arc;

/// Where posts are stored, and where their notification jobs go.
#[derive(Debug, Clone)]
struct Served {
    store: Arc<dyn PostStore>,
    queue: Arc<dyn NotificationQueue>,
}

/// `POST /posts`: stores a new post by the signed-in caller, then queues it on `queue`.
pub fn posts_routes(store: Arc<dyn PostStore>, queue: Arc<dyn NotificationQueue>) -> Router {
    Router::new()
        .route("/posts", post(create_post))
        .with_state(Served { store, queue })
}

async fn create_post(
    State(served): State<Served>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<PostRequest>,
) -> Result<(StatusCode, Json<Post>), EdgeError> {
    let post = sde_handlers::posts::create_post(
        served.store.as_ref(),
        served.queue.as_ref(),
        &caller.owner,
        request,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(post)))
}
