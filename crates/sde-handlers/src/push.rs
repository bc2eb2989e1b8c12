//! `push-result` and `push-open-connection`: deliver an execution's URL to the WebSocket of the
//! user who started it, whichever arrives first — the file or the client.
//!
//! Each side writes its own record, then reads the other's (see [`PushRegistry`]). A success
//! frame carries the execution's task token; whoever completes that token delivers, so the
//! client gets the URL once even when both sides see each other.

use crate::api_error::ApiError;
use crate::email_link::CaughtError;
use crate::execution::ExportOutput;
use crate::report_status::{described_execution, owned_execution};
use crate::task_failure::TaskFailure;
use sde_core::{
    DeliveryError, Owner, PendingDelivery, PostOutcome, PushChannel, PushConnection, PushRegistry,
    Workflow, WorkflowErrorKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{info, warn};

/// The input of the push step: the report (with the token of the waiting step) or a failure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PushResultInput {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    #[serde(rename = "taskToken", default)]
    pub task_token: Option<String>,
    #[serde(default)]
    pub report: Option<ExportOutput>,
    /// The error a `Catch` recorded (sent as `error` by the state machine).
    #[serde(default, alias = "error")]
    pub failure: Option<CaughtError>,
}

/// What the push step did right away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PushOutcomeReport {
    /// The frame went out now; otherwise it waits for the client's `OpenConnection`.
    pub delivered: bool,
}

/// The client's `OpenConnection` message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OpenConnection {
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    /// Sent by the original frontend; the execution is correlated by ARN, so it is not needed.
    #[serde(rename = "taskToken", default)]
    pub task_token: Option<String>,
    /// The client wants progress frames too.
    #[serde(default)]
    pub progress: bool,
}

/// The frame a client receives when its file is ready. The URL is at `reportURL`, and again at
/// `data.reportURL`: releases of the original frontend read one or the other.
pub fn ready_frame(report: &ExportOutput) -> Value {
    json!({ "reportURL": report.report_url, "data": { "reportURL": report.report_url } })
}

/// The frame a client receives when its export failed.
pub fn error_frame(execution_arn: &str, cause: &str) -> Value {
    json!({ "error": cause, "executionArn": execution_arn })
}

/// Records the result of `input.execution_arn` and delivers it if the client is already there.
pub async fn push_result(
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    workflow: &dyn Workflow,
    input: &PushResultInput,
) -> Result<PushOutcomeReport, TaskFailure> {
    let delivery = match (&input.report, &input.failure) {
        (Some(report), _) => {
            let Some(token) = input.task_token.clone() else {
                return Err(TaskFailure::invalid_request(
                    "push-result needs the task token with a report",
                ));
            };
            PendingDelivery {
                frame: ready_frame(report),
                task_token: Some(token),
            }
        }
        (None, Some(failure)) => PendingDelivery {
            frame: error_frame(&input.execution_arn, failure.reason()),
            task_token: None,
        },
        (None, None) => {
            return Err(TaskFailure::invalid_request(
                "push-result needs a report or a failure",
            ));
        }
    };
    registry
        .put_delivery(&input.execution_arn, &delivery)
        .await?;
    let delivered = match registry.connection(&input.execution_arn).await? {
        Some(connection) => deliver(channel, workflow, &connection, &delivery).await?,
        None => false,
    };
    info!(delivered, "push result recorded");
    Ok(PushOutcomeReport { delivered })
}

/// Who opened a WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriber {
    /// A signed-in user, who may follow their own executions.
    Owner(Owner),
    /// A connection without a token, allowed only where the deployment opts in: it may follow
    /// the one `push` execution whose (unguessable) ARN it names, and nothing else.
    Anonymous,
}

/// Registers `connection_id` as the connection waiting for the execution `message` names, and
/// delivers the result if it is already there. A signed-in subscriber may follow only their own
/// executions; an anonymous one only a `push` export. Any other execution is a 404, the same as
/// one that does not exist.
pub async fn push_open_connection(
    workflow: &dyn Workflow,
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    subscriber: &Subscriber,
    connection_id: &str,
    message: &OpenConnection,
) -> Result<(), ApiError> {
    let owner_sub = match subscriber {
        Subscriber::Owner(caller) => {
            owned_execution(workflow, caller, &message.execution_arn).await?;
            caller.sub.clone()
        }
        Subscriber::Anonymous => pushed_execution_owner(workflow, &message.execution_arn).await?,
    };
    let connection = PushConnection {
        connection_id: connection_id.to_owned(),
        owner_sub,
        wants_progress: message.progress,
    };
    registry
        .put_connection(&message.execution_arn, &connection)
        .await
        .map_err(ApiError::internal)?;
    if let Some(delivery) = registry
        .delivery(&message.execution_arn)
        .await
        .map_err(ApiError::internal)?
    {
        deliver(channel, workflow, &connection, &delivery)
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// The owner of the `push` export `execution_arn`; any other execution is a 404.
async fn pushed_execution_owner(
    workflow: &dyn Workflow,
    execution_arn: &str,
) -> Result<String, ApiError> {
    let execution = described_execution(workflow, execution_arn).await?;
    let input = &execution.input;
    let is_push = input.get("type").and_then(Value::as_str) == Some("push");
    match input.pointer("/owner/sub").and_then(Value::as_str) {
        Some(sub) if is_push => Ok(sub.to_owned()),
        _ => Err(ApiError::not_found("no such export")),
    }
}

/// Hands `delivery` to `connection`. A success frame is sent only by the caller that completes
/// the task token; an error frame is simply sent.
async fn deliver(
    channel: &dyn PushChannel,
    workflow: &dyn Workflow,
    connection: &PushConnection,
    delivery: &PendingDelivery,
) -> Result<bool, TaskFailure> {
    if let Some(token) = &delivery.task_token {
        let output = json!({ "delivered": true, "connectionId": connection.connection_id });
        match workflow.send_task_success(token, output).await {
            Ok(()) => {}
            Err(error) if error.kind == WorkflowErrorKind::TaskClosed => return Ok(false),
            Err(error) => return Err(error.into()),
        }
    }
    match post(channel, connection, &delivery.frame).await? {
        PostOutcome::Delivered => Ok(true),
        PostOutcome::Gone => {
            // The file is still on report-status; a vanished client does not fail the export.
            warn!(connection_id = %connection.connection_id, "client left before delivery");
            Ok(false)
        }
    }
}

async fn post(
    channel: &dyn PushChannel,
    connection: &PushConnection,
    frame: &Value,
) -> Result<PostOutcome, DeliveryError> {
    channel.post(&connection.connection_id, frame).await
}
