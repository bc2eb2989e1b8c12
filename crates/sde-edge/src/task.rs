//! The functions Step Functions calls, as both hosts bind them: a task payload (JSON) decoded
//! into the handler's input, the handler run, its output (or its failure, with the stable error
//! name the state machine's `Retry`/`Catch` match on) answered. The Lambda host reports a
//! failure as the function's error; the local interpreter as the task's error.

use sde_core::{
    DownloadLinks, Mailer, ObjectStore, ProgressBoard, PushChannel, PushRegistry, SearchIndex,
    Workflow,
};
use sde_handlers::ExecutionInput;
use sde_handlers::TaskFailure;
use sde_handlers::email_link::NotifyInput;
use sde_handlers::fan_out::{self, ComposeInput, SliceInput};
use sde_handlers::generate_csv::ExportSettings;
use sde_handlers::push::PushResultInput;
use sde_handlers::task_failure::names;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use tracing::error;

/// Decodes `payload` as `I` (a malformed one is `Export.InvalidRequest`, never retried), runs
/// `handler` on it and encodes its output.
pub async fn run<I, O, F, Fut>(payload: Value, handler: F) -> Result<Value, TaskFailure>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, TaskFailure>>,
{
    let input: I = serde_json::from_value(payload)
        .map_err(|e| TaskFailure::invalid_request(format!("the task input is invalid: {e}")))?;
    let output = handler(input).await.inspect_err(|failure| {
        error!(error = failure.error, cause = %failure.cause, "task failed");
    })?;
    serde_json::to_value(output).map_err(|e| TaskFailure::new(names::FAILED, e.to_string()))
}

/// `generateCsv`: the execution input in, the export report out; or, for one slice of a
/// fanned-out export (a payload with `slice`), the slice's input in and its object out.
pub async fn generate_csv(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    progress: &dyn ProgressBoard,
    workflow: &dyn Workflow,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    if payload.get("slice").is_some() {
        return run(payload, |input: SliceInput| async move {
            fan_out::generate_slice(index, store, progress, workflow, settings, &input).await
        })
        .await;
    }
    run(payload, |input: ExecutionInput| async move {
        sde_handlers::generate_csv::generate_csv(
            index, store, links, progress, workflow, settings, &input,
        )
        .await
    })
    .await
}

/// `planExport`: the execution input in, the slice plan out.
pub async fn plan_export(
    index: &dyn SearchIndex,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    run(payload, |input: ExecutionInput| async move {
        fan_out::plan_export(index, settings, &input).await
    })
    .await
}

/// `composeExport`: the execution after its slices in, the export report out; or, after a
/// failure (no `parts`), the slices discarded and `null` out.
pub async fn compose_export(
    index: &dyn SearchIndex,
    store: &dyn ObjectStore,
    links: &DownloadLinks,
    settings: ExportSettings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    run(payload, |input: ComposeInput| async move {
        fan_out::compose_export(index, store, links, settings, &input).await
    })
    .await
}

/// `emailLink`: the ready email, or the failure email.
pub async fn email_link(mailer: &dyn Mailer, payload: Value) -> Result<Value, TaskFailure> {
    run(payload, |input: NotifyInput| async move {
        sde_handlers::email_link::email_link(mailer, &input).await
    })
    .await
}

/// `pushResult`: the ready frame, or the error frame, for the execution's client.
pub async fn push_result(
    registry: &dyn PushRegistry,
    channel: &dyn PushChannel,
    workflow: &dyn Workflow,
    payload: Value,
) -> Result<Value, TaskFailure> {
    run(payload, |input: PushResultInput| async move {
        sde_handlers::push::push_result(registry, channel, workflow, &input).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_malformed_payload_is_an_invalid_request_and_the_handler_is_not_run() {
        let failure = run(json!({"type": "fax"}), |_: ExecutionInput| async {
            Ok::<_, TaskFailure>(json!("ran"))
        })
        .await
        .unwrap_err();
        assert_eq!(failure.error, names::INVALID_REQUEST);
    }

    #[tokio::test]
    async fn a_handlers_failure_keeps_its_stable_name() {
        let failure = run(json!(1), |_: u32| async {
            Err::<Value, _>(TaskFailure::new(names::TRANSIENT, "index unavailable"))
        })
        .await
        .unwrap_err();
        assert_eq!(failure.error, names::TRANSIENT);
        assert_eq!(
            run(
                json!(2),
                |n: u32| async move { Ok::<_, TaskFailure>(n * 2) }
            )
            .await,
            Ok(json!(4))
        );
    }
}
