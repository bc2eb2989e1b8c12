//! The REST side of the local stack: JSON in, JSON out, bearer tokens checked on every call, and
//! every error mapped to a status in one place.

use crate::stack::AppState;
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sde_core::{Owner, SearchRequest};
use sde_handlers::download_request::{DownloadRequest, download_request};
use sde_handlers::report_status::{ReportStatusRequest, report_status};
use sde_handlers::search::search;
use sde_handlers::{ApiError, ApiErrorKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;
use tracing::{debug, error};

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct ErrorResponse(pub ApiError);

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> Self {
        ErrorResponse(error)
    }
}

impl ErrorResponse {
    /// Logs the error (server errors with their whole cause) and returns what the caller may see.
    pub fn log_and_message(&self) -> &str {
        let error = &self.0;
        if error.is_server_error() {
            error!(error = %sde_handlers::task_failure::describe_chain(error), "request failed");
        } else {
            debug!(status = error.status(), message = %error, "request refused");
        }
        error.public_message()
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        self.log_and_message();
        let error = self.0;
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(error.body())).into_response();
        if error.kind == ApiErrorKind::Unauthorized {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult<T> = Result<Json<T>, ErrorResponse>;

/// The signed-in caller, from a verified `Authorization: Bearer <ID token>`.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Owner);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ErrorResponse;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <ID token>"))?;
        let token = sde_auth::bearer_token(header).map_err(|e| unauthorized(&e.to_string()))?;
        verify(state, token).await.map(Authenticated)
    }
}

/// Verifies an ID token and names its owner.
pub async fn verify(state: &AppState, token: &str) -> Result<Owner, ErrorResponse> {
    let caller = state
        .verifier
        .verify(token)
        .await
        .map_err(|e| unauthorized(&e.to_string()))?;
    Ok(Owner {
        sub: caller.sub,
        email: caller.email,
    })
}

fn unauthorized(message: &str) -> ErrorResponse {
    ErrorResponse(ApiError::new(
        ApiErrorKind::Unauthorized,
        message.to_owned(),
    ))
}

/// Largest REST body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body: 415 unless declared `application/json`, 413 past [`MAX_BODY_BYTES`],
/// 400 saying where it is malformed.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ErrorResponse;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                ApiErrorKind::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            )
            .into());
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    ApiErrorKind::PayloadTooLarge,
                    format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                )
            })?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")).into())
    }
}

pub async fn search_route(
    State(state): State<AppState>,
    _: Authenticated,
    JsonBody(request): JsonBody<SearchRequest>,
) -> ApiResult<Value> {
    let response = search(state.index.as_ref(), &request).await?;
    Ok(Json(
        serde_json::to_value(response).map_err(ApiError::internal)?,
    ))
}

pub async fn download_request_route(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(request): JsonBody<DownloadRequest>,
) -> ApiResult<Value> {
    let response =
        download_request(state.workflow.as_ref(), state.limits, &caller, request).await?;
    Ok(Json(
        serde_json::to_value(response).map_err(ApiError::internal)?,
    ))
}

pub async fn report_status_route(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(request): JsonBody<ReportStatusRequest>,
) -> ApiResult<Value> {
    let response = report_status(
        state.workflow.as_ref(),
        state.progress.as_ref(),
        &caller,
        &request,
    )
    .await?;
    Ok(Json(
        serde_json::to_value(response).map_err(ApiError::internal)?,
    ))
}

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
) -> ApiResult<Value> {
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
pub async fn jwks_route(State(state): State<AppState>) -> Result<Response, ErrorResponse> {
    match &state.issuer {
        Some(issuer) => Ok(
            Json(serde_json::to_value(issuer.jwks()).map_err(ApiError::internal)?).into_response(),
        ),
        None => Err(ApiError::not_found("the development issuer is off").into()),
    }
}

/// Any route that does not exist.
pub async fn not_found_route() -> ErrorResponse {
    ApiError::not_found("no such route").into()
}
