//! The mail queue against moto (S3 and SQS): what the functions inside the VPC queue with
//! `SqsMailQueue` is what `send-mail` sends, once per ledger key however often it was queued or
//! delivered, and each queued message is deleted once it is finished.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sde_aws::{Delivered, MAIL_PREFIX, MailTicket, QueueConfig, S3Config, SqsMailQueue};
use sde_core::testing::{MemoryLedger, RecordingMailer};
use sde_core::{Dispatched, EmailMessage, LedgerMailer, MailJob, MailOnceError, OnceMailer};
use std::sync::Arc;

/// A mail queue over a new bucket and queue, with the SQS URL and the bucket.
async fn mail_queue(moto: &common::Moto) -> (SqsMailQueue, String, String) {
    let bucket = moto.bucket().await;
    let queue_url = aws_sdk_sqs::Client::new(&moto.sdk)
        .create_queue()
        .queue_name(common::unique("sde-mail"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue = SqsMailQueue::new(
        &moto.sdk,
        moto.s3(),
        QueueConfig {
            queue_url: queue_url.clone(),
        },
        &S3Config::new(&bucket),
    );
    (queue, queue_url, bucket)
}

/// Takes every ticket waiting on `queue_url` off the queue.
async fn tickets(moto: &common::Moto, queue_url: &str) -> Vec<MailTicket> {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk);
    let mut tickets = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return tickets;
        }
        for message in received.messages() {
            tickets.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// The objects left under `mail/`.
async fn waiting(moto: &common::Moto, bucket: &str) -> Vec<String> {
    let listed = moto
        .s3()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(MAIL_PREFIX)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .map(|object| object.key().unwrap().to_owned())
        .collect()
}

fn job(key: &str, text: String) -> MailJob {
    MailJob {
        key: key.into(),
        message: EmailMessage {
            to: "ada@example.com".into(),
            subject: "New posts for \"aurora\"".into(),
            html: format!("<p>{}</p>", text.replace('<', "&lt;")),
            text,
            unsubscribe: Some("https://api.example.com/prod/unsubscribe?t=abc&s=def".into()),
        },
    }
}

fn ledger_mailer() -> (Arc<RecordingMailer>, LedgerMailer) {
    let mailer = Arc::new(RecordingMailer::default());
    let once = LedgerMailer::new(Arc::new(MemoryLedger::default()), mailer.clone());
    (mailer, once)
}

#[tokio::test]
async fn an_email_queued_twice_and_delivered_three_times_is_sent_once_and_then_deleted() {
    let moto = moto_or_skip!();
    let (queue, queue_url, bucket) = mail_queue(&moto).await;
    // Larger than an SQS message may be: a digest of 50 long posts, in text and HTML.
    let sent = job("daily#ada#2026-11-30", "🌌 <aurora> ".repeat(40_000));
    assert!(serde_json::to_vec(&sent).unwrap().len() > 256 * 1024);
    for _ in 0..2 {
        assert_eq!(queue.send_once(&sent).await.unwrap(), Dispatched::Queued);
    }
    let tickets = tickets(&moto, &queue_url).await;
    assert_eq!(tickets.len(), 2, "one ticket per queueing");
    assert!(tickets.iter().all(|ticket| ticket.key == sent.key));

    let (mailer, once) = ledger_mailer();
    let first = queue.deliver(&tickets[0], &once).await.unwrap();
    assert!(
        matches!(first, Delivered::Done(Dispatched::Sent { .. })),
        "{first:?}"
    );
    let second = queue.deliver(&tickets[1], &once).await.unwrap();
    assert_eq!(second, Delivered::Done(Dispatched::AlreadySent));
    // SQS delivered the first ticket again: its message is gone, nothing is sent.
    let again = queue.deliver(&tickets[0], &once).await.unwrap();
    assert_eq!(again, Delivered::AlreadyFinished);

    assert_eq!(mailer.sent(), [sent.message], "sent once, whole");
    assert!(waiting(&moto, &bucket).await.is_empty(), "messages deleted");
}

#[tokio::test]
async fn an_email_the_provider_could_not_take_waits_for_the_retry() {
    let moto = moto_or_skip!();
    let (queue, queue_url, bucket) = mail_queue(&moto).await;
    let sent = job("realtime#ada#post-1", "Aurora tonight".into());
    queue.send_once(&sent).await.unwrap();
    let ticket = tickets(&moto, &queue_url).await.remove(0);

    let (mailer, once) = ledger_mailer();
    mailer.fail_for("ada@example.com", true);
    let error = queue.deliver(&ticket, &once).await.unwrap_err();
    assert!(matches!(error, MailOnceError::Mail(_)), "{error:?}");
    assert_eq!(
        waiting(&moto, &bucket).await,
        std::slice::from_ref(&ticket.object)
    );

    mailer.fail_for("ada@example.com", false);
    let retried = queue.deliver(&ticket, &once).await.unwrap();
    assert!(
        matches!(retried, Delivered::Done(Dispatched::Sent { .. })),
        "{retried:?}"
    );
    assert_eq!(mailer.sent().len(), 1);
    assert!(waiting(&moto, &bucket).await.is_empty());
}

#[tokio::test]
async fn a_ticket_naming_an_object_outside_the_mail_folder_is_refused_unread() {
    let moto = moto_or_skip!();
    let (queue, _, bucket) = mail_queue(&moto).await;
    moto.s3()
        .put_object()
        .bucket(&bucket)
        .key("exports/someone-elses.json")
        .body(
            serde_json::to_vec(&job("k", "secret".into()).message)
                .unwrap()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let forged = MailTicket {
        key: "k".into(),
        object: "exports/someone-elses.json".into(),
    };
    let (mailer, once) = ledger_mailer();
    let error = queue.deliver(&forged, &once).await.unwrap_err();
    assert!(matches!(error, MailOnceError::Queue(_)), "{error:?}");
    assert!(mailer.sent().is_empty());
}

#[tokio::test]
async fn a_real_time_notice_queued_inside_the_vpc_is_what_send_mail_sends_once() {
    use sde_core::testing::{MemorySubscriptions, WordMatcher};
    use sde_core::{
        Post, RealTimeJob, SigningKey, SubscriptionKind, SubscriptionMatcher as _,
        SubscriptionTerm, Subscriptions as _, UnsubscribeLinks, UserId,
    };
    use sde_handlers::notify::{NotifyDeps, notify_real_time};

    let moto = moto_or_skip!();
    let (queue, queue_url, bucket) = mail_queue(&moto).await;
    let (matcher, subscriptions) = (WordMatcher::default(), MemorySubscriptions::default());
    let term = SubscriptionTerm::parse("aurora").unwrap();
    subscriptions
        .set_address("ada-sub", "ada@example.com")
        .await
        .unwrap();
    subscriptions
        .add("ada-sub", SubscriptionKind::RealTime, &term, 50)
        .await
        .unwrap();
    matcher.subscribed("ada-sub", &term).await.unwrap();
    let unsubscribe = UnsubscribeLinks::new(&SigningKey::generate(), "https://api.example.com");
    let deps = NotifyDeps {
        matcher: &matcher,
        subscriptions: &subscriptions,
        mail: &queue,
        site: "https://sde.example.com",
        unsubscribe: &unsubscribe,
    };
    let job = RealTimeJob {
        post: Post {
            id: "post-1".into(),
            user_id: UserId::Text("b0b-sub".into()),
            date_created: "2026-11-30T08:00:00Z".parse().unwrap(),
            content: "Aurora <tonight> over the bay".into(),
            tags: vec![],
        },
    };
    // The queue delivered the job twice: two tickets, one email.
    for _ in 0..2 {
        let notified = notify_real_time(&job, deps).await.unwrap();
        assert_eq!(notified.sent, 1, "queued for ada");
    }
    let (mailer, once) = ledger_mailer();
    for ticket in tickets(&moto, &queue_url).await {
        assert_eq!(ticket.key, "realtime#ada-sub#post-1");
        queue.deliver(&ticket, &once).await.unwrap();
    }
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(
        sent[0].html.contains("Aurora &lt;tonight&gt;"),
        "{}",
        sent[0].html
    );
    assert!(sent[0].unsubscribe.is_some());
    assert!(waiting(&moto, &bucket).await.is_empty());
}
