//! Task handlers and the registry the host fills: a Task's resource (`Fn::GetAtt` logical name
//! or Lambda ARN) resolves to an async handler taking and returning JSON.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::TaskError;

/// What a handler knows about the task it runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    /// ARN of the execution, as in `$$.Execution.Id`.
    pub execution_arn: String,
    /// Name of the execution, as in `$$.Execution.Name`.
    pub execution_name: String,
    /// Name of the Task state.
    pub state_name: String,
    /// Number of retries so far for this state (`$$.State.RetryCount`).
    pub retry_count: u64,
    /// For `.waitForTaskToken` tasks, the token to hand to `send_task_success`/`failure`/`heartbeat`.
    pub task_token: Option<String>,
}

/// An async function a Task invokes (a Lambda function's logic).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Runs the task. The returned value is the task result; an error's `error` name is what
    /// `Retry` and `Catch` match on.
    async fn invoke(&self, ctx: TaskContext, input: Value) -> Result<Value, TaskError>;
}

/// A handler made from an async closure; see [`TaskRegistry::register_fn`].
pub struct FnHandler<F>(F);

impl<F> fmt::Debug for FnHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnHandler")
    }
}

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(TaskContext, Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send,
{
    async fn invoke(&self, ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
        (self.0)(ctx, input).await
    }
}

/// Maps function names to handlers. Cheap to clone (shared), and handlers may be registered
/// after the engine is built, so a handler can hold the engine (e.g. to call `send_task_success`).
#[derive(Clone, Default)]
pub struct TaskRegistry {
    handlers: Arc<RwLock<HashMap<String, Arc<dyn TaskHandler>>>>,
}

impl fmt::Debug for TaskRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRegistry")
            .field("names", &self.names())
            .finish()
    }
}

impl TaskRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` under a logical function name (e.g. `generateCsv`), replacing any
    /// previous one.
    pub fn register(&self, name: impl Into<String>, handler: Arc<dyn TaskHandler>) {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.into(), handler);
    }

    /// Registers an async closure as a handler.
    pub fn register_fn<F, Fut>(&self, name: impl Into<String>, f: F)
    where
        F: Fn(TaskContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        self.register(name, Arc::new(FnHandler(f)));
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Finds the handler for a function name: an exact match, else the longest registered
    /// name `n` such that the function is `<anything>-n` (deployed names such as
    /// `sde-dev-generateCsv` resolve to `generateCsv`).
    pub fn resolve(&self, function: &str) -> Option<Arc<dyn TaskHandler>> {
        let handlers = self.handlers.read().unwrap_or_else(|e| e.into_inner());
        if let Some(handler) = handlers.get(function) {
            return Some(handler.clone());
        }
        handlers
            .iter()
            .filter(|(name, _)| {
                function
                    .strip_suffix(name.as_str())
                    .is_some_and(|prefix| prefix.ends_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, handler)| handler.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployed_function_names_resolve_to_logical_names() {
        let registry = TaskRegistry::new();
        registry.register_fn("generateCsv", |_, v| async move { Ok(v) });
        registry.register_fn("Csv", |_, v| async move { Ok(v) });
        assert!(registry.resolve("generateCsv").is_some());
        assert!(registry.resolve("sde-dev-generateCsv").is_some());
        assert!(registry.resolve("sde-dev-emailLink").is_none());
        assert_eq!(
            registry.names(),
            vec!["Csv".to_string(), "generateCsv".to_string()]
        );
        let _ = json!(null);
    }
}
