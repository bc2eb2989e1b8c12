//! An in-process interpreter for AWS Step Functions state machines written in the Amazon States
//! Language (JSONPath). The local stack runs `statemachine/download-request.asl.json` with it,
//! resolving Lambda tasks to the same handler functions the Lambda binaries run.
//!
//! It is a general ASL interpreter on purpose, not a runner of our one definition: the
//! definition grows (the fan-out of large exports needs a `Map` with `MaxConcurrency`,
//! `ItemsPath`, `ItemSelector` and `ResultPath`), and the local stack must run whatever AWS
//! runs. So it knows nothing of exports; its only tie to the sde domain is that it describes
//! executions in `sde_core`'s [`ExecutionDescription`] and [`ExecutionStatus`], so its hosts need
//! no translation.
//!
//! **Supported**, with the semantics of the Step Functions developer guide:
//! - every state type: Pass, Task, Choice, Wait, Succeed, Fail, Parallel, and Map in `INLINE`
//!   mode (`ItemProcessor` or the older `Iterator`, `ItemsPath`, `ItemSelector` or the older
//!   `Parameters`, `MaxConcurrency`: iterations run concurrently, at most that many at once,
//!   results in item order, the first failing iteration fails the state with its error);
//! - input and output processing: `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`,
//!   `OutputPath`, the context object (`$$`), and the intrinsic functions `States.Format`,
//!   `StringToJson`, `JsonToString`, `Array*`, `Base64Encode`/`Decode`, `JsonMerge`,
//!   `MathRandom`, `MathAdd`, `StringSplit`, `UUID`;
//! - `Retry` (with `MaxDelaySeconds` and `JitterStrategy`) and `Catch` on Task, Parallel and Map;
//!   the `States.*` error names and their matching rules;
//! - Task resources that reach a [`TaskRegistry`] handler: a Lambda function ARN or
//!   `Fn::GetAtt`, `arn:aws:states:::lambda:invoke`, and `lambda:invoke.waitForTaskToken`
//!   (completed by [`Engine::send_task_success`] and friends); `TimeoutSeconds`,
//!   `HeartbeatSeconds` and their `*Path` forms; the machine's `TimeoutSeconds`;
//! - Choice rules of every comparison operator, `And`/`Or`/`Not`, `IsPresent`, `IsNull` and the
//!   type tests;
//! - executions: start, describe, list, stop, history, task tokens.
//!
//! **Not supported**, and rejected when the definition loads, naming the state and the field:
//! the JSONata query language and variables (`Assign`); distributed Map and its fields
//! (`ItemReader`, `ItemBatcher`, `ResultWriter`, `ToleratedFailure*`), `MaxConcurrencyPath`;
//! service integrations other than Lambda (`.sync`, SDK integrations, activities); intrinsic
//! functions not listed above (such as `States.Hash`). Not modelled at all: redrive, versions
//! and aliases, and Express workflow semantics.
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
pub use execution::{HistoryEvent, HistoryEventType};
/// The interpreter describes executions in the domain's own types, so its hosts need no
/// translation.
pub use sde_core::{ExecutionDescription, ExecutionStatus};
pub use task::{FnHandler, TaskContext, TaskHandler, TaskRegistry};
