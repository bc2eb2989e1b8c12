//! The REST API as axum routers, one per function, served by both hosts: the local stack merges
//! them behind one listener, each Lambda function serves its own (API Gateway routes to it). A
//! router is finished by [`api`], which adds what every route shares: the caller's
//! [`Authenticate`], JSON answers for unknown routes and methods, and CORS. The routes live in one
//! module per resource.

mod downloads;
mod exports;
mod reports;

pub use downloads::{Clock, Downloads, REDIRECT_TTL, download_routes};
pub use exports::{
    ExportStarter, StatusReader, download_request_routes, report_status_routes, search_routes,
};
pub use reports::{Reporter, report_graphical_routes, report_hybrid_routes};

use crate::caller::{Authenticate, Authenticator};
use crate::error::EdgeError;
use axum::http::{HeaderValue, Method, header};
use axum::{Extension, Router};
use sde_handlers::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

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
