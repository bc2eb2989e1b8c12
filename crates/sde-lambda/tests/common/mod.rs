//! What the Lambda glue tests share: the hand-written events under the repository's
//! `tests/fixtures/apigw/`, and in-memory stand-ins for the AWS parts that record what they were
//! asked to do.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{
    DeliveryError, EmailMessage, ExecutionDescription, ExecutionStatus, ExportProgress, IndexError,
    IndexErrorKind, Mailer, PageRequest, Post, PostOutcome, PostQuery, PostScan, ProgressBoard,
    PushChannel, SearchIndex, SearchPage, UserId, Workflow, WorkflowError, WorkflowErrorKind,
};
use sde_lambda::task::FlushProgress;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The user every fixture names.
pub const SUB: &str = "3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f";
pub const EMAIL: &str = "ada@example.com";
/// The execution every fixture names.
pub const EXPORT_ID: &str = "3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f_5e6f00001a2b3c4d8e9f0a1b2c3d4e5f";
pub const EXECUTION_ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:sde-dev-download-request:3f1c2d9e-7b4a-4c1e-9d2f-0a1b2c3d4e5f_5e6f00001a2b3c4d8e9f0a1b2c3d4e5f";
pub const CONNECTION_ID: &str = "Nq3v2cHzoAMCJhA=";
pub const CORS: &str = "https://app.example.com";

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/fixtures/apigw/<name>` as JSON.
pub fn fixture_json(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures/apigw").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// `tests/fixtures/apigw/<name>` as the event type a function takes.
pub fn fixture<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(fixture_json(name)).unwrap()
}

pub fn post(id: &str, day: &str, content: &str) -> Post {
    Post {
        id: id.to_owned(),
        user_id: UserId::Int(7),
        date_created: format!("{day}T12:00:00Z").parse::<DateTime<Utc>>().unwrap(),
        content: content.to_owned(),
        tags: vec!["#pets".to_owned()],
    }
}

/// A tantivy index with two posts the fixtures' criteria (`cats`, 21–23 July 2019) find and two
/// they do not.
pub fn sample_index() -> sde_tantivy::TantivyIndex {
    let index = sde_tantivy::TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    for post in [
        post("p-1", "2019-07-21", "cats sleeping in the sun"),
        post("p-2", "2019-07-22", "two cats, \"one\" hat"),
        post("p-3", "2019-07-25", "cats, but too late"),
        post("p-4", "2019-07-22", "dogs only"),
    ] {
        writer.add(&post).unwrap();
    }
    writer.commit().unwrap();
    index
}

/// An index that cannot be reached.
#[derive(Debug)]
pub struct UnreachableIndex;

#[async_trait]
impl SearchIndex for UnreachableIndex {
    async fn search(&self, _: &PostQuery, _: PageRequest) -> Result<SearchPage, IndexError> {
        Err(IndexError::new(
            IndexErrorKind::Unavailable,
            "searching 10.0.0.3:9200",
        ))
    }

    async fn scan(&self, _: &PostQuery, _: NonZeroUsize) -> Result<Box<dyn PostScan>, IndexError> {
        Err(IndexError::new(
            IndexErrorKind::Unavailable,
            "opening a scroll",
        ))
    }
}

/// A workflow that knows the executions it is given and records what it is asked to do.
#[derive(Debug, Default)]
pub struct FakeWorkflow {
    pub executions: Mutex<HashMap<String, ExecutionDescription>>,
    pub started: Mutex<Vec<(String, Value)>>,
    pub completed_tasks: Mutex<Vec<(String, Value)>>,
}

impl FakeWorkflow {
    /// A workflow holding the fixtures' execution, owned by the fixtures' user.
    pub fn with_fixture_execution(status: ExecutionStatus, output: Option<Value>) -> Self {
        let workflow = FakeWorkflow::default();
        workflow.executions.lock().unwrap().insert(
            EXECUTION_ARN.to_owned(),
            ExecutionDescription {
                execution_arn: EXECUTION_ARN.to_owned(),
                state_machine_arn:
                    "arn:aws:states:eu-west-1:123456789012:stateMachine:sde-dev-download-request"
                        .to_owned(),
                name: EXPORT_ID.to_owned(),
                status,
                input: fixture_json("task-generate-csv.json"),
                output,
                error: None,
                cause: None,
                start_date: Utc::now(),
                stop_date: None,
            },
        );
        workflow
    }
}

#[async_trait]
impl Workflow for FakeWorkflow {
    fn execution_arn(&self, name: &str) -> String {
        format!("arn:aws:states:eu-west-1:123456789012:execution:sde-dev-download-request:{name}")
    }

    async fn stop(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError> {
        let mut executions = self.executions.lock().unwrap();
        let execution = executions
            .get_mut(execution_arn)
            .ok_or_else(|| WorkflowError::new(WorkflowErrorKind::NotFound, "stopping"))?;
        if execution.status == ExecutionStatus::Running {
            execution.status = ExecutionStatus::Aborted;
            execution.error = Some(error.to_owned());
            execution.cause = Some(cause.to_owned());
            execution.stop_date = Some(Utc::now());
        }
        Ok(())
    }

    async fn list_started_since(
        &self,
        name_prefix: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<Vec<sde_core::ExecutionSummary>, WorkflowError> {
        let mut listed: Vec<sde_core::ExecutionSummary> = self
            .executions
            .lock()
            .unwrap()
            .values()
            .filter(|e| e.name.starts_with(name_prefix) && e.start_date >= since)
            .map(sde_core::ExecutionSummary::from)
            .collect();
        listed.sort_by_key(|e| std::cmp::Reverse(e.start_date));
        Ok(listed)
    }

    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError> {
        self.started.lock().unwrap().push((name.to_owned(), input));
        Ok(format!(
            "arn:aws:states:eu-west-1:123456789012:execution:sde-dev-download-request:{name}"
        ))
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, WorkflowError> {
        self.executions
            .lock()
            .unwrap()
            .get(execution_arn)
            .cloned()
            .ok_or_else(|| WorkflowError::new(WorkflowErrorKind::NotFound, "describing"))
    }

    async fn send_task_success(
        &self,
        task_token: &str,
        output: Value,
    ) -> Result<(), WorkflowError> {
        self.completed_tasks
            .lock()
            .unwrap()
            .push((task_token.to_owned(), output));
        Ok(())
    }

    async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowError> {
        Ok(())
    }
}

/// A progress board that remembers the last value and counts flushes.
#[derive(Debug, Default)]
pub struct RecordingProgress {
    pub last: Mutex<HashMap<String, ExportProgress>>,
    pub flushes: AtomicUsize,
}

impl RecordingProgress {
    pub fn flushes(&self) -> usize {
        self.flushes.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ProgressBoard for RecordingProgress {
    fn record(&self, export_id: &str, progress: ExportProgress) {
        self.last
            .lock()
            .unwrap()
            .insert(export_id.to_owned(), progress);
    }

    async fn read(&self, export_id: &str) -> Option<ExportProgress> {
        self.last.lock().unwrap().get(export_id).copied()
    }
}

impl FlushProgress for RecordingProgress {
    async fn flush(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A mailer that keeps what it sends.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    pub sent: Mutex<Vec<EmailMessage>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: &EmailMessage) -> Result<String, DeliveryError> {
        let mut sent = self.sent.lock().unwrap();
        sent.push(message.clone());
        Ok(format!("message-{}", sent.len()))
    }
}

/// A WebSocket management API that keeps every frame posted.
#[derive(Debug, Default)]
pub struct RecordingChannel {
    pub posted: Mutex<Vec<(String, Value)>>,
}

#[async_trait]
impl PushChannel for RecordingChannel {
    async fn post(&self, connection_id: &str, frame: &Value) -> Result<PostOutcome, DeliveryError> {
        self.posted
            .lock()
            .unwrap()
            .push((connection_id.to_owned(), frame.clone()));
        Ok(PostOutcome::Delivered)
    }
}
