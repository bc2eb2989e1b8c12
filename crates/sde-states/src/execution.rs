//! What the engine keeps of one execution: its description (`sde_core`'s
//! [`ExecutionDescription`], shaped like `DescribeExecution`), its history (a simplified
//! `GetExecutionHistory`), and the handles that signal its end and stop it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sde_core::ExecutionDescription;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::engine::lock;
use crate::error::TaskError;

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

/// One execution's record, shared by the engine (describe, stop, wait) and the runner that
/// drives it.
pub(crate) struct Slot {
    pub(crate) description: Mutex<ExecutionDescription>,
    pub(crate) history: Mutex<Vec<HistoryEvent>>,
    pub(crate) done: watch::Sender<bool>,
    pub(crate) abort: Mutex<Option<AbortHandle>>,
}

impl Slot {
    /// Appends a history event.
    pub(crate) fn record(
        &self,
        kind: HistoryEventType,
        state: Option<&str>,
        error: Option<&TaskError>,
    ) {
        lock(&self.history).push(HistoryEvent {
            timestamp: Utc::now(),
            kind,
            state: state.map(str::to_owned),
            error: error.map(|e| e.error.clone()),
            cause: error.map(|e| e.cause.clone()),
        });
    }
}
