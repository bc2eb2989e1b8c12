//! The REST API as axum routers, one per function, served by both hosts: the local stack merges
//! them behind one listener, each Lambda function serves its own (API Gateway routes to it). A
//! router is finished by [`api`], which adds what every route shares: the caller's
//! [`Authenticate`], JSON answers for unknown routes and methods, and CORS.

use crate::body::JsonBody;
use crate::caller::{Authenticate, Authenticator, Caller};
use crate::error::{EdgeError, EdgeResult};
use axum::http::{HeaderValue, Method, header};
use axum::routing::post;
use axum::{Extension, Json, Router};
use sde_core::{ProgressBoard, SearchIndex, SearchRequest, Workflow};
use sde_handlers::ApiError;
use sde_handlers::download_request::{DownloadRequest, DownloadResponse, ExportLimits};
use sde_handlers::report_status::{ReportStatusRequest, ReportStatusResponse};
use sde_handlers::search::SearchResponse;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `POST /search`: one page of ranked posts.
pub fn search_routes(index: Arc<dyn SearchIndex>) -> Router {
    Router::new()
        .route("/search", post(search))
        .with_state(index)
}

async fn search(
    axum::extract::State(index): axum::extract::State<Arc<dyn SearchIndex>>,
    _: Caller,
    JsonBody(request): JsonBody<SearchRequest>,
) -> EdgeResult<SearchResponse> {
    Ok(Json(
        sde_handlers::search::search(index.as_ref(), &request).await?,
    ))
}

/// What `POST /download-request` starts exports with.
#[derive(Debug, Clone)]
pub struct ExportStarter {
    pub workflow: Arc<dyn Workflow>,
    pub limits: ExportLimits,
}

/// `POST /download-request`: validates an export and starts its execution.
pub fn download_request_routes(starter: ExportStarter) -> Router {
    Router::new()
        .route("/download-request", post(download_request))
        .with_state(starter)
}

async fn download_request(
    axum::extract::State(starter): axum::extract::State<ExportStarter>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<DownloadRequest>,
) -> EdgeResult<DownloadResponse> {
    Ok(Json(
        sde_handlers::download_request::download_request(
            starter.workflow.as_ref(),
            starter.limits,
            &caller,
            request,
        )
        .await?,
    ))
}

/// What `POST /report-status` reads.
#[derive(Debug, Clone)]
pub struct StatusReader {
    pub workflow: Arc<dyn Workflow>,
    pub progress: Arc<dyn ProgressBoard>,
}

/// `POST /report-status`: where an export is, for its owner only.
pub fn report_status_routes(reader: StatusReader) -> Router {
    Router::new()
        .route("/report-status", post(report_status))
        .with_state(reader)
}

async fn report_status(
    axum::extract::State(reader): axum::extract::State<StatusReader>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<ReportStatusRequest>,
) -> EdgeResult<ReportStatusResponse> {
    Ok(Json(
        sde_handlers::report_status::report_status(
            reader.workflow.as_ref(),
            reader.progress.as_ref(),
            &caller,
            &request,
        )
        .await?,
    ))
}

/// Which origin browsers may call the API from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    /// Any origin (`*`): tokens travel in headers, never cookies.
    Any,
    /// Exactly this origin, e.g. `https://app.example.com`.
    Exact(HeaderValue),
}

/// The CORS policy every route answers with.
pub fn cors(origin: &CorsOrigin) -> CorsLayer {
    let allow_origin = match origin {
        CorsOrigin::Any => AllowOrigin::any(),
        CorsOrigin::Exact(origin) => AllowOrigin::exact(origin.clone()),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// Finishes `routes` into the API a host serves: callers named by `authenticator`, unknown
/// routes and methods answered in JSON, CORS for `origin`.
pub fn api(routes: Router, authenticator: Arc<dyn Authenticate>, origin: &CorsOrigin) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(Authenticator(authenticator)))
        .layer(cors(origin))
}

async fn not_found() -> EdgeError {
    ApiError::not_found("no such route").into()
}

async fn method_not_allowed() -> EdgeError {
    ApiError::new(
        sde_handlers::ApiErrorKind::MethodNotAllowed,
        "this route does not take that method",
    )
    .into()
}
