//! The engine's API, shaped like Step Functions' `StartExecution`, `DescribeExecution`,
//! `ListExecutions`, `StopExecution` and `SendTask*`: it starts each execution as a tokio task
//! (driven by [`crate::runner`]), keeps every execution's record, and routes task tokens to the
//! tasks waiting on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use sde_core::{ExecutionDescription, ExecutionStatus};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::definition::StateMachine;
use crate::error::{EngineError, TaskError};
use crate::execution::{HistoryEvent, HistoryEventType, Slot};
use crate::runner::Runner;
use crate::task::TaskRegistry;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Region used in ARNs.
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// State machine name used in ARNs.
    pub state_machine_name: String,
    /// Multiplier applied to every duration the definition specifies (Wait, retry intervals,
    /// timeouts, heartbeats). `1.0` is real time; tests use e.g. `0.001`.
    pub time_scale: f64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            state_machine_name: "download-request".to_owned(),
            time_scale: 1.0,
        }
    }
}

/// Runs executions of one state machine. Cheap to clone; every clone drives the same executions.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state_machine_arn", &self.inner.state_machine_arn)
            .finish_non_exhaustive()
    }
}

/// What every clone of an [`Engine`] and every running execution share.
pub(crate) struct Inner {
    pub(crate) machine: StateMachine,
    pub(crate) registry: TaskRegistry,
    pub(crate) options: EngineOptions,
    pub(crate) state_machine_arn: String,
    pub(crate) executions: Mutex<HashMap<String, Arc<Slot>>>,
    /// Open task tokens, each with its execution's ARN (a stop closes them at once).
    pub(crate) tokens: Mutex<HashMap<String, (String, mpsc::UnboundedSender<TokenEvent>)>>,
}

/// What a `SendTask*` call tells the task holding the token.
pub(crate) enum TokenEvent {
    Heartbeat,
    Success(Value),
    Failure(TaskError),
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Execution names: 1–80 characters, no whitespace, brackets, wildcards, special punctuation
/// or control characters (the `StartExecution` rule).
fn valid_execution_name(name: &str) -> bool {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    (1..=80).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !FORBIDDEN.contains(c))
}

impl Engine {
    /// Builds an engine for `machine`, resolving Task resources through `registry`.
    pub fn new(machine: StateMachine, registry: TaskRegistry, options: EngineOptions) -> Engine {
        let state_machine_arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            options.region, options.account_id, options.state_machine_name
        );
        Engine {
            inner: Arc::new(Inner {
                machine,
                registry,
                options,
                state_machine_arn,
                executions: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> &str {
        &self.inner.state_machine_arn
    }

    /// Function names the definition references that the registry cannot resolve.
    pub fn missing_handlers(&self) -> Vec<String> {
        self.inner
            .machine
            .function_names()
            .into_iter()
            .filter(|name| self.inner.registry.resolve(name).is_none())
            .collect()
    }

    /// Starts an execution and returns its ARN at once; the execution runs as its own tokio
    /// task. Names are unique per engine (`ExecutionAlreadyExists` otherwise).
    pub fn start_execution(&self, name: &str, input: Value) -> Result<String, EngineError> {
        if !valid_execution_name(name) {
            return Err(EngineError::InvalidName(name.to_owned()));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        let options = &self.inner.options;
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{}:{}",
            options.region, options.account_id, options.state_machine_name, name
        );
        let mut executions = lock(&self.inner.executions);
        if executions.contains_key(&arn) {
            return Err(EngineError::ExecutionAlreadyExists(arn));
        }
        let start = Utc::now();
        let (done, _) = watch::channel(false);
        let slot = Arc::new(Slot {
            description: Mutex::new(ExecutionDescription {
                execution_arn: arn.clone(),
                state_machine_arn: self.inner.state_machine_arn.clone(),
                name: name.to_owned(),
                status: ExecutionStatus::Running,
                start_date: start,
                stop_date: None,
                input: input.clone(),
                output: None,
                error: None,
                cause: None,
            }),
            history: Mutex::new(Vec::new()),
            done,
            abort: Mutex::new(None),
        });
        slot.record(HistoryEventType::ExecutionStarted, None, None);
        executions.insert(arn.clone(), slot.clone());
        let runner = Runner {
            inner: self.inner.clone(),
            slot: slot.clone(),
            arn: arn.clone(),
            name: name.to_owned(),
            start,
            input,
        };
        // Hold the abort slot while spawning so a concurrent stop sees the handle.
        let mut abort = lock(&slot.abort);
        let join = runtime.spawn(runner.run());
        *abort = Some(join.abort_handle());
        drop(abort);
        info!(execution_arn = %arn, "execution started");
        Ok(arn)
    }

    fn slot(&self, arn: &str) -> Result<Arc<Slot>, EngineError> {
        lock(&self.inner.executions)
            .get(arn)
            .cloned()
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_owned()))
    }

    /// The execution's current description.
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        Ok(lock(&self.slot(arn)?.description).clone())
    }

