//! `SfnWorkflow` against moto's Step Functions in execute mode: executions of small state
//! machines, and `.waitForTaskToken` tasks completed through the adapter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sde_aws::{SfnConfig, SfnWorkflow};
use sde_core::{ExecutionDescription, ExecutionStatus, Workflow, WorkflowErrorKind};
use serde_json::{Value, json};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/sde-test";

async fn state_machine(moto: &common::Moto, definition: Value) -> SfnWorkflow {
    let created = aws_sdk_sfn::Client::new(&moto.sdk)
        .create_state_machine()
        .name(common::unique("sde"))
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    SfnWorkflow::new(
        &moto.sdk,
        SfnConfig {
            state_machine_arn: created.state_machine_arn().to_owned(),
        },
    )
}

async fn until_finished(workflow: &SfnWorkflow, arn: &str) -> ExecutionDescription {
    for _ in 0..200 {
        let description = workflow.describe(arn).await.unwrap();
        if description.status.is_finished() {
            return description;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("execution {arn} never finished");
}

#[tokio::test]
async fn an_execution_runs_and_is_described_with_its_json() {
    let moto = moto_or_skip!();
    let workflow = state_machine(
        &moto,
        json!({"StartAt": "Done", "States": {"Done": {
            "Type": "Pass", "Parameters": {"type.$": "$.type", "rows": 3}, "End": true}}}),
    )
    .await;
    let name = common::unique("run");
    let arn = workflow
        .start(
            &name,
            json!({"type": "direct", "searchCriteria": {"search": []}}),
        )
        .await
        .unwrap();
    assert!(arn.contains(":execution:") && arn.ends_with(&name), "{arn}");

    let description = until_finished(&workflow, &arn).await;
    assert_eq!(description.execution_arn, arn);
    assert_eq!(description.name, name);
    assert_eq!(description.status, ExecutionStatus::Succeeded);
    assert_eq!(
        description.input,
        json!({"type": "direct", "searchCriteria": {"search": []}})
    );
    assert_eq!(
        description.output,
        Some(json!({"type": "direct", "rows": 3}))
    );
    assert!(description.stop_date.unwrap() >= description.start_date);
}

#[tokio::test]
async fn a_used_name_is_already_exists() {
    let moto = moto_or_skip!();
    let workflow = state_machine(
        &moto,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let name = common::unique("run");
    workflow.start(&name, json!({})).await.unwrap();
    let error = workflow
        .start(&name, json!({"other": 1}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::AlreadyExists, "{error}");
}

#[tokio::test]
async fn unknown_or_malformed_executions_are_not_found() {
    let moto = moto_or_skip!();
    let workflow = state_machine(
        &moto,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    for arn in [
        "arn:aws:states:us-east-1:123456789012:execution:sde:never-started",
        "not-an-arn",
    ] {
        let error = workflow.describe(arn).await.unwrap_err();
        assert_eq!(error.kind, WorkflowErrorKind::NotFound, "{arn}: {error}");
        assert!(std::error::Error::source(&error).is_some());
    }
}

#[tokio::test]
async fn a_stopped_execution_is_aborted() {
    let moto = moto_or_skip!();
    let workflow = state_machine(
        &moto,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}}),
    )
    .await;
    let arn = workflow
        .start(&common::unique("run"), json!({}))
        .await
        .unwrap();
    assert_eq!(
        workflow.describe(&arn).await.unwrap().status,
        ExecutionStatus::Running
    );
    workflow
        .stop(&arn, "Cancelled", "the user left")
        .await
        .unwrap();
    assert_eq!(
        until_finished(&workflow, &arn).await.status,
        ExecutionStatus::Aborted
    );
}

#[tokio::test]
async fn unknown_task_tokens_are_task_closed() {
    let moto = moto_or_skip!();
    let workflow = state_machine(
        &moto,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let error = workflow
        .send_task_success("no-such-token", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::TaskClosed, "{error}");
    let error = workflow
        .send_task_failure("no-such-token", "Failed", "cause")
        .await
        .unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::TaskClosed, "{error}");
}

/// A state machine whose one task hands its token to an SQS queue and waits for it; returns
/// the workflow and the queue.
async fn waiting_for_a_token(moto: &common::Moto) -> (SfnWorkflow, aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk);
    let queue = sqs
        .create_queue()
        .queue_name(common::unique("tokens"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let workflow = state_machine(
        moto,
        json!({"StartAt": "Wait", "States": {"Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": true}}}),
    )
    .await;
    (workflow, sqs, queue)
}

async fn token_from(sqs: &aws_sdk_sqs::Client, queue: &str) -> String {
    for _ in 0..100 {
        let received = sqs.receive_message().queue_url(queue).send().await.unwrap();
        if let Some(message) = received.messages().first() {
            let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            return body["token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the waiting task never sent its token");
}

#[tokio::test]
async fn a_waiting_task_completes_once_with_its_output() {
    let moto = moto_or_skip!();
    let (workflow, sqs, queue) = waiting_for_a_token(&moto).await;
    let arn = workflow
        .start(&common::unique("run"), json!({}))
        .await
        .unwrap();
    let token = token_from(&sqs, &queue).await;
    assert_eq!(
        workflow.describe(&arn).await.unwrap().status,
        ExecutionStatus::Running
    );

    workflow
        .send_task_success(&token, json!({"delivered": true}))
        .await
        .unwrap();
    let description = until_finished(&workflow, &arn).await;
    assert_eq!(description.status, ExecutionStatus::Succeeded);
    assert_eq!(description.output, Some(json!({"delivered": true})));

    // Only once the execution has moved on is the token closed: moto runs executions on a
    // thread of its own, so a second answer sent at once could still find the task open.
    let second = workflow
        .send_task_success(&token, json!({"delivered": "twice"}))
        .await
        .unwrap_err();
    assert_eq!(second.kind, WorkflowErrorKind::TaskClosed, "{second}");
}

#[tokio::test]
async fn a_failed_waiting_task_fails_the_execution() {
    let moto = moto_or_skip!();
    let (workflow, sqs, queue) = waiting_for_a_token(&moto).await;
    let arn = workflow
        .start(&common::unique("run"), json!({}))
        .await
        .unwrap();
    let token = token_from(&sqs, &queue).await;
    workflow
        .send_task_failure(&token, "ClientGone", "the browser closed")
        .await
        .unwrap();
    let description = until_finished(&workflow, &arn).await;
    assert_eq!(description.status, ExecutionStatus::Failed);
    assert_eq!(description.error.as_deref(), Some("ClientGone"));
}
