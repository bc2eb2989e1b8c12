//! [`Subscriptions`] on DynamoDB. Key schema (see `deploy/cloudformation/subscriptions.yml`):
//!
//! - a subscription is the item `pk = "<kind>#<sub>"`, `sk = "term#<sha256 of the normalised
//!   term, hex>"`, holding the term as given (`term`), its normalised form (`normalised`), and
//!   the keys of the `by-kind` index: `kind` and `subscriber = "<sub>#<sha256 hex>"`. The sort
//!   key is a digest because a term may be 512 characters (2 KB in UTF-8) and a sort key at most
//!   1 KB; equal normalised terms have equal digests, so the key is the uniqueness check;
//! - a user's count of one kind is the item `pk = "<kind>#<sub>"`, `sk = "count"`, attribute
//!   `held` — never in the index, as it has no `kind`;
//! - the `by-kind` index (partition `kind`, sort `subscriber`) lists every subscription of a
//!   kind, in order of user, for digests to page through. Its reads are eventually consistent
//!   and all of a kind share one partition: fine for one daily run of a small app; a larger one
//!   would shard the partition (`daily#0..n`).
//!
//! Adding is one `TransactWriteItems`: put the subscription if its key does not exist, and add 1
//! to the count if it is below the cap. DynamoDB applies both or neither, atomically, so two
//! racing adds of one term give one `Added` and one `AlreadySubscribed`, and racing adds of
//! different terms never take the count past the cap. Removing is the same transaction in
//! reverse: delete the subscription if it exists, and subtract 1. DynamoDB cancels a transaction
//! that meets another on the same items (`TransactionConflict`) without applying it; it is sent
//! again, a few times, so racing requests are decided by the conditions, not by that cancellation.
//! Listing is a strongly consistent `Query` of the user's partition, every page.
//!
//! A subscriber's address is the item `pk = "address#<sub>"`, `sk = "address"`, attribute
//! `email`, put (replacing the last) on every subscribe; no kind starts with `address`, so it
//! never meets a subscription's key, and it has no `kind`, so it stays out of the index.

use crate::config::SubscriptionsConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use sde_core::{
    Added, SubscriberPage, Subscription, SubscriptionKind, SubscriptionTerm, Subscriptions,
    SubscriptionsError, SubscriptionsErrorKind,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The partition key: `<kind>#<sub>`.
const PK: &str = "pk";
/// The sort key: `term#<digest>` for a subscription, [`COUNT`] for the user's count.
const SK: &str = "sk";
/// The sort key of a user's count of one kind.
const COUNT: &str = "count";
/// The count's attribute.
const HELD: &str = "held";
/// The term as the user gave it.
const TERM: &str = "term";
/// The term trimmed and lower-cased; what lists are ordered by.
const NORMALISED: &str = "normalised";
/// The subscriber's `sub`.
const USER: &str = "user";
/// The index's partition key: the kind.
const KIND: &str = "kind";
/// The index's sort key: `<sub>#<digest>`.
const SUBSCRIBER: &str = "subscriber";
/// The sort key of a subscriber's address item.
const ADDRESS: &str = "address";
/// The address item's attribute.
const EMAIL: &str = "email";
/// The index listing every subscription of a kind.
pub const BY_KIND: &str = "by-kind";

/// Maps a DynamoDB failure to the subscriptions' error kinds, keeping the SDK error.
fn store_error<E>(context: &str, error: SdkError<E, HttpResponse>) -> SubscriptionsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = if fault(&error).transient {
        SubscriptionsErrorKind::Unavailable
    } else {
        SubscriptionsErrorKind::Rejected
    };
    SubscriptionsError::new(kind, context).with_source(error)
}

fn partition(user: &str, kind: SubscriptionKind) -> String {
    format!("{kind}#{user}")
}

fn digest(term: &SubscriptionTerm) -> String {
    hex::encode(Sha256::digest(term.normalised().as_bytes()))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// How a transaction of ours ended, read from its cancellation reasons (one per item, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancelled {
    /// The first item (the term's) failed its condition.
    FirstItemCondition,
    /// Only the second item (the count's) failed its condition.
    SecondItemCondition,
    /// Another transaction was writing one of the items at the same time; none of ours applied,
    /// and sending it again decides it.
    Conflict,
    /// Anything else.
    Other,
}

