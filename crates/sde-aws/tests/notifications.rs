//! The real-time notification plumbing against moto: `DynamoDbDeliveryLedger` keeps the
//! `DeliveryLedger` contract (`sde_core::testing::delivery_ledger`) in a table made as
//! `deploy/cloudformation/deliveries.yml` makes it, and `SqsNotificationQueue` puts a job on a
//! queue that a receiver reads back whole, as it does a daily digest job (`DigestQueue`).
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
use common::relay::SerialRelay;
use sde_aws::{DynamoDbDeliveryLedger, LedgerConfig, QueueConfig, SqsNotificationQueue};
use sde_core::testing::delivery_ledger_contract;
use sde_core::{
    DigestJob, DigestQueue, NotificationQueue, Post, QueueErrorKind, RealTimeJob, UserId,
};
use std::sync::Arc;

/// A new ledger table (key `key`, TTL on `expiresAt`), reached through `relay`.
async fn ledger_table(moto: &common::Moto, relay: &SerialRelay) -> DynamoDbDeliveryLedger {
    let table = common::unique("sde-deliveries");
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk);
    dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("key")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("key")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    dynamodb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expiresAt")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sdk = sde_aws::sdk_config_for_endpoint(&relay.url, "us-east-1", "testing", "testing").await;
    DynamoDbDeliveryLedger::new(&sdk, LedgerConfig { table })
}

#[tokio::test]
async fn the_dynamodb_ledger_keeps_the_delivery_ledger_contract() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    delivery_ledger_contract(Arc::new(ledger_table(&moto, &relay).await)).await;
}

fn job() -> RealTimeJob {
    RealTimeJob {
        post: Post {
            id: common::unique("post"),
            user_id: UserId::Text("b0b-sub".into()),
            date_created: "2026-03-04T05:06:07Z".parse().unwrap(),
            content: "Aurora tonight, \"bright\" 🌌\nover the bay".into(),
            tags: vec!["#aurora".into()],
        },
    }
}

/// A new queue named after `name`, and its URL.
async fn new_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(common::unique(name))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Every message body waiting on `queue_url`.
async fn bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    received
        .messages()
        .iter()
        .map(|message| message.body().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_queued_digest_job_is_received_whole() {
    let moto = moto_or_skip!();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk);
    let queue_url = new_queue(&sqs, "sde-digests").await;
    let queue = SqsNotificationQueue::new(
        &moto.sdk,
        QueueConfig {
            queue_url: queue_url.clone(),
        },
    );
    let sent = DigestJob {
        user: "ada-sub".into(),
        day: "2026-11-30".parse().unwrap(),
    };
    queue.enqueue_digest(&sent).await.unwrap();
    let received: Vec<DigestJob> = bodies(&sqs, &queue_url)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(received, [sent]);
}

#[tokio::test]
async fn a_digest_job_to_a_missing_queue_is_a_rejection() {
    let moto = moto_or_skip!();
    let queue = SqsNotificationQueue::new(
        &moto.sdk,
        QueueConfig {
            queue_url: format!("{}/123456789012/{}", moto.url, common::unique("absent")),
        },
    );
    let job = DigestJob {
        user: "ada-sub".into(),
        day: "2026-11-30".parse().unwrap(),
    };
    let error = queue.enqueue_digest(&job).await.unwrap_err();
    assert_eq!(error.kind, QueueErrorKind::Rejected, "{error:?}");
}

#[tokio::test]
async fn a_queued_job_is_received_whole() {
    let moto = moto_or_skip!();
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk);
    let queue_url = new_queue(&sqs, "sde-notifications").await;
    let queue = SqsNotificationQueue::new(
        &moto.sdk,
        QueueConfig {
            queue_url: queue_url.clone(),
        },
    );
    let sent = job();
    queue.enqueue(&sent).await.unwrap();
    let received: Vec<RealTimeJob> = bodies(&sqs, &queue_url)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(received, [sent]);
}

#[tokio::test]
async fn a_missing_queue_is_a_rejection() {
    let moto = moto_or_skip!();
    let queue = SqsNotificationQueue::new(
        &moto.sdk,
        QueueConfig {
            queue_url: format!("{}/123456789012/{}", moto.url, common::unique("absent")),
        },
    );
    let error = queue.enqueue(&job()).await.unwrap_err();
    assert_eq!(error.kind, QueueErrorKind::Rejected, "{error:?}");
}
