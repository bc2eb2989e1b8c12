//! The local stack's own REST routes, beside the shared API of `sde-edge`: the development
//! issuer's sign-in (`POST /auth/token`) and its public keys.

use crate::stack::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sde_edge::error::EdgeResult;
use sde_edge::{EdgeError, JsonBody};
use sde_handlers::ApiError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    email: String,
}

/// How long development tokens live; Cognito's ID tokens default to one hour.
const DEV_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// `POST /auth/token {"email"}`: the development issuer's stand-in for signing in to Cognito.
pub async fn token_route(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> EdgeResult<Value> {
    let Some(issuer) = &state.issuer else {
        return Err(ApiError::not_found(
            "the development issuer is off: sign in with the configured identity provider",
        )
        .into());
    };
    let token = issuer
        .issue(&request.email, DEV_TOKEN_TTL)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        json!({ "idToken": token, "tokenType": "Bearer", "expiresIn": DEV_TOKEN_TTL.as_secs() }),
    ))
}

/// `GET /.well-known/jwks.json`: the development issuer's public keys.
pub async fn jwks_route(State(state): State<AppState>) -> Result<Response, EdgeError> {
    match &state.issuer {
        Some(issuer) => Ok(
            Json(serde_json::to_value(issuer.jwks()).map_err(ApiError::internal)?).into_response(),
        ),
        None => Err(ApiError::not_found("the development issuer is off").into()),
    }
}
