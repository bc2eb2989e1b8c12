//! `DynamoDbExportSlots` against moto's DynamoDB, in a table made as
//! `deploy/cloudformation/export-slots.yml` makes it: the `ExportSlots` contract
//! (`sde_core::testing::export_slots`), and the per-user limit end to end in its AWS shape —
//! fifty concurrent `download-request`s by one user, over these slots and moto's Step
//! Functions, start exactly the limit and answer 429 to the rest, and an execution that ends
//! (here stopped: ABORTED) gives its slot back through `release-export-slot`'s handler, as the
//! EventBridge rule has it called.
//!
//! DynamoDB is reached through a relay that passes one request at a time
//! ([`common::relay::SerialRelay`]): moto 5.2.5 does not apply a conditional write atomically,
//! as DynamoDB does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sfn::types::ExecutionStatus as SfnStatus;
use common::relay::SerialRelay;
use sde_aws::{DynamoDbExportSlots, SfnConfig, SfnWorkflow, SlotsConfig};
use sde_core::testing::export_slots_contract;
use sde_core::{Caller, ExecutionStatus, Owner, Workflow};
use sde_handlers::download_request::{DownloadRequest, ExportLimits, download_request};
use sde_handlers::release_export_slot;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/sde-test";

/// A new slots table (keys `owner` and `slot`, TTL on `expiresAt`), reached through `relay`.
async fn slots_table(moto: &common::Moto, relay: &SerialRelay) -> DynamoDbExportSlots {
    let table = common::unique("sde-export-slots");
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk);
    let attribute = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(attribute("owner", ScalarAttributeType::S))
        .attribute_definitions(attribute("slot", ScalarAttributeType::N))
        .key_schema(key("owner", KeyType::Hash))
        .key_schema(key("slot", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    dynamodb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiresAt")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sdk = sde_aws::sdk_config_for_endpoint(&relay.url, "us-east-1", "testing", "testing").await;
    DynamoDbExportSlots::new(&sdk, SlotsConfig { table })
}

#[tokio::test]
async fn dynamodb_export_slots_keep_the_export_slots_contract() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    export_slots_contract(Arc::new(slots_table(&moto, &relay).await)).await;
}

/// A state machine whose executions wait five minutes, so every export started runs
/// throughout the test.
async fn waiting_exports(moto: &common::Moto) -> SfnWorkflow {
    let definition =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}});
    let created = aws_sdk_sfn::Client::new(&moto.sdk)
        .create_state_machine()
        .name(common::unique("sde-exports"))
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

fn export_request() -> DownloadRequest {
    serde_json::from_value(
        json!({"type": "direct", "searchCriteria": {"search": [{"value": "cats"}]}}),
    )
    .unwrap()
}

/// The running executions of the state machine `machine`.
async fn running(moto: &common::Moto, machine: &str) -> Vec<String> {
    let listed = aws_sdk_sfn::Client::new(&moto.sdk)
        .list_executions()
        .state_machine_arn(machine)
        .status_filter(SfnStatus::Running)
        .send()
        .await
        .unwrap();
    listed
        .executions()
        .iter()
        .map(|e| e.execution_arn().to_owned())
        .collect()
}

#[tokio::test]
async fn fifty_concurrent_requests_by_one_user_start_exactly_the_limit_and_429_the_rest() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    let slots = Arc::new(slots_table(&moto, &relay).await);
    let workflow = Arc::new(waiting_exports(&moto).await);
    let limits = ExportLimits::default();
    let caller = Caller::verified(Owner {
        sub: "3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into(),
        email: "ada@example.com".into(),
    });

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (workflow, slots, caller) = (workflow.clone(), slots.clone(), caller.clone());
        requests.spawn(async move {
            download_request(
                workflow.as_ref(),
                slots.as_ref(),
                limits,
                &caller,
                export_request(),
            )
            .await
        });
    }
    let answers = requests.join_all().await;
    let mut started = Vec::new();
    let mut refused = Vec::new();
    for answer in answers {
        match answer {
            Ok(response) => started.push(response.execution_arn),
            Err(error) => refused.push((error.status(), error.to_string())),
        }
    }
    assert_eq!(started.len(), 5, "refused: {refused:?}");
    assert_eq!(refused.len(), 45);
    for (status, message) in &refused {
        assert_eq!(*status, 429, "{message}");
        assert!(message.contains("(the limit is 5)"), "{message}");
    }
    let machine = workflow_machine(&started[0]);
    let mut running_now = running(&moto, &machine).await;
    running_now.sort();
    started.sort();
    assert_eq!(
        running_now, started,
        "exactly the five answered are running"
    );

    // One ends (stopped: ABORTED), and EventBridge reports it to release-export-slot.
    let ended = started.remove(0);
    workflow
        .stop(&ended, "Cancelled", "the user left")
        .await
        .unwrap();
    until_aborted(workflow.as_ref(), &ended).await;
    let name = ended.rsplit(':').next().unwrap();
    release_export_slot(slots.as_ref(), name).await.unwrap();

    let again = download_request(
        workflow.as_ref(),
        slots.as_ref(),
        limits,
        &caller,
        export_request(),
    )
    .await
    .unwrap();
    started.push(again.execution_arn);
    let refused = download_request(
        workflow.as_ref(),
        slots.as_ref(),
        limits,
        &caller,
        export_request(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status(), 429, "the freed slot was taken again");

    for arn in &started {
        workflow.stop(arn, "Cancelled", "test over").await.unwrap();
    }
}

/// `arn:…:execution:<machine>:<name>` → `arn:…:stateMachine:<machine>`.
fn workflow_machine(execution_arn: &str) -> String {
    let (machine, _name) = execution_arn.rsplit_once(':').unwrap();
    machine.replacen(":execution:", ":stateMachine:", 1)
}

async fn until_aborted(workflow: &dyn Workflow, arn: &str) {
    for _ in 0..200 {
        if workflow.describe(arn).await.unwrap().status == ExecutionStatus::Aborted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} was never aborted");
}
