//! [`NotificationQueue`] on SQS: each job is one message, its body the job as JSON. The queue's
//! redrive policy (`deploy`: a dead-letter queue after a few receives) and the worker's partial
//! batch failures give the retries; the delivery ledger makes a redelivered job harmless.

use crate::config::QueueConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use sde_core::{NotificationQueue, QueueError, QueueErrorKind, RealTimeJob};

/// The notifications queue.
#[derive(Debug, Clone)]
pub struct SqsNotificationQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsNotificationQueue {
    /// Jobs go to `config.queue_url`.
    pub fn new(sdk: &SdkConfig, config: QueueConfig) -> Self {
        SqsNotificationQueue {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url: config.queue_url,
        }
    }
}

#[async_trait]
impl NotificationQueue for SqsNotificationQueue {
    async fn enqueue(&self, job: &RealTimeJob) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|error| {
            QueueError::new(QueueErrorKind::Rejected, "encoding a notification job")
                .with_source(error)
        })?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|error| {
                let kind = if fault(&error).transient {
                    QueueErrorKind::Unavailable
                } else {
                    QueueErrorKind::Rejected
                };
                QueueError::new(kind, "queueing a notification job").with_source(error)
            })?;
        Ok(())
    }
}
