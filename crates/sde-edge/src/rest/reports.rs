//! Reports: `POST /report/graphical` (the post-frequency chart, SVG) and `POST /report/hybrid`
//! (the trending-tags report, PDF). Each answers a JSON string: a lasting link to the file. They
//! are two routers because each is its own Lambda function; the local stack merges both.

use crate::body::JsonBody;
use crate::caller::SignedIn;
use crate::error::EdgeResult;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use sde_core::{DownloadLinks, ObjectStore, PostStats};
use sde_handlers::reports::{ReportRequest, ReportSettings};
use std::sync::Arc;

/// What the report routes count with, and where they keep the files.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub stats: Arc<dyn PostStats>,
    pub store: Arc<dyn ObjectStore>,
    pub links: Arc<DownloadLinks>,
    pub settings: ReportSettings,
}

/// `POST /report/graphical`: the post-frequency chart of the caller's search.
pub fn report_graphical_routes(reporter: Reporter) -> Router {
    Router::new()
        .route("/report/graphical", post(report_graphical))
        .with_state(reporter)
}

/// `POST /report/hybrid`: the trending-tags PDF of the caller's search.
pub fn report_hybrid_routes(reporter: Reporter) -> Router {
    Router::new()
        .route("/report/hybrid", post(report_hybrid))
        .with_state(reporter)
}

async fn report_graphical(
    State(reporter): State<Reporter>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<ReportRequest>,
) -> EdgeResult<String> {
    Ok(Json(
        sde_handlers::reports::report_graphical(
            reporter.stats.as_ref(),
            reporter.store.as_ref(),
            &reporter.links,
            reporter.settings,
            &caller.owner,
            &request,
        )
        .await?,
    ))
}

async fn report_hybrid(
    State(reporter): State<Reporter>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<ReportRequest>,
) -> EdgeResult<String> {
    Ok(Json(
        sde_handlers::reports::report_hybrid(
            reporter.stats.as_ref(),
            reporter.store.as_ref(),
            &reporter.links,
            reporter.settings,
            &caller.owner,
            &request,
        )
        .await?,
    ))
}
