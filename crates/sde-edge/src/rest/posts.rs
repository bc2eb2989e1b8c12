//! Posts: `POST /posts`, a new post by the caller, answered `201 Created` with the post as
//! stored once it is searchable.

use crate::body::JsonBody;
use crate::caller::SignedIn;
use crate::error::EdgeError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use sde_core::{Post, PostRequest, PostStore};
use std::sync::Arc;

/// `POST /posts`: stores a new post by the signed-in caller.
pub fn posts_routes(store: Arc<dyn PostStore>) -> Router {
    Router::new()
        .route("/posts", post(create_post))
        .with_state(store)
}

async fn create_post(
    State(store): State<Arc<dyn PostStore>>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<PostRequest>,
) -> Result<(StatusCode, Json<Post>), EdgeError> {
    let post = sde_handlers::posts::create_post(store.as_ref(), &caller.owner, request).await?;
    Ok((StatusCode::CREATED, Json(post)))
}
