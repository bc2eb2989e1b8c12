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
}

/// A task failure as Step Functions records it: `error` (a name) and `cause` (for people).
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
    fn a_row_count_mismatch_has_its_own_name() {
        let failure = TaskFailure::from(ExportError::RowCountMismatch {
            expected: 3,
            written: 2,
        });
        assert_eq!(failure.error, names::ROW_COUNT_MISMATCH);
    }
}
