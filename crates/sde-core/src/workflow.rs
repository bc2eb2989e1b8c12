//! The workflow engine seen from the domain: Step Functions in AWS, the in-process interpreter
//! locally. Executions run `statemachine/download-request.asl.json`.

use crate::error::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// Status of an execution, as `DescribeExecution` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Ended in a Succeed state or an `End` state.
    Succeeded,
    /// Ended with an error (a Fail state or an uncaught error).
    Failed,
    /// Ran longer than the state machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped before it ended.
    Aborted,
}

impl ExecutionStatus {
    pub fn is_finished(self) -> bool {
        self != ExecutionStatus::Running
    }
}

/// What `DescribeExecution` says of one execution, and serialised as it answers: `input` and
/// `output` are JSON text, dates RFC 3339. The local stack keeps these on disk; records written
/// before they carried `stateMachineArn` hold `input` and `output` as JSON values, and still
/// read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "StoredDescription")]
pub struct ExecutionDescription {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// `arn:aws:states:<region>:<account>:stateMachine:<state machine>`.
    pub state_machine_arn: String,
    /// The name the execution was started with.
    pub name: String,
    pub status: ExecutionStatus,
    /// The execution input.
    #[serde(serialize_with = "json_text")]
    pub input: Value,
    /// The execution output, once SUCCEEDED.
    #[serde(
        serialize_with = "optional_json_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Error name, once FAILED, TIMED_OUT or ABORTED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human-readable cause, once FAILED, TIMED_OUT or ABORTED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub start_date: DateTime<Utc>,
    /// When it ended, once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
}

fn json_text<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

fn optional_json_text<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => json_text(value, s),
        None => s.serialize_none(),
    }
}

/// An [`ExecutionDescription`] as read: in today's shape, or in the shape of records written
/// before `stateMachineArn`, whose `input` and `output` are JSON values.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDescription {
    execution_arn: String,
    #[serde(default)]
    state_machine_arn: Option<String>,
    name: String,
    status: ExecutionStatus,
    input: Value,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
    start_date: DateTime<Utc>,
    #[serde(default)]
    stop_date: Option<DateTime<Utc>>,
}

impl TryFrom<StoredDescription> for ExecutionDescription {
    type Error = String;

    fn try_from(stored: StoredDescription) -> Result<Self, String> {
        let parse = |field: &str, value: Value| match value {
            Value::String(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{field} is not JSON text: {e}"))
            }
            other => Err(format!("{field} must be JSON text, got {other}")),
        };
        let (state_machine_arn, input, output) = match stored.state_machine_arn {
            Some(arn) => (
                arn,
                parse("input", stored.input)?,
                stored.output.map(|o| parse("output", o)).transpose()?,
            ),
            None => (
                state_machine_of(&stored.execution_arn).ok_or_else(|| {
                    format!(
                        "no stateMachineArn, and none follows from the execution ARN {:?}",
                        stored.execution_arn
                    )
                })?,
                stored.input,
                stored.output,
            ),
        };
        Ok(ExecutionDescription {
            execution_arn: stored.execution_arn,
            state_machine_arn,
            name: stored.name,
            status: stored.status,
            input,
            output,
            error: stored.error,
            cause: stored.cause,
            start_date: stored.start_date,
            stop_date: stored.stop_date,
        })
    }
}

/// The state machine of an execution ARN:
/// `arn:aws:states:<region>:<account>:execution:<machine>:<name>` →
/// `arn:aws:states:<region>:<account>:stateMachine:<machine>`.
fn state_machine_of(execution_arn: &str) -> Option<String> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.as_slice() {
        [
            "arn",
            partition,
            "states",
            region,
            account,
            "execution",
            machine,
            _name,
        ] => Some(format!(
            "arn:{partition}:states:{region}:{account}:stateMachine:{machine}"
        )),
        _ => None,
    }
}

/// One execution as `ListExecutions` lists it: no input or output (describe it for those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
}

impl From<&ExecutionDescription> for ExecutionSummary {
    fn from(description: &ExecutionDescription) -> Self {
        ExecutionSummary {
            execution_arn: description.execution_arn.clone(),
            name: description.name.clone(),
            status: description.status,
            start_date: description.start_date,
            stop_date: description.stop_date,
        }
    }
}

