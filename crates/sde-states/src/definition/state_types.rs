//! One loader per state type: each reads the fields of its own type (the fields every state
//! shares are read by `load_state`) and compiles them into a [`Kind`].

use std::sync::Arc;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::fields::Fields;
use super::{
    FailField, Integration, Kind, MAX_SECONDS, Machine, MapSpec, Seconds, TaskSpec, WaitSpec,
    function_name, load_machine,
};
use crate::choice::Rule;
use crate::error::DefinitionError;
use crate::template::Template;

/// Pass: an optional `Result` that replaces its effective input.
pub(super) fn load_pass(f: &Fields<'_>) -> Kind {
    Kind::Pass {
        result: f.get("Result").cloned(),
    }
}

fn is_lambda_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function"
}

/// Task: its `Resource` (which integration reaches which function), and its timeout and
/// heartbeat. `parameters` is the state's compiled `Parameters`, which `lambda:invoke` needs.
pub(super) fn load_task(
    f: &Fields<'_>,
    parameters: Option<&Template>,
) -> Result<TaskSpec, DefinitionError> {
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

/// Choice: its rules, each with its `Next`, and an optional `Default`.
pub(super) fn load_choice(f: &Fields<'_>) -> Result<Kind, DefinitionError> {
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
    Ok(Kind::Choice {
        choices,
        default: f.string("Default")?.map(str::to_owned),
    })
}

/// Wait: exactly one of `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath`.
pub(super) fn load_wait(f: &Fields<'_>) -> Result<Kind, DefinitionError> {
    let present: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    let [which] = present.as_slice() else {
        return Err(f.err(
            "Seconds",
            "exactly one of Seconds, Timestamp, SecondsPath, TimestampPath is required",
        ));
    };
    Ok(Kind::Wait(match *which {
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
    }))
}

/// Fail: its error and cause, each static (`Error`, `Cause`) or computed (`ErrorPath`,
/// `CausePath`).
pub(super) fn load_fail(f: &Fields<'_>) -> Result<Kind, DefinitionError> {
    Ok(Kind::Fail {
        error: fail_field(f, "Error", "ErrorPath")?,
        cause: fail_field(f, "Cause", "CausePath")?,
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

/// Parallel: its `Branches`, each a machine of its own.
pub(super) fn load_parallel(f: &Fields<'_>) -> Result<Kind, DefinitionError> {
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
            f,
            &format!("Branches[{i}]"),
            obj,
            &[],
        )?));
    }
    Ok(Kind::Parallel { branches })
}

/// Map: its item processor (inline only), `ItemsPath`, `ItemSelector` (or the older
/// `Parameters`, passed in as `legacy_parameters`) and `MaxConcurrency`.
pub(super) fn load_map(
    f: &Fields<'_>,
    legacy_parameters: Option<Template>,
) -> Result<Kind, DefinitionError> {
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
    let processor = load_sub_machine(f, processor_field, processor, &["ProcessorConfig"])?;
    let item_selector = match (f.template("ItemSelector")?, legacy_parameters) {
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
    Ok(Kind::Map(MapSpec {
        items_path: f.reference_path("ItemsPath")?,
        item_selector,
        processor: Arc::new(processor),
        max_concurrency,
    }))
}

/// A Parallel branch or a Map item processor: a machine of its own, whose errors name the
/// field of the parent state it sits in.
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
