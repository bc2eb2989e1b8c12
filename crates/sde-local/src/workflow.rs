//! [`LocalWorkflow`]: the in-process interpreter running `download-request.asl.json`, with each
//! execution's description kept on disk so finished exports survive a restart and an execution
//! cut short by a stop reads FAILED afterwards, never RUNNING forever.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{
    ExecutionDescription, ExecutionStatus, ExecutionSummary, Workflow, WorkflowError,
    WorkflowErrorKind, execution_arn_of,
};
use sde_states::{Engine, EngineError};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::warn;

/// Error name of executions interrupted by a stop of the local stack.
pub const INTERRUPTED: &str = sde_handlers::task_failure::names::INTERRUPTED;

/// Told of each execution started here once it has ended, whatever its end: what Step
/// Functions' "Execution Status Change" events to EventBridge are on AWS.
pub type EndListener = Arc<dyn Fn(ExecutionDescription) + Send + Sync>;

/// The local workflow engine.
#[derive(Clone)]
pub struct LocalWorkflow {
    engine: Engine,
    records_dir: PathBuf,
    /// Executions of earlier runs, by ARN.
    earlier: Arc<Mutex<HashMap<String, ExecutionDescription>>>,
    on_end: Option<EndListener>,
}

impl std::fmt::Debug for LocalWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWorkflow")
            .field("engine", &self.engine)
            .field("records_dir", &self.records_dir)
            .field("on_end", &self.on_end.is_some())
            .finish_non_exhaustive()
    }
}

impl LocalWorkflow {
    /// Wraps `engine`, keeping records in `records_dir`. Records of executions still RUNNING
    /// when the previous process stopped are marked FAILED.
    pub fn open(engine: Engine, records_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(records_dir)?;
        let mut earlier = HashMap::new();
        for entry in std::fs::read_dir(records_dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let record: ExecutionDescription = match std::fs::read(&path)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| Ok(serde_json::from_slice(&bytes)?))
            {
                Ok(record) => record,
                Err(error) => {
                    warn!(path = %path.display(), error = %error, "skipping an unreadable execution record");
                    continue;
                }
            };
            let record = if record.status == ExecutionStatus::Running {
                interrupted(record)
            } else {
                record
            };
            write_record(&path, &record)?;
            earlier.insert(record.execution_arn.clone(), record);
        }
        Ok(LocalWorkflow {
            engine,
            records_dir: records_dir.to_path_buf(),
            earlier: Arc::new(Mutex::new(earlier)),
            on_end: None,
        })
    }

    /// Tells `listener` of each execution started from now on once it has ended (after its
    /// record is written).
    pub fn on_end(mut self, listener: EndListener) -> Self {
        self.on_end = Some(listener);
        self
    }

    /// The interpreter, for hosts that need it directly (tests, stop).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Forgets executions that finished before `stopped_before`: in memory, and their records
    /// on disk. Returns how many. Running executions are kept whatever their age.
    pub fn forget_finished(&self, stopped_before: DateTime<Utc>) -> usize {
        let mut forgotten: Vec<String> = self
            .engine
            .forget_finished(stopped_before)
            .into_iter()
            .map(|description| description.name)
            .collect();
        self.earlier
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, record| {
                let expired = record.stop_date.is_some_and(|at| at < stopped_before);
                if expired {
                    forgotten.push(record.name.clone());
                }
                !expired
            });
        for name in &forgotten {
            let path = self.record_path(name);
            if let Err(error) = std::fs::remove_file(&path)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                warn!(path = %path.display(), error = %error, "deleting an execution record failed");
            }
        }
        forgotten.len()
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.records_dir.join(format!("{name}.json"))
    }

    fn persist(&self, description: &ExecutionDescription) {
        if let Err(error) = write_record(&self.record_path(&description.name), description) {
            warn!(error = %error, "writing an execution record failed");
        }
    }
}

