//! Failures of the functions Step Functions calls: a stable error name that the definition's
//! `Retry` and `Catch` match on, and a human-readable cause that `report-status` shows.

use sde_core::{
    DeliveryError, DeliveryErrorKind, ExportError, WorkflowError, WorkflowErrorKind, describe_chain,
};

/// Error names the state machine matches on. Changing one is a breaking change of
/// `statemachine/download-request.asl.json`.
pub mod names {
    /// Worth retrying: the index, store or provider was unavailable, or the index changed
    /// under the scan.
    pub const TRANSIENT: &str = "Export.Transient";
    /// The index reported more or fewer posts than the export wrote.
    pub const ROW_COUNT_MISMATCH: &str = "Export.RowCountMismatch";
    /// The request itself is invalid; retrying cannot help.
    pub const INVALID_REQUEST: &str = "Export.InvalidRequest";
    /// Anything else that retrying cannot help.
    pub const FAILED: &str = "Export.Failed";
    /// Delivery (email, push) could not be made and retrying may help.
    pub const DELIVERY_TRANSIENT: &str = "Delivery.Transient";
    /// Delivery refused for good.
    pub const DELIVERY_FAILED: &str = "Delivery.Failed";
    /// The owner cancelled the export.
    pub const CANCELLED: &str = "Export.Cancelled";
    /// The local stack stopped while the export ran.
    pub const INTERRUPTED: &str = "Local.Interrupted";
}

/// What a failed export's owner is told: one of a fixed set of reasons, chosen by the stable
/// error name of the failure. Never the cause: it holds the internal error chain (endpoints,
/// keys, role names), which goes to the logs and the execution history for operators only.
pub fn reason(error: &str) -> &'static str {
    match error {
        names::TRANSIENT => {
            "the search index or the file store was unavailable; try again in a few minutes"
        }
        names::ROW_COUNT_MISMATCH => "the posts changed while the export ran; try again",
        names::INVALID_REQUEST => "the export request was not valid",
        "States.Timeout" | "States.HeartbeatTimeout" => {
            "the export was too large to finish in time; narrow the search and try again"
        }
        names::DELIVERY_TRANSIENT | names::DELIVERY_FAILED => {
            "the file was ready but could not be delivered; try again"
        }
        names::CANCELLED => "the export was cancelled",
        names::INTERRUPTED => "the service stopped while this export was running; start it again",
        _ => {
            "the export failed because of an internal error; try again, and if it keeps failing, tell the administrator"
        }
    }
}

/// A task failure as Step Functions records it: `error` (a name) and `cause` (the internal
/// chain, for operators; owners see [`reason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub error: &'static str,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: &'static str, cause: impl Into<String>) -> Self {
        TaskFailure {
            error,
            cause: cause.into(),
        }
    }

    pub fn invalid_request(cause: impl Into<String>) -> Self {
        TaskFailure::new(names::INVALID_REQUEST, cause)
    }
}

impl From<ExportError> for TaskFailure {
    fn from(error: ExportError) -> Self {
        let name = match &error {
            ExportError::RowCountMismatch { .. } => names::ROW_COUNT_MISMATCH,
            _ if error.is_transient() => names::TRANSIENT,
            _ => names::FAILED,
        };
        TaskFailure::new(name, describe_chain(&error))
    }
}

impl From<DeliveryError> for TaskFailure {
    fn from(error: DeliveryError) -> Self {
        let name = match error.kind {
            DeliveryErrorKind::Unavailable | DeliveryErrorKind::Io => names::DELIVERY_TRANSIENT,
            DeliveryErrorKind::Rejected => names::DELIVERY_FAILED,
        };
        TaskFailure::new(name, describe_chain(&error))
    }
}

impl From<WorkflowError> for TaskFailure {
    fn from(error: WorkflowError) -> Self {
        let name = match error.kind {
            WorkflowErrorKind::Unavailable => names::DELIVERY_TRANSIENT,
            _ => names::DELIVERY_FAILED,
        };
        TaskFailure::new(name, describe_chain(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::{IndexError, IndexErrorKind};

    #[test]
    fn a_transient_index_failure_is_retryable_and_keeps_its_cause() {
        let failure = TaskFailure::from(ExportError::Index(
            IndexError::new(IndexErrorKind::Unavailable, "reading batch 3")
                .with_source(std::io::Error::other("connection reset")),
        ));
        assert_eq!(failure.error, names::TRANSIENT);
        assert_eq!(
            failure.cause,
            "reading the search results failed: search index unavailable while reading batch 3: connection reset"
        );
    }

    #[test]
    fn every_failure_has_a_reason_from_the_fixed_set_and_none_repeats_its_cause() {
        let reasons: std::collections::BTreeSet<&str> = [
            names::TRANSIENT,
            names::ROW_COUNT_MISMATCH,
            names::INVALID_REQUEST,
            names::FAILED,
            names::DELIVERY_TRANSIENT,
            names::DELIVERY_FAILED,
            names::CANCELLED,
            names::INTERRUPTED,
            "States.Timeout",
            "States.TaskFailed",
            "Lambda.Unknown",
            "arn:aws:iam::123456789012:role/secret https://10.0.0.3:9200",
        ]
        .into_iter()
        .map(reason)
        .collect();
        assert_eq!(reasons.len(), 8, "{reasons:#?}");
        assert!(
            reasons
                .iter()
                .all(|r| !r.contains("arn:") && !r.contains("https://"))
        );
        assert_eq!(reason("Export.Failed"), reason("Lambda.Unknown"));
    }

    #[test]
    fn a_row_count_mismatch_has_its_own_name() {
        let failure = TaskFailure::from(ExportError::RowCountMismatch {
            expected: 3,
            written: 2,
        });
        assert_eq!(failure.error, names::ROW_COUNT_MISMATCH);
    }
}
