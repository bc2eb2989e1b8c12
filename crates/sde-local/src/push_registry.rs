//! Per-execution push records kept in memory: the local stand-in for the records AWS keeps in S3.

use async_trait::async_trait;
use sde_core::{DeliveryError, PendingDelivery, PushConnection, PushRegistry};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Records {
    connections: HashMap<String, PushConnection>,
    deliveries: HashMap<String, PendingDelivery>,
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
            .insert(execution_arn.to_owned(), connection.clone());
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
            .insert(execution_arn.to_owned(), delivery.clone());
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
}
