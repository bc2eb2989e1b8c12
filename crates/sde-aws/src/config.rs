//! Typed settings of the AWS adapters, read once from the environment at cold start and
//! validated there, so a misconfigured function fails at once with the variable's name.
//!
//! Each function reads only the settings of the adapters it uses. The reader and its error are
//! `sde_core`'s ([`Settings`], [`ConfigError`] = [`sde_core::SettingsError`]), shared with the
//! Elasticsearch configuration; they are re-exported here under the names the function
//! builders use.

/// Smallest part S3 accepts for every part but the last (5 MiB).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Largest part S3 accepts (5 GiB).
const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// Default part size: large enough for few requests, small enough for a 128 MiB Lambda.
const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// Default number of parts uploaded at once.
const DEFAULT_PARTS_IN_FLIGHT: usize = 4;

pub use sde_core::settings::{Settings, SettingsError as ConfigError};

fn env(variable: &str) -> Option<String> {
    sde_core::settings::env(variable)
}

/// Server-side encryption of the objects we write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (`AES256`).
    S3Managed,
    /// SSE-KMS with this key (id, ARN or alias).
    Kms {
        /// The KMS key id, ARN or alias.
        key_id: String,
    },
}

/// Settings of [`S3Store`](crate::S3Store), [`S3PushRegistry`](crate::S3PushRegistry) and
/// [`S3ProgressBoard`](crate::S3ProgressBoard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `SDE_EXPORTS_BUCKET`: the private bucket exports (and push/progress records) live in.
    pub bucket: String,
    /// `SDE_SSE_KMS_KEY_ID` (optional): SSE-KMS with that key; SSE-S3 without it.
    pub encryption: Encryption,
    /// `SDE_PART_SIZE` (optional, bytes, 5 MiB–5 GiB, default 8 MiB).
    pub part_size: usize,
    /// `SDE_PARTS_IN_FLIGHT` (optional, 1–64, default 4): parts uploaded concurrently.
    pub parts_in_flight: usize,
}

impl S3Config {
    /// Settings for `bucket` with every default (SSE-S3, 8 MiB parts, 4 in flight).
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            encryption: Encryption::S3Managed,
            part_size: DEFAULT_PART_SIZE,
            parts_in_flight: DEFAULT_PARTS_IN_FLIGHT,
        }
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings = Settings(lookup);
        let bucket = settings.required("SDE_EXPORTS_BUCKET", "my-exports-bucket")?;
        let encryption = match settings.optional("SDE_SSE_KMS_KEY_ID") {
            Some(key_id) => Encryption::Kms { key_id },
            None => Encryption::S3Managed,
        };
        Ok(S3Config {
            bucket,
            encryption,
            part_size: settings.number(
                "SDE_PART_SIZE",
                DEFAULT_PART_SIZE,
                MIN_PART_SIZE..=MAX_PART_SIZE,
            )?,
            parts_in_flight: settings.number(
                "SDE_PARTS_IN_FLIGHT",
                DEFAULT_PARTS_IN_FLIGHT,
                1..=64,
            )?,
        })
    }
}

/// Settings of [`SesMailer`](crate::SesMailer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesConfig {
    /// `SDE_MAIL_FROM`: the verified sender, e.g. `Exports <exports@example.com>`.
    pub from: String,
    /// `SDE_SES_CONFIGURATION_SET` (optional): the configuration set to send through.
    pub configuration_set: Option<String>,
}

impl SesConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings = Settings(lookup);
        let from = settings.required("SDE_MAIL_FROM", "exports@example.com")?;
        if !from.contains('@') {
            return Err(ConfigError::new(
                "SDE_MAIL_FROM",
                format!("must be an email address, got {from:?}"),
            ));
        }
        Ok(SesConfig {
            from,
            configuration_set: settings.optional("SDE_SES_CONFIGURATION_SET"),
        })
    }
}

/// Settings of [`SfnWorkflow`](crate::SfnWorkflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfnConfig {
    /// `SDE_STATE_MACHINE_ARN`: the export state machine.
    pub state_machine_arn: String,
}

impl SfnConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings = Settings(lookup);
        let state_machine_arn = settings.required(
            "SDE_STATE_MACHINE_ARN",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:download-request",
        )?;
        if !state_machine_arn.starts_with("arn:") || !state_machine_arn.contains(":stateMachine:") {
            return Err(ConfigError::new(
                "SDE_STATE_MACHINE_ARN",
                format!("must be a state machine ARN, got {state_machine_arn:?}"),
            ));
        }
        Ok(SfnConfig { state_machine_arn })
    }
}

