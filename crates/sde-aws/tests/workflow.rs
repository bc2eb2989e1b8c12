//! `SfnWorkflow` against moto's Step Functions in execute mode: the `Workflow` contract
//! (`sde_core::testing::workflow`), and its stop-and-list part over a one-`Wait` machine (moto
//! keeps an execution stopped while a task waits for its token RUNNING).
//!
//! The contract's state machine waits on `lambda:invoke.waitForTaskToken`; moto's "simple"
//! Lambda backend answers the invocation of a function that need not exist, and the suite reads
//! each task token from the execution's `TaskScheduled` event. moto does not run the contract's
//! closed-task part (see its module documentation for why).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use aws_sdk_sfn::types::HistoryEventType;
use sde_aws::{SfnConfig, SfnWorkflow};
use sde_core::testing::{
    WaitingTasks, stop_and_list_contract, waiting_definition, workflow_contract,
};
use serde_json::{Value, json};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/sde-test";
/// The function the contract's waiting task invokes; moto's simple Lambda backend answers it.
const WAITER: &str = "arn:aws:lambda:us-east-1:123456789012:function:sde-contract-waiter";

async fn state_machine(moto: &common::Moto, definition: &str) -> SfnWorkflow {
    let created = aws_sdk_sfn::Client::new(&moto.sdk)
        .create_state_machine()
        .name(common::unique("sde"))
        .definition(definition)
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

/// Reads task tokens from the `TaskScheduled` events of moto's executions: moto registers a
/// token before it records the event, so from then on an answer reaches the task.
struct ScheduledTasks {
    sfn: aws_sdk_sfn::Client,
}

#[async_trait]
impl WaitingTasks for ScheduledTasks {
    async fn token(&self, execution_arn: &str) -> String {
        for _ in 0..1500 {
            let history = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .send()
                .await
                .unwrap();
            let scheduled = history
                .events()
                .iter()
                .filter(|event| event.r#type() == &HistoryEventType::TaskScheduled)
                .find_map(|event| event.task_scheduled_event_details());
            if let Some(details) = scheduled {
                let parameters: Value = serde_json::from_str(details.parameters()).unwrap();
                return parameters["Payload"]["taskToken"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{execution_arn} never scheduled its waiting task");
    }
}

#[tokio::test]
async fn sfn_workflow_keeps_the_workflow_contract() {
    let moto = moto_or_skip!();
    let workflow = state_machine(&moto, &waiting_definition(WAITER)).await;
    let tasks = ScheduledTasks {
        sfn: aws_sdk_sfn::Client::new(&moto.sdk),
    };
    workflow_contract(&workflow, &tasks).await;
}

#[tokio::test]
async fn sfn_workflow_keeps_the_stop_and_list_contract() {
    let moto = moto_or_skip!();
    let waiting =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}});
    let workflow = state_machine(&moto, &waiting.to_string()).await;
    stop_and_list_contract(&workflow).await;
}