/// Reads the reason codes of a cancelled transaction of two items.
fn classify(codes: &[Option<&str>]) -> Cancelled {
    let failed =
        |index: usize| codes.get(index).copied().flatten() == Some("ConditionalCheckFailed");
    if failed(0) {
        Cancelled::FirstItemCondition
    } else if failed(1) {
        Cancelled::SecondItemCondition
    } else if codes.contains(&Some("TransactionConflict")) {
        Cancelled::Conflict
    } else {
        Cancelled::Other
    }
}

/// How a cancelled transaction ended; `None` when the failure was not a cancellation.
fn cancelled(error: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<Cancelled> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() else {
        return None;
    };
    let codes: Vec<Option<&str>> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code())
        .collect();
    Some(classify(&codes))
}

/// How many times a transaction is sent while it meets another on the same items.
const CONFLICT_ATTEMPTS: u32 = 5;

/// The subscriptions table.
#[derive(Debug, Clone)]
pub struct DynamoDbSubscriptions {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbSubscriptions {
    /// Subscriptions in `config.table`.
    pub fn new(sdk: &SdkConfig, config: SubscriptionsConfig) -> Self {
        DynamoDbSubscriptions {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: config.table,
        }
    }

    /// How many subscriptions of `kind` `user` holds, by their count item.
    async fn held(&self, user: &str, kind: SubscriptionKind) -> Result<u32, SubscriptionsError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(partition(user, kind)))
            .key(SK, s(COUNT))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("reading a subscription count", error))?;
        Ok(item
            .item()
            .and_then(|item| item.get(HELD)?.as_n().ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// The count item's update adding `change`, under `condition` (if any).
    fn count_update(
        &self,
        user: &str,
        kind: SubscriptionKind,
        change: i32,
        cap: Option<u32>,
    ) -> Result<Update, SubscriptionsError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(partition(user, kind)))
            .key(SK, s(COUNT))
            .update_expression("ADD #held :change")
            .expression_attribute_names("#held", HELD)
            .expression_attribute_values(":change", AttributeValue::N(change.to_string()));
        if let Some(cap) = cap {
            update = update
                .condition_expression("attribute_not_exists(#held) OR #held < :cap")
                .expression_attribute_values(":cap", AttributeValue::N(cap.to_string()));
        }
        update.build().map_err(|error| {
            SubscriptionsError::new(SubscriptionsErrorKind::Rejected, "building a count update")
                .with_source(error)
        })
    }

    /// Sends `items` as one transaction; sends it again (after a short, growing pause) while
    /// DynamoDB cancels it for meeting a concurrent transaction on the same items, which two
    /// racing requests for one user do. Returns how the last attempt was cancelled, if it was.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        context: &str,
    ) -> Result<Option<Cancelled>, SubscriptionsError> {
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(error) = sent else {
                return Ok(None);
            };
            match cancelled(&error) {
                Some(Cancelled::Conflict) if attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)))
                        .await;
                    attempt += 1;
                }
                Some(Cancelled::Conflict) => {
                    return Err(SubscriptionsError::new(
                        SubscriptionsErrorKind::Unavailable,
                        format!("{context}: concurrent transactions kept conflicting"),
                    )
                    .with_source(error));
                }
                Some(Cancelled::Other) | None => return Err(store_error(context, error)),
                Some(outcome) => return Ok(Some(outcome)),
            }
        }
    }
}

fn building(error: impl std::error::Error + Send + Sync + 'static) -> SubscriptionsError {
    SubscriptionsError::new(SubscriptionsErrorKind::Rejected, "building a request")
        .with_source(error)
}

/// A page token: the index's `LastEvaluatedKey`, its four string attributes as a JSON object.
fn encode_token(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let strings: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str())))
        .collect();
    serde_json::to_string(&strings).ok()
}

fn decode_token(token: &str) -> Result<HashMap<String, AttributeValue>, SubscriptionsError> {
    let strings: HashMap<String, String> = serde_json::from_str(token).map_err(|error| {
        SubscriptionsError::new(SubscriptionsErrorKind::Rejected, "reading a page token")
            .with_source(error)
    })?;
    Ok(strings
        .into_iter()
        .map(|(name, value)| (name, AttributeValue::S(value)))
        .collect())
}

