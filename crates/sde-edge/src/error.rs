//! The one mapping from an [`ApiError`] to what a caller receives: its status, a
//! `{"message": …}` body, `WWW-Authenticate` on 401, and a log line — server errors with their
//! whole cause, refusals at debug level.

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sde_core::describe_chain;
use sde_handlers::{ApiError, ApiErrorKind};
use tracing::{debug, error};

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct EdgeError(pub ApiError);

impl From<ApiError> for EdgeError {
    fn from(error: ApiError) -> Self {
        EdgeError(error)
    }
}

impl IntoResponse for EdgeError {
    fn into_response(self) -> Response {
        let error = self.0;
        log_refusal(&error);
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

/// Logs a refused request: a server error with its whole cause (which the caller never sees),
/// a client error with its status and message.
pub fn log_refusal(error: &ApiError) {
    if error.is_server_error() {
        error!(status = error.status(), error = %describe_chain(error), "request failed");
    } else {
        debug!(status = error.status(), message = %error, "request refused");
    }
}

/// The JSON a handler answers with, or the error it was refused with.
pub type EdgeResult<T> = Result<Json<T>, EdgeError>;

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_refusal_answers_its_status_and_message_and_a_401_names_the_scheme() {
        let response =
            EdgeError(ApiError::new(ApiErrorKind::Unauthorized, "no token")).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            body_of(response).await,
            serde_json::json!({"message": "no token"})
        );
    }

    #[tokio::test]
    async fn a_server_error_answers_without_its_cause() {
        let error = ApiError::internal(std::io::Error::other("db at 10.0.0.3 down"));
        let response = EdgeError(error).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
        assert_eq!(
            body_of(response).await,
            serde_json::json!({"message": "internal error"})
        );
    }
}
