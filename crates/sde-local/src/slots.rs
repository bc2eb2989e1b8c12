//! [`MemoryExportSlots`]: the local stack's export slots, a map under one lock. They live as
//! long as the process, as the executions holding them do: a stop of the stack ends every
//! running execution (they read FAILED afterwards), and with them every slot.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{ExportSlots, ExportSlotsError, Reservation};
use std::collections::HashMap;
use std::sync::Mutex;

/// One slot taken: the export holding it, and when it lapses.
#[derive(Debug)]
struct Held {
    export_id: String,
    expires_at: DateTime<Utc>,
}

/// Each owner's slots taken.
#[derive(Debug, Default)]
pub struct MemoryExportSlots {
    held: Mutex<HashMap<String, Vec<Held>>>,
}

#[async_trait]
impl ExportSlots for MemoryExportSlots {
    async fn reserve(
        &self,
        owner: &str,
        export_id: &str,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<Reservation, ExportSlotsError> {
        let now = Utc::now();
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slots = held.entry(owner.to_owned()).or_default();
        slots.retain(|held| held.expires_at > now);
        let count = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        if count >= limit {
            return Ok(Reservation::Full { held: count });
        }
        slots.push(Held {
            export_id: export_id.to_owned(),
            expires_at,
        });
        Ok(Reservation::Reserved)
    }

    async fn release(&self, owner: &str, export_id: &str) -> Result<(), ExportSlotsError> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slots) = held.get_mut(owner) {
            slots.retain(|held| held.export_id != export_id);
            if slots.is_empty() {
                held.remove(owner);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn memory_export_slots_keep_the_contract() {
        sde_core::testing::export_slots_contract(Arc::new(MemoryExportSlots::default())).await;
    }
}
