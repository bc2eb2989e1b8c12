//! `exports`: the caller's exports of the last day (`GET /exports`), and cancelling a running
//! one or deleting a finished one's file (`DELETE /exports/{id}`). An export's id is its
//! execution's name, `<owner key>_<uuid>`.

use crate::api_error::ApiError;
use crate::download_request::{owner_key, owner_of_export};
use crate::execution::ExecutionInput;
use crate::generate_csv::export_key;
use crate::push::error_frame;
use crate::report_status::{export_output, owned_execution};
use crate::task_failure::names;
use chrono::{DateTime, Utc};
use sde_core::{
    ExecutionDescription, ExecutionStatus, ExportOptions, ObjectKey, ObjectStore, Owner,
    PendingDelivery, ProgressBoard, PushChannel, PushRegistry, Workflow, WorkflowErrorKind,
};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tracing::{info, warn};

/// How far back `GET /exports` looks: the life of an export file.
pub const LISTED_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// At most this many exports are listed (the newest), each described once.
pub const MAX_LISTED: usize = 50;

/// What the owner's push channel is told when an export is cancelled.
pub const CANCELLED_FRAME_ERROR: &str = "cancelled";

/// One export in `GET /exports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportEntry {
    /// The execution's name: what `DELETE /exports/{id}` takes.
    pub id: String,
    #[serde(rename = "executionArn")]
    pub execution_arn: String,
    /// `direct`, `email` or `push`.
    #[serde(rename = "type")]
    pub delivery: String,
    pub status: ExecutionStatus,
    /// Rows written: all of them once it succeeded, so far while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    pub created: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    /// The lasting download link, while the file is there.
    #[serde(rename = "reportURL", skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
    /// The export succeeded, but its file has been deleted or has expired.
    #[serde(rename = "fileDeleted")]
    pub file_deleted: bool,
}

/// The `GET /exports` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportList {
    pub exports: Vec<ExportEntry>,
}

/// The `DELETE /exports/{id}` response: how the export stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelOutcome {
    pub id: String,
    pub status: ExecutionStatus,
    /// Whether a running execution was stopped by this call.
    pub cancelled: bool,
}

/// Lists `caller`'s exports started in the [`LISTED_WINDOW`] before `now`, newest first.
///
/// Cost: one listing of the state machine's executions since the cutoff (the workflow filters
/// by name), then one describe per listed export and one existence check per succeeded one.
pub async fn list_exports(
    workflow: &dyn Workflow,
    store: &dyn ObjectStore,
    progress: &dyn ProgressBoard,
    caller: &Owner,
    now: DateTime<Utc>,
) -> Result<ExportList, ApiError> {
    let since = now - chrono::Duration::from_std(LISTED_WINDOW).map_err(ApiError::internal)?;
    let prefix = format!("{}_", owner_key(&caller.sub));
    let mut listed = workflow.list_started_since(&prefix, since).await?;
    listed.truncate(MAX_LISTED);
    let mut exports = Vec::with_capacity(listed.len());
    for summary in listed {
        let execution = match workflow.describe(&summary.execution_arn).await {
            Ok(execution) => execution,
            // Forgotten between the listing and now.
            Err(error) if error.kind == WorkflowErrorKind::NotFound => continue,
            Err(error) => return Err(error.into()),
        };
        // Owner keys are a shortened sub: the input says whose it really is.
        if execution
            .input
            .pointer("/owner/sub")
            .and_then(Value::as_str)
            != Some(caller.sub.as_str())
        {
            continue;
        }
        exports.push(entry(store, progress, execution, now).await?);
    }
    Ok(ExportList { exports })
}

