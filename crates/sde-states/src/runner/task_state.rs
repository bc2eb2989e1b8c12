//! The Task state: its timeouts and heartbeats, and the three ways it reaches a handler of the
//! [`TaskRegistry`](crate::TaskRegistry): a Lambda ARN called directly, `lambda:invoke`, and
//! `lambda:invoke.waitForTaskToken`, whose task waits for `SendTask*` on its token.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Runner, StateCtx};
use crate::definition::{Integration, Seconds, TaskSpec, function_name};
use crate::engine::{TokenEvent, TokenGuard, lock};
use crate::error::{TaskError, names};
use crate::task::{TaskContext, TaskHandler};

impl Runner {
    /// A fresh task token, for a task that waits for one.
    pub(super) fn task_token(spec: &TaskSpec) -> Option<String> {
        match spec.integration {
            Integration::InvokeWaitForTaskToken => Some(uuid::Uuid::new_v4().simple().to_string()),
            Integration::Direct { .. } | Integration::Invoke => None,
        }
    }

    /// The value of a `*Seconds` field, or of its `*SecondsPath` in the effective input.
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

    /// Task: invokes its handler with `parameters`, bounded by `TimeoutSeconds`; the result is
    /// what the handler (or, for a callback task, `SendTaskSuccess`) returns.
    pub(super) async fn run_task(
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

    /// The registered handler of `function`, or `Lambda.ResourceNotFoundException`.
    fn handler(&self, function: &str) -> Result<Arc<dyn TaskHandler>, TaskError> {
        self.inner.registry.resolve(function).ok_or_else(|| {
            TaskError::new(
                names::LAMBDA_RESOURCE_NOT_FOUND,
                format!("Function not found: {function}"),
            )
        })
    }

    /// `FunctionName` and `Payload` of a `lambda:invoke` task's parameters.
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

    /// Calls the handler the way the task's integration says.
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
                lock(&self.inner.tokens).insert(token.clone(), (self.arn.clone(), sender));
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
