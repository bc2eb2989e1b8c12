//! The states that call nothing and have no `Retry` or `Catch`: Pass, Choice, Wait, Succeed and
//! Fail.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Runner, StateCtx, Step};
use crate::choice::Rule;
use crate::definition::{FailField, WaitSpec};
use crate::error::{TaskError, names};
use crate::io_processing::{apply_parameters, place_result, select_input, select_output};

impl Runner {
    /// Pass: its `Result`, or its effective input after `Parameters`, placed by `ResultPath`.
    pub(super) fn run_pass(
        &self,
        ctx: &StateCtx<'_>,
        raw: Value,
        result: Option<&Value>,
    ) -> Result<Step, TaskError> {
        let state = ctx.state;
        let context = self.context(ctx, None, None);
        let effective = select_input(state, &raw, &context)?;
        let effective = apply_parameters(state, &effective, &context)?;
        let result = result.cloned().unwrap_or(effective);
        let output = place_result(&state.result_path, raw, result)?;
        let output = select_output(state, &output, &context)?;
        Ok(Self::step(state, output))
    }

    /// Choice: the `Next` of the first rule that matches, else `Default`, else
    /// `States.NoChoiceMatched`. Its output is its effective input.
    pub(super) fn run_choice(
        &self,
        ctx: &StateCtx<'_>,
        raw: &Value,
        choices: &[(Rule, String)],
        default: Option<&String>,
    ) -> Result<Step, TaskError> {
        let state = ctx.state;
        let context = self.context(ctx, None, None);
        let effective = select_input(state, raw, &context)?;
        let mut chosen = None;
        for (rule, next) in choices {
            if rule.eval(&effective, &context)? {
                chosen = Some(next.clone());
                break;
            }
        }
        let next = chosen.or_else(|| default.cloned()).ok_or_else(|| {
            TaskError::new(
                names::NO_CHOICE_MATCHED,
                format!(
                    "No Choice Rules matched and no Default in state \"{}\"",
                    state.name
                ),
            )
        })?;
        let output = select_output(state, &effective, &context)?;
        Ok(Step::Next(next, output))
    }

    /// Wait: sleeps for its seconds or until its timestamp, then passes its input on.
    pub(super) async fn run_wait(
        &self,
        ctx: &StateCtx<'_>,
        raw: &Value,
        spec: &WaitSpec,
    ) -> Result<Step, TaskError> {
        let state = ctx.state;
        let context = self.context(ctx, None, None);
        let effective = select_input(state, raw, &context)?;
        let seconds = wait_seconds(spec, &effective)?;
        tokio::time::sleep(self.scaled(seconds)).await;
        let output = select_output(state, &effective, &context)?;
        Ok(Self::step(state, output))
    }

    /// Succeed: ends its machine with its processed input.
    pub(super) fn run_succeed(&self, ctx: &StateCtx<'_>, raw: &Value) -> Result<Step, TaskError> {
        let state = ctx.state;
        let context = self.context(ctx, None, None);
        let effective = select_input(state, raw, &context)?;
        let output = select_output(state, &effective, &context)?;
        Ok(Step::End(output))
    }

    /// Fail: fails with its `Error` and `Cause` (or what `ErrorPath` and `CausePath` produce).
    pub(super) fn run_fail(
        &self,
        ctx: &StateCtx<'_>,
        raw: &Value,
        error: &FailField,
        cause: &FailField,
    ) -> Result<Step, TaskError> {
        let context = self.context(ctx, None, None);
        let error = fail_text(error, raw, &context, "ErrorPath")?;
        let cause = fail_text(cause, raw, &context, "CausePath")?;
        Err(TaskError::new(
            error.unwrap_or_default(),
            cause.unwrap_or_default(),
        ))
    }
}

fn wait_seconds(spec: &WaitSpec, effective: &Value) -> Result<f64, TaskError> {
    let until = |ts: DateTime<chrono::FixedOffset>| {
        let millis = (ts.with_timezone(&Utc) - Utc::now()).num_milliseconds();
        (millis.max(0) as f64) / 1000.0
    };
    match spec {
        WaitSpec::Seconds(n) => Ok(*n as f64),
        WaitSpec::Timestamp(ts) => Ok(until(*ts)),
        WaitSpec::SecondsPath(path) => path
            .select(effective, &Value::Null)
            .and_then(|v| v.as_u64())
            .map(|n| n as f64)
            .ok_or_else(|| {
                TaskError::runtime(format!(
                    "SecondsPath '{}' must select a non-negative integer",
                    path.text
                ))
            }),
        WaitSpec::TimestampPath(path) => path
            .select(effective, &Value::Null)
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            })
            .map(until)
            .ok_or_else(|| {
                TaskError::runtime(format!(
                    "TimestampPath '{}' must select an RFC 3339 timestamp",
                    path.text
                ))
            }),
    }
}

fn fail_text(
    field: &FailField,
    raw: &Value,
    context: &Value,
    name: &str,
) -> Result<Option<String>, TaskError> {
    match field {
        FailField::Absent => Ok(None),
        FailField::Static(text) => Ok(Some(text.clone())),
        FailField::Dynamic(template) => match template.render(raw, context)? {
            Value::String(text) => Ok(Some(text)),
            other => Err(TaskError::runtime(format!(
                "{name} must produce a string, got {other}"
            ))),
        },
    }
}
