//! Loading a state-machine definition: parses the JSON, checks every state's fields, and
//! compiles paths, templates and rules so that executions never meet a malformed definition.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::choice::Rule;
use crate::error::{DefinitionError, names};
use crate::path::Path;
use crate::template::Template;

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

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

fn allowed_fields(state_type: &str) -> Option<&'static [&'static str]> {
    Some(match state_type {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        _ => return None,
    })
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

fn positive_int(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| (1..=MAX_SECONDS).contains(n))
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

struct Fields<'a> {
    state: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn err(&self, field: &str, problem: impl Into<String>) -> DefinitionError {
        DefinitionError::state(self.state, field, problem)
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field)
    }

    fn string(&self, field: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(field, "must be a string")),
        }
    }

    fn reference_path(&self, field: &str) -> Result<Option<Path>, DefinitionError> {
        self.string(field)?
            .map(|p| Path::parse_reference(p).map_err(|e| self.err(field, e)))
            .transpose()
    }

    fn io_path(&self, field: &str) -> Result<IoPath, DefinitionError> {
        match self.map.get(field) {
            None => Ok(IoPath::Identity),
            Some(Value::Null) => Ok(IoPath::Null),
            Some(Value::String(p)) => Path::parse(p)
                .map(IoPath::Path)
                .map_err(|e| self.err(field, e)),
            Some(_) => Err(self.err(field, "must be a path or null")),
        }
    }

    fn template(&self, field: &str) -> Result<Option<Template>, DefinitionError> {
        match self.map.get(field) {
            None => Ok(None),
            Some(v @ Value::Object(_)) if field == "ResultSelector" || field == "ItemSelector" => {
                Template::compile(v)
                    .map(Some)
                    .map_err(|e| self.err(field, e))
            }
            Some(_) if field == "ResultSelector" || field == "ItemSelector" => {
                Err(self.err(field, "must be an object"))
            }
            Some(v) => Template::compile(v)
                .map(Some)
                .map_err(|e| self.err(field, e)),
        }
    }

    fn seconds(&self, field: &str, path_field: &str) -> Result<Option<Seconds>, DefinitionError> {
        match (self.map.get(field), self.map.get(path_field)) {
            (Some(_), Some(_)) => {
                Err(self.err(path_field, format!("cannot be used together with {field}")))
            }
            (Some(v), None) => positive_int(v)
                .map(|n| Some(Seconds::Fixed(n)))
                .ok_or_else(|| self.err(field, "must be a positive integer")),
            (None, Some(_)) => Ok(self.reference_path(path_field)?.map(Seconds::Path)),
            (None, None) => Ok(None),
        }
    }
}

fn result_path(value: Option<&Value>) -> Result<ResultPath, String> {
    match value {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(p)) if p == "$" => Ok(ResultPath::Replace),
        Some(Value::String(p)) => Path::parse_reference(p).map(ResultPath::At),
        Some(_) => Err("must be a reference path or null".to_owned()),
    }
}

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
        "Pass" => Kind::Pass {
            result: f.get("Result").cloned(),
        },
        "Task" => Kind::Task(load_task(&f, parameters.as_ref())?),
        "Choice" => {
            let list = f
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| f.err("Choices", "is required and must be a non-empty array"))?;
            let mut choices = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let obj = item
                    .as_object()
                    .ok_or_else(|| f.err(&format!("Choices[{i}]"), "must be an object"))?;
                let next = obj
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or_else(|| f.err(&format!("Choices[{i}].Next"), "is required"))?;
                let rule = Rule::compile(obj, true)
                    .map_err(|(field, problem)| f.err(&format!("Choices[{i}].{field}"), problem))?;
                choices.push((rule, next.to_owned()));
            }
            Kind::Choice {
                choices,
                default: f.string("Default")?.map(str::to_owned),
            }
        }
        "Wait" => {
            let present: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                .into_iter()
                .filter(|k| map.contains_key(*k))
                .collect();
            let [which] = present.as_slice() else {
                return Err(f.err(
                    "Seconds",
                    "exactly one of Seconds, Timestamp, SecondsPath, TimestampPath is required",
                ));
            };
            Kind::Wait(match *which {
                "Seconds" => WaitSpec::Seconds(
                    f.get("Seconds")
                        .and_then(Value::as_u64)
                        .filter(|n| *n <= MAX_SECONDS)
                        .ok_or_else(|| f.err("Seconds", "must be a non-negative integer"))?,
                ),
                "Timestamp" => WaitSpec::Timestamp(
                    f.string("Timestamp")?
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .ok_or_else(|| f.err("Timestamp", "must be an RFC 3339 timestamp"))?,
                ),
                "SecondsPath" => WaitSpec::SecondsPath(
                    f.reference_path("SecondsPath")?
                        .ok_or_else(|| f.err("SecondsPath", "must be a path"))?,
                ),
                _ => WaitSpec::TimestampPath(
                    f.reference_path("TimestampPath")?
                        .ok_or_else(|| f.err("TimestampPath", "must be a path"))?,
                ),
            })
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: fail_field(&f, "Error", "ErrorPath")?,
            cause: fail_field(&f, "Cause", "CausePath")?,
        },
        "Parallel" => {
            let list = f
                .get("Branches")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| f.err("Branches", "is required and must be a non-empty array"))?;
            let mut branches = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let obj = item
                    .as_object()
                    .ok_or_else(|| f.err(&format!("Branches[{i}]"), "must be an object"))?;
                branches.push(Arc::new(load_sub_machine(
                    &f,
                    &format!("Branches[{i}]"),
                    obj,
                    &[],
                )?));
            }
            Kind::Parallel { branches }
        }
        "Map" => {
            let (processor_field, processor) = match (f.get("ItemProcessor"), f.get("Iterator")) {
                (Some(_), Some(_)) => {
                    return Err(f.err("Iterator", "cannot be used together with ItemProcessor"));
                }
                (Some(p), None) => ("ItemProcessor", p),
                (None, Some(p)) => ("Iterator", p),
                (None, None) => return Err(f.err("ItemProcessor", "is required")),
            };
            let processor = processor
                .as_object()
                .ok_or_else(|| f.err(processor_field, "must be an object"))?;
            if let Some(config) = processor.get("ProcessorConfig") {
                let mode = config
                    .get("Mode")
                    .and_then(Value::as_str)
                    .unwrap_or("INLINE");
                if mode != "INLINE" {
                    return Err(f.err(
                        &format!("{processor_field}.ProcessorConfig.Mode"),
                        format!("value \"{mode}\" is not supported (only INLINE)"),
                    ));
                }
                if let Some(other) = config
                    .as_object()
                    .and_then(|c| c.keys().find(|k| *k != "Mode"))
                {
                    return Err(f.err(
                        &format!("{processor_field}.ProcessorConfig.{other}"),
                        "is not supported",
                    ));
                }
            }
            let processor = load_sub_machine(&f, processor_field, processor, &["ProcessorConfig"])?;
            let item_selector = match (f.template("ItemSelector")?, parameters.take()) {
                (Some(_), Some(_)) => {
                    return Err(f.err("Parameters", "cannot be used together with ItemSelector"));
                }
                (selector, legacy) => selector.or(legacy),
            };
            let max_concurrency = match f.get("MaxConcurrency") {
                None => 0,
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| f.err("MaxConcurrency", "must be a non-negative integer"))?
                    as usize,
            };
            Kind::Map(MapSpec {
                items_path: f.reference_path("ItemsPath")?,
                item_selector,
                processor: Arc::new(processor),
                max_concurrency,
            })
        }
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

