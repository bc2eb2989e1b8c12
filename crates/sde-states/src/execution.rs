//! What the engine keeps of one execution: its description (as `DescribeExecution` reports it),
//! its history (a simplified `GetExecutionHistory`), and the handles that signal its end and
//! stop it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::engine::lock;
use crate::error::TaskError;

/// Status of an execution, as in `DescribeExecution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Stopped with `stop_execution`.
    Aborted,
}

/// The result of `describe_execution`, serialised like the `DescribeExecution` response:
/// `input` and `output` are JSON text, dates are RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// `arn:aws:states:<region>:<account>:stateMachine:<state machine>`.
    pub state_machine_arn: String,
    /// The execution name given to `start_execution`.
    pub name: String,
    /// Current status.
    pub status: ExecutionStatus,
    /// When the execution started.
    pub start_date: DateTime<Utc>,
    /// When it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
    /// The execution input.
    #[serde(with = "json_text")]
    pub input: Value,
    /// The execution output, once SUCCEEDED.
    #[serde(
        default,
        with = "optional_json_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Error name, once FAILED, TIMED_OUT or ABORTED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human-readable cause, once FAILED, TIMED_OUT or ABORTED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

mod json_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub(super) fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

mod optional_json_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub(super) fn serialize<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| serde_json::from_str(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Kind of a history event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEventType {
    /// The execution started.
    ExecutionStarted,
    /// A state was entered.
    StateEntered,
    /// A state finished and passed on its output.
    StateExited,
    /// A state failed with an error (before retry/catch is considered).
    StateFailed,
    /// A retrier matched; the state runs again after a delay.
    StateRetried,
    /// A catcher matched; the execution continues at the catcher's `Next`.
    StateCaught,
    /// The execution succeeded.
    ExecutionSucceeded,
    /// The execution failed.
    ExecutionFailed,
    /// The execution exceeded its `TimeoutSeconds`.
    ExecutionTimedOut,
    /// The execution was stopped.
    ExecutionAborted,
}

/// One entry of an execution's history (a simplified `GetExecutionHistory`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: HistoryEventType,
    /// The state concerned, if any.
    pub state: Option<String>,
    /// Error name for failures, retries and catches.
    pub error: Option<String>,
    /// Cause for failures, retries and catches.
    pub cause: Option<String>,
}

/// One execution's record, shared by the engine (describe, stop, wait) and the runner that
/// drives it.
pub(crate) struct Slot {
    pub(crate) description: Mutex<ExecutionDescription>,
    pub(crate) history: Mutex<Vec<HistoryEvent>>,
    pub(crate) done: watch::Sender<bool>,
    pub(crate) abort: Mutex<Option<AbortHandle>>,
}

impl Slot {
    /// Appends a history event.
    pub(crate) fn record(
        &self,
        kind: HistoryEventType,
        state: Option<&str>,
        error: Option<&TaskError>,
    ) {
        lock(&self.history).push(HistoryEvent {
            timestamp: Utc::now(),
            kind,
            state: state.map(str::to_owned),
            error: error.map(|e| e.error.clone()),
            cause: error.map(|e| e.cause.clone()),
        });
    }
}
