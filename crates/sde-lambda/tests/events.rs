//! `release-export-slot` driven with EventBridge's "Step Functions Execution Status Change"
//! event (`tests/fixtures/apigw/event-execution-ended.json`, hand-written in the documented
//! shape): an export that ended, however it ended, gives back its owner's slot; a status that is
//! no end gives back nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use common::*;
use sde_core::{ExportSlots, Reservation};
use sde_lambda::events::{ENDED, ExecutionStatusChange, release_export_slot};
use sde_local::MemoryExportSlots;

/// Slots where the fixtures' user holds one, of one, for the fixtures' execution.
async fn full() -> MemoryExportSlots {
    let slots = MemoryExportSlots::default();
    assert_eq!(reserve(&slots, EXPORT_ID).await, Reservation::Reserved);
    assert_eq!(
        reserve(&slots, "another").await,
        Reservation::Full { held: 1 }
    );
    slots
}

async fn reserve(slots: &MemoryExportSlots, export_id: &str) -> Reservation {
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    slots.reserve(SUB, export_id, 1, until).await.unwrap()
}

fn event(status: &str) -> EventBridgeEvent<ExecutionStatusChange> {
    let mut event: EventBridgeEvent<ExecutionStatusChange> = fixture("event-execution-ended.json");
    event.detail.status = status.to_owned();
    event
}

#[tokio::test]
async fn the_fixture_is_the_end_of_the_fixtures_execution() {
    let event: EventBridgeEvent<ExecutionStatusChange> = fixture("event-execution-ended.json");
    assert_eq!(event.source, "aws.states");
    assert_eq!(event.detail_type, "Step Functions Execution Status Change");
    assert_eq!(event.detail.execution_arn, EXECUTION_ARN);
    assert_eq!(event.detail.name, EXPORT_ID);
    assert_eq!(event.detail.status, "ABORTED");
}

#[tokio::test]
async fn an_export_that_ended_in_any_way_gives_back_its_slot() {
    for status in ENDED {
        let slots = full().await;
        release_export_slot(&slots, event(status)).await.unwrap();
        assert_eq!(
            reserve(&slots, "next").await,
            Reservation::Reserved,
            "{status}"
        );
    }
}

#[tokio::test]
async fn an_execution_that_has_not_ended_keeps_its_slot() {
    for status in ["RUNNING", "PENDING_REDRIVE"] {
        let slots = full().await;
        release_export_slot(&slots, event(status)).await.unwrap();
        assert_eq!(
            reserve(&slots, "next").await,
            Reservation::Full { held: 1 },
            "{status}"
        );
    }
}

#[tokio::test]
async fn the_end_reported_twice_gives_back_one_slot() {
    let slots = full().await;
    release_export_slot(&slots, event("SUCCEEDED"))
        .await
        .unwrap();
    assert_eq!(reserve(&slots, "next").await, Reservation::Reserved);
    release_export_slot(&slots, event("SUCCEEDED"))
        .await
        .unwrap();
    assert_eq!(
        reserve(&slots, "after").await,
        Reservation::Full { held: 1 }
    );
}
