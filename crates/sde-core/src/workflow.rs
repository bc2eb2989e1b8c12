//! The workflow engine seen from the domain: Step Functions in AWS, the in-process interpreter
//! locally. Executions run `statemachine/download-request.asl.json`.

use crate::error::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Status of an execution, as `DescribeExecution` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn is_finished(self) -> bool {
        self != ExecutionStatus::Running
    }
}

/// What `DescribeExecution` says of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub start_date: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
}

/// Runs export executions.
#[async_trait]
pub trait Workflow: Send + Sync + fmt::Debug {
    /// Starts an execution named `name` (unique per state machine) with `input`, returning its
    /// ARN. A name already used fails with [`WorkflowErrorKind::AlreadyExists`].
    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError>;

    /// How many executions whose name starts with `name_prefix` are running now.
    async fn count_running(&self, name_prefix: &str) -> Result<u64, WorkflowError>;

    /// Describes the execution `execution_arn`; an unknown ARN is [`WorkflowErrorKind::NotFound`].
    async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, WorkflowError>;

    /// Completes the waiting task that owns `task_token` with `output`. A token whose task has
    /// already completed, failed or timed out fails with [`WorkflowErrorKind::TaskClosed`], so
    /// of two callers racing to complete one task exactly one succeeds.
    async fn send_task_success(&self, task_token: &str, output: Value)
    -> Result<(), WorkflowError>;

    /// Fails the waiting task that owns `task_token`.
    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError>;
}

/// What went wrong talking to the workflow engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowErrorKind {
    NotFound,
    AlreadyExists,
    /// The task token is unknown, or its task is no longer waiting.
    TaskClosed,
    /// The engine refused the request (bad input, limits).
    Rejected,
    /// The engine could not be reached; trying again may succeed.
    Unavailable,
}

impl fmt::Display for WorkflowErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkflowErrorKind::NotFound => "execution not found",
            WorkflowErrorKind::AlreadyExists => "execution already exists",
            WorkflowErrorKind::TaskClosed => "task is no longer waiting",
            WorkflowErrorKind::Rejected => "workflow engine rejected the request",
            WorkflowErrorKind::Unavailable => "workflow engine unavailable",
        })
    }
}

/// A workflow failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct WorkflowError {
    pub kind: WorkflowErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl WorkflowError {
    pub fn new(kind: WorkflowErrorKind, context: impl Into<String>) -> Self {
        WorkflowError {
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
