//! [`ExportSlots`] on DynamoDB. Each owner has slots numbered `0..limit`, one item per slot
//! taken, keyed `(owner, slot)`, holding the export id and `expiresAt` (epoch seconds, also the
//! table's TTL attribute). A slot is taken with a conditional `PutItem` that succeeds only if
//! the slot has no item or its `expiresAt` has passed: DynamoDB applies a conditional write to
//! one item atomically, so of any number of requests racing for one slot exactly one takes it,
//! and an owner never holds more items than slot numbers. TTL deletes lapsed items only
//! eventually (up to days later), which is why the condition, and the count, treat a lapsed
//! item as free themselves.
//!
//! The owner's items are read first (one strongly consistent `Query`): a full owner is answered
//! with no write at all, and the others try only the slots that were free, starting at a slot
//! chosen from the export id so that racing requests spread over them.

use crate::config::SlotsConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use sde_core::{ExportSlots, ExportSlotsError, ExportSlotsErrorKind, Reservation};
use std::collections::{HashMap, HashSet};

/// The partition key: the owner.
const OWNER: &str = "owner";
/// The sort key: the slot number, `0..limit`.
const SLOT: &str = "slot";
/// The export holding the slot.
const EXPORT_ID: &str = "exportId";
/// When the slot lapses, in epoch seconds; the table's TTL attribute.
const EXPIRES_AT: &str = "expiresAt";

/// One taken slot as read back.
#[derive(Debug)]
struct Taken {
    slot: u32,
    export_id: String,
    expires_at: i64,
}

/// Maps a DynamoDB failure to the slots' error kinds, keeping the SDK error.
fn slots_error<E>(context: &str, error: SdkError<E, HttpResponse>) -> ExportSlotsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = if fault(&error).transient {
        ExportSlotsErrorKind::Unavailable
    } else {
        ExportSlotsErrorKind::Rejected
    };
    ExportSlotsError::new(kind, context).with_source(error)
}

/// The export slots table.
#[derive(Debug, Clone)]
pub struct DynamoDbExportSlots {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbExportSlots {
    /// Slots in `config.table`.
    pub fn new(sdk: &SdkConfig, config: SlotsConfig) -> Self {
        DynamoDbExportSlots {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: config.table,
        }
    }

    /// Every item of `owner`'s, lapsed or not, read strongly consistently.
    async fn taken(&self, owner: &str) -> Result<Vec<Taken>, ExportSlotsError> {
        let mut taken = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#owner = :owner")
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| slots_error("reading an owner's export slots", error))?;
            taken.extend(page.items().iter().filter_map(read_taken));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(taken);
            }
        }
    }

    /// Puts `export_id` into slot `slot` of `owner`'s if it is free at `now`; `false` when
    /// another export holds it.
    async fn take(
        &self,
        owner: &str,
        slot: u32,
        export_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, ExportSlotsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(OWNER, AttributeValue::S(owner.to_owned()))
            .item(SLOT, AttributeValue::N(slot.to_string()))
            .item(EXPORT_ID, AttributeValue::S(export_id.to_owned()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(#slot) OR #expiresAt <= :now")
            .expression_attribute_names("#slot", SLOT)
            .expression_attribute_names("#expiresAt", EXPIRES_AT)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(slots_error("taking an export slot", error)),
        }
    }
}

fn read_taken(item: &HashMap<String, AttributeValue>) -> Option<Taken> {
    let number = |name: &str| item.get(name)?.as_n().ok()?.parse::<i64>().ok();
    Some(Taken {
        slot: u32::try_from(number(SLOT)?).ok()?,
        export_id: item.get(EXPORT_ID)?.as_s().ok()?.clone(),
        expires_at: number(EXPIRES_AT)?,
    })
}

/// Where in the free slots an export starts trying: spread by its id, so racing requests
/// mostly try different slots first.
fn first_choice(export_id: &str, free: usize) -> usize {
    let spread = export_id.bytes().fold(0u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u64::from(byte))
    });
    usize::try_from(spread % free.max(1) as u64).unwrap_or(0)
}

#[async_trait]
impl ExportSlots for DynamoDbExportSlots {
    async fn reserve(
        &self,
        owner: &str,
        export_id: &str,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<Reservation, ExportSlotsError> {
        let now = Utc::now().timestamp();
        let held: HashSet<u32> = self
            .taken(owner)
            .await?
            .into_iter()
            .filter(|taken| taken.expires_at > now)
            .map(|taken| taken.slot)
            .collect();
        let count = u32::try_from(held.len()).unwrap_or(u32::MAX);
        if count >= limit {
            return Ok(Reservation::Full { held: count });
        }
        let mut free: Vec<u32> = (0..limit).filter(|slot| !held.contains(slot)).collect();
        let first = first_choice(export_id, free.len());
        free.rotate_left(first);
        for slot in free {
            if self
                .take(owner, slot, export_id, expires_at.timestamp(), now)
                .await?
            {
                return Ok(Reservation::Reserved);
            }
        }
        // Every slot free a moment ago was taken since by a racing request.
        Ok(Reservation::Full { held: limit })
    }

    async fn release(&self, owner: &str, export_id: &str) -> Result<(), ExportSlotsError> {
        let mine = self
            .taken(owner)
            .await?
            .into_iter()
            .filter(|taken| taken.export_id == export_id);
        for taken in mine {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(OWNER, AttributeValue::S(owner.to_owned()))
                .key(SLOT, AttributeValue::N(taken.slot.to_string()))
                // The slot may have lapsed and been taken by another export since it was read.
                .condition_expression("#exportId = :exportId")
                .expression_attribute_names("#exportId", EXPORT_ID)
                .expression_attribute_values(":exportId", AttributeValue::S(export_id.to_owned()))
                .send()
                .await;
            match deleted {
                Ok(_) => {}
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(error) => return Err(slots_error("giving back an export slot", error)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_exports_start_at_different_free_slots() {
        let starts: HashSet<usize> = (0..50)
            .map(|n| first_choice(&format!("3f1c2d9e-7b4a_{n:032x}"), 5))
            .collect();
        assert_eq!(starts, (0..5).collect());
        assert_eq!(first_choice("any", 1), 0);
        assert_eq!(first_choice("any", 0), 0);
    }

    #[test]
    fn items_read_back_as_slots_and_malformed_ones_are_skipped() {
        let item = |slot: &str, expires: &str| {
            HashMap::from([
                (OWNER.to_owned(), AttributeValue::S("o".into())),
                (SLOT.to_owned(), AttributeValue::N(slot.into())),
                (EXPORT_ID.to_owned(), AttributeValue::S("o_1".into())),
                (EXPIRES_AT.to_owned(), AttributeValue::N(expires.into())),
            ])
        };
        let taken = read_taken(&item("3", "1796136281")).unwrap();
        assert_eq!(
            (taken.slot, taken.export_id.as_str(), taken.expires_at),
            (3, "o_1", 1_796_136_281)
        );
        assert!(read_taken(&item("-1", "1")).is_none());
        assert!(read_taken(&item("x", "1")).is_none());
        assert!(read_taken(&HashMap::new()).is_none());
    }
}
