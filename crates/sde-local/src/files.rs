//! `GET /files/<key>?…`: serves export files to holders of a valid signed URL, the local
//! stand-in for S3 presigned GETs.

use crate::stack::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sde_edge::EdgeError as ErrorResponse;
use sde_handlers::{ApiError, ApiErrorKind};
use tokio_util::io::ReaderStream;

/// Streams the file a signed URL grants: 403 for a tampered or expired URL, 404 once the file
/// is gone.
pub async fn download_route(
    State(state): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ErrorResponse> {
    let download = state
        .store
        .resolve_download(&key, query.as_deref().unwrap_or(""))
        .map_err(|refusal| ApiError::new(ApiErrorKind::Forbidden, refusal.to_string()))?;
    let file = match tokio::fs::File::open(&download.path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("the file has expired or does not exist").into());
        }
        Err(error) => return Err(ApiError::internal(error).into()),
    };
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    let mut response = (StatusCode::OK, Body::from_stream(ReaderStream::new(file))).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        CONTENT_TYPE,
        header_value(&download.grant.content_type, "application/octet-stream"),
    );
    let disposition = download.grant.disposition;
    headers.insert(
        CONTENT_DISPOSITION,
        header_value(
            &disposition.header(&download.grant.download_name),
            "attachment",
        ),
    );
    // A file shown inline may be an SVG: whatever it held, it may run nothing and load nothing.
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

fn header_value(text: &str, fallback: &'static str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static(fallback))
}