fn load_sub_machine(
    f: &Fields<'_>,
    field: &str,
    map: &Map<String, Value>,
    extra: &[&str],
) -> Result<Machine, DefinitionError> {
    for key in map.keys() {
        if !["StartAt", "States", "Comment"].contains(&key.as_str())
            && !extra.contains(&key.as_str())
        {
            return Err(f.err(&format!("{field}.{key}"), "is not supported"));
        }
    }
    load_machine(map, f.state).map_err(|e| match e {
        DefinitionError::State {
            state,
            field: inner,
            problem,
        } if state == f.state => f.err(&format!("{field}.{inner}"), problem),
        other => other,
    })
}

fn fail_field(f: &Fields<'_>, field: &str, path_field: &str) -> Result<FailField, DefinitionError> {
    match (f.string(field)?, f.string(path_field)?) {
        (Some(_), Some(_)) => {
            Err(f.err(path_field, format!("cannot be used together with {field}")))
        }
        (Some(text), None) => Ok(FailField::Static(text.to_owned())),
        (None, Some(expr)) => Template::compile_expression(expr)
            .map(FailField::Dynamic)
            .map_err(|e| f.err(path_field, e)),
        (None, None) => Ok(FailField::Absent),
    }
}

fn error_equals(
    f: &Fields<'_>,
    field: &str,
    value: Option<&Value>,
    last: bool,
) -> Result<Vec<String>, DefinitionError> {
    let list: Vec<String> = value
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| {
            f.err(
                field,
                "is required and must be a non-empty array of error names",
            )
        })?;
    // AWS: "States.ALL must appear alone in its ErrorEquals array and in the last retrier/catcher."
    if list.iter().any(|e| e == names::ALL) && (list.len() != 1 || !last) {
        return Err(f.err(
            field,
            "States.ALL must appear alone and only in the last retrier or catcher",
        ));
    }
    Ok(list)
}

