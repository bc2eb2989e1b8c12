//! A JSON request body, decoded the same way on every host: 415 unless it is declared
//! `application/json`, 413 past [`MAX_BODY_BYTES`], 400 naming where it is malformed.

use crate::error::EdgeError;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use sde_handlers::{ApiError, ApiErrorKind};
use serde::de::DeserializeOwned;

/// Largest REST body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = EdgeError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        check_content_type(content_type.as_deref())?;
        let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large())?;
        Ok(JsonBody(decode_json(&body)?))
    }
}

/// Refuses a body not declared as `application/json` (any parameters, e.g. a charset, allowed).
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let is_json = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            ApiErrorKind::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ))
    }
}

/// Decodes `body` as a `T`; the error names the field where it went wrong and the line and
/// column, e.g. `invalid JSON body at searchCriteria.results: invalid type: …`.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid JSON body at {path}: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

fn too_large() -> ApiError {
    ApiError::new(
        ApiErrorKind::PayloadTooLarge,
        format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[allow(dead_code)]
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        count: u32,
    }

    #[test]
    fn only_a_body_declared_json_is_read() {
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=utf-8")).is_ok());
        for refused in [None, Some("text/plain"), Some("application/jsonx")] {
            assert_eq!(
                check_content_type(refused).map_err(|e| e.status()),
                Err(415)
            );
        }
    }

    #[test]
    fn a_malformed_body_says_where() {
        let error = decode_json::<Outer>(br#"{"inner": {"count": "three"}}"#).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            error
                .to_string()
                .starts_with("invalid JSON body at inner.count: invalid type"),
            "{error}"
        );
        let error = decode_json::<Outer>(b"{").unwrap_err();
        assert!(error.to_string().contains("line 1 column 1"), "{error}");
        let error = decode_json::<Outer>(br#"{"inner": {"count": 1}} trailing"#).unwrap_err();
        assert_eq!(error.status(), 400);
    }

    #[test]
    fn a_body_past_the_limit_is_too_large() {
        let big = format!("\"{}\"", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            decode_json::<String>(big.as_bytes()).unwrap_err().status(),
            413
        );
    }
}
