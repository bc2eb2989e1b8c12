//! [`PushRegistry`] on S3: one folder of JSON records per execution in the exports bucket.
//!
//! The registry's protocol (each side writes its record, then reads the other's) needs a
//! store that reads its own writes; S3 has been strongly read-after-write consistent for
//! every PUT and GET since December 2020.

use crate::config::S3Config;
use crate::s3_json::JsonObjects;
use async_trait::async_trait;
use sde_core::{DeliveryError, PendingDelivery, PushConnection, PushRegistry};
use sha2::{Digest, Sha256};

/// Push records under `push/<sha256(execution ARN) hex>/{connection,delivery}.json`. Hashing
/// keeps keys short and of a safe shape whatever the ARN holds.
#[derive(Debug, Clone)]
pub struct S3PushRegistry {
    objects: JsonObjects,
}

impl S3PushRegistry {
    /// A registry in `config.bucket`, written with `config.encryption`.
    pub fn new(client: aws_sdk_s3::Client, config: &S3Config) -> Self {
        S3PushRegistry {
            objects: JsonObjects {
                client,
                bucket: config.bucket.clone(),
                encryption: config.encryption.clone(),
            },
        }
    }

    /// Key of the record `name` of `execution_arn`.
    fn key(execution_arn: &str, name: &str) -> String {
        let digest = Sha256::digest(execution_arn.as_bytes());
        format!("push/{}/{name}.json", hex::encode(digest))
    }
}

#[async_trait]
impl PushRegistry for S3PushRegistry {
    async fn put_connection(
        &self,
        execution_arn: &str,
        connection: &PushConnection,
    ) -> Result<(), DeliveryError> {
        self.objects
            .put(&Self::key(execution_arn, "connection"), connection)
            .await
    }

    async fn connection(
        &self,
        execution_arn: &str,
    ) -> Result<Option<PushConnection>, DeliveryError> {
        self.objects
            .get(&Self::key(execution_arn, "connection"))
            .await
    }

    async fn put_delivery(
        &self,
        execution_arn: &str,
        delivery: &PendingDelivery,
    ) -> Result<(), DeliveryError> {
        self.objects
            .put(&Self::key(execution_arn, "delivery"), delivery)
            .await
    }

    async fn delivery(
        &self,
        execution_arn: &str,
    ) -> Result<Option<PendingDelivery>, DeliveryError> {
        self.objects
            .get(&Self::key(execution_arn, "delivery"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_keyed_by_a_hash_of_the_execution() {
        let key = S3PushRegistry::key("arn:aws:states:eu-west-1:1:execution:sm:run-1", "delivery");
        assert!(key.starts_with("push/") && key.ends_with("/delivery.json"));
        assert_eq!(key.len(), "push/".len() + 64 + "/delivery.json".len());
        assert!(sde_core::ObjectKey::new(key.clone()).is_ok());
        assert_ne!(
            key,
            S3PushRegistry::key("arn:aws:states:eu-west-1:1:execution:sm:run-2", "delivery")
        );
    }
}