#[async_trait]
impl Subscriptions for DynamoDbSubscriptions {
    async fn add(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Result<Added, SubscriptionsError> {
        let digest = digest(term);
        let put = Put::builder()
            .table_name(&self.table)
            .item(PK, s(partition(user, kind)))
            .item(SK, s(format!("term#{digest}")))
            .item(TERM, s(term.text()))
            .item(NORMALISED, s(term.normalised()))
            .item(USER, s(user))
            .item(KIND, s(kind.as_str()))
            .item(SUBSCRIBER, s(format!("{user}#{digest}")))
            .condition_expression("attribute_not_exists(#sk)")
            .expression_attribute_names("#sk", SK)
            .build()
            .map_err(building)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .update(self.count_update(user, kind, 1, Some(cap))?)
                .build(),
        ];
        match self.transact(items, "adding a subscription").await? {
            None => Ok(Added::Added),
            Some(Cancelled::FirstItemCondition) => Ok(Added::AlreadySubscribed),
            // `transact` answers only a failed condition: here the count's.
            Some(_) => Ok(Added::Full {
                held: self.held(user, kind).await?,
            }),
        }
    }

    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(partition(user, kind)))
            .key(SK, s(format!("term#{}", digest(term))))
            .condition_expression("attribute_exists(#sk)")
            .expression_attribute_names("#sk", SK)
            .build()
            .map_err(building)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder()
                .update(self.count_update(user, kind, -1, None)?)
                .build(),
        ];
        // The count's update has no condition: only the term's delete can fail its own.
        Ok(self
            .transact(items, "removing a subscription")
            .await?
            .is_none())
    }

    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError> {
        let mut terms: Vec<(String, String)> = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :term)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(partition(user, kind)))
                .expression_attribute_values(":term", s("term#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| store_error("listing a user's subscriptions", error))?;
            terms.extend(page.items().iter().filter_map(|item| {
                let text = item.get(TERM)?.as_s().ok()?;
                let normalised = item.get(NORMALISED)?.as_s().ok()?;
                Some((normalised.clone(), text.clone()))
            }));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        terms.sort();
        Ok(terms.into_iter().map(|(_, text)| text).collect())
    }

    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        let start = after.map(decode_token).transpose()?;
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_KIND)
            .key_condition_expression("#kind = :kind")
            .expression_attribute_names("#kind", KIND)
            .expression_attribute_values(":kind", s(kind.as_str()))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| store_error("paging through subscribers", error))?;
        let subscriptions = page
            .items()
            .iter()
            .filter_map(|item| {
                Some(Subscription {
                    user: item.get(USER)?.as_s().ok()?.clone(),
                    term: item.get(TERM)?.as_s().ok()?.clone(),
                })
            })
            .collect();
        Ok(SubscriberPage {
            subscriptions,
            next: page.last_evaluated_key().and_then(encode_token),
        })
    }

    async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(format!("{ADDRESS}#{user}")))
            .item(SK, s(ADDRESS))
            .item(EMAIL, s(address))
            .send()
            .await
            .map_err(|error| store_error("recording a subscriber's address", error))?;
        Ok(())
    }

    async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(format!("{ADDRESS}#{user}")))
            .key(SK, s(ADDRESS))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("reading a subscriber's address", error))?;
        Ok(item
            .item()
            .and_then(|item| item.get(EMAIL)?.as_s().ok().cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_transaction_is_read_by_which_item_failed_and_why() {
        let failed = Some("ConditionalCheckFailed");
        let none = Some("None");
        let conflict = Some("TransactionConflict");
        assert_eq!(classify(&[failed, none]), Cancelled::FirstItemCondition);
        assert_eq!(classify(&[failed, failed]), Cancelled::FirstItemCondition);
        assert_eq!(classify(&[none, failed]), Cancelled::SecondItemCondition);
        assert_eq!(classify(&[conflict, none]), Cancelled::Conflict);
        assert_eq!(classify(&[none, conflict]), Cancelled::Conflict);
        assert_eq!(classify(&[Some("ValidationError"), none]), Cancelled::Other);
        assert_eq!(classify(&[]), Cancelled::Other);
    }

    #[test]
    fn equal_normalised_terms_share_a_key_within_a_sort_keys_size() {
        let term = |text: &str| SubscriptionTerm::parse(text).unwrap();
        assert_eq!(digest(&term(" Hot Dog ")), digest(&term("hot dog")));
        assert_ne!(digest(&term("dog")), digest(&term("hot dog")));
        let longest = "🐈".repeat(sde_core::criteria::MAX_TERM_CHARS);
        assert_eq!(format!("term#{}", digest(&term(&longest))).len(), 69);
    }
}
