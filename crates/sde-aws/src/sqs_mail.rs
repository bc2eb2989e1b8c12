//! [`OnceMailer`] for the functions inside the VPC (`notify-real-time`, `send-digests`): SES's
//! API has no VPC endpoint, so they queue each email and the `send-mail` function, outside the
//! VPC, sends it through the delivery ledger (see [`sde_core::mail_once`]).
//!
//! A job travels in two parts. Its message is written to the exports bucket under `mail/`
//! (a daily digest of 50 posts of up to 2,000 characters, in text and HTML, can outgrow an SQS
//! message's 256 KiB), and the queue message is a [`MailTicket`]: the ledger key and the
//! object's name. `send-mail` reads the object, sends it at most once, and deletes it
//! ([`SqsMailQueue::deliver`]). Like every object of the bucket, a message left unsent (its
//! ticket in the dead-letter queue) expires by the bucket's lifecycle rule (`terraform/s3.tf`,
//! the exports' lifetime, a day by default): the personal data in it is not kept longer. A ticket
//! redriven after that finds its message gone and is dropped with a log line.

use crate::config::{QueueConfig, S3Config};
use crate::s3_json::JsonObjects;
use crate::sqs_queue::send_json;
use async_trait::async_trait;
use aws_config::SdkConfig;
use sde_core::{
    DeliveryError, Dispatched, MailJob, MailOnceError, OnceMailer, QueueError, QueueErrorKind,
    describe_chain,
};
use serde::{Deserialize, Serialize};
use tracing::warn;

/// The folder of the exports bucket queued messages wait in.
pub const MAIL_PREFIX: &str = "mail/";

/// One queued email on the wire: its ledger key and where its message waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailTicket {
    pub key: String,
    pub object: String,
}

/// What [`SqsMailQueue::deliver`] did with one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Sent now, or found sent by an earlier delivery: either way the message is gone.
    Done(Dispatched),
    /// The provider refused it (a bad address): not sent, and not to be retried.
    Refused,
    /// Its message is gone: an earlier delivery of the same ticket finished it (or, for a ticket
    /// redriven from the dead-letter queue too late, it expired unsent).
    AlreadyFinished,
}

/// The mail queue: messages in S3 under [`MAIL_PREFIX`], tickets on SQS.
#[derive(Debug, Clone)]
pub struct SqsMailQueue {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    messages: JsonObjects,
}

impl SqsMailQueue {
    /// Tickets go to `queue.queue_url`; messages to `s3.bucket` through `s3_client`.
    pub fn new(
        sdk: &SdkConfig,
        s3_client: aws_sdk_s3::Client,
        queue: QueueConfig,
        s3: &S3Config,
    ) -> Self {
        SqsMailQueue {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue.queue_url,
            messages: JsonObjects {
                client: s3_client,
                bucket: s3.bucket.clone(),
                encryption: s3.encryption.clone(),
            },
        }
    }

    /// Works one ticket off the queue (`send-mail`): reads its message, sends it at most once
    /// through `mail`, and deletes it. An error means the ticket should come back later.
    pub async fn deliver(
        &self,
        ticket: &MailTicket,
        mail: &dyn OnceMailer,
    ) -> Result<Delivered, MailOnceError> {
        if !ticket.object.starts_with(MAIL_PREFIX) {
            // Only what this queue wrote is read: a ticket may not point elsewhere in the bucket.
            return Err(QueueError::new(
                QueueErrorKind::Rejected,
                format!(
                    "a mail ticket names {:?}, outside {MAIL_PREFIX}",
                    ticket.object
                ),
            )
            .into());
        }
        let Some(message) = self.messages.get(&ticket.object).await.map_err(unqueued)? else {
            warn!(
                key = ticket.key,
                "a queued email's message is gone: sent by an earlier delivery, or expired unsent"
            );
            return Ok(Delivered::AlreadyFinished);
        };
        let job = MailJob {
            key: ticket.key.clone(),
            message,
        };
        let delivered = match mail.send_once(&job).await {
            Ok(dispatched) => Delivered::Done(dispatched),
            Err(error) if error.is_refused() => {
                warn!(key = job.key, error = %describe_chain(&error),
                      "the mail provider refused a queued email; not retried");
                Delivered::Refused
            }
            Err(error) => return Err(error),
        };
        if let Err(error) = self.messages.delete(&ticket.object).await {
            // Delivered; the lifecycle rule removes the object later.
            warn!(key = job.key, error = %describe_chain(&error),
                  "a delivered email's message could not be deleted");
        }
        Ok(delivered)
    }
}

/// A failure of the bucket as a failure to queue (never a refusal of the email itself).
fn unqueued(error: DeliveryError) -> MailOnceError {
    let kind = match error.kind {
        sde_core::DeliveryErrorKind::Unavailable => QueueErrorKind::Unavailable,
        _ => QueueErrorKind::Rejected,
    };
    QueueError::new(kind, "keeping a queued email's message")
        .with_source(error)
        .into()
}

#[async_trait]
impl OnceMailer for SqsMailQueue {
    /// Queues the email: its message to S3, then its ticket to SQS. The ledger is not asked: a
    /// job queued twice is sent once by `send-mail`.
    async fn send_once(&self, job: &MailJob) -> Result<Dispatched, MailOnceError> {
        let object = format!("{MAIL_PREFIX}{}.json", sde_core::ledger::claim_token());
        self.messages
            .put(&object, &job.message)
            .await
            .map_err(unqueued)?;
        let ticket = MailTicket {
            key: job.key.clone(),
            object,
        };
        send_json(&self.sqs, &self.queue_url, &ticket, "mail ticket").await?;
        Ok(Dispatched::Queued)
    }
}
