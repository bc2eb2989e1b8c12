//! Errors of the interpreter: definition problems found at load, engine API errors (shaped like
//! the Step Functions API exceptions), and the `{Error, Cause}` pairs states fail with.

use serde::{Deserialize, Serialize};

/// Error names defined by the Amazon States Language that this interpreter reports or matches.
pub mod names {
    /// Wildcard matching any error except `States.Runtime` (and data-limit errors).
    pub const ALL: &str = "States.ALL";
    /// Wildcard matching any error except `States.Timeout` (and `States.Runtime`).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A Task ran longer than `TimeoutSeconds`, or the execution exceeded its `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A callback Task got no heartbeat for longer than `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// Unrecoverable data error (a path that does not resolve, a wrong type). Never retried or caught.
    pub const RUNTIME: &str = "States.Runtime";
    /// A Choice state matched no rule and has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// `ResultPath` could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// An intrinsic function failed (bad argument type or value).
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// The execution was stopped.
    pub const ABORTED: &str = "States.Aborted";
    /// A Task's resource has no registered handler (what Lambda reports for a missing function).
    pub const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
}

/// A definition that cannot be loaded. Messages name the state and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The text is not JSON.
    #[error("definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A top-level field (or the shape of the whole document) is wrong.
    #[error("definition: field \"{field}\" {problem}")]
    Machine {
        /// Top-level field, e.g. `StartAt`.
        field: String,
        /// What is wrong, e.g. `is required`.
        problem: String,
    },
    /// A field of one state is wrong or unsupported.
    #[error("state \"{state}\": field \"{field}\" {problem}")]
    State {
        /// State name.
        state: String,
        /// Field name, with a position for nested fields (`Retry[0].BackoffRate`).
        field: String,
        /// What is wrong, e.g. `is not supported`.
        problem: String,
    },
}

impl DefinitionError {
    pub(crate) fn state(state: &str, field: &str, problem: impl Into<String>) -> Self {
        DefinitionError::State {
            state: state.to_owned(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// An error returned by the engine API; variant names follow the Step Functions API exceptions.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `StartExecution` with a name already used on this state machine.
    #[error("execution already exists: {0}")]
    ExecutionAlreadyExists(String),
    /// No execution with this ARN.
    #[error("execution does not exist: {0}")]
    ExecutionDoesNotExist(String),
    /// Execution names are 1–80 characters without whitespace, brackets, wildcards or control characters.
    #[error("invalid execution name: {0:?}")]
    InvalidName(String),
    /// The task token is unknown, or its task already finished, timed out or was stopped.
    #[error("task does not exist or already finished: {0}")]
    TaskDoesNotExist(String),
    /// The engine was used outside a tokio runtime.
    #[error("the engine must be used inside a tokio runtime")]
    NoRuntime,
}

/// An error a task handler reports: a stable `error` name that `Retry`/`Catch` match on, and a
/// human-readable `cause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    /// Error name, e.g. `Export.Transient`.
    pub error: String,
    /// Human-readable explanation.
    pub cause: String,
}

impl TaskError {
    /// Builds an error from a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        TaskError::new(names::RUNTIME, cause)
    }

    /// The error output a `Catch` hands to its next state: `{"Error": …, "Cause": …}`.
    pub fn to_error_output(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

/// Whether a retrier's or catcher's `ErrorEquals` list matches an error name.
///
/// Rules (AWS Step Functions "Error names"): `States.ALL` matches any error except
/// `States.Runtime`; `States.TaskFailed` matches any error except `States.Timeout` (and the
/// heartbeat timeout, which is a kind of timeout) and `States.Runtime`; `States.Timeout` also
/// matches `States.HeartbeatTimeout`; any other name matches exactly (case-sensitive).
pub(crate) fn error_matches(error_equals: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        return false;
    }
    let is_timeout = error == names::TIMEOUT || error == names::HEARTBEAT_TIMEOUT;
    error_equals.iter().any(|name| match name.as_str() {
        names::ALL => true,
        names::TASK_FAILED => !is_timeout,
        names::TIMEOUT => is_timeout,
        other => other == error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn states_all_matches_any_error_but_never_states_runtime() {
        // AWS: "States.ALL … can't catch the States.DataLimitExceeded terminal error or Runtime error types."
        assert!(error_matches(&list(&["States.ALL"]), "Export.Failed"));
        assert!(error_matches(&list(&["States.ALL"]), "States.Timeout"));
        assert!(!error_matches(&list(&["States.ALL"]), "States.Runtime"));
    }

    #[test]
    fn states_task_failed_matches_any_error_except_states_timeout() {
        // AWS: "States.TaskFailed … acts as a wildcard that matches any known error name except for States.Timeout."
        assert!(error_matches(
            &list(&["States.TaskFailed"]),
            "Export.Failed"
        ));
        assert!(!error_matches(
            &list(&["States.TaskFailed"]),
            "States.Timeout"
        ));
        assert!(!error_matches(
            &list(&["States.TaskFailed"]),
            "States.HeartbeatTimeout"
        ));
    }

    #[test]
    fn states_timeout_matches_task_and_heartbeat_timeouts() {
        // AWS: States.Timeout — "ran longer than TimeoutSeconds, or failed to send a heartbeat for longer than HeartbeatSeconds".
        assert!(error_matches(
            &list(&["States.Timeout"]),
            "States.HeartbeatTimeout"
        ));
        assert!(error_matches(&list(&["States.Timeout"]), "States.Timeout"));
    }

    #[test]
    fn other_error_names_match_exactly_and_case_sensitively() {
        assert!(error_matches(
            &list(&["A", "Export.Transient"]),
            "Export.Transient"
        ));
        assert!(!error_matches(
            &list(&["export.transient"]),
            "Export.Transient"
        ));
    }
}