/// Settings of [`DynamoDbExportSlots`](crate::DynamoDbExportSlots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotsConfig {
    /// `SDE_EXPORT_SLOTS_TABLE`: the DynamoDB table of export slots (partition key `owner`,
    /// string; sort key `slot`, number; TTL attribute `expiresAt`).
    pub table: String,
}

impl SlotsConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = Settings(lookup).required("SDE_EXPORT_SLOTS_TABLE", "sde-dev-export-slots")?;
        Ok(SlotsConfig { table })
    }
}

/// Settings of [`DynamoDbDeliveryLedger`](crate::DynamoDbDeliveryLedger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerConfig {
    /// `SDE_DELIVERIES_TABLE`: the DynamoDB table of the delivery ledger (partition key `key`,
    /// string; TTL attribute `expiresAt`).
    pub table: String,
}

impl LedgerConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = Settings(lookup).required("SDE_DELIVERIES_TABLE", "sde-dev-deliveries")?;
        Ok(LedgerConfig { table })
    }
}

/// Settings of [`SqsNotificationQueue`](crate::SqsNotificationQueue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// The SQS queue the jobs go to: `SDE_NOTIFICATIONS_QUEUE_URL` for real-time notification
    /// jobs, `SDE_DIGESTS_QUEUE_URL` for daily digest jobs, `SDE_MAIL_QUEUE_URL` for emails
    /// queued for `send-mail`.
    pub queue_url: String,
}

impl QueueConfig {
    /// Reads the notifications queue's settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the notifications queue's settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(
            lookup,
            "SDE_NOTIFICATIONS_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/sde-dev-notifications",
        )
    }

    /// Reads the digests queue's settings from the process environment.
    pub fn digests_from_env() -> Result<Self, ConfigError> {
        Self::digests_from_lookup(env)
    }

    /// Reads the digests queue's settings (`SDE_DIGESTS_QUEUE_URL`) through `lookup`.
    pub fn digests_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::read(
            lookup,
            "SDE_DIGESTS_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/sde-dev-digests",
        )
    }

    /// Reads the mail queue's settings from the process environment.
    pub fn mail_from_env() -> Result<Self, ConfigError> {
        Self::mail_from_lookup(env)
    }

    /// Reads the mail queue's settings (`SDE_MAIL_QUEUE_URL`) through `lookup`.
    pub fn mail_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(
            lookup,
            "SDE_MAIL_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/sde-dev-mail",
        )
    }

    fn read(
        lookup: impl Fn(&str) -> Option<String>,
        variable: &'static str,
        example: &'static str,
    ) -> Result<Self, ConfigError> {
        let queue_url = Settings(lookup).required(variable, example)?;
        if !queue_url.starts_with("https://") && !queue_url.starts_with("http://") {
            return Err(ConfigError::new(
                variable,
                format!("must be a queue URL, got {queue_url:?}"),
            ));
        }
        Ok(QueueConfig { queue_url })
    }
}

/// Settings of [`DynamoDbSubscriptions`](crate::DynamoDbSubscriptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionsConfig {
    /// `SDE_SUBSCRIPTIONS_TABLE`: the DynamoDB table of subscriptions (keys `pk` and `sk`,
    /// strings; index `by-kind` on `kind` and `subscriber`).
    pub table: String,
}

impl SubscriptionsConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table =
            Settings(lookup).required("SDE_SUBSCRIPTIONS_TABLE", "sde-dev-subscriptions")?;
        Ok(SubscriptionsConfig { table })
    }
}

/// Settings of [`ApiGatewayPushChannel`](crate::ApiGatewayPushChannel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    /// `SDE_WEBSOCKET_ENDPOINT`: the management endpoint of the WebSocket API,
    /// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`.
    pub endpoint: String,
}

