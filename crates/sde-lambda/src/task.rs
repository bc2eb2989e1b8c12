//! Step Functions task payloads: handler failures become Lambda errors whose `errorType` is the
//! stable name the state machine's `Retry` and `Catch` match on.

use lambda_runtime::Diagnostic;
use sde_handlers::TaskFailure;
use serde::Serialize;
use serde_json::Value;

/// A task failure as the Lambda runtime reports it.
#[derive(Debug)]
pub struct TaskDiagnostic(pub TaskFailure);

impl From<TaskDiagnostic> for Diagnostic {
    fn from(failure: TaskDiagnostic) -> Self {
        Diagnostic {
            error_type: failure.0.error.to_owned(),
            error_message: failure.0.cause,
        }
    }
}

/// Parses a task payload; a malformed one is `Export.InvalidRequest` (never retried).
pub fn payload<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, TaskDiagnostic> {
    serde_json::from_value(payload).map_err(|e| {
        TaskDiagnostic(TaskFailure::invalid_request(format!(
            "the task input is invalid: {e}"
        )))
    })
}

/// Turns a handler's result into the task's output.
pub fn output<T: Serialize>(result: Result<T, TaskFailure>) -> Result<Value, TaskDiagnostic> {
    let value = result.map_err(TaskDiagnostic)?;
    serde_json::to_value(value).map_err(|e| {
        TaskDiagnostic(TaskFailure::new(
            sde_handlers::task_failure::names::FAILED,
            e.to_string(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reports_its_stable_name_as_the_error_type() {
        let diagnostic = Diagnostic::from(TaskDiagnostic(TaskFailure::new(
            "Export.Transient",
            "index unavailable",
        )));
        assert_eq!(diagnostic.error_type, "Export.Transient");
        assert_eq!(diagnostic.error_message, "index unavailable");
    }

    #[test]
    fn a_malformed_payload_is_an_invalid_request() {
        let error = payload::<sde_handlers::ExecutionInput>(serde_json::json!({"type": "fax"}))
            .unwrap_err();
        assert_eq!(error.0.error, "Export.InvalidRequest");
    }
}
