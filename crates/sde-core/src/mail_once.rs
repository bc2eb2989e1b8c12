//! Subscription emails go out at most once each. Every one carries its [`DeliveryLedger`] key
//! (`realtime#<user>#<post id>`, `daily#<user>#<day>`: see [`crate::ledger`]), and a
//! [`OnceMailer`] sends it unless the ledger holds that key as sent.
//!
//! Two implementations:
//! - [`LedgerMailer`] sends now: claim the key → send → mark it sent (or release it when the send
//!   failed). The local stack mails this way.
//! - On AWS the functions that compose subscription emails run inside the VPC (they read
//!   OpenSearch), where SES's API cannot be reached. They hand each email, as a [`MailJob`], to a
//!   mail queue (`sde_aws::SqsMailQueue`, answering [`Dispatched::Queued`]); the `send-mail`
//!   function, outside the VPC, works that queue with a [`LedgerMailer`]. Queueing does not
//!   consult the ledger: a job queued twice is still sent once, by whichever delivery claims it.

use crate::delivery::{DeliveryError, DeliveryErrorKind, EmailMessage, Mailer};
use crate::ledger::{Claim, DeliveryLedger, LedgerError};
use crate::notification::QueueError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use tracing::warn;

/// How long a claim keeps other deliveries of the same key out: far above the time one send
/// takes, and below every mail queue's redelivery delay (its visibility timeout), so a retry
/// finds a crashed sender's lease gone.
pub const LEASE: Duration = Duration::minutes(2);
/// How long a key is remembered: longer than a job can stay on a queue (SQS keeps a message at
/// most 14 days).
pub const KEEP: Duration = Duration::days(15);

/// One email to send at most once under its ledger key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    pub key: String,
    pub message: EmailMessage,
}

/// What [`OnceMailer::send_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    /// Sent now; the provider's message id, for the logs.
    Sent { message_id: String },
    /// An earlier delivery sent it: nothing was sent now.
    AlreadySent,
    /// Handed to a mail queue, whose worker sends it at most once.
    Queued,
}

