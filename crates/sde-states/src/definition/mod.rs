//! Loading a state-machine definition: parses the JSON, checks every state's fields, and
//! compiles paths, templates and rules so that executions never meet a malformed definition.
//! This module holds the compiled shapes and the machine-level checks; [`state_types`] has one
//! loader per state type, [`retry_catch`] the retriers and catchers, [`fields`] the typed
//! readers every loader uses.

mod fields;
mod retry_catch;
mod state_types;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::choice::Rule;
use crate::error::DefinitionError;
use crate::path::Path;
use crate::template::Template;
use fields::{COMMON, Fields, allowed_fields, positive_int, result_path};
use retry_catch::{load_catcher, load_retrier};
use state_types::{
    load_choice, load_fail, load_map, load_parallel, load_pass, load_task, load_wait,
};

/// Largest value AWS accepts for `TimeoutSeconds`, `Seconds` and retrier numbers; also the
/// default task timeout.
const MAX_SECONDS: u64 = 99_999_999;

/// A loaded, validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) root: Arc<Machine>,
}

/// A `StartAt` + `States` graph: the top level, a Parallel branch or a Map item processor.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
    pub(crate) timeout_seconds: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// `Some(next)`, or `None` for `End: true` (and for Choice, Succeed, Fail).
    pub(crate) next: Option<String>,
    pub(crate) input_path: IoPath,
    pub(crate) output_path: IoPath,
    pub(crate) result_path: ResultPath,
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

/// `InputPath` / `OutputPath`: absent means `$` (identity); `null` means `{}`.
#[derive(Debug)]
pub(crate) enum IoPath {
    Identity,
    Null,
    Path(Path),
}

/// `ResultPath`: `$` (default) replaces the input; `null` discards the result; a reference path
/// inserts the result into the input.
#[derive(Debug)]
pub(crate) enum ResultPath {
    Replace,
    Discard,
    At(Path),
}

#[derive(Debug)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: f64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<f64>,
    pub(crate) full_jitter: bool,
}

#[derive(Debug)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: ResultPath,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(TaskSpec),
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait(WaitSpec),
    Succeed,
    Fail {
        error: FailField,
        cause: FailField,
    },
    Parallel {
        branches: Vec<Arc<Machine>>,
    },
    Map(MapSpec),
}

#[derive(Debug)]
pub(crate) enum FailField {
    Absent,
    Static(String),
    Dynamic(Template),
}

#[derive(Debug)]
pub(crate) enum WaitSpec {
    Seconds(u64),
    Timestamp(DateTime<FixedOffset>),
    SecondsPath(Path),
    TimestampPath(Path),
}

#[derive(Debug)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
}

