//! The execution engine: starts executions as tokio tasks, runs states, applies the
//! Step Functions input/output processing, retries and catches, and exposes an API shaped like
//! `StartExecution`, `DescribeExecution`, `StopExecution` and `SendTask*`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tracing::{debug, info};

use crate::definition::{
    Catcher, FailField, Integration, IoPath, Kind, Machine, MapSpec, ResultPath, Seconds, State,
    StateMachine, TaskSpec, WaitSpec, function_name,
};
use crate::error::{EngineError, TaskError, error_matches, names};
use crate::task::{TaskContext, TaskRegistry};

/// Longest single timer the engine arms; longer waits (such as the default task timeout of
/// 99,999,999 seconds) are effectively "never".
const MAX_TIMER_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

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

/// Status of an execution, as in `DescribeExecution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Ended in a Succeed state or an `End` state.
    Succeeded,
    /// Ended with an error (a Fail state or an uncaught error).
    Failed,
    /// Ran longer than the state machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped with `stop_execution`.
    Aborted,
}

/// The result of `describe_execution`, serialised like the `DescribeExecution` response:
/// `input` and `output` are JSON text, dates are RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`.
    pub execution_arn: String,
    /// `arn:aws:states:<region>:<account>:stateMachine:<state machine>`.
    pub state_machine_arn: String,
    /// The execution name given to `start_execution`.
    pub name: String,
    /// Current status.
    pub status: ExecutionStatus,
    /// When the execution started.
    pub start_date: DateTime<Utc>,
    /// When it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
    /// The execution input.
    #[serde(with = "json_text")]
    pub input: Value,
    /// The execution output, once SUCCEEDED.
    #[serde(
        default,
        with = "optional_json_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Error name, once FAILED, TIMED_OUT or ABORTED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human-readable cause, once FAILED, TIMED_OUT or ABORTED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

mod json_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub(super) fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

mod optional_json_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub(super) fn serialize<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| serde_json::from_str(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Kind of a history event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEventType {
    /// The execution started.
    ExecutionStarted,
    /// A state was entered.
    StateEntered,
    /// A state finished and passed on its output.
    StateExited,
    /// A state failed with an error (before retry/catch is considered).
    StateFailed,
    /// A retrier matched; the state runs again after a delay.
    StateRetried,
    /// A catcher matched; the execution continues at the catcher's `Next`.
    StateCaught,
    /// The execution succeeded.
    ExecutionSucceeded,
    /// The execution failed.
    ExecutionFailed,
    /// The execution exceeded its `TimeoutSeconds`.
    ExecutionTimedOut,
    /// The execution was stopped.
    ExecutionAborted,
}

/// One entry of an execution's history (a simplified `GetExecutionHistory`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: HistoryEventType,
    /// The state concerned, if any.
    pub state: Option<String>,
    /// Error name for failures, retries and catches.
    pub error: Option<String>,
    /// Cause for failures, retries and catches.
    pub cause: Option<String>,
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

struct Inner {
    machine: StateMachine,
    registry: TaskRegistry,
    options: EngineOptions,
    state_machine_arn: String,
    executions: Mutex<HashMap<String, Arc<Slot>>>,
    tokens: Mutex<HashMap<String, mpsc::UnboundedSender<TokenEvent>>>,
}

struct Slot {
    description: Mutex<ExecutionDescription>,
    history: Mutex<Vec<HistoryEvent>>,
    done: watch::Sender<bool>,
    abort: Mutex<Option<AbortHandle>>,
}

enum TokenEvent {
    Heartbeat,
    Success(Value),
    Failure(TaskError),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    fn record(&self, kind: HistoryEventType, state: Option<&str>, error: Option<&TaskError>) {
        lock(&self.history).push(HistoryEvent {
            timestamp: Utc::now(),
            kind,
            state: state.map(str::to_owned),
            error: error.map(|e| e.error.clone()),
            cause: error.map(|e| e.cause.clone()),
        });
    }
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
            tokens.remove(token)
        } else {
            tokens.get(token).cloned()
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
struct TokenGuard {
    inner: Arc<Inner>,
    token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        lock(&self.inner.tokens).remove(&self.token);
    }
}

/// How a state hands over: to the next state, or the end of its machine.
enum Step {
    Next(String, Value),
    End(Value),
}

struct Runner {
    inner: Arc<Inner>,
    slot: Arc<Slot>,
    arn: String,
    name: String,
    start: DateTime<Utc>,
    input: Value,
}

struct StateCtx<'a> {
    state: &'a State,
    entered: DateTime<Utc>,
    retry_count: u64,
}

