//! `Retry` and `Catch`: the retriers and catchers of Task, Parallel and Map states.

use serde_json::Value;

use super::fields::{Fields, result_path};
use super::{Catcher, MAX_SECONDS, Retrier};
use crate::error::{DefinitionError, names};

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

/// The `i`th retrier; `last` says whether it is the last one.
pub(super) fn load_retrier(
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

/// The `i`th catcher; `last` says whether it is the last one.
pub(super) fn load_catcher(
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