fn load_retrier(
    f: &Fields<'_>,
    i: usize,
    item: &Value,
    last: bool,
) -> Result<Retrier, DefinitionError> {
    let at = |field: &str| format!("Retry[{i}].{field}");
    let obj = item
        .as_object()
        .ok_or_else(|| f.err(&format!("Retry[{i}]"), "must be an object"))?;
    for key in obj.keys() {
        if ![
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ]
        .contains(&key.as_str())
        {
            return Err(f.err(&at(key), "is not supported"));
        }
    }
    let number = |field: &str,
                  default: f64,
                  ok: &dyn Fn(f64) -> bool,
                  problem: &str|
     -> Result<f64, DefinitionError> {
        match obj.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|n| ok(*n))
                .ok_or_else(|| f.err(&at(field), problem)),
        }
    };
    let integer = |n: f64| n.fract() == 0.0 && n <= MAX_SECONDS as f64;
    let full_jitter = match obj.get("JitterStrategy").map(|v| v.as_str()) {
        None | Some(Some("NONE")) => false,
        Some(Some("FULL")) => true,
        Some(_) => return Err(f.err(&at("JitterStrategy"), "must be FULL or NONE")),
    };
    Ok(Retrier {
        error_equals: error_equals(f, &at("ErrorEquals"), obj.get("ErrorEquals"), last)?,
        // AWS defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.
        interval_seconds: number(
            "IntervalSeconds",
            1.0,
            &|n| n >= 1.0 && integer(n),
            "must be a positive integer",
        )?,
        max_attempts: number(
            "MaxAttempts",
            3.0,
            &|n| n >= 0.0 && integer(n),
            "must be a non-negative integer",
        )? as u64,
        backoff_rate: number("BackoffRate", 2.0, &|n| n >= 1.0, "must be a number >= 1.0")?,
        max_delay_seconds: match obj.get("MaxDelaySeconds") {
            None => None,
            Some(_) => Some(number(
                "MaxDelaySeconds",
                0.0,
                &|n| n >= 1.0 && integer(n),
                "must be a positive integer",
            )?),
        },
        full_jitter,
    })
}

fn load_catcher(
    f: &Fields<'_>,
    i: usize,
    item: &Value,
    last: bool,
) -> Result<Catcher, DefinitionError> {
    let at = |field: &str| format!("Catch[{i}].{field}");
    let obj = item
        .as_object()
        .ok_or_else(|| f.err(&format!("Catch[{i}]"), "must be an object"))?;
    for key in obj.keys() {
        if !["ErrorEquals", "Next", "ResultPath", "Comment"].contains(&key.as_str()) {
            return Err(f.err(&at(key), "is not supported"));
        }
    }
    Ok(Catcher {
        error_equals: error_equals(f, &at("ErrorEquals"), obj.get("ErrorEquals"), last)?,
        next: obj
            .get("Next")
            .and_then(Value::as_str)
            .ok_or_else(|| f.err(&at("Next"), "is required"))?
            .to_owned(),
        result_path: result_path(obj.get("ResultPath")).map_err(|e| f.err(&at("ResultPath"), e))?,
    })
}

fn is_lambda_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function"
}

fn load_task(f: &Fields<'_>, parameters: Option<&Template>) -> Result<TaskSpec, DefinitionError> {
    let resource = f
        .get("Resource")
        .ok_or_else(|| f.err("Resource", "is required"))?;
    let integration = match resource {
        Value::String(arn) if arn == "arn:aws:states:::lambda:invoke" => Integration::Invoke,
        Value::String(arn) if arn == "arn:aws:states:::lambda:invoke.waitForTaskToken" => {
            // AWS requires the token to be passed somewhere in Parameters for callback tasks.
            if !parameters.is_some_and(Template::uses_task_token) {
                return Err(f.err(
                    "Parameters",
                    "must pass $$.Task.Token when Resource ends in .waitForTaskToken",
                ));
            }
            Integration::InvokeWaitForTaskToken
        }
        Value::String(arn) if is_lambda_arn(arn) => Integration::Direct {
            function: function_name(resource)
                .ok_or_else(|| f.err("Resource", "has no function name"))?,
        },
        Value::Object(_) => Integration::Direct {
            function: function_name(resource).ok_or_else(|| {
                f.err(
                    "Resource",
                    "must be {\"Fn::GetAtt\": [<function>, \"Arn\"]} when it is an object",
                )
            })?,
        },
        Value::String(other) => {
            return Err(f.err("Resource", format!("value \"{other}\" is not supported (use a Lambda function ARN, Fn::GetAtt, arn:aws:states:::lambda:invoke or arn:aws:states:::lambda:invoke.waitForTaskToken)")));
        }
        _ => return Err(f.err("Resource", "must be a string or Fn::GetAtt")),
    };
    if !matches!(integration, Integration::Direct { .. }) {
        let Some(params) = parameters else {
            return Err(f.err(
                "Parameters",
                "is required for arn:aws:states:::lambda:invoke (FunctionName and Payload)",
            ));
        };
        let has_function = params.literal_field("FunctionName").is_some()
            || matches!(params, Template::Object(fields) if fields.iter().any(|(k, _)| k == "FunctionName"));
        if !has_function {
            return Err(f.err("Parameters", "must contain FunctionName"));
        }
        if let Some(name) = params.literal_field("FunctionName")
            && function_name(name).is_none()
        {
            return Err(f.err(
                "Parameters.FunctionName",
                "must be a function name, a Lambda ARN or Fn::GetAtt",
            ));
        }
    }
    let timeout = f
        .seconds("TimeoutSeconds", "TimeoutSecondsPath")?
        .unwrap_or(Seconds::Fixed(MAX_SECONDS));
    let heartbeat = f.seconds("HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Seconds::Fixed(t), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(f.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
    }
    Ok(TaskSpec {
        integration,
        timeout,
        heartbeat,
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
