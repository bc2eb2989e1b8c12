//! The state machine's Lambda tasks, bound to the task edge of `sde-edge` — the functions the
//! Lambda binaries run.

use sde_core::{
    DownloadLinks, Mailer, ObjectStore, ProgressBoard, PushChannel, PushRegistry, SearchIndex,
    Workflow,
};
use sde_edge::task::{compose_export, email_link, generate_csv, plan_export, push_result};
use sde_handlers::TaskFailure;
use sde_handlers::generate_csv::ExportSettings;
use sde_states::{TaskError, TaskRegistry};
use std::sync::Arc;

/// What the tasks run against.
#[derive(Debug, Clone)]
pub struct TaskDeps {
    pub index: Arc<dyn SearchIndex>,
    pub store: Arc<dyn ObjectStore>,
    pub links: Arc<DownloadLinks>,
    pub progress: Arc<dyn ProgressBoard>,
    pub mailer: Arc<dyn Mailer>,
    pub push_registry: Arc<dyn PushRegistry>,
    pub push_channel: Arc<dyn PushChannel>,
    pub workflow: Arc<dyn Workflow>,
    pub export: ExportSettings,
}

/// Registers `planExport`, `generateCsv`, `composeExport`, `emailLink` and `pushResult` — the logical names the definition's
/// `Fn::GetAtt` references use.
pub fn register_tasks(registry: &TaskRegistry, deps: TaskDeps) {
    let d = deps.clone();
    registry.register_fn("generateCsv", move |_ctx, payload| {
        let d = d.clone();
        async move {
            generate_csv(
                d.index.as_ref(),
                d.store.as_ref(),
                &d.links,
                d.progress.as_ref(),
                d.workflow.as_ref(),
                d.export,
                payload,
            )
            .await
            .map_err(task_error)
        }
    });
    let d = deps.clone();
    registry.register_fn("planExport", move |_ctx, payload| {
        let d = d.clone();
        async move {
            plan_export(d.index.as_ref(), d.export, payload)
                .await
                .map_err(task_error)
        }
    });
    let d = deps.clone();
    registry.register_fn("composeExport", move |_ctx, payload| {
        let d = d.clone();
        async move {
            compose_export(
                d.index.as_ref(),
                d.store.as_ref(),
                &d.links,
                d.export,
                payload,
            )
            .await
            .map_err(task_error)
        }
    });
    let d = deps.clone();
    registry.register_fn("emailLink", move |_ctx, payload| {
        let d = d.clone();
        async move {
            email_link(d.mailer.as_ref(), payload)
                .await
                .map_err(task_error)
        }
    });
    let d = deps;
    registry.register_fn("pushResult", move |_ctx, payload| {
        let d = d.clone();
        async move {
            push_result(
                d.push_registry.as_ref(),
                d.push_channel.as_ref(),
                d.workflow.as_ref(),
                payload,
            )
            .await
            .map_err(task_error)
        }
    });
}

fn task_error(failure: TaskFailure) -> TaskError {
    TaskError::new(failure.error, failure.cause)
}