/// How a Task reaches its handler.
#[derive(Debug)]
pub(crate) enum Integration {
    /// `"Resource": <Lambda ARN or Fn::GetAtt>`: the handler gets the effective input and its
    /// result is the task result.
    Direct { function: String },
    /// `arn:aws:states:::lambda:invoke`: the handler gets `Parameters.Payload`; the result is
    /// `{"Payload": …, "StatusCode": 200, …}`.
    Invoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`: the handler gets `Parameters.Payload`;
    /// the result is what `SendTaskSuccess` sends for the token.
    InvokeWaitForTaskToken,
}

#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub(crate) integration: Integration,
    pub(crate) timeout: Seconds,
    pub(crate) heartbeat: Option<Seconds>,
}

#[derive(Debug)]
pub(crate) struct MapSpec {
    pub(crate) items_path: Option<Path>,
    pub(crate) item_selector: Option<Template>,
    pub(crate) processor: Arc<Machine>,
    pub(crate) max_concurrency: usize,
}

impl StateMachine {
    /// Loads a definition (Amazon States Language, JSONPath query language). Anything this
    /// interpreter does not support is rejected here, naming the state and the field.
    pub fn load(json: &str) -> Result<StateMachine, DefinitionError> {
        let value: Value = serde_json::from_str(json)?;
        let Value::Object(map) = value else {
            return Err(DefinitionError::Machine {
                field: "(root)".into(),
                problem: "must be a JSON object".into(),
            });
        };
        for key in map.keys() {
            match key.as_str() {
                "Comment" | "StartAt" | "States" | "TimeoutSeconds" | "Version" => {}
                "QueryLanguage" if map[key] == "JSONPath" => {}
                other => {
                    return Err(DefinitionError::Machine {
                        field: other.into(),
                        problem: "is not supported".into(),
                    });
                }
            }
        }
        let timeout_seconds = match map.get("TimeoutSeconds") {
            None => None,
            Some(v) => Some(positive_int(v).ok_or_else(|| DefinitionError::Machine {
                field: "TimeoutSeconds".into(),
                problem: "must be a positive integer".into(),
            })?),
        };
        let mut root = load_machine(&map, "").map_err(|e| match e {
            DefinitionError::State {
                state,
                field,
                problem,
            } if state.is_empty() => DefinitionError::Machine { field, problem },
            other => other,
        })?;
        root.timeout_seconds = timeout_seconds;
        Ok(StateMachine {
            root: Arc::new(root),
        })
    }

    /// Names of the functions the definition references statically (logical names such as
    /// `generateCsv`, or the function part of a Lambda ARN), for checking a task registry.
    pub fn function_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        collect_functions(&self.root, &mut out);
        out
    }
}

fn collect_functions(machine: &Machine, out: &mut BTreeSet<String>) {
    for state in machine.states.values() {
        match &state.kind {
            Kind::Task(task) => match &task.integration {
                Integration::Direct { function } => {
                    out.insert(function.clone());
                }
                _ => {
                    if let Some(name) = state
                        .parameters
                        .as_ref()
                        .and_then(|p| p.literal_field("FunctionName"))
                        .and_then(function_name)
                    {
                        out.insert(name);
                    }
                }
            },
            Kind::Parallel { branches } => branches.iter().for_each(|b| collect_functions(b, out)),
            Kind::Map(map) => collect_functions(&map.processor, out),
            _ => {}
        }
    }
}

/// The function a resource refers to: `{"Fn::GetAtt": [name, "Arn"]}` → `name`; a Lambda
/// ARN `arn:…:function:name[:qualifier]` → `name`; a plain function name → itself.
pub(crate) fn function_name(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) if map.len() == 1 => match map.get("Fn::GetAtt")? {
            Value::Array(parts) if parts.len() == 2 && parts[1] == "Arn" => {
                parts[0].as_str().map(str::to_owned)
            }
            Value::String(dotted) => dotted.strip_suffix(".Arn").map(str::to_owned),
            _ => None,
        },
        Value::String(text) if text.starts_with("arn:") => {
            let (_, rest) = text.split_once(":function:")?;
            let name = rest.split(':').next()?;
            (!name.is_empty()).then(|| name.to_owned())
        }
        Value::String(text) if !text.is_empty() && !text.contains(':') => Some(text.clone()),
        _ => None,
    }
}

fn load_machine(map: &Map<String, Value>, scope: &str) -> Result<Machine, DefinitionError> {
    let scope_err = |field: &str, problem: &str| DefinitionError::state(scope, field, problem);
    let start_at = map
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| scope_err("StartAt", "is required and must be a string"))?
        .to_owned();
    let states_json = map
        .get("States")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| scope_err("States", "is required and must be a non-empty object"))?;
    let mut states = HashMap::new();
    for (name, body) in states_json {
        let Some(body) = body.as_object() else {
            return Err(DefinitionError::state(name, "(state)", "must be an object"));
        };
        states.insert(name.clone(), load_state(name, body)?);
    }
    if !states.contains_key(&start_at) {
        return Err(scope_err(
            "StartAt",
            &format!("refers to missing state \"{start_at}\""),
        ));
    }
    for state in states.values() {
        let mut targets: Vec<(&str, &String)> = Vec::new();
        if let Some(next) = &state.next {
            targets.push(("Next", next));
        }
        for catcher in &state.catch {
            targets.push(("Catch.Next", &catcher.next));
        }
        if let Kind::Choice { choices, default } = &state.kind {
            for (_, next) in choices {
                targets.push(("Choices.Next", next));
            }
            if let Some(default) = default {
                targets.push(("Default", default));
            }
        }
        for (field, target) in targets {
            if !states.contains_key(target) {
                return Err(DefinitionError::state(
                    &state.name,
                    field,
                    format!("refers to missing state \"{target}\""),
                ));
            }
        }
    }
    Ok(Machine {
        start_at,
        states,
        timeout_seconds: None,
    })
}

/// One state: the fields every state shares (type, transitions, `Retry`, `Catch`, input and
/// output processing), and its own fields through the loader of its type.
fn load_state(name: &str, map: &Map<String, Value>) -> Result<State, DefinitionError> {
    let f = Fields { state: name, map };
    let state_type = f
        .string("Type")?
        .ok_or_else(|| f.err("Type", "is required"))?;
    let allowed = allowed_fields(state_type).ok_or_else(|| {
        f.err(
            "Type",
            format!("value \"{state_type}\" is not a state type"),
        )
    })?;
    for key in map.keys() {
        if !COMMON.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            return Err(f.err(key, "is not supported"));
        }
    }
    if let Some(language) = f.string("QueryLanguage")?
        && language != "JSONPath"
    {
        return Err(f.err(
            "QueryLanguage",
            format!("value \"{language}\" is not supported (only JSONPath)"),
        ));
    }

    let terminal = matches!(state_type, "Choice" | "Succeed" | "Fail");
    let next = f.string("Next")?.map(str::to_owned);
    let end = match f.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.err("End", "must be a boolean")),
    };
    if !terminal {
        match (&next, end) {
            (Some(_), true) => return Err(f.err("End", "cannot be used together with Next")),
            (None, false) => return Err(f.err("Next", "is required (or End: true)")),
            _ => {}
        }
    }

    let mut retry = Vec::new();
    if let Some(list) = f.get("Retry") {
        let list = list
            .as_array()
            .ok_or_else(|| f.err("Retry", "must be an array"))?;
        for (i, item) in list.iter().enumerate() {
            retry.push(load_retrier(&f, i, item, i + 1 == list.len())?);
        }
    }
    let mut catch = Vec::new();
    if let Some(list) = f.get("Catch") {
        let list = list
            .as_array()
            .ok_or_else(|| f.err("Catch", "must be an array"))?;
        for (i, item) in list.iter().enumerate() {
            catch.push(load_catcher(&f, i, item, i + 1 == list.len())?);
        }
    }

    let mut parameters = f.template("Parameters")?;
    let kind = match state_type {
        "Pass" => load_pass(&f),
        "Task" => Kind::Task(load_task(&f, parameters.as_ref())?),
        "Choice" => load_choice(&f)?,
        "Wait" => load_wait(&f)?,
        // Succeed has no fields of its own.
        "Succeed" => Kind::Succeed,
        "Fail" => load_fail(&f)?,
        "Parallel" => load_parallel(&f)?,
        // Map's Parameters is the older name of ItemSelector: the Map takes it over.
        "Map" => load_map(&f, parameters.take())?,
        _ => return Err(f.err("Type", "is not supported")),
    };

    Ok(State {
        name: name.to_owned(),
        next: if terminal { None } else { next },
        input_path: f.io_path("InputPath")?,
        output_path: f.io_path("OutputPath")?,
        result_path: result_path(f.get("ResultPath")).map_err(|e| f.err("ResultPath", e))?,
        result_selector: f.template("ResultSelector")?,
        parameters,
        retry,
        catch,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<StateMachine, DefinitionError> {
        StateMachine::load(&v.to_string())
    }

    fn error_of(v: Value) -> String {
        load(v).unwrap_err().to_string()
    }

    #[test]
    fn an_unsupported_field_is_rejected_naming_state_and_field() {
        let msg = error_of(
            json!({"StartAt": "Foo", "States": {"Foo": {"Type": "Pass", "Resultpath": "$.x", "End": true}}}),
        );
        assert_eq!(msg, "state \"Foo\": field \"Resultpath\" is not supported");
    }

    #[test]
    fn jsonata_and_variables_are_rejected_at_load() {
        let msg = error_of(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "End": true}}}),
        );
        assert!(msg.contains("\"QueryLanguage\""), "{msg}");
        let msg = error_of(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "End": true}}}),
        );
        assert_eq!(msg, "state \"A\": field \"Assign\" is not supported");
        let msg = error_of(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        );
        assert!(
            msg.starts_with("definition: field \"QueryLanguage\""),
            "{msg}"
        );
    }

    #[test]
    fn transitions_must_name_existing_states() {
        let msg = error_of(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}));
        assert_eq!(
            msg,
            "state \"A\": field \"Next\" refers to missing state \"B\""
        );
        let msg = error_of(json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}));
        assert!(msg.contains("StartAt"), "{msg}");
        let msg = error_of(json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}));
        assert!(msg.contains("field \"Next\" is required"), "{msg}");
    }

    #[test]
    fn states_all_must_be_alone_and_last() {
        // AWS: States.ALL "must appear alone" and in the last catcher/retrier.
        let msg = error_of(json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}, {"ErrorEquals": ["X"], "Next": "B"}]},
            "B": {"Type": "Succeed"}}}));
        assert!(msg.contains("Catch[0].ErrorEquals"), "{msg}");
    }

    #[test]
    fn unsupported_resources_and_distributed_maps_are_rejected() {
        let msg = error_of(
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:x", "End": true}}}),
        );
        assert!(msg.starts_with("state \"A\": field \"Resource\""), "{msg}");
        let msg = error_of(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Succeed"}}}}}}),
        );
        assert!(msg.contains("ItemProcessor.ProcessorConfig.Mode"), "{msg}");
    }

    #[test]
    fn wait_for_task_token_requires_the_token_in_parameters() {
        let msg = error_of(
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "End": true,
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "f", "Payload": {"x.$": "$"}}}}}),
        );
        assert!(msg.contains("$$.Task.Token"), "{msg}");
    }

    #[test]
    fn nested_branch_errors_name_the_parent_state_and_branch() {
        let msg = error_of(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Nope"}}}]}}}),
        );
        assert_eq!(
            msg,
            "state \"X\": field \"Next\" refers to missing state \"Nope\""
        );
    }

    #[test]
    fn function_names_resolve_get_att_and_arns() {
        assert_eq!(
            function_name(&json!({"Fn::GetAtt": ["generateCsv", "Arn"]})).as_deref(),
            Some("generateCsv")
        );
        assert_eq!(
            function_name(&json!(
                "arn:aws:lambda:us-east-1:123456789012:function:sde-dev-generateCsv:live"
            ))
            .as_deref(),
            Some("sde-dev-generateCsv")
        );
        assert_eq!(
            function_name(&json!("emailLink")).as_deref(),
            Some("emailLink")
        );
    }

    #[test]
    fn heartbeat_must_be_smaller_than_timeout() {
        let msg = error_of(
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "End": true,
            "Resource": "arn:aws:lambda:us-east-1:1:function:f", "TimeoutSeconds": 10, "HeartbeatSeconds": 10}}}),
        );
        assert!(msg.contains("HeartbeatSeconds"), "{msg}");
    }
}
