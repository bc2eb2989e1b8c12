//! [`DeliveryLedger`] on DynamoDB: one item per key (partition key `key`), holding `expiresAt`
//! (epoch seconds, the table's TTL attribute) and, while a delivery holds the key, its `token`
//! and `leaseUntil` (epoch seconds); a sent key has no `token`.
//!
//! A claim is one conditional `PutItem` that succeeds only if the key has no item, its item has
//! expired, or its item is a claim whose lease has passed: DynamoDB applies a conditional write
//! to one item atomically, so of racing claims exactly one wins. TTL deletes expired items only
//! eventually, which is why the condition treats an expired item as absent itself. A failed
//! condition is followed by a strongly consistent read, to tell "sent" from a live lease.
//! Marking sent is an unconditional put; releasing, a delete on the condition that the item still
//! holds the releasing token.

use crate::config::LedgerConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use sde_core::{Claim, DeliveryLedger, LedgerError, LedgerErrorKind};

/// The partition key.
const KEY: &str = "key";
/// When the record stops counting, epoch seconds; the TTL attribute.
const EXPIRES_AT: &str = "expiresAt";
/// The holding delivery's token; absent once sent.
const TOKEN: &str = "token";
/// When the holding delivery's claim lapses, epoch seconds.
const LEASE_UNTIL: &str = "leaseUntil";

fn ledger_error<E>(context: &str, error: SdkError<E, HttpResponse>) -> LedgerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = if fault(&error).transient {
        LedgerErrorKind::Unavailable
    } else {
        LedgerErrorKind::Rejected
    };
    LedgerError::new(kind, context).with_source(error)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The delivery ledger table.
#[derive(Debug, Clone)]
pub struct DynamoDbDeliveryLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbDeliveryLedger {
    /// The ledger in `config.table`.
    pub fn new(sdk: &SdkConfig, config: LedgerConfig) -> Self {
        DynamoDbDeliveryLedger {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: config.table,
        }
    }

    /// What holds `key` at `now`, read strongly consistently after a claim lost.
    async fn holder(&self, key: &str, now: i64) -> Result<Claim, LedgerError> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| ledger_error("reading a delivery record", error))?;
        let number =
            |name: &str| -> Option<i64> { read.item()?.get(name)?.as_n().ok()?.parse().ok() };
        let held = read.item().is_some_and(|item| item.contains_key(TOKEN));
        Ok(match (read.item(), number(EXPIRES_AT)) {
            (Some(_), Some(expires)) if expires > now && !held => Claim::AlreadySent,
            _ => Claim::InProgress {
                // A lease, or a record gone between the write and the read: try again after it.
                until: number(LEASE_UNTIL)
                    .and_then(|until| DateTime::from_timestamp(until, 0))
                    .unwrap_or_else(Utc::now),
            },
        })
    }
}

#[async_trait]
impl DeliveryLedger for DynamoDbDeliveryLedger {
    async fn claim(
        &self,
        key: &str,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let now = Utc::now().timestamp();
        let token = sde_core::ledger::claim_token();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(TOKEN, s(&token))
            .item(LEASE_UNTIL, n(lease_until.timestamp()))
            .item(EXPIRES_AT, n(expires_at.timestamp()))
            .condition_expression(
                "attribute_not_exists(#key) OR #expiresAt <= :now \
                 OR (attribute_exists(#token) AND #leaseUntil <= :now)",
            )
            .expression_attribute_names("#key", KEY)
            .expression_attribute_names("#expiresAt", EXPIRES_AT)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#leaseUntil", LEASE_UNTIL)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Claimed { token }),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.holder(key, now).await
            }
            Err(error) => Err(ledger_error("claiming a delivery", error)),
        }
    }

    async fn mark_sent(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), LedgerError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(EXPIRES_AT, n(expires_at.timestamp()))
            .send()
            .await
            .map_err(|error| ledger_error("marking a delivery sent", error))?;
        Ok(())
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), LedgerError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(ledger_error("releasing a delivery claim", error)),
        }
    }
}
