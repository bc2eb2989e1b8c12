//! `DynamoDbSubscriptions` against moto's DynamoDB, in a table made as
//! `deploy/cloudformation/subscriptions.yml` makes it: the `Subscriptions` contract
//! (`sde_core::testing::subscriptions`), a term as long as a search term may be (longer in bytes
//! than a sort key may be, hence the digest in the key), and the handlers' answers over it.
//!
//! DynamoDB is reached through a relay that passes one request at a time
//! ([`common::relay::SerialRelay`]): moto 5.2.5 does not apply a conditional write atomically,
//! as DynamoDB does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use common::relay::SerialRelay;
use sde_aws::{DynamoDbSubscriptions, SubscriptionsConfig};
use sde_core::testing::subscriptions_contract;
use sde_core::{Caller, Owner, SubscriptionKind, SubscriptionTerm, Subscriptions};
use sde_handlers::subscriptions::{list_subscriptions, subscribe, unsubscribe};
use serde_json::json;
use std::sync::Arc;

/// A new subscriptions table (keys `pk` and `sk`, index `by-kind` on `kind` and `subscriber`),
/// reached through `relay`.
async fn subscriptions_table(moto: &common::Moto, relay: &SerialRelay) -> DynamoDbSubscriptions {
    let table = common::unique("sde-subscriptions");
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk);
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
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
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("kind"))
        .attribute_definitions(attribute("subscriber"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-kind")
                .key_schema(key("kind", KeyType::Hash))
                .key_schema(key("subscriber", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("user")
                        .non_key_attributes("term")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let sdk = sde_aws::sdk_config_for_endpoint(&relay.url, "us-east-1", "testing", "testing").await;
    DynamoDbSubscriptions::new(&sdk, SubscriptionsConfig { table })
}

#[tokio::test]
async fn dynamodb_subscriptions_keep_the_subscriptions_contract() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    subscriptions_contract(Arc::new(subscriptions_table(&moto, &relay).await)).await;
}

#[tokio::test]
async fn a_term_as_long_as_a_search_term_may_be_is_kept_whole() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    let subscriptions = subscriptions_table(&moto, &relay).await;
    // 512 characters of 4 bytes each: 2 KB, twice what a sort key may hold.
    let long = "🐈".repeat(sde_core::criteria::MAX_TERM_CHARS);
    let term = SubscriptionTerm::parse(&long).unwrap();
    let added = subscriptions
        .add("ada", SubscriptionKind::Daily, &term, 50)
        .await
        .unwrap();
    assert_eq!(added, sde_core::Added::Added);
    assert_eq!(
        subscriptions
            .list("ada", SubscriptionKind::Daily)
            .await
            .unwrap(),
        [long]
    );
    assert!(
        subscriptions
            .remove("ada", SubscriptionKind::Daily, &term)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_handlers_answer_over_dynamodb_as_over_the_local_store() {
    let moto = moto_or_skip!();
    let relay = SerialRelay::start(&moto.url).await;
    let subscriptions = subscriptions_table(&moto, &relay).await;
    let ada = Caller::verified(Owner {
        sub: common::unique("ada"),
        email: "ada@example.com".into(),
    });
    let body = |value: &str| serde_json::from_value(json!({ "value": value })).unwrap();
    let daily = SubscriptionKind::Daily;
    let matcher = sde_core::testing::WordMatcher::default();

    subscribe(&subscriptions, &matcher, &ada, daily, body("Hot Dog"))
        .await
        .unwrap();
    let again = subscribe(&subscriptions, &matcher, &ada, daily, body(" hot dog "))
        .await
        .unwrap_err();
    assert_eq!(
        (again.status(), again.body()),
        (400, json!({"message": "Subscription already exists"}))
    );
    let absent = unsubscribe(&subscriptions, &matcher, &ada.owner, daily, body("dog"))
        .await
        .unwrap_err();
    assert_eq!(absent.status(), 404);
    assert_eq!(
        list_subscriptions(&subscriptions, &ada.owner, daily)
            .await
            .unwrap(),
        ["Hot Dog"]
    );
}
