//! [`Workflow`] on Step Functions: start, describe, stop and list executions of the export
//! state machine, and complete its `.waitForTaskToken` tasks.

use crate::config::SfnConfig;
use crate::errors::{Fault, fault};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::primitives::DateTime as SmithyDateTime;
use aws_sdk_sfn::types::ExecutionStatus as SfnStatus;
use chrono::{DateTime, Utc};
use sde_core::{
    ExecutionDescription, ExecutionStatus, ExecutionSummary, Workflow, WorkflowError,
    WorkflowErrorKind, execution_arn_of,
};
use serde_json::Value;

/// Error codes meaning the task token's task is no longer waiting (or never was).
const TASK_CLOSED_CODES: &[&str] = &["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"];
/// Executions read per `ListExecutions` page (the most it returns).
const LIST_PAGE: i32 = 1000;
/// Pages read at most by one listing, so a listing costs bounded time and throttle tokens
/// (`ListExecutions` refills at 2 calls a second per account and region) whatever the day's
/// traffic: executions beyond the newest `LIST_PAGE * MAX_LIST_PAGES` are not listed.
const MAX_LIST_PAGES: usize = 5;

/// Error codes meaning the execution does not exist.
const NOT_FOUND_CODES: &[&str] = &["ExecutionDoesNotExist", "InvalidArn"];

/// Maps a Step Functions failure to the workflow's error kinds, keeping the SDK error.
fn workflow_error<E>(context: impl Into<String>, error: SdkError<E, HttpResponse>) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = classify(&fault(&error));
    WorkflowError::new(kind, context).with_source(error)
}

fn classify(fault: &Fault) -> WorkflowErrorKind {
    if fault.is_any(TASK_CLOSED_CODES) {
        WorkflowErrorKind::TaskClosed
    } else if fault.is_any(NOT_FOUND_CODES) {
        WorkflowErrorKind::NotFound
    } else if fault.is("ExecutionAlreadyExists") {
        WorkflowErrorKind::AlreadyExists
    } else if fault.transient {
        WorkflowErrorKind::Unavailable
    } else {
        WorkflowErrorKind::Rejected
    }
}

/// Executions of the export state machine.
#[derive(Debug, Clone)]
pub struct SfnWorkflow {
    client: aws_sdk_sfn::Client,
    config: SfnConfig,
}

impl SfnWorkflow {
    /// Runs executions of `config.state_machine_arn`.
    pub fn new(sdk: &SdkConfig, config: SfnConfig) -> Self {
        SfnWorkflow {
            client: aws_sdk_sfn::Client::new(sdk),
            config,
        }
    }
}

/// Step Functions' JSON text as a value; text that is not JSON is kept as a string.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn timestamp(time: &SmithyDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos()).unwrap_or_default()
}

fn status(status: &SfnStatus) -> Option<ExecutionStatus> {
    Some(match status {
        // A redrive is about to run the failed steps again.
        SfnStatus::Running | SfnStatus::PendingRedrive => ExecutionStatus::Running,
        SfnStatus::Succeeded => ExecutionStatus::Succeeded,
        SfnStatus::Failed => ExecutionStatus::Failed,
        SfnStatus::TimedOut => ExecutionStatus::TimedOut,
        SfnStatus::Aborted => ExecutionStatus::Aborted,
        _ => return None,
    })
}

fn required_status(status: &SfnStatus) -> Result<ExecutionStatus, WorkflowError> {
    self::status(status).ok_or_else(|| {
        WorkflowError::new(
            WorkflowErrorKind::Rejected,
            format!("reading execution status {:?}", status.as_str()),
        )
    })
}

#[async_trait]
impl Workflow for SfnWorkflow {
    fn execution_arn(&self, name: &str) -> String {
        execution_arn_of(&self.config.state_machine_arn, name)
    }