    /// Descriptions of every execution started on this engine, oldest first.
    pub fn list_executions(&self) -> Vec<ExecutionDescription> {
        let slots: Vec<Arc<Slot>> = lock(&self.inner.executions).values().cloned().collect();
        let mut out: Vec<ExecutionDescription> =
            slots.iter().map(|s| lock(&s.description).clone()).collect();
        out.sort_by(|a, b| a.start_date.cmp(&b.start_date).then(a.name.cmp(&b.name)));
        out
    }

    /// Forgets every execution that finished before `stopped_before`, with its history, and
    /// returns their descriptions; running executions are kept whatever their age. Step
    /// Functions keeps a finished standard execution for 90 days; a long-running local stack
    /// forgets its executions once their files expire, so its memory stays flat.
    pub fn forget_finished(&self, stopped_before: DateTime<Utc>) -> Vec<ExecutionDescription> {
        let mut executions = lock(&self.inner.executions);
        let mut forgotten = Vec::new();
        executions.retain(|_, slot| {
            let description = lock(&slot.description);
            let expired = description.status != ExecutionStatus::Running
                && description.stop_date.is_some_and(|at| at < stopped_before);
            if expired {
                forgotten.push(description.clone());
            }
            !expired
        });
        forgotten
    }

    /// The execution's history so far.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, EngineError> {
        Ok(lock(&self.slot(arn)?.history).clone())
    }

    /// Stops a running execution: status ABORTED with the given error and cause; its pending
    /// task tokens become invalid. Stopping a finished execution changes nothing. Returns the
    /// stop date.
    pub fn stop_execution(
        &self,
        arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<DateTime<Utc>, EngineError> {
        let slot = self.slot(arn)?;
        let mut description = lock(&slot.description);
        if description.status != ExecutionStatus::Running {
            return Ok(description.stop_date.unwrap_or_else(Utc::now));
        }
        let now = Utc::now();
        description.status = ExecutionStatus::Aborted;
        description.stop_date = Some(now);
        description.error = error.map(str::to_owned);
        description.cause = cause.map(str::to_owned);
        if let Some(handle) = lock(&slot.abort).take() {
            handle.abort();
        }
        drop(description);
        lock(&self.inner.tokens).retain(|_, (execution_arn, _)| execution_arn != arn);
        slot.record(HistoryEventType::ExecutionAborted, None, None);
        slot.done.send_replace(true);
        info!(execution_arn = %arn, "execution stopped");
        Ok(now)
    }

    /// Waits until the execution is no longer RUNNING and returns its description.
    pub async fn wait(&self, arn: &str) -> Result<ExecutionDescription, EngineError> {
        let slot = self.slot(arn)?;
        let mut done = slot.done.subscribe();
        while !*done.borrow_and_update() {
            if done.changed().await.is_err() {
                break;
            }
        }
        Ok(lock(&slot.description).clone())
    }

    fn send(&self, token: &str, event: TokenEvent) -> Result<(), EngineError> {
        let mut tokens = lock(&self.inner.tokens);
        let closes = !matches!(event, TokenEvent::Heartbeat);
        let sender = if closes {
            tokens.remove(token).map(|(_, sender)| sender)
        } else {
            tokens.get(token).map(|(_, sender)| sender.clone())
        };
        sender
            .and_then(|s| s.send(event).ok())
            .ok_or_else(|| EngineError::TaskDoesNotExist(token.to_owned()))
    }

    /// Completes the `.waitForTaskToken` task holding `token` with `output` as its result.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), EngineError> {
        self.send(token, TokenEvent::Success(output))
    }

    /// Fails the `.waitForTaskToken` task holding `token` with `error` and `cause`.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), EngineError> {
        self.send(token, TokenEvent::Failure(TaskError::new(error, cause)))
    }

    /// Resets the heartbeat clock of the task holding `token`.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), EngineError> {
        self.send(token, TokenEvent::Heartbeat)
    }
}

/// Removes a task token from the engine when its task ends in any way (result, timeout, stop).
pub(crate) struct TokenGuard {
    pub(crate) inner: Arc<Inner>,
    pub(crate) token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        lock(&self.inner.tokens).remove(&self.token);
    }
}