impl PushConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let settings = Settings(lookup);
        let endpoint = settings.required(
            "SDE_WEBSOCKET_ENDPOINT",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        )?;
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(ConfigError::new(
                "SDE_WEBSOCKET_ENDPOINT",
                format!("must be an http(s) URL, got {endpoint:?}"),
            ));
        }
        Ok(PushConfig { endpoint })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use sde_core::testing::settings_lookup as lookup;

    #[test]
    fn the_digests_queue_is_its_own_setting() {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/sde-dev-digests";
        let config =
            QueueConfig::digests_from_lookup(lookup(&[("SDE_DIGESTS_QUEUE_URL", url)])).unwrap();
        assert_eq!(config.queue_url, url);
        let notifications = lookup(&[("SDE_NOTIFICATIONS_QUEUE_URL", url)]);
        let missing = QueueConfig::digests_from_lookup(notifications).unwrap_err();
        assert!(
            missing.to_string().contains("SDE_DIGESTS_QUEUE_URL"),
            "{missing}"
        );
        let bad = QueueConfig::digests_from_lookup(lookup(&[("SDE_DIGESTS_QUEUE_URL", "digests")]))
            .unwrap_err();
        assert!(bad.to_string().contains("must be a queue URL"), "{bad}");
    }

    #[test]
    fn s3_settings_default_to_sse_s3_and_8_mib_parts() {
        let config = S3Config::from_lookup(lookup(&[("SDE_EXPORTS_BUCKET", "exports")])).unwrap();
        assert_eq!(config, S3Config::new("exports"));
        assert_eq!(config.part_size, 8 * 1024 * 1024);
        assert_eq!(config.parts_in_flight, 4);
    }

    #[test]
    fn a_kms_key_id_selects_sse_kms() {
        let config = S3Config::from_lookup(lookup(&[
            ("SDE_EXPORTS_BUCKET", "exports"),
            ("SDE_SSE_KMS_KEY_ID", "alias/exports"),
            ("SDE_PART_SIZE", "16777216"),
        ]))
        .unwrap();
        assert_eq!(
            config.encryption,
            Encryption::Kms {
                key_id: "alias/exports".into()
            }
        );
        assert_eq!(config.part_size, 16 * 1024 * 1024);
    }

    #[test]
    fn errors_name_the_variable_at_fault() {
        let missing = S3Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(missing.variable, "SDE_EXPORTS_BUCKET");
        assert_eq!(
            missing.to_string(),
            "SDE_EXPORTS_BUCKET: must be set, e.g. my-exports-bucket"
        );

        let small = S3Config::from_lookup(lookup(&[
            ("SDE_EXPORTS_BUCKET", "b"),
            ("SDE_PART_SIZE", "1000"),
        ]))
        .unwrap_err();
        assert_eq!(small.variable, "SDE_PART_SIZE");
        assert!(small.to_string().contains("got 1000"), "{small}");

        let garbage = S3Config::from_lookup(lookup(&[
            ("SDE_EXPORTS_BUCKET", "b"),
            ("SDE_PARTS_IN_FLIGHT", "many"),
        ]))
        .unwrap_err();
        assert_eq!(garbage.variable, "SDE_PARTS_IN_FLIGHT");

        let blank = SesConfig::from_lookup(lookup(&[("SDE_MAIL_FROM", "  ")])).unwrap_err();
        assert_eq!(blank.variable, "SDE_MAIL_FROM");
        let not_an_address =
            SesConfig::from_lookup(lookup(&[("SDE_MAIL_FROM", "nobody")])).unwrap_err();
        assert_eq!(not_an_address.variable, "SDE_MAIL_FROM");

        let arn =
            SfnConfig::from_lookup(lookup(&[("SDE_STATE_MACHINE_ARN", "exports")])).unwrap_err();
        assert_eq!(arn.variable, "SDE_STATE_MACHINE_ARN");

        let endpoint =
            PushConfig::from_lookup(lookup(&[("SDE_WEBSOCKET_ENDPOINT", "ws://x")])).unwrap_err();
        assert_eq!(endpoint.variable, "SDE_WEBSOCKET_ENDPOINT");

        let table = SlotsConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(table.variable, "SDE_EXPORT_SLOTS_TABLE");
        let table = SubscriptionsConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(table.variable, "SDE_SUBSCRIPTIONS_TABLE");
    }

    #[test]
    fn optional_settings_are_read_when_present() {
        let ses = SesConfig::from_lookup(lookup(&[
            ("SDE_MAIL_FROM", "Exports <exports@example.com>"),
            ("SDE_SES_CONFIGURATION_SET", "exports"),
        ]))
        .unwrap();
        assert_eq!(ses.configuration_set.as_deref(), Some("exports"));
        let push = PushConfig::from_lookup(lookup(&[(
            "SDE_WEBSOCKET_ENDPOINT",
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
        )]))
        .unwrap();
        assert_eq!(
            push.endpoint,
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
        );
        let slots =
            SlotsConfig::from_lookup(lookup(&[("SDE_EXPORT_SLOTS_TABLE", "sde-ci-export-slots")]))
                .unwrap();
        assert_eq!(slots.table, "sde-ci-export-slots");
    }
}
