//! Getting a finished export to its owner: email, WebSocket push, and the per-execution records
//! that let a push reach the right connection whichever of the file and the client comes first.

use crate::error::BoxError;
use crate::export::ExportProgress;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// One email, with both an HTML and a plain-text body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link of a subscription email (RFC 8058): mailers send it as
    /// `List-Unsubscribe: <link>` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so a
    /// mail client can offer "unsubscribe" and POST to the link. `None` for export emails.
    pub unsubscribe: Option<String>,
}

/// The `List-Unsubscribe-Post` value RFC 8058 prescribes, sent beside every `List-Unsubscribe`.
pub const ONE_CLICK_UNSUBSCRIBE: &str = "List-Unsubscribe=One-Click";

/// Sends email. Implementations: an outbox folder (plus optional SMTP) locally, SES v2 in AWS.
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends `message`; returns the provider's message id (or the outbox file) for the logs.
    async fn send(&self, message: &EmailMessage) -> Result<String, DeliveryError>;
}

/// Outcome of posting to a WebSocket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Delivered,
    /// The client has gone (API Gateway answers 410); an expected outcome, not a failure.
    Gone,
}

/// Posts frames to WebSocket connections. Implementations: the local hub, and API Gateway's
/// management API (`PostToConnection`).
#[async_trait]
pub trait PushChannel: Send + Sync + fmt::Debug {
    /// Sends `frame` as one text message to `connection_id`.
    async fn post(&self, connection_id: &str, frame: &Value) -> Result<PostOutcome, DeliveryError>;
}

/// A client waiting, on one connection, for one execution's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushConnection {
    pub connection_id: String,
    pub owner_sub: String,
    /// The client asked for progress frames (`"progress": true`).
    #[serde(default)]
    pub wants_progress: bool,
}

/// A frame ready for one execution's client, with the token that completes the execution's
/// waiting step once the frame is handed over (absent for error frames).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDelivery {
    pub frame: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

/// Per-execution push records. Each side writes its own record first and then reads the
/// other's, so with a store that reads its own writes at least one side sees both; the task
/// token then decides which side delivers (see `Workflow::send_task_success`).
#[async_trait]
pub trait PushRegistry: Send + Sync + fmt::Debug {
    /// Records that `connection` waits for `execution_arn`'s file.
    async fn put_connection(
        &self,
        execution_arn: &str,
        connection: &PushConnection,
    ) -> Result<(), DeliveryError>;
    /// The connection waiting for `execution_arn`, if any.
    async fn connection(
        &self,
        execution_arn: &str,
    ) -> Result<Option<PushConnection>, DeliveryError>;
    /// Records the frame ready for `execution_arn`'s client.
    async fn put_delivery(
        &self,
        execution_arn: &str,
        delivery: &PendingDelivery,
    ) -> Result<(), DeliveryError>;
    /// The frame ready for `execution_arn`'s client, if any.
    async fn delivery(&self, execution_arn: &str)
    -> Result<Option<PendingDelivery>, DeliveryError>;
}

/// Where running exports publish progress and `report-status` reads it.
#[async_trait]
pub trait ProgressBoard: Send + Sync + fmt::Debug {
    /// Records progress of the export `export_id`. Must not block: it is called from the
    /// export loop after every batch.
    fn record(&self, export_id: &str, progress: ExportProgress);
    /// The last progress recorded for `export_id`.
    async fn read(&self, export_id: &str) -> Option<ExportProgress>;
}

/// What went wrong delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryErrorKind {
    /// The provider could not be reached; trying again may succeed.
    Unavailable,
    /// The provider refused the message (bad address, unverified sender, limits).
    Rejected,
    /// A local I/O failure.
    Io,
}

impl fmt::Display for DeliveryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeliveryErrorKind::Unavailable => "delivery provider unavailable",
            DeliveryErrorKind::Rejected => "delivery refused",
            DeliveryErrorKind::Io => "delivery i/o failed",
        })
    }
}

/// A delivery failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct DeliveryError {
    pub kind: DeliveryErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl DeliveryError {
    pub fn new(kind: DeliveryErrorKind, context: impl Into<String>) -> Self {
        DeliveryError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}
