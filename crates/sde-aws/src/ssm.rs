//! Secrets read from SSM Parameter Store at cold start (the Elasticsearch password), held in
//! [`Secret`], which never prints them.

use crate::errors::fault;
use aws_config::SdkConfig;
use sde_core::Secret;

/// Reading a secret failed.
#[derive(Debug, thiserror::Error)]
#[error("reading ssm parameter {parameter}{}", if *.transient { " (transient)" } else { "" })]
pub struct SecretError {
    /// The parameter's name.
    pub parameter: String,
    /// Trying again may succeed.
    pub transient: bool,
    #[source]
    source: Option<sde_core::BoxError>,
}

/// Reads `SecureString` parameters, decrypted.
#[derive(Debug, Clone)]
pub struct SsmSecret {
    client: aws_sdk_ssm::Client,
}

impl SsmSecret {
    /// A reader in `sdk`'s region.
    pub fn new(sdk: &SdkConfig) -> Self {
        SsmSecret {
            client: aws_sdk_ssm::Client::new(sdk),
        }
    }

    /// The decrypted value of the parameter `name`.
    pub async fn read(&self, name: &str) -> Result<Secret, SecretError> {
        let output = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| SecretError {
                parameter: name.to_owned(),
                transient: fault(&error).transient,
                source: Some(error.into()),
            })?;
        output
            .parameter()
            .and_then(|parameter| parameter.value())
            .map(Secret::new)
            .ok_or_else(|| SecretError {
                parameter: name.to_owned(),
                transient: false,
                source: None,
            })
    }
}
