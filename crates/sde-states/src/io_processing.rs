//! Input and output processing, the path a value takes through one state:
//! `InputPath` → `Parameters` → (the state's work) → `ResultSelector` → `ResultPath` →
//! `OutputPath`. Each step is a function of the state's definition, the value and the context
//! object (`$$`); none of them knows how the state does its work.

use serde_json::{Value, json};

use crate::definition::{IoPath, ResultPath, State};
use crate::error::{TaskError, names};

/// `InputPath`: the part of the state's raw input it works on (its effective input).
pub(crate) fn select_input(
    state: &State,
    raw: &Value,
    context: &Value,
) -> Result<Value, TaskError> {
    apply_io_path(&state.input_path, raw, context, "InputPath")
}

/// `Parameters`: the effective input rendered through the state's template, or unchanged when
/// the state has none.
pub(crate) fn apply_parameters(
    state: &State,
    effective: &Value,
    context: &Value,
) -> Result<Value, TaskError> {
    match &state.parameters {
        Some(template) => template.render(effective, context),
        None => Ok(effective.clone()),
    }
}

/// `ResultSelector`, then `ResultPath`, then `OutputPath`: the state's output from its raw input
/// and the result of its work.
pub(crate) fn state_output(
    state: &State,
    raw: Value,
    result: Value,
    context: &Value,
) -> Result<Value, TaskError> {
    let result = match &state.result_selector {
        Some(template) => template.render(&result, context)?,
        None => result,
    };
    let output = place_result(&state.result_path, raw, result)?;
    select_output(state, &output, context)
}

/// `OutputPath`: the part of `value` the state passes on.
pub(crate) fn select_output(
    state: &State,
    value: &Value,
    context: &Value,
) -> Result<Value, TaskError> {
    apply_io_path(&state.output_path, value, context, "OutputPath")
}

/// `ResultPath` (of a state or of a catcher): where `result` goes in the raw input.
pub(crate) fn place_result(
    path: &ResultPath,
    mut raw: Value,
    result: Value,
) -> Result<Value, TaskError> {
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
