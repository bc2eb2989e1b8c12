//! The SQS events a function takes: a batch of notification jobs (of daily digest jobs, of mail
//! tickets), worked one by one and answered
//! with the ids of the messages that failed (`ReportBatchItemFailures`), so SQS redelivers only
//! those, and moves one to the dead-letter queue after the queue's `maxReceiveCount`. A message
//! that is not a job is a failure too: it can never succeed, and the dead-letter queue is where
//! someone will look at it.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::Utc;
use sde_aws::{MailTicket, SqsMailQueue};
use sde_core::{DigestJob, OnceMailer, RealTimeJob, describe_chain};
use sde_handlers::digests::{DigestDays, DigestDeps, send_digest_job};
use sde_handlers::notify::{NotifyDeps, notify_real_time};
use serde::de::DeserializeOwned;
use std::future::Future;
use tracing::error;

/// Works each message of `event` as a `J` with `work` (its failure's description, if any), and
/// answers the ids of the messages that failed or were not a `J` (`what` names it in the log).
async fn work_batch<J, F, Fut>(event: SqsEvent, what: &str, work: F) -> SqsBatchResponse
where
    J: DeserializeOwned,
    F: Fn(J) -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.unwrap_or_default();
        let job: Result<J, _> = serde_json::from_str(message.body.as_deref().unwrap_or_default());
        let failed = match job {
            Ok(job) => work(job).await,
            Err(malformed) => Some(format!("not a {what}: {malformed}")),
        };
        if let Some(cause) = failed {
            error!(message = id, error = cause, "a {what} message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// `notify-real-time`: mails the real-time subscribers of each job's post.
pub async fn notify_real_time_batch(event: SqsEvent, deps: NotifyDeps<'_>) -> SqsBatchResponse {
    work_batch(event, "notification job", |job: RealTimeJob| async move {
        notify_real_time(&job, deps)
            .await
            .err()
            .map(|failure| describe_chain(&failure))
    })
    .await
}

/// `send-mail`: sends each ticket's email at most once. A refused email is finished (logged, not
/// retried); one another delivery is sending, or one that failed, is answered as failed, so SQS
/// brings the ticket back later.
pub async fn send_mail_batch(
    event: SqsEvent,
    queue: &SqsMailQueue,
    mail: &dyn OnceMailer,
) -> SqsBatchResponse {
    work_batch(event, "mail ticket", |ticket: MailTicket| async move {
        queue
            .deliver(&ticket, mail)
            .await
            .err()
            .map(|failure| describe_chain(&failure))
    })
    .await
}

/// `send-digests`: mails each job's user their digest of its day. A digest another delivery is
/// sending, or one that failed, is answered as failed, so SQS brings the job back later.
pub async fn send_digests_batch(
    event: SqsEvent,
    deps: DigestDeps<'_>,
    days: &DigestDays,
) -> SqsBatchResponse {
    work_batch(event, "daily digest job", |job: DigestJob| async move {
        send_digest_job(deps, days, &job, Utc::now())
            .await
            .err()
            .map(|failure| describe_chain(&failure))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::{MemoryLedger, MemorySubscriptions, RecordingMailer, WordMatcher};
    use sde_core::{
        LedgerMailer, SubscriptionKind, SubscriptionMatcher, SubscriptionTerm, Subscriptions,
    };
    use std::sync::Arc;

    const EVENT: &str = include_str!("../../../tests/fixtures/sqs/notify-real-time.json");
    const DIGESTS: &str = include_str!("../../../tests/fixtures/sqs/send-digests.json");

    #[tokio::test]
    async fn a_batch_answers_only_the_messages_that_failed_and_a_redelivery_mails_no_one_twice() {
        let (matcher, subscriptions) = (WordMatcher::default(), MemorySubscriptions::default());
        let mailer = Arc::new(RecordingMailer::default());
        let mail = LedgerMailer::new(Arc::new(MemoryLedger::default()), mailer.clone());
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
            mail: &mail,
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

    #[tokio::test]
    async fn a_digest_batch_delivered_twice_mails_each_user_once_and_answers_the_malformed_one() {
        use chrono::{Duration, TimeZone};
        use sde_core::DeliveryLedger as _;
        use sde_core::{Post, UserId};
        use sde_tantivy::TantivyIndex;

        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        writer
            .add(&Post {
                id: "p1".into(),
                user_id: UserId::Text("b0b-sub".into()),
                date_created: Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(),
                content: "Aurora over the fjord".into(),
                tags: vec![],
            })
            .unwrap();
        writer.commit().unwrap();
        let (subscriptions, ledger, mailer) = (
            MemorySubscriptions::default(),
            Arc::new(MemoryLedger::default()),
            Arc::new(RecordingMailer::default()),
        );
        let mail = LedgerMailer::new(ledger.clone(), mailer.clone());
        let term = SubscriptionTerm::parse("aurora").unwrap();
        for user in ["ada-sub", "cy-sub"] {
            subscriptions
                .set_address(user, &format!("{user}@example.com"))
                .await
                .unwrap();
            subscriptions
                .add(user, SubscriptionKind::Daily, &term, 50)
                .await
                .unwrap();
        }
        let unsubscribe = sde_core::UnsubscribeLinks::new(
            &sde_core::SigningKey::generate(),
            "https://api.example.com/prod",
        );
        let deps = DigestDeps {
            index: &index,
            subscriptions: &subscriptions,
            mail: &mail,
            site: "https://sde.example.com",
            unsubscribe: &unsubscribe,
        };
        let days = DigestDays::default();
        for _ in 0..2 {
            let event: SqsEvent = serde_json::from_str(DIGESTS).unwrap();
            let response = send_digests_batch(event, deps, &days).await;
            let failed: Vec<&str> = response
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.as_str())
                .collect();
            assert_eq!(
                failed,
                ["7d0c3f1e-5b2a-4c19-9e6d-3a8b1f2c4d5e"],
                "the malformed one"
            );
        }
        let to: Vec<String> = mailer.sent().into_iter().map(|m| m.to).collect();
        assert_eq!(
            to,
            ["ada-sub@example.com", "cy-sub@example.com"],
            "delivered twice, mailed once"
        );
        assert!(mailer.sent()[0].text.contains("Aurora over the fjord"));

        // A digest another delivery is still sending comes back as a failure, to be retried.
        let busy = Utc::now();
        ledger
            .claim(
                &sde_core::daily_key("dee-sub", "2026-11-30".parse().unwrap()),
                busy + Duration::minutes(5),
                busy + Duration::days(1),
            )
            .await
            .unwrap();
        subscriptions
            .set_address("dee-sub", "dee-sub@example.com")
            .await
            .unwrap();
        subscriptions
            .add("dee-sub", SubscriptionKind::Daily, &term, 50)
            .await
            .unwrap();
        let mut event: SqsEvent = serde_json::from_str(DIGESTS).unwrap();
        event.records.truncate(1);
        event.records[0].body = Some(r#"{"user":"dee-sub","day":"2026-11-30"}"#.into());
        let response = send_digests_batch(event, deps, &days).await;
        assert_eq!(response.batch_item_failures.len(), 1, "retried later");
        assert_eq!(mailer.sent().len(), 2);
    }
}