impl Runner {
    async fn run(self) {
        let machine = self.inner.machine.root.clone();
        let run = self.run_machine(&machine, self.input.clone());
        let result = match machine.timeout_seconds {
            Some(secs) => match tokio::time::timeout(self.scaled(secs as f64), run).await {
                Ok(result) => result.map_err(|e| (ExecutionStatus::Failed, e)),
                Err(_) => Err((
                    ExecutionStatus::TimedOut,
                    TaskError::new(
                        names::TIMEOUT,
                        format!("The execution ran longer than {secs} seconds"),
                    ),
                )),
            },
            None => run.await.map_err(|e| (ExecutionStatus::Failed, e)),
        };
        let mut description = lock(&self.slot.description);
        if description.status == ExecutionStatus::Running {
            description.stop_date = Some(Utc::now());
            match result {
                Ok(output) => {
                    description.status = ExecutionStatus::Succeeded;
                    description.output = Some(output);
                    drop(description);
                    self.slot
                        .record(HistoryEventType::ExecutionSucceeded, None, None);
                    info!(execution_arn = %self.arn, "execution succeeded");
                }
                Err((status, error)) => {
                    description.status = status;
                    description.error = Some(error.error.clone());
                    description.cause = Some(error.cause.clone());
                    drop(description);
                    let kind = if status == ExecutionStatus::TimedOut {
                        HistoryEventType::ExecutionTimedOut
                    } else {
                        HistoryEventType::ExecutionFailed
                    };
                    self.slot.record(kind, None, Some(&error));
                    info!(execution_arn = %self.arn, error = %error.error, "execution failed");
                }
            }
        } else {
            drop(description);
        }
        self.slot.done.send_replace(true);
    }

    fn scaled(&self, seconds: f64) -> Duration {
        let scaled = (seconds * self.inner.options.time_scale).clamp(0.0, MAX_TIMER_SECONDS);
        Duration::from_secs_f64(if scaled.is_finite() { scaled } else { 0.0 })
    }

