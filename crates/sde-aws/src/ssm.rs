//! Secrets read from SSM Parameter Store at cold start (the Elasticsearch password), held in
//! a type that never prints them.

use crate::errors::fault;
use aws_config::SdkConfig;
use std::fmt;

/// A secret value. `Debug` and `Display` show `<redacted>`; only [`expose`](Self::expose)
/// gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself: pass it on, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
    pub async fn read(&self, name: &str) -> Result<SecretString, SecretError> {
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
            .map(SecretString::new)
            .ok_or_else(|| SecretError {
                parameter: name.to_owned(),
                transient: false,
                source: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = SecretString::new("hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }
}
