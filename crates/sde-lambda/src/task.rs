//! The functions Step Functions calls: the task payload through the task edge of `sde-edge`, a
//! handler's failure reported as the function's error, whose `errorType` is the stable name the
//! state machine's `Retry` and `Catch` match on.

use lambda_runtime::Diagnostic;
use sde_core::{
    DownloadLinks, Mailer, ObjectStore, ProgressBoard, PushChannel, PushRegistry, SearchIndex,
    Workflow,
};
use sde_handlers::TaskFailure;
use sde_handlers::generate_csv::ExportSettings;
use serde_json::Value;
use std::future::Future;

/// A task failure as the Lambda runtime reports it.
#[derive(Debug)]
pub struct TaskDiagnostic(pub TaskFailure);

impl From<TaskFailure> for TaskDiagnostic {
    fn from(failure: TaskFailure) -> Self {
        TaskDiagnostic(failure)
    }
}

impl From<TaskDiagnostic> for Diagnostic {
    fn from(failure: TaskDiagnostic) -> Self {
        Diagnostic {
            error_type: failure.0.error.to_owned(),
            error_message: failure.0.cause,
        }
    }
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

/// `generate-csv`: the execution input in, the export report out. The last progress is written
/// before returning, whether the export succeeded or not.
pub async fn generate_csv(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    progress: &impl FlushProgress,
    workflow: &dyn Workflow,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskDiagnostic> {
    let result =
        sde_edge::task::generate_csv(index, store, links, progress, workflow, settings, payload)
            .await;
    progress.flush().await;
    Ok(result?)
}

/// `plan-export`: the execution input in, the slice plan out.
pub async fn plan_export(
    index: &dyn SearchIndex,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskDiagnostic> {
    Ok(sde_edge::task::plan_export(index, settings, payload).await?)
}

/// `compose-export`: the slices composed into the export's file, or discarded after a failure.
pub async fn compose_export(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskDiagnostic> {
    Ok(sde_edge::task::compose_export(index, store, links, settings, payload).await?)
}

/// `email-link`: the ready email, or the failure email.
pub async fn email_link(mailer: &dyn Mailer, payload: Value) -> Result<Value, TaskDiagnostic> {
    Ok(sde_edge::task::email_link(mailer, payload).await?)
}

/// `push-result`: the ready frame, or the error frame, for the execution's client.
pub async fn push_result(
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    workflow: &dyn Workflow,
    payload: Value,
) -> Result<Value, TaskDiagnostic> {
    Ok(sde_edge::task::push_result(registry, channel, workflow, payload).await?)
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
}
