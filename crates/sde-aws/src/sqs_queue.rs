//! [`NotificationQueue`] and [`DigestQueue`] on SQS: each job is one message, its body the job as
//! JSON; one type serves both, pointed at the notifications or the digests queue. The queue's
//! redrive policy (`deploy`: a dead-letter queue after a few receives) and the worker's partial
//! batch failures give the retries; the delivery ledger makes a redelivered job harmless.

use crate::config::QueueConfig;
use crate::errors::fault;
use async_trait::async_trait;
use aws_config::SdkConfig;
use sde_core::{
    DigestJob, DigestQueue, NotificationQueue, QueueError, QueueErrorKind, RealTimeJob,
};
use serde::Serialize;

/// The notifications queue (real-time jobs) or the digests queue (daily digest jobs).
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

    async fn send(&self, job: &impl Serialize, what: &str) -> Result<(), QueueError> {
        send_json(&self.client, &self.queue_url, job, what).await
    }
}

/// Sends `job` as one JSON message to `queue_url`; `what` names it in errors.
pub(crate) async fn send_json(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    job: &impl Serialize,
    what: &str,
) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).map_err(|error| {
        QueueError::new(QueueErrorKind::Rejected, format!("encoding a {what}")).with_source(error)
    })?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|error| {
            let kind = if fault(&error).transient {
                QueueErrorKind::Unavailable
            } else {
                QueueErrorKind::Rejected
            };
            QueueError::new(kind, format!("queueing a {what}")).with_source(error)
        })?;
    Ok(())
}

#[async_trait]
impl NotificationQueue for SqsNotificationQueue {
    async fn enqueue(&self, job: &RealTimeJob) -> Result<(), QueueError> {
        self.send(job, "notification job").await
    }
}

#[async_trait]
impl DigestQueue for SqsNotificationQueue {
    async fn enqueue_digest(&self, job: &DigestJob) -> Result<(), QueueError> {
        self.send(job, "daily digest job").await
    }
}