    /// `StopExecution`. Step Functions stops the execution, not a Lambda invocation it is
    /// running: that runs to its end, and its result is dropped.
    async fn stop(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError> {
        let stopped = self
            .client
            .stop_execution()
            .execution_arn(execution_arn)
            .error(error)
            .cause(cause)
            .send()
            .await;
        match stopped {
            Ok(_) => Ok(()),
            Err(sdk_error) => {
                let error = workflow_error("stopping an execution", sdk_error);
                // An execution that has ended already is left as it ended.
                match self.describe(execution_arn).await {
                    Ok(ended) if ended.status.is_finished() => Ok(()),
                    _ => Err(error),
                }
            }
        }
    }

    /// `ListExecutions`, newest first, page by page until an execution started before `since`
    /// (at most [`MAX_LIST_PAGES`] pages); the name prefix is matched here, as the API has no
    /// such filter. Every user's executions of the period are read to find one user's, so the
    /// cost grows with the whole traffic of the period, and the listing is eventually
    /// consistent: an execution started or stopped a moment ago may show late.
    async fn list_started_since(
        &self,
        name_prefix: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExecutionSummary>, WorkflowError> {
        let mut listed = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(&self.config.state_machine_arn)
                .max_results(LIST_PAGE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| workflow_error("listing executions", error))?;
            let mut older = false;
            for item in page.executions() {
                let start_date = timestamp(item.start_date());
                if start_date < since {
                    older = true;
                    continue;
                }
                if !item.name().starts_with(name_prefix) {
                    continue;
                }
                listed.push(ExecutionSummary {
                    execution_arn: item.execution_arn().to_owned(),
                    name: item.name().to_owned(),
                    status: required_status(item.status())?,
                    start_date,
                    stop_date: item.stop_date().map(timestamp),
                });
            }
            next_token = page.next_token().map(str::to_owned);
            if older || next_token.is_none() {
                break;
            }
        }
        listed.sort_by(|a, b| {
            b.start_date
                .cmp(&a.start_date)
                .then_with(|| b.name.cmp(&a.name))
        });
        Ok(listed)
    }

    async fn start(&self, name: &str, input: Value) -> Result<String, WorkflowError> {
        let output = self
            .client
            .start_execution()
            .state_machine_arn(&self.config.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|error| workflow_error(format!("starting execution {name}"), error))?;
        Ok(output.execution_arn().to_owned())
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionDescription, WorkflowError> {
        let output = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|error| workflow_error("describing an execution", error))?;
        let status = required_status(output.status())?;
        let arn = output.execution_arn().to_owned();
        let name = match output.name() {
            Some(name) => name.to_owned(),
            None => arn.rsplit(':').next().unwrap_or_default().to_owned(),
        };
        Ok(ExecutionDescription {
            execution_arn: arn,
            state_machine_arn: output.state_machine_arn().to_owned(),
            name,
            status,
            input: output.input().map(json_text).unwrap_or(Value::Null),
            output: output.output().map(json_text),
            error: output.error().map(str::to_owned),
            cause: output.cause().map(str::to_owned),
            start_date: timestamp(output.start_date()),
            stop_date: output.stop_date().map(timestamp),
        })
    }

    async fn send_task_success(
        &self,
        task_token: &str,
        output: Value,
    ) -> Result<(), WorkflowError> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|error| workflow_error("completing a waiting task", error))?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|sdk_error| workflow_error("failing a waiting task", sdk_error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: &str, status: u16) -> Fault {
        Fault {
            code: Some(code.to_owned()),
            status: Some(status),
            transient: status >= 500,
        }
    }

    #[test]
    fn closed_or_unknown_tokens_are_task_closed() {
        for code in ["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"] {
            assert_eq!(
                classify(&answered(code, 400)),
                WorkflowErrorKind::TaskClosed
            );
        }
    }

    #[test]
    fn execution_errors_map_to_their_kinds() {
        assert_eq!(
            classify(&answered("ExecutionDoesNotExist", 400)),
            WorkflowErrorKind::NotFound
        );
        assert_eq!(
            classify(&answered("InvalidArn", 400)),
            WorkflowErrorKind::NotFound
        );
        assert_eq!(
            classify(&answered("ExecutionAlreadyExists", 400)),
            WorkflowErrorKind::AlreadyExists
        );
        assert_eq!(
            classify(&answered("ServiceUnavailable", 503)),
            WorkflowErrorKind::Unavailable
        );
        assert_eq!(
            classify(&answered("InvalidExecutionInput", 400)),
            WorkflowErrorKind::Rejected
        );
    }

    #[test]
    fn execution_data_is_parsed_as_json_when_it_is_json() {
        assert_eq!(json_text(r#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(json_text("not json"), Value::String("not json".into()));
    }
}