    fn context(
        &self,
        ctx: &StateCtx<'_>,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let mut context = json!({
            "Execution": {
                "Id": self.arn,
                "Input": self.input,
                "Name": self.name,
                "RoleArn": format!("arn:aws:iam::{}:role/{}-role", self.inner.options.account_id, self.inner.options.state_machine_name),
                "StartTime": self.start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": ctx.entered.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Name": ctx.state.name,
                "RetryCount": ctx.retry_count,
            },
            "StateMachine": {
                "Id": self.inner.state_machine_arn,
                "Name": self.inner.options.state_machine_name,
            },
        });
        if let Some(token) = token {
            context["Task"] = json!({"Token": token});
        }
        if let Some((index, value)) = item {
            context["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        context
    }

    fn run_machine<'a>(
        &'a self,
        machine: &'a Machine,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, TaskError>> {
        async move {
            let mut current = machine.start_at.as_str();
            let mut input = input;
            loop {
                let Some(state) = machine.states.get(current) else {
                    return Err(TaskError::runtime(format!(
                        "state \"{current}\" does not exist"
                    )));
                };
                self.slot
                    .record(HistoryEventType::StateEntered, Some(&state.name), None);
                debug!(execution_arn = %self.arn, state = %state.name, "state entered");
                match self.run_state(state, input).await {
                    Ok(Step::Next(next, output)) => {
                        self.slot
                            .record(HistoryEventType::StateExited, Some(&state.name), None);
                        let Some((name, _)) = machine.states.get_key_value(&next) else {
                            return Err(TaskError::runtime(format!(
                                "state \"{next}\" does not exist"
                            )));
                        };
                        current = name.as_str();
                        input = output;
                    }
                    Ok(Step::End(output)) => {
                        self.slot
                            .record(HistoryEventType::StateExited, Some(&state.name), None);
                        return Ok(output);
                    }
                    Err(error) => {
                        self.slot.record(
                            HistoryEventType::StateFailed,
                            Some(&state.name),
                            Some(&error),
                        );
                        return Err(error);
                    }
                }
            }
        }
        .boxed()
    }

    fn step(state: &State, output: Value) -> Step {
        match &state.next {
            Some(next) => Step::Next(next.clone(), output),
            None => Step::End(output),
        }
    }

    async fn run_state(&self, state: &State, raw: Value) -> Result<Step, TaskError> {
        let ctx = StateCtx {
            state,
            entered: Utc::now(),
            retry_count: 0,
        };
        match &state.kind {
            Kind::Pass { result } => {
                let context = self.context(&ctx, None, None);
                let effective = apply_io_path(&state.input_path, &raw, &context, "InputPath")?;
                let effective = match &state.parameters {
                    Some(template) => template.render(&effective, &context)?,
                    None => effective,
                };
                let result = result.clone().unwrap_or(effective);
                let output = apply_result_path(&state.result_path, raw, result)?;
                let output = apply_io_path(&state.output_path, &output, &context, "OutputPath")?;
                Ok(Self::step(state, output))
            }
            Kind::Choice { choices, default } => {
                let context = self.context(&ctx, None, None);
                let effective = apply_io_path(&state.input_path, &raw, &context, "InputPath")?;
                let mut chosen = None;
                for (rule, next) in choices {
                    if rule.eval(&effective, &context)? {
                        chosen = Some(next.clone());
                        break;
                    }
                }
                let next = chosen.or_else(|| default.clone()).ok_or_else(|| {
                    TaskError::new(
                        names::NO_CHOICE_MATCHED,
                        format!(
                            "No Choice Rules matched and no Default in state \"{}\"",
                            state.name
                        ),
                    )
                })?;
                let output = apply_io_path(&state.output_path, &effective, &context, "OutputPath")?;
                Ok(Step::Next(next, output))
            }
            Kind::Wait(spec) => {
                let context = self.context(&ctx, None, None);
                let effective = apply_io_path(&state.input_path, &raw, &context, "InputPath")?;
                let seconds = wait_seconds(spec, &effective)?;
                tokio::time::sleep(self.scaled(seconds)).await;
                let output = apply_io_path(&state.output_path, &effective, &context, "OutputPath")?;
                Ok(Self::step(state, output))
            }
            Kind::Succeed => {
                let context = self.context(&ctx, None, None);
                let effective = apply_io_path(&state.input_path, &raw, &context, "InputPath")?;
                let output = apply_io_path(&state.output_path, &effective, &context, "OutputPath")?;
                Ok(Step::End(output))
            }
            Kind::Fail { error, cause } => {
                let context = self.context(&ctx, None, None);
                let error = fail_text(error, &raw, &context, "ErrorPath")?;
                let cause = fail_text(cause, &raw, &context, "CausePath")?;
                Err(TaskError::new(
                    error.unwrap_or_default(),
                    cause.unwrap_or_default(),
                ))
            }
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
                self.run_with_retry(state, raw).await
            }
        }
    }

    /// Runs a Task, Parallel or Map state, applying its retriers and catchers.
    async fn run_with_retry(&self, state: &State, raw: Value) -> Result<Step, TaskError> {
        let mut attempts = vec![0u64; state.retry.len()];
        let mut retry_count = 0u64;
        loop {
            let ctx = StateCtx {
                state,
                entered: Utc::now(),
                retry_count,
            };
            let error = match self.attempt(&ctx, &raw).await {
                Ok(output) => return Ok(Self::step(state, output)),
                Err(error) => error,
            };
            // AWS: the first retrier whose ErrorEquals matches applies; once its MaxAttempts are
            // used up, the error goes to the catchers (later retriers are not consulted).
            if let Some(index) = state
                .retry
                .iter()
                .position(|r| error_matches(&r.error_equals, &error.error))
            {
                let retrier = &state.retry[index];
                if attempts[index] < retrier.max_attempts {
                    let mut delay = retrier.interval_seconds
                        * retrier.backoff_rate.powi(attempts[index].min(1000) as i32);
                    if let Some(max) = retrier.max_delay_seconds {
                        delay = delay.min(max);
                    }
                    if retrier.full_jitter {
                        delay = rand::rng().random_range(0.0..=delay.max(0.0));
                    }
                    attempts[index] += 1;
                    retry_count += 1;
                    self.slot.record(
                        HistoryEventType::StateRetried,
                        Some(&state.name),
                        Some(&error),
                    );
                    debug!(execution_arn = %self.arn, state = %state.name, error = %error.error, delay, "retrying state");
                    tokio::time::sleep(self.scaled(delay)).await;
                    continue;
                }
            }
            if let Some(catcher) = state
                .catch
                .iter()
                .find(|c| error_matches(&c.error_equals, &error.error))
            {
                return self.caught(state, catcher, raw, &error);
            }
            return Err(error);
        }
    }

    fn caught(
        &self,
        state: &State,
        catcher: &Catcher,
        raw: Value,
        error: &TaskError,
    ) -> Result<Step, TaskError> {
        self.slot.record(
            HistoryEventType::StateCaught,
            Some(&state.name),
            Some(error),
        );
        // AWS: the catcher's ResultPath (default $) places the error output in the state input.
        let output = apply_result_path(&catcher.result_path, raw, error.to_error_output())?;
        Ok(Step::Next(catcher.next.clone(), output))
    }

    async fn attempt(&self, ctx: &StateCtx<'_>, raw: &Value) -> Result<Value, TaskError> {
        let state = ctx.state;
        let token = match &state.kind {
            Kind::Task(TaskSpec {
                integration: Integration::InvokeWaitForTaskToken,
                ..
            }) => Some(uuid::Uuid::new_v4().simple().to_string()),
            _ => None,
        };
        let context = self.context(ctx, token.as_deref(), None);
        let effective = apply_io_path(&state.input_path, raw, &context, "InputPath")?;
        let result = match &state.kind {
            Kind::Task(spec) => {
                let parameters = match &state.parameters {
                    Some(template) => template.render(&effective, &context)?,
                    None => effective.clone(),
                };
                self.run_task(ctx, spec, &effective, parameters, token)
                    .await?
            }
            Kind::Parallel { branches } => {
                let input = match &state.parameters {
                    Some(template) => template.render(&effective, &context)?,
                    None => effective.clone(),
                };
                // AWS: branches run concurrently; if any branch fails the Parallel state fails
                // with that error and the other branches are stopped.
                let runs = branches
                    .iter()
                    .map(|branch| self.run_machine(branch, input.clone()));
                Value::Array(futures::future::try_join_all(runs).await?)
            }
            Kind::Map(spec) => self.run_map(ctx, spec, &effective).await?,
            _ => return Err(TaskError::runtime("state cannot be attempted")),
        };
        let result = match &state.result_selector {
            Some(template) => template.render(&result, &context)?,
            None => result,
        };
        let output = apply_result_path(&state.result_path, raw.clone(), result)?;
        apply_io_path(&state.output_path, &output, &context, "OutputPath")
    }

    async fn run_map(
        &self,
        ctx: &StateCtx<'_>,
        spec: &MapSpec,
        effective: &Value,
    ) -> Result<Value, TaskError> {
        let context = self.context(ctx, None, None);
        let items = match &spec.items_path {
            Some(path) => path.select(effective, &context),
            None => Some(effective.clone()),
        };
        let Some(Value::Array(items)) = items else {
            return Err(TaskError::runtime(format!(
                "Map state \"{}\": ItemsPath must select a JSON array",
                ctx.state.name
            )));
        };
        // AWS: MaxConcurrency 0 (the default) means no limit; results keep the item order.
        let count = items.len();
        let limit = if spec.max_concurrency == 0 {
            count.max(1)
        } else {
            spec.max_concurrency
        };
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let selector = spec.item_selector.as_ref();
            async move {
                let input = match selector {
                    Some(template) => {
                        let item_context = self.context(ctx, None, Some((index, &item)));
                        template.render(effective, &item_context)?
                    }
                    None => item,
                };
                let output = self.run_machine(&spec.processor, input).await?;
                Ok::<_, TaskError>((index, output))
            }
        });
        // Unordered, so that a slow item holds a slot of its own and not the ones behind it, and
        // the first failing item fails the state at once (AWS: "If any iteration fails, the
        // entire Map state fails, and all iterations are stopped"); dropping the stream stops them.
        let mut finished = futures::stream::iter(runs).buffer_unordered(limit);
        let mut results = vec![Value::Null; count];
        while let Some((index, output)) = finished.try_next().await? {
            if let Some(slot) = results.get_mut(index) {
                *slot = output;
            }
        }
        Ok(Value::Array(results))
    }

    fn seconds(&self, seconds: &Seconds, effective: &Value, field: &str) -> Result<f64, TaskError> {
        match seconds {
            Seconds::Fixed(n) => Ok(*n as f64),
            Seconds::Path(path) => path
                .select(effective, &Value::Null)
                .and_then(|v| v.as_u64())
                .filter(|n| *n > 0)
                .map(|n| n as f64)
                .ok_or_else(|| {
                    TaskError::runtime(format!(
                        "{field} '{}' must select a positive integer",
                        path.text
                    ))
                }),
        }
    }

    async fn run_task(
        &self,
        ctx: &StateCtx<'_>,
        spec: &TaskSpec,
        effective: &Value,
        parameters: Value,
        token: Option<String>,
    ) -> Result<Value, TaskError> {
        let timeout = self.seconds(&spec.timeout, effective, "TimeoutSecondsPath")?;
        let heartbeat = spec
            .heartbeat
            .as_ref()
            .map(|h| self.seconds(h, effective, "HeartbeatSecondsPath"))
            .transpose()?;
        let task_context = TaskContext {
            execution_arn: self.arn.clone(),
            execution_name: self.name.clone(),
            state_name: ctx.state.name.clone(),
            retry_count: ctx.retry_count,
            task_token: token.clone(),
        };
        let run = self.invoke(spec, parameters, task_context, token, heartbeat);
        match tokio::time::timeout(self.scaled(timeout), run).await {
            Ok(result) => result,
            Err(_) => Err(TaskError::new(
                names::TIMEOUT,
                format!(
                    "Task \"{}\" did not finish within {timeout} seconds (TimeoutSeconds)",
                    ctx.state.name
                ),
            )),
        }
    }

    fn handler(&self, function: &str) -> Result<Arc<dyn crate::task::TaskHandler>, TaskError> {
        self.inner.registry.resolve(function).ok_or_else(|| {
            TaskError::new(
                names::LAMBDA_RESOURCE_NOT_FOUND,
                format!("Function not found: {function}"),
            )
        })
    }

    fn function_and_payload(parameters: Value) -> Result<(String, Value), TaskError> {
        let Value::Object(mut map) = parameters else {
            return Err(TaskError::runtime(
                "lambda:invoke Parameters must be an object",
            ));
        };
        let function = map
            .get("FunctionName")
            .and_then(function_name)
            .ok_or_else(|| {
                TaskError::runtime(
                    "lambda:invoke Parameters.FunctionName is not a function name or ARN",
                )
            })?;
        let payload = map.remove("Payload").unwrap_or_else(|| json!({}));
        Ok((function, payload))
    }

    async fn invoke(
        &self,
        spec: &TaskSpec,
        parameters: Value,
        task_context: TaskContext,
        token: Option<String>,
        heartbeat: Option<f64>,
    ) -> Result<Value, TaskError> {
        match &spec.integration {
            Integration::Direct { function } => {
                self.handler(function)?
                    .invoke(task_context, parameters)
                    .await
            }
            Integration::Invoke => {
                let (function, payload) = Self::function_and_payload(parameters)?;
                let result = self
                    .handler(&function)?
                    .invoke(task_context, payload)
                    .await?;
                Ok(json!({"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}))
            }
            Integration::InvokeWaitForTaskToken => {
                let token =
                    token.ok_or_else(|| TaskError::runtime("callback task without a token"))?;
                let (function, payload) = Self::function_and_payload(parameters)?;
                let handler = self.handler(&function)?;
                // Register the token before invoking: the handler may complete it itself.
                let (sender, mut events) = mpsc::unbounded_channel();
                lock(&self.inner.tokens).insert(token.clone(), sender);
                let _guard = TokenGuard {
                    inner: self.inner.clone(),
                    token: token.clone(),
                };
                handler.invoke(task_context, payload).await?;
                loop {
                    let event = match heartbeat {
                        Some(seconds) => {
                            match tokio::time::timeout(self.scaled(seconds), events.recv()).await {
                                Ok(event) => event,
                                Err(_) => {
                                    return Err(TaskError::new(
                                        names::HEARTBEAT_TIMEOUT,
                                        format!(
                                            "No heartbeat for the task token within {seconds} seconds (HeartbeatSeconds)"
                                        ),
                                    ));
                                }
                            }
                        }
                        None => events.recv().await,
                    };
                    match event {
                        Some(TokenEvent::Heartbeat) => continue,
                        Some(TokenEvent::Success(output)) => return Ok(output),
                        Some(TokenEvent::Failure(error)) => return Err(error),
                        None => return Err(TaskError::runtime("the task token was withdrawn")),
                    }
                }
            }
        }
    }
}

fn apply_io_path(
    path: &IoPath,
    value: &Value,
    context: &Value,
    field: &str,
) -> Result<Value, TaskError> {
    match path {
        IoPath::Identity => Ok(value.clone()),
        // AWS: InputPath/OutputPath null give an empty object.
        IoPath::Null => Ok(json!({})),
        IoPath::Path(path) => path.select(value, context).ok_or_else(|| {
            TaskError::runtime(format!(
                "Invalid path '{}' : {field} did not find a value",
                path.text
            ))
        }),
    }
}

fn apply_result_path(path: &ResultPath, mut raw: Value, result: Value) -> Result<Value, TaskError> {
    match path {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw),
        ResultPath::At(path) => {
            path.assign(&mut raw, result)
                .map_err(|e| TaskError::new(names::RESULT_PATH_MATCH_FAILURE, e))?;
            Ok(raw)
        }
    }
}

fn wait_seconds(spec: &WaitSpec, effective: &Value) -> Result<f64, TaskError> {
    let until = |ts: DateTime<chrono::FixedOffset>| {
        let millis = (ts.with_timezone(&Utc) - Utc::now()).num_milliseconds();
        (millis.max(0) as f64) / 1000.0
    };
    match spec {
        WaitSpec::Seconds(n) => Ok(*n as f64),
        WaitSpec::Timestamp(ts) => Ok(until(*ts)),
        WaitSpec::SecondsPath(path) => path
            .select(effective, &Value::Null)
            .and_then(|v| v.as_u64())
            .map(|n| n as f64)
            .ok_or_else(|| {
                TaskError::runtime(format!(
                    "SecondsPath '{}' must select a non-negative integer",
                    path.text
                ))
            }),
        WaitSpec::TimestampPath(path) => path
            .select(effective, &Value::Null)
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            })
            .map(until)
            .ok_or_else(|| {
                TaskError::runtime(format!(
                    "TimestampPath '{}' must select an RFC 3339 timestamp",
                    path.text
                ))
            }),
    }
}

fn fail_text(
    field: &FailField,
    raw: &Value,
    context: &Value,
    name: &str,
) -> Result<Option<String>, TaskError> {
    match field {
        FailField::Absent => Ok(None),
        FailField::Static(text) => Ok(Some(text.clone())),
        FailField::Dynamic(template) => match template.render(raw, context)? {
            Value::String(text) => Ok(Some(text)),
            other => Err(TaskError::runtime(format!(
                "{name} must produce a string, got {other}"
            ))),
        },
    }
}
