//! Per-execution push records kept in memory: the local stand-in for the records AWS keeps in S3
//! (whose lifecycle rule deletes them; here [`MemoryPushRegistry::forget_written_before`] does).

use crate::aging::AgingMap;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{DeliveryError, PendingDelivery, PushConnection, PushRegistry};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Records {
    connections: AgingMap<PushConnection>,
    deliveries: AgingMap<PendingDelivery>,
}

/// Push records by execution ARN.
#[derive(Debug, Default)]
pub struct MemoryPushRegistry {
    records: Mutex<Records>,
}

impl MemoryPushRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection waiting for the execution named `export_id`, found by the ARN's last
    /// segment (an execution ARN ends with `:<name>`).
    pub fn connection_for_export(&self, export_id: &str) -> Option<PushConnection> {
        let suffix = format!(":{export_id}");
        self.lock()
            .connections
            .iter()
            .find(|(arn, _)| arn.ends_with(&suffix))
            .map(|(_, c)| c.clone())
    }

    /// Forgets the records written before `cutoff`, except those of the executions
    /// `is_running` names by ARN; returns how many.
    pub fn forget_written_before(
        &self,
        cutoff: DateTime<Utc>,
        is_running: impl Fn(&str) -> bool,
    ) -> usize {
        let mut records = self.lock();
        records
            .connections
            .forget_written_before(cutoff, &is_running)
            + records
                .deliveries
                .forget_written_before(cutoff, &is_running)
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        let records = self.lock();
        records.connections.len() + records.deliveries.len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl PushRegistry for MemoryPushRegistry {
    async fn put_connection(
        &self,
        execution_arn: &str,
        connection: &PushConnection,
    ) -> Result<(), DeliveryError> {
        self.lock()
            .connections
            .insert(execution_arn, connection.clone());
        Ok(())
    }

    async fn connection(
        &self,
        execution_arn: &str,
    ) -> Result<Option<PushConnection>, DeliveryError> {
        Ok(self.lock().connections.get(execution_arn).cloned())
    }

    async fn put_delivery(
        &self,
        execution_arn: &str,
        delivery: &PendingDelivery,
    ) -> Result<(), DeliveryError> {
        self.lock()
            .deliveries
            .insert(execution_arn, delivery.clone());
        Ok(())
    }

    async fn delivery(
        &self,
        execution_arn: &str,
    ) -> Result<Option<PendingDelivery>, DeliveryError> {
        Ok(self.lock().deliveries.get(execution_arn).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_registry_keeps_the_push_registry_contract() {
        sde_core::testing::push_registry_contract(&MemoryPushRegistry::default()).await;
    }

    #[tokio::test]
    async fn records_are_forgotten_once_older_than_the_cutoff() {
        let registry = MemoryPushRegistry::default();
        sde_core::testing::push_registry_contract(&registry).await;
        let kept = registry.len();
        assert!(kept > 0, "the contract leaves records behind");
        let earlier = Utc::now() - chrono::Duration::hours(1);
        assert_eq!(registry.forget_written_before(earlier, |_| false), 0);
        assert_eq!(registry.len(), kept);
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(
            registry.forget_written_before(later, |_| true),
            0,
            "all running"
        );
        assert_eq!(registry.forget_written_before(later, |_| false), kept);
        assert!(registry.is_empty());
    }
}
