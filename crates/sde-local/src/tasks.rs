//! The state machine's Lambda tasks, bound to the same handler functions the Lambda binaries run.

use sde_core::{
    Mailer, ObjectStore, ProgressBoard, PushChannel, PushRegistry, SearchIndex, Workflow,
};
use sde_handlers::email_link::{NotifyInput, email_link};
use sde_handlers::generate_csv::{ExportSettings, generate_csv};
use sde_handlers::push::{PushResultInput, push_result};
use sde_handlers::task_failure::names;
use sde_handlers::{ExecutionInput, TaskFailure};
use sde_states::{TaskError, TaskRegistry};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;

/// What the tasks run against.
#[derive(Debug, Clone)]
pub struct TaskDeps {
    pub index: Arc<dyn SearchIndex>,
    pub store: Arc<dyn ObjectStore>,
    pub progress: Arc<dyn ProgressBoard>,
    pub mailer: Arc<dyn Mailer>,
    pub push_registry: Arc<dyn PushRegistry>,
    pub push_channel: Arc<dyn PushChannel>,
    pub workflow: Arc<dyn Workflow>,
    pub export: ExportSettings,
}

/// Registers `generateCsv`, `emailLink` and `pushResult` — the logical names the definition's
/// `Fn::GetAtt` references use.
pub fn register_tasks(registry: &TaskRegistry, deps: TaskDeps) {
    let d = deps.clone();
    registry.register_fn("generateCsv", move |_ctx, payload| {
        let d = d.clone();
        async move {
            let input: ExecutionInput = parse(payload)?;
            reply(
                generate_csv(
                    d.index.as_ref(),
                    d.store.as_ref(),
                    d.progress.as_ref(),
                    d.export,
                    &input,
                )
                .await,
            )
        }
    });
    let d = deps.clone();
    registry.register_fn("emailLink", move |_ctx, payload| {
        let d = d.clone();
        async move {
            let input: NotifyInput = parse(payload)?;
            reply(email_link(d.mailer.as_ref(), &input).await)
        }
    });
    let d = deps;
    registry.register_fn("pushResult", move |_ctx, payload| {
        let d = d.clone();
        async move {
            let input: PushResultInput = parse(payload)?;
            reply(
                push_result(
                    d.push_registry.as_ref(),
                    d.push_channel.as_ref(),
                    d.workflow.as_ref(),
                    &input,
                )
                .await,
            )
        }
    });
}

fn parse<T: DeserializeOwned>(payload: Value) -> Result<T, TaskError> {
    serde_json::from_value(payload).map_err(|e| {
        TaskError::new(
            names::INVALID_REQUEST,
            format!("the task input is invalid: {e}"),
        )
    })
}

fn reply<T: Serialize>(result: Result<T, TaskFailure>) -> Result<Value, TaskError> {
    match result {
        Ok(output) => {
            serde_json::to_value(output).map_err(|e| TaskError::new(names::FAILED, e.to_string()))
        }
        Err(failure) => Err(TaskError::new(failure.error, failure.cause)),
    }
}