fn interrupted(mut record: ExecutionDescription) -> ExecutionDescription {
    record.status = ExecutionStatus::Failed;
    record.error = Some(INTERRUPTED.to_owned());
    record.cause = Some(
        "the local stack stopped while this export was running; start the export again".to_owned(),
    );
    record.stop_date = Some(chrono::Utc::now());
    record
}

fn write_record(path: &Path, record: &ExecutionDescription) -> anyhow::Result<()> {
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, serde_json::to_vec(record)?)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

fn workflow_error(error: EngineError, context: &str) -> WorkflowError {
    let kind = match &error {
        EngineError::ExecutionAlreadyExists(_) => WorkflowErrorKind::AlreadyExists,
        EngineError::ExecutionDoesNotExist(_) => WorkflowErrorKind::NotFound,
        EngineError::TaskDoesNotExist(_) => WorkflowErrorKind::TaskClosed,
        EngineError::InvalidName(_) => WorkflowErrorKind::Rejected,
        EngineError::NoRuntime => WorkflowErrorKind::Unavailable,
    };
    WorkflowError::new(kind, context.to_owned()).with_source(error)
}

#[async_trait]
impl Workflow for LocalWorkflow {
    fn execution_arn(&self, name: &str) -> String {
        execution_arn_of(self.engine.state_machine_arn(), name)
    }