async fn entry(
    store: &dyn ObjectStore,
    progress: &dyn ProgressBoard,
    execution: ExecutionDescription,
    now: DateTime<Utc>,
) -> Result<ExportEntry, ApiError> {
    let report = execution.output.as_ref().and_then(export_output);
    let (rows, report_url, file_deleted) = match (execution.status, report) {
        (ExecutionStatus::Succeeded, Some(report)) => {
            let there = report.expires_at > now
                && match ObjectKey::new(report.key.clone()) {
                    Ok(key) => store.exists(&key).await.map_err(ApiError::internal)?,
                    Err(_) => false,
                };
            (
                Some(report.rows),
                there.then_some(report.report_url),
                !there,
            )
        }
        (ExecutionStatus::Running, _) => (
            progress.read(&execution.name).await.map(|p| p.rows_written),
            None,
            false,
        ),
        _ => (None, None, false),
    };
    Ok(ExportEntry {
        id: execution.name,
        execution_arn: execution.execution_arn,
        delivery: execution
            .input
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        status: execution.status,
        rows,
        created: execution.start_date,
        finished: execution.stop_date,
        report_url,
        file_deleted,
    })
}

/// What cancelling needs besides the workflow: the store holding the files, and the push
/// channel to tell.
#[derive(Debug, Clone, Copy)]
pub struct CancelDeps<'a> {
    pub workflow: &'a dyn Workflow,
    pub store: &'a dyn ObjectStore,
    pub registry: &'a dyn PushRegistry,
    pub channel: &'a dyn PushChannel,
}

/// Cancels `caller`'s export `id` if it is running — its execution is stopped (ABORTED) and a
/// push client is told — and deletes its file, written or not. Deleting again is harmless.
/// Another user's export, or an id that is no export, is a 404.
///
/// The execution's end gives its export slot back (EventBridge on AWS, the workflow's end
/// listener locally). A stopped execution's running task is cut short locally; on AWS Step
/// Functions does not stop the running `generate-csv` invocation, which notices the stop by
/// itself and aborts its upload ([`crate::generate_csv::generate_csv`]).
pub async fn cancel_export(
    deps: CancelDeps<'_>,
    caller: &Owner,
    id: &str,
) -> Result<CancelOutcome, ApiError> {
    let owner = owner_key(&caller.sub);
    if id.len() > 80 || owner_of_export(id) != Some(owner.as_str()) {
        return Err(ApiError::not_found("no such export"));
    }
    let arn = deps.workflow.execution_arn(id);
    let execution = owned_execution(deps.workflow, caller, &arn).await?;
    let cancelled = execution.status == ExecutionStatus::Running;
    if cancelled {
        deps.workflow
            .stop(&arn, names::CANCELLED, "cancelled by its owner")
            .await?;
        info!(export_id = id, "export cancelled");
    }
    // A stop racing the execution's own end loses: read how it really ended.
    let ended = deps.workflow.describe(&arn).await?;
    if let Some(key) = file_of(&ended) {
        deps.store.delete(&key).await.map_err(ApiError::internal)?;
        info!(export_id = id, %key, "export file deleted");
    }
    if cancelled && ended.input.get("type").and_then(Value::as_str) == Some("push") {
        tell_push_client(deps, &arn).await;
    }
    Ok(CancelOutcome {
        id: id.to_owned(),
        status: ended.status,
        cancelled,
    })
}

/// The file an execution wrote, or was writing: at its output's key once it succeeded,
/// otherwise where its input says it goes.
fn file_of(execution: &ExecutionDescription) -> Option<ObjectKey> {
    if let Some(report) = execution.output.as_ref().and_then(export_output) {
        return ObjectKey::new(report.key).ok();
    }
    let input: ExecutionInput = serde_json::from_value(execution.input.clone()).ok()?;
    let options = ExportOptions::try_from(&input.options).ok()?;
    export_key(&input, &options).ok()
}

