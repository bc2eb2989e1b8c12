//! Small JSON records kept as S3 objects (push registry, progress board, queued mail).

use crate::config::Encryption;
use crate::errors::fault;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use sde_core::{DeliveryError, DeliveryErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Where the records live.
#[derive(Debug, Clone)]
pub(crate) struct JsonObjects {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub encryption: Encryption,
}

fn kind(transient: bool) -> DeliveryErrorKind {
    if transient {
        DeliveryErrorKind::Unavailable
    } else {
        DeliveryErrorKind::Rejected
    }
}

impl JsonObjects {
    /// Writes `value` as JSON to `key`, replacing what was there.
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(value).map_err(|error| {
            DeliveryError::new(DeliveryErrorKind::Io, format!("encoding {key}")).with_source(error)
        })?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match &self.encryption {
            Encryption::S3Managed => request.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms { key_id } => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
        };
        request.send().await.map_err(|error| {
            DeliveryError::new(kind(fault(&error).transient), format!("writing {key}"))
                .with_source(error)
        })?;
        Ok(())
    }

    /// Reads the JSON at `key`; a missing object is `None`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DeliveryError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                let fault = fault(&error);
                if fault.is("NoSuchKey") || fault.status == Some(404) {
                    return Ok(None);
                }
                return Err(
                    DeliveryError::new(kind(fault.transient), format!("reading {key}"))
                        .with_source(error),
                );
            }
        };
        let body = output.body.collect().await.map_err(|error| {
            DeliveryError::new(DeliveryErrorKind::Unavailable, format!("reading {key}"))
                .with_source(error)
        })?;
        let value = serde_json::from_slice(&body.into_bytes()).map_err(|error| {
            DeliveryError::new(DeliveryErrorKind::Io, format!("decoding {key}")).with_source(error)
        })?;
        Ok(Some(value))
    }

    /// Deletes the record at `key`; deleting one that is gone succeeds (S3 answers 204 either way).
    pub async fn delete(&self, key: &str) -> Result<(), DeliveryError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| {
                DeliveryError::new(kind(fault(&error).transient), format!("deleting {key}"))
                    .with_source(error)
            })?;
        Ok(())
    }
}
