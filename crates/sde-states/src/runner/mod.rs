//! The runner: drives one execution from `StartAt` to its end, state by state, records what
//! happens in the execution's history, and applies `Retry` and `Catch` to the states that have
//! them. What each kind of state does lives beside it: [`simple_states`] (Pass, Choice, Wait,
//! Succeed, Fail), [`task_state`] (Task), [`parallel_and_map`] (Parallel, Map); how a value
//! moves through a state lives in [`crate::io_processing`].

mod parallel_and_map;
mod simple_states;
mod task_state;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use rand::Rng as _;
use serde_json::{Value, json};
use tracing::{debug, info};

use crate::definition::{Catcher, Kind, Machine, State};
use crate::engine::{Inner, lock};
use crate::error::{TaskError, error_matches, names};
use sde_core::ExecutionStatus;

use crate::execution::{HistoryEventType, Slot};
use crate::io_processing::{apply_parameters, place_result, select_input, state_output};

/// Longest single timer the engine arms; longer waits (such as the default task timeout of
/// 99,999,999 seconds) are effectively "never".
const MAX_TIMER_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// How a state hands over: to the next state, or the end of its machine.
enum Step {
    Next(String, Value),
    End(Value),
}

/// One execution being driven: the engine it belongs to, its record, and what `$$.Execution`
/// tells its states.
pub(crate) struct Runner {
    pub(crate) inner: Arc<Inner>,
    pub(crate) slot: Arc<Slot>,
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) start: DateTime<Utc>,
    pub(crate) input: Value,
}

/// The state being run, and what `$$.State` tells it.
struct StateCtx<'a> {
    state: &'a State,
    entered: DateTime<Utc>,
    retry_count: u64,
}

impl Runner {
    /// Runs the execution to its end (or its `TimeoutSeconds`) and records the outcome, unless
    /// a stop got there first.
    pub(crate) async fn run(self) {
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

    /// A duration of the definition, scaled by [`crate::EngineOptions::time_scale`].
    fn scaled(&self, seconds: f64) -> Duration {
        let scaled = (seconds * self.inner.options.time_scale).clamp(0.0, MAX_TIMER_SECONDS);
        Duration::from_secs_f64(if scaled.is_finite() { scaled } else { 0.0 })
    }

    /// The context object (`$$`) of a state, with the task token of a callback task and the
    /// item of a Map iteration.
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

    /// Runs a machine (the top level, a Parallel branch or a Map iteration) from its `StartAt`
    /// to its end, returning its output.
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

    /// Hands `output` on to the state's `Next`, or ends its machine.
    fn step(state: &State, output: Value) -> Step {
        match &state.next {
            Some(next) => Step::Next(next.clone(), output),
            None => Step::End(output),
        }
    }

    /// Runs one state on its raw input.
    async fn run_state(&self, state: &State, raw: Value) -> Result<Step, TaskError> {
        let ctx = StateCtx {
            state,
            entered: Utc::now(),
            retry_count: 0,
        };
        match &state.kind {
            Kind::Pass { result } => self.run_pass(&ctx, raw, result.as_ref()),
            Kind::Choice { choices, default } => {
                self.run_choice(&ctx, &raw, choices, default.as_ref())
            }
            Kind::Wait(spec) => self.run_wait(&ctx, &raw, spec).await,
            Kind::Succeed => self.run_succeed(&ctx, &raw),
            Kind::Fail { error, cause } => self.run_fail(&ctx, &raw, error, cause),
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

    /// Hands the caught error, placed by the catcher's `ResultPath`, to the catcher's `Next`.
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
        let output = place_result(&catcher.result_path, raw, error.to_error_output())?;
        Ok(Step::Next(catcher.next.clone(), output))
    }

    /// One attempt at a Task, Parallel or Map state: input processing, the state's work, output
    /// processing.
    async fn attempt(&self, ctx: &StateCtx<'_>, raw: &Value) -> Result<Value, TaskError> {
        let state = ctx.state;
        let token = match &state.kind {
            Kind::Task(spec) => Self::task_token(spec),
            _ => None,
        };
        let context = self.context(ctx, token.as_deref(), None);
        let effective = select_input(state, raw, &context)?;
        let result = match &state.kind {
            Kind::Task(spec) => {
                let parameters = apply_parameters(state, &effective, &context)?;
                self.run_task(ctx, spec, &effective, parameters, token)
                    .await?
            }
            Kind::Parallel { branches } => {
                let input = apply_parameters(state, &effective, &context)?;
                self.run_parallel(branches, input).await?
            }
            Kind::Map(spec) => self.run_map(ctx, spec, &effective).await?,
            _ => return Err(TaskError::runtime("state cannot be attempted")),
        };
        state_output(state, raw.clone(), result, &context)
    }
}
