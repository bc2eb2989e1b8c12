//! The REST API as axum routers, one per function, served by both hosts: the local stack merges
//! them behind one listener, each Lambda function serves its own (API Gateway routes to it). A
//! router is finished by [`api`], which adds what every route shares: the caller's
//! [`Authenticate`], JSON answers for unknown routes and methods, and CORS. The routes live in one
//! module per resource.

mod downloads;
mod exports;
mod posts;
mod reports;
mod subscriptions;
mod unsubscribe;

pub use downloads::{Clock, Downloads, REDIRECT_TTL, download_routes};
pub use exports::{
    ExportStarter, MyExports, StatusReader, download_request_routes, exports_routes,
    report_status_routes, search_routes,
};
pub use posts::posts_routes;
pub use reports::{Reporter, report_graphical_routes, report_hybrid_routes};
pub use subscriptions::subscriptions_routes;
pub use unsubscribe::{Unsubscribes, unsubscribe_routes};

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

/// Why a configured CORS origin was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an origin such as https://app.example.com (no path) or *, got {0:?}")]
pub struct InvalidOrigin(pub String);

impl CorsOrigin {
    /// Reads a configured origin: `*`, or `http(s)://host[:port]` with no path. Both hosts read
    /// their setting (`SDE_CORS_ORIGIN`, `--cors-origin`) through this.
    pub fn parse(text: &str) -> Result<CorsOrigin, InvalidOrigin> {
        let origin = text.trim();
        if origin == "*" {
            return Ok(CorsOrigin::Any);
        }
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        match host {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {
                HeaderValue::from_str(origin)
                    .map(CorsOrigin::Exact)
                    .map_err(|_| InvalidOrigin(text.to_owned()))
            }
            _ => Err(InvalidOrigin(text.to_owned())),
        }
    }

    /// The origin of `url` (`http://127.0.0.1:3000/some/path` → `http://127.0.0.1:3000`).
    pub fn of_url(url: &str) -> Result<CorsOrigin, InvalidOrigin> {
        let after_scheme = url.find("://").map_or(0, |at| at + 3);
        let end = url[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |at| after_scheme + at);
        match CorsOrigin::parse(&url[..end]) {
            Ok(CorsOrigin::Exact(origin)) => Ok(CorsOrigin::Exact(origin)),
            _ => Err(InvalidOrigin(url.to_owned())),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_origin_is_star_or_a_scheme_and_host_without_a_path() {
        assert_eq!(CorsOrigin::parse("*"), Ok(CorsOrigin::Any));
        assert_eq!(
            CorsOrigin::parse(" https://app.example.com "),
            Ok(CorsOrigin::Exact(HeaderValue::from_static(
                "https://app.example.com"
            )))
        );
        for bad in [
            "",
            "app.example.com",
            "https://",
            "https://a.example/x",
            "ftp://a",
        ] {
            assert_eq!(
                CorsOrigin::parse(bad),
                Err(InvalidOrigin(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_origin_of_a_url_drops_its_path() {
        assert_eq!(
            CorsOrigin::of_url("http://127.0.0.1:3000/sde/"),
            Ok(CorsOrigin::Exact(HeaderValue::from_static(
                "http://127.0.0.1:3000"
            )))
        );
        assert!(CorsOrigin::of_url("not a url").is_err());
    }
}
