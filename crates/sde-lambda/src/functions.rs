//! The glue of each Lambda function: its event in, the shared handler called, its response out.
//! The binaries hand these to `lambda_runtime::run`; the tests drive them with recorded events
//! and in-memory parts, without the runtime.

use crate::rest::{RestEvent, RestResponse, respond};
use crate::task::{TaskDiagnostic, output, payload};
use crate::websocket::{AuthorizerError, AuthorizerEvent, WsEvent, WsResponse, allow};
use sde_auth::{AuthError, IdTokenVerifier};
use sde_core::{
    Mailer, ObjectStore, Owner, ProgressBoard, PushChannel, PushRegistry, SearchIndex,
    SearchRequest, Workflow,
};
use sde_handlers::download_request::{DownloadRequest, ExportLimits};
use sde_handlers::email_link::NotifyInput;
use sde_handlers::generate_csv::ExportSettings;
use sde_handlers::push::{OpenConnection, PushResultInput};
use sde_handlers::report_status::ReportStatusRequest;
use sde_handlers::task_failure::describe_chain;
use sde_handlers::{ApiError, ExecutionInput};
use serde_json::Value;
use std::future::Future;
use tracing::{debug, error, info, warn};

/// `POST /search`.
pub async fn search(index: &dyn SearchIndex, event: RestEvent, cors_origin: &str) -> RestResponse {
    let result = async {
        event.caller()?;
        let request: SearchRequest = event.json_body()?;
        sde_handlers::search::search(index, &request).await
    };
    respond(result.await, cors_origin)
}

/// `POST /download-request`.
pub async fn download_request(
    workflow: &dyn Workflow,
    limits: ExportLimits,
    event: RestEvent,
    cors_origin: &str,
) -> RestResponse {
    let result = async {
        let caller = event.caller()?;
        let request: DownloadRequest = event.json_body()?;
        sde_handlers::download_request::download_request(workflow, limits, &caller, request).await
    };
    respond(result.await, cors_origin)
}

/// `POST /report-status`.
pub async fn report_status(
    workflow: &dyn Workflow,
    progress: &dyn ProgressBoard,
    event: RestEvent,
    cors_origin: &str,
) -> RestResponse {
    let result = async {
        let caller = event.caller()?;
        let request: ReportStatusRequest = event.json_body()?;
        sde_handlers::report_status::report_status(workflow, progress, &caller, &request).await
    };
    respond(result.await, cors_origin)
}

/// A progress board that buffers, and can write what it holds before the function returns: a
/// frozen Lambda sandbox runs no background task.
pub trait FlushProgress: ProgressBoard {
    /// Writes every recorded value not yet written.
    fn flush(&self) -> impl Future<Output = ()> + Send;
}

impl FlushProgress for sde_aws::S3ProgressBoard {
    fn flush(&self) -> impl Future<Output = ()> + Send {
        sde_aws::S3ProgressBoard::flush(self)
    }
}

/// The `generateCsv` task: the execution input in, the export report out. The last progress is
/// written before returning, whether the export succeeded or not.
pub async fn generate_csv(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    progress: &impl FlushProgress,
    settings: ExportSettings,
    event: Value,
) -> Result<Value, TaskDiagnostic> {
    let input: ExecutionInput = payload(event)?;
    let result =
        sde_handlers::generate_csv::generate_csv(index, store, progress, settings, &input).await;
    progress.flush().await;
    if let Err(failure) = &result {
        error!(error = failure.error, cause = %failure.cause, export_id = %input.export_id, "export failed");
    }
    output(result)
}

/// The `emailLink` task (both the ready and the failed email).
pub async fn email_link(mailer: &dyn Mailer, event: Value) -> Result<Value, TaskDiagnostic> {
    let input: NotifyInput = payload(event)?;
    output(sde_handlers::email_link::email_link(mailer, &input).await)
}

/// The `pushResult` task (both the ready and the error frame).
pub async fn push_result(
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    workflow: &dyn Workflow,
    event: Value,
) -> Result<Value, TaskDiagnostic> {
    let input: PushResultInput = payload(event)?;
    output(sde_handlers::push::push_result(registry, channel, workflow, &input).await)
}

/// The WebSocket routes `$connect` (already authorized), `$disconnect` and `OpenConnection`.
/// A refused `OpenConnection` is also answered on the socket with `{"error", "executionArn"}`,
/// the frame the client listens for.
pub async fn push_open_connection(
    workflow: &dyn Workflow,
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    event: WsEvent,
) -> WsResponse {
    let context = &event.request_context;
    match context.route_key.as_str() {
        "$connect" | "$disconnect" => {
            debug!(route = %context.route_key, connection_id = %context.connection_id, "websocket route");
            WsResponse::ok()
        }
        "OpenConnection" => open_connection(workflow, registry, channel, &event).await,
        other => WsResponse::from_error(&ApiError::bad_request(format!(
            "unknown action {other:?}: send {{\"action\": \"OpenConnection\", \"executionArn\": …}}"
        ))),
    }
}

async fn open_connection(
    workflow: &dyn Workflow,
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    event: &WsEvent,
) -> WsResponse {
    let connection_id = event.request_context.connection_id.as_str();
    let message = event.json_body::<OpenConnection>();
    let execution_arn = message.as_ref().ok().map(|m| m.execution_arn.clone());
    let result = async {
        let caller = event.caller()?;
        let message = message?;
        sde_handlers::push::push_open_connection(
            workflow,
            registry,
            channel,
            &caller,
            connection_id,
            &message,
        )
        .await
    };
    let Err(refusal) = result.await else {
        return WsResponse::ok();
    };
    if refusal.is_server_error() {
        error!(error = %describe_chain(&refusal), "open connection failed");
    } else {
        debug!(status = refusal.status(), message = %refusal, "open connection refused");
    }
    if let Some(execution_arn) = execution_arn.filter(|_| !connection_id.is_empty()) {
        let frame = sde_handlers::push::error_frame(&execution_arn, refusal.public_message());
        if let Err(post_error) = channel.post(connection_id, &frame).await {
            warn!(error = %describe_chain(&post_error), "could not tell the client its request was refused");
        }
    }
    WsResponse::from_error(&refusal)
}

/// The WebSocket `$connect` REQUEST authorizer: the ID token of the `token` query parameter,
/// verified against the user pool, allows the connection and names its owner to every later
/// route.
pub async fn ws_authorizer(
    verifier: &IdTokenVerifier,
    event: AuthorizerEvent,
) -> Result<Value, AuthorizerError> {
    let Some(token) = event.token().filter(|token| !token.is_empty()) else {
        info!("connection refused: no token");
        return Err(AuthorizerError::Unauthorized);
    };
    match verifier.verify(token).await {
        Ok(caller) => {
            let owner = Owner {
                sub: caller.sub,
                email: caller.email,
            };
            Ok(allow(&owner, &event.method_arn))
        }
        Err(error @ AuthError::JwksUnavailable { .. }) => {
            error!(error = %describe_chain(&error), "connection not checked");
            Err(AuthorizerError::KeysUnavailable(error))
        }
        Err(error) => {
            info!(reason = %error, "connection refused");
            Err(AuthorizerError::Unauthorized)
        }
    }
}
