//! Search and exports: `POST /search`, `POST /download-request`, `POST /report-status`, and the
//! caller's own exports: `GET /exports`, `DELETE /exports/{id}`.

use crate::body::JsonBody;
use crate::caller::SignedIn;
use crate::error::EdgeResult;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use sde_core::{
    ExportSlots, ObjectStore, ProgressBoard, PushChannel, PushRegistry, SearchIndex, SearchRequest,
    Workflow,
};
use sde_handlers::download_request::{DownloadRequest, DownloadResponse, ExportLimits};
use sde_handlers::exports::{CancelDeps, CancelOutcome, ExportList};
use sde_handlers::report_status::{ReportStatusRequest, ReportStatusResponse};
use sde_handlers::search::SearchResponse;
use std::sync::Arc;

/// `POST /search`: one page of ranked posts.
pub fn search_routes(index: Arc<dyn SearchIndex>) -> Router {
    Router::new()
        .route("/search", post(search))
        .with_state(index)
}

async fn search(
    State(index): State<Arc<dyn SearchIndex>>,
    _: SignedIn,
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
    /// Each user's slots for running exports.
    pub slots: Arc<dyn ExportSlots>,
    pub limits: ExportLimits,
}

/// `POST /download-request`: validates an export and starts its execution.
pub fn download_request_routes(starter: ExportStarter) -> Router {
    Router::new()
        .route("/download-request", post(download_request))
        .with_state(starter)
}

async fn download_request(
    State(starter): State<ExportStarter>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<DownloadRequest>,
) -> EdgeResult<DownloadResponse> {
    Ok(Json(
        sde_handlers::download_request::download_request(
            starter.workflow.as_ref(),
            starter.slots.as_ref(),
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
    State(reader): State<StatusReader>,
    SignedIn(caller): SignedIn,
    JsonBody(request): JsonBody<ReportStatusRequest>,
) -> EdgeResult<ReportStatusResponse> {
    Ok(Json(
        sde_handlers::report_status::report_status(
            reader.workflow.as_ref(),
            reader.progress.as_ref(),
            &caller.owner,
            &request,
        )
        .await?,
    ))
}

/// What `GET /exports` and `DELETE /exports/{id}` read and change.
#[derive(Debug, Clone)]
pub struct MyExports {
    pub workflow: Arc<dyn Workflow>,
    /// Where the export files are.
    pub store: Arc<dyn ObjectStore>,
    pub progress: Arc<dyn ProgressBoard>,
    /// The push records and channel, to tell a push client its export was cancelled.
    pub registry: Arc<dyn PushRegistry>,
    pub channel: Arc<dyn PushChannel>,
}

/// `GET /exports`: the caller's exports of the last day; `DELETE /exports/{id}`: cancel one
/// that runs, or delete a finished one's file.
pub fn exports_routes(exports: MyExports) -> Router {
    Router::new()
        .route("/exports", get(list_exports))
        .route("/exports/{id}", delete(cancel_export))
        .with_state(exports)
}

async fn list_exports(
    State(exports): State<MyExports>,
    SignedIn(caller): SignedIn,
) -> EdgeResult<ExportList> {
    Ok(Json(
        sde_handlers::exports::list_exports(
            exports.workflow.as_ref(),
            exports.store.as_ref(),
            exports.progress.as_ref(),
            &caller.owner,
            chrono::Utc::now(),
        )
        .await?,
    ))
}

async fn cancel_export(
    State(exports): State<MyExports>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> EdgeResult<CancelOutcome> {
    let deps = CancelDeps {
        workflow: exports.workflow.as_ref(),
        store: exports.store.as_ref(),
        registry: exports.registry.as_ref(),
        channel: exports.channel.as_ref(),
    };
    Ok(Json(
        sde_handlers::exports::cancel_export(deps, &caller.owner, &id).await?,
    ))
}