    /// Stops the interpreter's execution: its task is aborted, so an upload in progress is
    /// dropped with it. An execution of an earlier run has ended already.
    async fn stop(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError> {
        match self
            .engine
            .stop_execution(execution_arn, Some(error), Some(cause))
        {
            Ok(_) => Ok(()),
            Err(EngineError::ExecutionDoesNotExist(_)) => {
                self.describe(execution_arn).await.map(|_| ())
            }
            Err(other) => Err(workflow_error(other, "stopping an execution")),
        }
    }

    /// The interpreter's executions and those of earlier runs, filtered and sorted here.
    async fn list_started_since(
        &self,
        name_prefix: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionSummary>, WorkflowError> {
        let mut listed: Vec<ExecutionSummary> = self
            .engine
            .list_executions()
            .iter()
            .map(ExecutionSummary::from)
            .collect();
        {
            let earlier = self
                .earlier
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            listed.extend(
                earlier
                    .values()
                    .filter(|record| {
                        !listed
                            .iter()
                            .any(|l| l.execution_arn == record.execution_arn)
                    })
                    .map(ExecutionSummary::from)
                    .collect::<Vec<_>>(),
            );
        }
        listed.retain(|e| e.name.starts_with(name_prefix) && e.start_date >= since);
        listed.sort_by(|a, b| {
            b.start_date
                .cmp(&a.start_date)
                .then_with(|| b.name.cmp(&a.name))
        });
        Ok(listed)
    }

    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError> {
        if self.record_path(name).exists() {
            return Err(WorkflowError::new(
                WorkflowErrorKind::AlreadyExists,
                format!("starting {name}"),
            ));
        }
        let arn = self
            .engine
            .start_execution(name, input)
            .map_err(|e| workflow_error(e, "starting an execution"))?;
        if let Ok(description) = self.engine.describe_execution(&arn) {
            self.persist(&description);
        }
        let this = self.clone();
        let watched = arn.clone();
        tokio::spawn(async move {
            if let Ok(done) = this.engine.wait(&watched).await {
                this.persist(&done);
                if let Some(listener) = &this.on_end {
                    listener(done);
                }
            }
        });
        Ok(arn)
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, WorkflowError> {
        match self.engine.describe_execution(execution_arn) {
            Ok(description) => Ok(description),
            Err(EngineError::ExecutionDoesNotExist(_)) => self
                .earlier
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(execution_arn)
                .cloned()
                .ok_or_else(|| {
                    WorkflowError::new(WorkflowErrorKind::NotFound, "describing an execution")
                }),
            Err(error) => Err(workflow_error(error, "describing an execution")),
        }
    }

    async fn send_task_success(
        &self,
        task_token: &str,
        output: Value,
    ) -> Result<(), WorkflowError> {
        self.engine
            .send_task_success(task_token, output)
            .map_err(|e| workflow_error(e, "completing a task"))
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError> {
        self.engine
            .send_task_failure(task_token, error, cause)
            .map_err(|e| workflow_error(e, "failing a task"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::{
        WaitingTasks, stop_and_list_contract, task_answer_contract, waiting_definition,
        workflow_contract,
    };
    use sde_states::{EngineOptions, StateMachine, TaskRegistry};
    use serde_json::json;
    use std::time::Duration;

    fn engine() -> Engine {
        let machine =
            StateMachine::load(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)
                .unwrap();
        Engine::new(machine, TaskRegistry::new(), EngineOptions::default())
    }

    fn arn(name: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:execution:download-request:{name}")
    }

    #[tokio::test]
    async fn records_of_the_earlier_shape_are_read_and_rewritten_in_the_describe_execution_shape() {
        // Hand-written in the shape this module wrote before descriptions carried
        // stateMachineArn: input and output as JSON values.
        let dir = tempfile::tempdir().unwrap();
        let done = json!({"executionArn": arn("done"), "name": "done", "status": "SUCCEEDED",
            "input": {"type": "direct"}, "output": {"reportURL": "https://example.com/f.csv"},
            "startDate": "2026-11-23T10:00:00Z", "stopDate": "2026-11-23T10:00:05Z"});
        let cut = json!({"executionArn": arn("cut"), "name": "cut", "status": "RUNNING",
            "input": {"type": "push"}, "startDate": "2026-11-23T10:00:00Z"});
        std::fs::write(dir.path().join("done.json"), done.to_string()).unwrap();
        std::fs::write(dir.path().join("cut.json"), cut.to_string()).unwrap();

        let workflow = LocalWorkflow::open(engine(), dir.path()).unwrap();

        let done = workflow.describe(&arn("done")).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        assert_eq!(done.input, json!({"type": "direct"}));
        assert_eq!(
            done.output,
            Some(json!({"reportURL": "https://example.com/f.csv"}))
        );
        assert_eq!(
            done.state_machine_arn,
            "arn:aws:states:us-east-1:123456789012:stateMachine:download-request"
        );
        let cut = workflow.describe(&arn("cut")).await.unwrap();
        assert_eq!(
            (cut.status, cut.error.as_deref()),
            (ExecutionStatus::Failed, Some(INTERRUPTED))
        );
        assert_eq!(cut.input, json!({"type": "push"}));
        let rewritten: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("cut.json")).unwrap()).unwrap();
        assert_eq!(rewritten["input"], json!("{\"type\":\"push\"}"));
    }

    #[tokio::test]
    async fn an_execution_started_here_is_described_by_the_interpreter_and_recorded_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let workflow = LocalWorkflow::open(engine(), dir.path()).unwrap();
        let arn = workflow.start("fresh", json!({"a": 1})).await.unwrap();
        let done = workflow.engine().wait(&arn).await.unwrap();
        assert_eq!(workflow.describe(&arn).await.unwrap(), done);
        // The record is written by a task watching the execution; give it a moment.
        for _ in 0..100 {
            let record: Option<ExecutionDescription> = std::fs::read(dir.path().join("fresh.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            if record.as_ref() == Some(&done) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the finished execution was not recorded on disk");
    }

    #[tokio::test]
    async fn finished_executions_and_their_records_are_forgotten_after_the_cutoff() {
        let dir = tempfile::tempdir().unwrap();
        // One execution of an earlier run, read from its record, and one of this run.
        let old = json!({"executionArn": arn("old"), "name": "old", "status": "SUCCEEDED",
            "input": {}, "output": {}, "startDate": "2026-11-23T10:00:00Z",
            "stopDate": "2026-11-23T10:00:05Z"});
        std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
        let workflow = LocalWorkflow::open(engine(), dir.path()).unwrap();
        let fresh = workflow.start("fresh", json!({})).await.unwrap();
        let done = workflow.engine().wait(&fresh).await.unwrap();
        let stopped = done.stop_date.unwrap();
        // The record of `fresh` is written by a watching task; wait for it.
        for _ in 0..100 {
            if dir.path().join("fresh.json").exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        assert_eq!(
            workflow.forget_finished(stopped),
            1,
            "only the earlier run's"
        );
        assert!(!dir.path().join("old.json").exists());
        assert!(workflow.describe(&arn("old")).await.is_err());
        assert!(workflow.describe(&fresh).await.is_ok());

        assert_eq!(
            workflow.forget_finished(stopped + chrono::Duration::seconds(1)),
            1
        );
        assert!(!dir.path().join("fresh.json").exists());
        let error = workflow.describe(&fresh).await.unwrap_err();
        assert_eq!(error.kind, WorkflowErrorKind::NotFound);
    }

    #[tokio::test]
    async fn the_end_listener_is_told_of_each_execution_once_it_has_ended() {
        let dir = tempfile::tempdir().unwrap();
        let (told, mut ended) = tokio::sync::mpsc::unbounded_channel();
        let workflow = LocalWorkflow::open(engine(), dir.path())
            .unwrap()
            .on_end(Arc::new(move |done: ExecutionDescription| {
                told.send(done).unwrap();
            }));
        let arn = workflow.start("told", json!({})).await.unwrap();
        let done = tokio::time::timeout(Duration::from_secs(30), ended.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.execution_arn, arn);
        assert_eq!(done.name, "told");
        assert_eq!(done.status, ExecutionStatus::Succeeded);
    }

    /// A local workflow running the contract's waiting state machine, whose function hands each
    /// task token over by execution.
    struct Waiting {
        workflow: LocalWorkflow,
        tokens: Arc<Mutex<HashMap<String, String>>>,
        _records: tempfile::TempDir,
    }

    fn waiting() -> Waiting {
        let registry = TaskRegistry::new();
        let tokens = Arc::new(Mutex::new(HashMap::new()));
        let handed = Arc::clone(&tokens);
        registry.register_fn(
            "contractWaiter",
            move |ctx: sde_states::TaskContext, payload: Value| {
                let token = payload["taskToken"].as_str().unwrap().to_owned();
                handed.lock().unwrap().insert(ctx.execution_arn, token);
                async { Ok(json!({})) }
            },
        );
        let machine = StateMachine::load(&waiting_definition("contractWaiter")).unwrap();
        let records = tempfile::tempdir().unwrap();
        let engine = Engine::new(machine, registry, EngineOptions::default());
        assert!(engine.missing_handlers().is_empty());
        Waiting {
            workflow: LocalWorkflow::open(engine, records.path()).unwrap(),
            tokens,
            _records: records,
        }
    }

    #[async_trait]
    impl WaitingTasks for Waiting {
        async fn token(&self, execution_arn: &str) -> String {
            for _ in 0..3000 {
                if let Some(token) = self.tokens.lock().unwrap().get(execution_arn) {
                    return token.clone();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{execution_arn} never handed over its task token");
        }
    }

    #[tokio::test]
    async fn the_local_workflow_keeps_the_workflow_contract() {
        let waiting = waiting();
        workflow_contract(&waiting.workflow, &waiting).await;
    }

    #[tokio::test]
    async fn the_local_workflow_keeps_the_stop_and_list_contract() {
        stop_and_list_contract(&waiting().workflow).await;
    }

    #[tokio::test]
    async fn the_local_workflow_keeps_the_task_answer_contract() {
        let waiting = waiting();
        task_answer_contract(&waiting.workflow, &waiting).await;
    }
}
