//! The SQS events a function takes: a batch of notification jobs, worked one by one and answered
//! with the ids of the messages that failed (`ReportBatchItemFailures`), so SQS redelivers only
//! those, and moves one to the dead-letter queue after the queue's `maxReceiveCount`. A message
//! that is not a job is a failure too: it can never succeed, and the dead-letter queue is where
//! someone will look at it.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use sde_core::{RealTimeJob, describe_chain};
use sde_handlers::notify::{NotifyDeps, notify_real_time};
use tracing::error;

/// `notify-real-time`: mails the real-time subscribers of each job's post.
pub async fn notify_real_time_batch(event: SqsEvent, deps: NotifyDeps<'_>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.unwrap_or_default();
        let job: Result<RealTimeJob, _> =
            serde_json::from_str(message.body.as_deref().unwrap_or_default());
        let failed = match job {
            Ok(job) => notify_real_time(&job, deps)
                .await
                .err()
                .map(|failure| describe_chain(&failure)),
            Err(malformed) => Some(format!("not a notification job: {malformed}")),
        };
        if let Some(cause) = failed {
            error!(message = id, error = cause, "a notification message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::{MemoryLedger, MemorySubscriptions, RecordingMailer, WordMatcher};
    use sde_core::{SubscriptionKind, SubscriptionMatcher, SubscriptionTerm, Subscriptions};

    const EVENT: &str = include_str!("../../../tests/fixtures/sqs/notify-real-time.json");

    #[tokio::test]
    async fn a_batch_answers_only_the_messages_that_failed_and_a_redelivery_mails_no_one_twice() {
        let (matcher, subscriptions) = (WordMatcher::default(), MemorySubscriptions::default());
        let (ledger, mailer) = (MemoryLedger::default(), RecordingMailer::default());
        let term = SubscriptionTerm::parse("aurora").unwrap();
        subscriptions
            .set_address("ada", "ada@example.com")
            .await
            .unwrap();
        subscriptions
            .add("ada", SubscriptionKind::RealTime, &term, 50)
            .await
            .unwrap();
        matcher.subscribed("ada", &term).await.unwrap();
        let deps = NotifyDeps {
            matcher: &matcher,
            subscriptions: &subscriptions,
            ledger: &ledger,
            mailer: &mailer,
            site: "https://sde.example.com",
            unsubscribe: &sde_core::UnsubscribeLinks::new(
                &sde_core::SigningKey::generate(),
                "https://api.example.com/prod",
            ),
        };
        for _ in 0..2 {
            let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
            let response = notify_real_time_batch(event, deps).await;
            let failed: Vec<&str> = response
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.as_str())
                .collect();
            assert_eq!(
                failed,
                ["2e1424d4-f796-459a-8184-9c92662be6da"],
                "the malformed one"
            );
        }
        let sent = mailer.sent();
        assert_eq!(sent.len(), 1, "delivered twice, mailed once");
        assert_eq!(sent[0].to, "ada@example.com");
        assert!(sent[0].text.contains("Aurora tonight over the bay"));
    }
}