/// Why an email was not sent (or queued) now.
#[derive(Debug, thiserror::Error)]
pub enum MailOnceError {
    #[error("keeping the delivery ledger")]
    Ledger(#[from] LedgerError),
    #[error("another delivery holds {key} until {until}")]
    InProgress { key: String, until: DateTime<Utc> },
    #[error("sending the email")]
    Mail(#[from] DeliveryError),
    #[error("queueing the email")]
    Queue(#[from] QueueError),
}

impl MailOnceError {
    /// The provider refused the message itself (a bad address): sending it again would be
    /// refused the same way, so it is not retried. Every other failure may pass on a retry.
    pub fn is_refused(&self) -> bool {
        matches!(self, MailOnceError::Mail(error) if error.kind == DeliveryErrorKind::Rejected)
    }
}

/// Sends emails, each at most once under its ledger key.
#[async_trait]
pub trait OnceMailer: Send + Sync + fmt::Debug {
    /// Sends (or queues) `job.message` unless the ledger holds `job.key` as sent.
    async fn send_once(&self, job: &MailJob) -> Result<Dispatched, MailOnceError>;
}

/// Sends now, through a ledger: claim → send → mark sent; released when the send fails, so the
/// next delivery may send at once. See [`crate::ledger`] for the one window left (a crash
/// between the provider's acceptance and the mark).
#[derive(Debug, Clone)]
pub struct LedgerMailer {
    ledger: Arc<dyn DeliveryLedger>,
    mailer: Arc<dyn Mailer>,
}

impl LedgerMailer {
    pub fn new(ledger: Arc<dyn DeliveryLedger>, mailer: Arc<dyn Mailer>) -> Self {
        LedgerMailer { ledger, mailer }
    }
}

#[async_trait]
impl OnceMailer for LedgerMailer {
    async fn send_once(&self, job: &MailJob) -> Result<Dispatched, MailOnceError> {
        let key = &job.key;
        let now = Utc::now();
        let token = match self.ledger.claim(key, now + LEASE, now + KEEP).await? {
            Claim::Claimed { token } => token,
            Claim::AlreadySent => return Ok(Dispatched::AlreadySent),
            Claim::InProgress { until } => {
                return Err(MailOnceError::InProgress {
                    key: key.clone(),
                    until,
                });
            }
        };
        match self.mailer.send(&job.message).await {
            Ok(message_id) => {
                if let Err(error) = self.ledger.mark_sent(key, Utc::now() + KEEP).await {
                    // Sent: failing now would not unsend it. The lease keeps redeliveries out
                    // for its length; past it, one more could send again.
                    warn!(key, error = %crate::describe_chain(&error),
                          "a sent email could not be marked sent");
                }
                Ok(Dispatched::Sent { message_id })
            }
            Err(error) => {
                if let Err(release) = self.ledger.release(key, &token).await {
                    warn!(key, error = %crate::describe_chain(&release),
                          "a failed email's claim could not be released; it lapses with its lease");
                }
                Err(error.into())
            }
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{MemoryLedger, RecordingMailer};

    fn job(key: &str, to: &str) -> MailJob {
        MailJob {
            key: key.into(),
            message: EmailMessage {
                to: to.into(),
                subject: "New posts".into(),
                text: "text".into(),
                html: "<p>html</p>".into(),
                unsubscribe: None,
            },
        }
    }

    fn parts() -> (Arc<MemoryLedger>, Arc<RecordingMailer>, LedgerMailer) {
        let (ledger, mailer) = (
            Arc::new(MemoryLedger::default()),
            Arc::new(RecordingMailer::default()),
        );
        let once = LedgerMailer::new(ledger.clone(), mailer.clone());
        (ledger, mailer, once)
    }

    #[tokio::test]
    async fn a_job_sent_twice_reaches_the_inbox_once_and_is_recorded_sent() {
        let (ledger, mailer, once) = parts();
        let first = once.send_once(&job("k1", "ada@example.com")).await.unwrap();
        assert!(matches!(first, Dispatched::Sent { .. }), "{first:?}");
        let again = once.send_once(&job("k1", "ada@example.com")).await.unwrap();
        assert_eq!(again, Dispatched::AlreadySent);
        assert_eq!(mailer.sent().len(), 1);
        assert!(ledger.sent().contains("k1"));
    }

    #[tokio::test]
    async fn a_failed_send_releases_its_claim_so_the_retry_sends() {
        let (ledger, mailer, once) = parts();
        mailer.fail_for("ada@example.com", true);
        let failed = once.send_once(&job("k1", "ada@example.com")).await;
        let error = failed.unwrap_err();
        assert!(
            !error.is_refused(),
            "an unavailable provider is retried: {error}"
        );
        assert!(ledger.sent().is_empty());
        mailer.fail_for("ada@example.com", false);
        let retried = once.send_once(&job("k1", "ada@example.com")).await.unwrap();
        assert!(matches!(retried, Dispatched::Sent { .. }), "{retried:?}");
        assert_eq!(mailer.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_key_another_delivery_holds_is_neither_sent_nor_given_up() {
        let (ledger, mailer, once) = parts();
        let now = Utc::now();
        ledger.claim("k1", now + LEASE, now + KEEP).await.unwrap();
        let error = once
            .send_once(&job("k1", "ada@example.com"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, MailOnceError::InProgress { ref key, .. } if key == "k1"),
            "{error}"
        );
        assert!(!error.is_refused());
        assert!(mailer.sent().is_empty());
    }

    #[test]
    fn only_a_refused_message_counts_as_refused() {
        let refused: MailOnceError =
            DeliveryError::new(DeliveryErrorKind::Rejected, "sending").into();
        let unavailable: MailOnceError =
            DeliveryError::new(DeliveryErrorKind::Unavailable, "sending").into();
        assert!(refused.is_refused());
        assert!(!unavailable.is_refused());
    }

    #[test]
    fn a_job_travels_as_json_unchanged() {
        let mut sent = job("daily#ada#2026-11-30", "ada@example.com");
        sent.message.unsubscribe = Some("https://api.example.com/unsubscribe?x=1".into());
        let wire = serde_json::to_string(&sent).unwrap();
        assert_eq!(serde_json::from_str::<MailJob>(&wire).unwrap(), sent);
    }
}
