//! An in-process interpreter for AWS Step Functions state machines written in the Amazon States
//! Language (JSONPath). The local stack runs `statemachine/download-request.asl.json` with it,
//! resolving Lambda tasks to the same handler functions the Lambda binaries run.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sde_states::{Engine, EngineOptions, StateMachine, TaskRegistry};
//! let machine = StateMachine::load(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)?;
//! let engine = Engine::new(machine, TaskRegistry::new(), EngineOptions::default());
//! let arn = engine.start_execution("first", serde_json::json!({"a": 1}))?;
//! let done = engine.wait(&arn).await?;
//! assert_eq!(done.output, Some(serde_json::json!({"a": 1})));
//! # Ok(()) }
//! ```

mod choice;
mod definition;
mod engine;
mod error;
mod execution;
mod intrinsic;
mod io_processing;
mod path;
mod runner;
mod task;
mod template;

pub use definition::StateMachine;
pub use engine::{Engine, EngineOptions};
pub use error::{DefinitionError, EngineError, TaskError, names};
pub use execution::{ExecutionDescription, ExecutionStatus, HistoryEvent, HistoryEventType};
pub use task::{FnHandler, TaskContext, TaskHandler, TaskRegistry};