/// The ARN of the execution named `name` of `state_machine_arn`:
/// `arn:…:stateMachine:<machine>` → `arn:…:execution:<machine>:<name>`.
pub fn execution_arn_of(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// Runs export executions.
#[async_trait]
pub trait Workflow: Send + Sync + fmt::Debug {
    /// The ARN the execution named `name` has (or would have) on this workflow's state machine.
    fn execution_arn(&self, name: &str) -> String;

    /// Starts an execution named `name` (unique per state machine) with `input`, returning its
    /// ARN. A name already used fails with [`WorkflowErrorKind::AlreadyExists`].
    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError>;

    /// Describes the execution `execution_arn`; an unknown ARN is [`WorkflowErrorKind::NotFound`].
    async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, WorkflowError>;

    /// Stops the running execution `execution_arn`: it ends ABORTED with `error` and `cause`,
    /// and its waiting task tokens are closed. Stopping an execution that has already ended
    /// succeeds and leaves it as it ended; an unknown ARN is [`WorkflowErrorKind::NotFound`].
    async fn stop(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError>;

    /// The executions whose name starts with `name_prefix` that started at or after `since`,
    /// newest first. Freshly started or stopped executions may show a moment late (Step
    /// Functions lists with eventual consistency); describe one for its exact state.
    async fn list_started_since(
        &self,
        name_prefix: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionSummary>, WorkflowError>;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:download-request:exp-1";

    fn finished() -> ExecutionDescription {
        ExecutionDescription {
            execution_arn: ARN.to_owned(),
            state_machine_arn:
                "arn:aws:states:us-east-1:123456789012:stateMachine:download-request".to_owned(),
            name: "exp-1".to_owned(),
            status: ExecutionStatus::Succeeded,
            input: json!({"type": "direct"}),
            output: Some(json!({"reportURL": "https://example.com/f.csv"})),
            error: None,
            cause: None,
            start_date: "2026-11-23T10:00:00Z".parse().unwrap(),
            stop_date: Some("2026-11-23T10:00:05Z".parse().unwrap()),
        }
    }

    #[test]
    fn a_description_serialises_like_describe_execution_and_reads_back() {
        let description = finished();
        let v = serde_json::to_value(&description).unwrap();
        assert_eq!(v["stateMachineArn"], json!(description.state_machine_arn));
        assert_eq!(v["status"], json!("SUCCEEDED"));
        assert_eq!(v["input"], json!("{\"type\":\"direct\"}"));
        assert_eq!(
            v["output"],
            json!("{\"reportURL\":\"https://example.com/f.csv\"}")
        );
        assert!(v.get("error").is_none());
        let back: ExecutionDescription = serde_json::from_value(v).unwrap();
        assert_eq!(back, description);
    }

    #[test]
    fn records_written_before_state_machine_arns_still_read_with_their_json_values() {
        // Hand-written in the shape the local stack wrote before descriptions carried
        // stateMachineArn: input and output as JSON values.
        let record = json!({
            "executionArn": ARN, "name": "exp-1", "status": "SUCCEEDED",
            "input": {"type": "direct"}, "output": {"reportURL": "https://example.com/f.csv"},
            "startDate": "2026-11-23T10:00:00Z", "stopDate": "2026-11-23T10:00:05Z"
        });
        let read: ExecutionDescription = serde_json::from_value(record).unwrap();
        assert_eq!(read, finished());
    }

    #[test]
    fn an_old_record_whose_input_is_a_string_keeps_the_string() {
        let record = json!({
            "executionArn": ARN, "name": "exp-1", "status": "RUNNING",
            "input": "{\"looks\":\"like json\"}", "startDate": "2026-11-23T10:00:00Z"
        });
        let read: ExecutionDescription = serde_json::from_value(record).unwrap();
        assert_eq!(read.input, json!("{\"looks\":\"like json\"}"));
        assert_eq!(read.output, None);
    }

    #[test]
    fn a_record_with_a_state_machine_arn_must_hold_json_text() {
        let mut record = serde_json::to_value(finished()).unwrap();
        record["input"] = json!({"type": "direct"});
        let error = serde_json::from_value::<ExecutionDescription>(record).unwrap_err();
        assert!(
            error.to_string().contains("input must be JSON text"),
            "{error}"
        );
    }

    #[test]
    fn an_old_record_needs_an_execution_arn_that_names_its_state_machine() {
        let record = json!({
            "executionArn": "not-an-arn", "name": "exp-1", "status": "RUNNING",
            "input": {}, "startDate": "2026-11-23T10:00:00Z"
        });
        assert!(serde_json::from_value::<ExecutionDescription>(record).is_err());
    }
}