/// Leaves the cancel frame for the execution's push client, and sends it now if one is
/// connected. Failing to tell does not undo the cancel.
async fn tell_push_client(deps: CancelDeps<'_>, execution_arn: &str) {
    let frame = error_frame(execution_arn, CANCELLED_FRAME_ERROR);
    let delivery = PendingDelivery {
        frame: frame.clone(),
        task_token: None,
    };
    if let Err(error) = deps.registry.put_delivery(execution_arn, &delivery).await {
        warn!(error = %error, "recording the cancel for the push client failed");
    }
    match deps.registry.connection(execution_arn).await {
        Ok(Some(connection)) => {
            if let Err(error) = deps.channel.post(&connection.connection_id, &frame).await {
                warn!(error = %error, "telling the push client of the cancel failed");
            }
        }
        Ok(None) => {}
        Err(error) => warn!(error = %error, "reading the push connection failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use sde_core::{
        ContentInfo, DeliveryError, ExecutionSummary, ExportProgress, MultipartUpload, PostOutcome,
        PushConnection, SignedUrl, StoreError, WorkflowError,
    };
    use serde_json::json;
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;

    const MACHINE: &str = "arn:aws:states:eu-west-1:1:stateMachine:download-request";
    const ADA: &str = "3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f";
    const BOB: &str = "9a8b7c6d-0000-4000-8000-000000000000";

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn owner(sub: &str) -> Owner {
        Owner {
            sub: sub.to_owned(),
            email: format!("{sub}@example.com"),
        }
    }

    fn id(sub: &str, n: u32) -> String {
        format!("{sub}_{n:032}")
    }

    fn key_of(sub: &str, n: u32) -> String {
        format!("exports/{sub}/{}.csv", id(sub, n))
    }

    /// An export of `sub`'s started `minutes_ago`, in `status`.
    fn execution(
        sub: &str,
        n: u32,
        delivery: &str,
        status: ExecutionStatus,
        minutes_ago: i64,
    ) -> ExecutionDescription {
        let name = id(sub, n);
        let started = now() - chrono::Duration::minutes(minutes_ago);
        let output = (status == ExecutionStatus::Succeeded).then(|| {
            json!({"key": key_of(sub, n), "reportURL": format!("https://x.example/files/{n}"),
                "rows": 42, "bytes": 420, "expiresAt": now() + chrono::Duration::hours(20)})
        });
        ExecutionDescription {
            execution_arn: execution_arn_of(MACHINE, &name),
            state_machine_arn: MACHINE.to_owned(),
            name: name.clone(),
            status,
            input: json!({"type": delivery, "searchCriteria": {"search": []},
                "owner": {"sub": sub, "email": "e@example.com"}, "exportId": name}),
            output,
            error: None,
            cause: None,
            start_date: started,
            stop_date: status.is_finished().then_some(started),
        }
    }

    fn execution_arn_of(machine: &str, name: &str) -> String {
        sde_core::execution_arn_of(machine, name)
    }

    #[derive(Debug, Default)]
    struct FakeWorkflow {
        executions: Mutex<HashMap<String, ExecutionDescription>>,
        stopped: Mutex<Vec<String>>,
    }

    impl FakeWorkflow {
        fn with(executions: Vec<ExecutionDescription>) -> Self {
            FakeWorkflow {
                executions: Mutex::new(
                    executions
                        .into_iter()
                        .map(|e| (e.execution_arn.clone(), e))
                        .collect(),
                ),
                stopped: Mutex::default(),
            }
        }
    }

    #[async_trait]
    impl Workflow for FakeWorkflow {
        fn execution_arn(&self, name: &str) -> String {
            execution_arn_of(MACHINE, name)
        }
        async fn start(&self, _: &str, _: Value) -> Result<String, WorkflowError> {
            unreachable!("exports start nothing")
        }
        async fn describe(&self, arn: &str) -> Result<ExecutionDescription, WorkflowError> {
            self.executions
                .lock()
                .unwrap()
                .get(arn)
                .cloned()
                .ok_or_else(|| WorkflowError::new(WorkflowErrorKind::NotFound, "describing"))
        }
        async fn stop(&self, arn: &str, error: &str, _: &str) -> Result<(), WorkflowError> {
            let mut executions = self.executions.lock().unwrap();
            let execution = executions.get_mut(arn).unwrap();
            execution.status = ExecutionStatus::Aborted;
            execution.error = Some(error.to_owned());
            self.stopped.lock().unwrap().push(arn.to_owned());
            Ok(())
        }
        async fn list_started_since(
            &self,
            prefix: &str,
            since: DateTime<Utc>,
        ) -> Result<Vec<ExecutionSummary>, WorkflowError> {
            let mut listed: Vec<ExecutionSummary> = self
                .executions
                .lock()
                .unwrap()
                .values()
                .filter(|e| e.name.starts_with(prefix) && e.start_date >= since)
                .map(ExecutionSummary::from)
                .collect();
            listed.sort_by_key(|e| std::cmp::Reverse(e.start_date));
            Ok(listed)
        }
        async fn send_task_success(&self, _: &str, _: Value) -> Result<(), WorkflowError> {
            unreachable!()
        }
        async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
            unreachable!()
        }
    }

    /// Objects by key; only `exists` and `delete` are used.
    #[derive(Debug, Default)]
    struct Objects(Mutex<HashSet<String>>);

    #[async_trait]
    impl ObjectStore for Objects {
        async fn start_upload(
            &self,
            _: &ObjectKey,
            _: &ContentInfo,
        ) -> Result<Box<dyn MultipartUpload>, StoreError> {
            unreachable!()
        }
        async fn presign_get(
            &self,
            _: &ObjectKey,
            _: &ContentInfo,
            _: Duration,
        ) -> Result<SignedUrl, StoreError> {
            unreachable!()
        }
        async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
            Ok(self.0.lock().unwrap().contains(key.as_str()))
        }
        async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(key.as_str());
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Progress;

    #[async_trait]
    impl ProgressBoard for Progress {
        fn record(&self, _: &str, _: ExportProgress) {}
        async fn read(&self, _: &str) -> Option<ExportProgress> {
            Some(ExportProgress {
                rows_written: 7,
                total_rows: 99,
            })
        }
    }

    /// One connected client per execution; records what is left and sent.
    #[derive(Debug, Default)]
    struct Push {
        left: Mutex<Vec<(String, Value)>>,
        sent: Mutex<Vec<(String, Value)>>,
    }

    #[async_trait]
    impl PushRegistry for Push {
        async fn put_connection(&self, _: &str, _: &PushConnection) -> Result<(), DeliveryError> {
            unreachable!()
        }
        async fn connection(&self, arn: &str) -> Result<Option<PushConnection>, DeliveryError> {
            Ok(Some(PushConnection {
                connection_id: format!("conn-of-{arn}"),
                owner_sub: ADA.to_owned(),
                wants_progress: false,
            }))
        }
        async fn put_delivery(
            &self,
            arn: &str,
            delivery: &PendingDelivery,
        ) -> Result<(), DeliveryError> {
            self.left
                .lock()
                .unwrap()
                .push((arn.to_owned(), delivery.frame.clone()));
            Ok(())
        }
        async fn delivery(&self, _: &str) -> Result<Option<PendingDelivery>, DeliveryError> {
            unreachable!()
        }
    }

    #[async_trait]
    impl PushChannel for Push {
        async fn post(
            &self,
            connection: &str,
            frame: &Value,
        ) -> Result<PostOutcome, DeliveryError> {
            self.sent
                .lock()
                .unwrap()
                .push((connection.to_owned(), frame.clone()));
            Ok(PostOutcome::Delivered)
        }
    }

    fn deps<'a>(workflow: &'a FakeWorkflow, store: &'a Objects, push: &'a Push) -> CancelDeps<'a> {
        CancelDeps {
            workflow,
            store,
            registry: push,
            channel: push,
        }
    }

    #[tokio::test]
    async fn the_list_holds_the_callers_exports_of_the_last_day_newest_first() {
        let workflow = FakeWorkflow::with(vec![
            execution(ADA, 1, "direct", ExecutionStatus::Succeeded, 60),
            execution(ADA, 2, "email", ExecutionStatus::Succeeded, 120),
            execution(ADA, 3, "push", ExecutionStatus::Running, 10),
            execution(ADA, 4, "direct", ExecutionStatus::Failed, 30),
            execution(ADA, 5, "direct", ExecutionStatus::Succeeded, 25 * 60),
            execution(BOB, 6, "direct", ExecutionStatus::Succeeded, 5),
        ]);
        // The file of export 2 has been deleted.
        let store = Objects(Mutex::new(HashSet::from([key_of(ADA, 1), key_of(BOB, 6)])));

        let list = list_exports(&workflow, &store, &Progress, &owner(ADA), now())
            .await
            .unwrap();

        let ids: Vec<&str> = list.exports.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, [id(ADA, 3), id(ADA, 4), id(ADA, 1), id(ADA, 2)]);
        let [running, failed, ready, deleted] = &list.exports[..] else {
            unreachable!()
        };
        assert_eq!(
            (
                running.status,
                running.rows,
                &running.report_url,
                running.delivery.as_str()
            ),
            (ExecutionStatus::Running, Some(7), &None, "push")
        );
        assert_eq!(
            (failed.status, failed.rows),
            (ExecutionStatus::Failed, None)
        );
        assert_eq!(
            (ready.rows, ready.report_url.as_deref(), ready.file_deleted),
            (Some(42), Some("https://x.example/files/1"), false)
        );
        assert_eq!(
            (deleted.report_url.as_deref(), deleted.file_deleted),
            (None, true)
        );
        let wire = serde_json::to_value(ready).unwrap();
        assert_eq!(wire["reportURL"], "https://x.example/files/1");
        assert_eq!(wire["type"], "direct");
        assert_eq!(wire["status"], "SUCCEEDED");
        assert_eq!(wire["created"], "2026-12-01T11:00:00Z");
    }

    #[tokio::test]
    async fn another_users_export_is_not_found_and_left_alone() {
        let workflow = FakeWorkflow::with(vec![
            execution(BOB, 1, "push", ExecutionStatus::Running, 1),
            execution(BOB, 2, "direct", ExecutionStatus::Succeeded, 1),
        ]);
        let store = Objects(Mutex::new(HashSet::from([key_of(BOB, 1), key_of(BOB, 2)])));
        let push = Push::default();
        for victim in [id(BOB, 1), id(BOB, 2), id(ADA, 9), "no-export".to_owned()] {
            let error = cancel_export(deps(&workflow, &store, &push), &owner(ADA), &victim)
                .await
                .unwrap_err();
            assert_eq!(error.status(), 404, "{victim}");
        }
        assert!(workflow.stopped.lock().unwrap().is_empty());
        assert_eq!(store.0.lock().unwrap().len(), 2, "no file deleted");
        assert!(push.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn cancelling_a_running_push_export_stops_it_deletes_its_file_and_tells_its_client() {
        let running = execution(ADA, 1, "push", ExecutionStatus::Running, 1);
        let arn = running.execution_arn.clone();
        let workflow = FakeWorkflow::with(vec![running]);
        // Its file was written before the client came.
        let store = Objects(Mutex::new(HashSet::from([key_of(ADA, 1)])));
        let push = Push::default();

        let outcome = cancel_export(deps(&workflow, &store, &push), &owner(ADA), &id(ADA, 1))
            .await
            .unwrap();

        assert_eq!(
            (outcome.status, outcome.cancelled),
            (ExecutionStatus::Aborted, true)
        );
        assert_eq!(*workflow.stopped.lock().unwrap(), vec![arn.clone()]);
        assert_eq!(
            workflow.describe(&arn).await.unwrap().error.as_deref(),
            Some(names::CANCELLED)
        );
        assert!(store.0.lock().unwrap().is_empty(), "the file is gone");
        let frame = json!({"error": "cancelled", "executionArn": arn});
        assert_eq!(
            *push.sent.lock().unwrap(),
            [(format!("conn-of-{arn}"), frame.clone())]
        );
        assert_eq!(
            *push.left.lock().unwrap(),
            [(arn, frame)],
            "a client that connects later is told too"
        );
    }

    #[tokio::test]
    async fn deleting_a_finished_export_deletes_its_file_and_stops_nothing() {
        let workflow = FakeWorkflow::with(vec![execution(
            ADA,
            1,
            "direct",
            ExecutionStatus::Succeeded,
            1,
        )]);
        let store = Objects(Mutex::new(HashSet::from([key_of(ADA, 1), key_of(ADA, 2)])));
        let push = Push::default();

        let outcome = cancel_export(deps(&workflow, &store, &push), &owner(ADA), &id(ADA, 1))
            .await
            .unwrap();

        assert_eq!(
            (outcome.status, outcome.cancelled),
            (ExecutionStatus::Succeeded, false)
        );
        assert!(workflow.stopped.lock().unwrap().is_empty());
        assert_eq!(
            *store.0.lock().unwrap(),
            HashSet::from([key_of(ADA, 2)]),
            "only its own file is deleted"
        );
        assert!(push.sent.lock().unwrap().is_empty());
    }
}
