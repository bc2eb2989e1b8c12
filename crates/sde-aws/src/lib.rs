//! The AWS adapters of the sde core traits: [`S3Store`] ([`ObjectStore`](sde_core::ObjectStore)),
//! [`SesMailer`] ([`Mailer`](sde_core::Mailer)), [`SfnWorkflow`] ([`Workflow`](sde_core::Workflow)),
//! [`DynamoDbExportSlots`] ([`ExportSlots`](sde_core::ExportSlots)), [`DynamoDbSubscriptions`]
//! ([`Subscriptions`](sde_core::Subscriptions)), [`DynamoDbDeliveryLedger`]
//! ([`DeliveryLedger`](sde_core::DeliveryLedger)), [`SqsNotificationQueue`]
//! ([`NotificationQueue`](sde_core::NotificationQueue)), [`SqsMailQueue`]
//! ([`OnceMailer`](sde_core::OnceMailer), for functions inside the VPC),
//! [`ApiGatewayPushChannel`] ([`PushChannel`](sde_core::PushChannel)), [`S3PushRegistry`]
//! ([`PushRegistry`](sde_core::PushRegistry)) and [`S3ProgressBoard`]
//! ([`ProgressBoard`](sde_core::ProgressBoard)), plus the typed configuration they are built
//! from and [`SsmSecret`] for secrets read at cold start.
//!
//! A Lambda binary loads one [`aws_config::SdkConfig`] with [`load_sdk_config`], its settings
//! with the `*Config::from_env` of what it uses, and builds only the adapters it needs.

mod config;
mod dynamodb_ledger;
mod dynamodb_slots;
mod dynamodb_subscriptions;
mod errors;
mod progress;
mod push;
mod registry;
mod s3_compose;
mod s3_json;
mod s3_store;
mod sdk;
mod ses;
mod sfn;
mod sqs_mail;
mod sqs_queue;
mod ssm;

pub use config::{
    ConfigError, Encryption, LedgerConfig, MIN_PART_SIZE, PushConfig, QueueConfig, S3Config,
    SesConfig, Settings, SfnConfig, SlotsConfig, SubscriptionsConfig,
};
pub use dynamodb_ledger::DynamoDbDeliveryLedger;
pub use dynamodb_slots::DynamoDbExportSlots;
pub use dynamodb_subscriptions::DynamoDbSubscriptions;
pub use progress::S3ProgressBoard;
pub use push::ApiGatewayPushChannel;
pub use registry::S3PushRegistry;
pub use s3_store::S3Store;
pub use sdk::{load_sdk_config, s3_client, sdk_config_for_endpoint};
pub use ses::SesMailer;
pub use sfn::SfnWorkflow;
pub use sqs_mail::{Delivered, MAIL_PREFIX, MailTicket, SqsMailQueue};
pub use sqs_queue::SqsNotificationQueue;
pub use ssm::{SecretError, SsmSecret};
