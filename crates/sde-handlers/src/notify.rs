//! `notify-real-time`: work one [`RealTimeJob`] off the notification queue — mail every other
//! user whose real-time subscription matches the new post one email naming their matching terms
//! and the post.
//!
//! The matcher says who matches; the post's author is left out; each match is checked against the
//! [`Subscriptions`] store, so a term removed while the matcher still held it mails no one. Then,
//! per user: their recorded (verified) address, and the email handed to a [`OnceMailer`] under
//! the ledger key `realtime#<user>#<post id>` (see [`sde_core::mail_once`]: sent now through the
//! ledger locally, queued for the `send-mail` function on AWS). A job delivered twice, or retried
//! after some users were mailed, mails each user at most once.
//!
//! Failures are per user. One whose mail provider (or mail queue) is unavailable, or whose key
//! another delivery holds, makes the job fail after every other user was tried, so the queue
//! retries it and the ledger skips those already mailed. A refused address is logged and not retried: trying again
//! does not make it valid. A failure of the matcher or the store before any user is a failure of
//! the whole job, retried the same way.

use chrono::Utc;
use futures::stream::{self, StreamExt as _};
use sde_core::{
    Dispatched, MailJob, OnceMailer, RealTimeJob, SubscriptionKind, SubscriptionMatcher,
    Subscriptions, UnsubscribeLinks, describe_chain, notices, real_time_key,
    subscriptions::normalise,
};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

/// How many of one post's subscribers are worked at once. Each is a few calls to the store and
/// the mail queue (or provider), so a post hundreds of users follow still fits the worker's time
/// limit, while the store sees a bounded number of requests.
pub const USERS_AT_ONCE: usize = 16;

/// What [`notify_real_time`] uses.
#[derive(Debug, Clone, Copy)]
pub struct NotifyDeps<'a> {
    pub matcher: &'a dyn SubscriptionMatcher,
    pub subscriptions: &'a dyn Subscriptions,
    /// Sends each notice at most once (on AWS: queues it for `send-mail`).
    pub mail: &'a dyn OnceMailer,
    /// The frontend's address, for search links.
    pub site: &'a str,
    /// Signs the emails' one-click unsubscribe links.
    pub unsubscribe: &'a UnsubscribeLinks,
}

/// What one run of a job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notified {
    /// Users mailed now (or, on AWS, whose notice was queued for `send-mail` now).
    pub sent: usize,
    /// Users mailed by an earlier delivery of the job.
    pub already_sent: usize,
    /// Users not mailed and not to be retried: no address recorded, or the address refused.
    pub skipped: usize,
}

/// The job must be tried again: `failed` users could not be mailed now (the first cause kept).
#[derive(Debug, thiserror::Error)]
#[error("{failed} subscriber(s) of post {post} not mailed yet; the job is to be retried")]
pub struct NotifyError {
    pub post: String,
    pub failed: usize,
    #[source]
    source: Option<sde_core::BoxError>,
}

impl NotifyError {
    fn whole_job(post: &str, source: impl Into<sde_core::BoxError>) -> Self {
        NotifyError {
            post: post.to_owned(),
            failed: 0,
            source: Some(source.into()),
        }
    }
}

/// How one user's mail went.
enum Outcome {
    Sent,
    AlreadySent,
    Skipped,
    Retry(sde_core::BoxError),
}

/// Mails the subscribers `job`'s post matches, each at most once however often the job runs.
pub async fn notify_real_time(
    job: &RealTimeJob,
    deps: NotifyDeps<'_>,
) -> Result<Notified, NotifyError> {
    let post = &job.post;
    let author = post.user_id.to_string();
    let matches = deps
        .matcher
        .matching(post)
        .await
        .map_err(|error| NotifyError::whole_job(&post.id, error))?;
    let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for matched in matches.into_iter().filter(|matched| matched.user != author) {
        by_user.entry(matched.user).or_default().push(matched.term);
    }

    let outcomes: Vec<(String, Option<Outcome>)> = stream::iter(by_user)
        .map(|(user, matched)| async move {
            let outcome = match held_terms(deps.subscriptions, &user, matched).await {
                Ok(terms) if terms.is_empty() => None,
                Ok(terms) => Some(mail_one(job, &user, &terms, deps).await),
                Err(error) => Some(Outcome::Retry(error.into())),
            };
            (user, outcome)
        })
        .buffer_unordered(USERS_AT_ONCE)
        .collect()
        .await;

    let mut notified = Notified::default();
    let mut failed = 0;
    let mut first_cause = None;
    for (user, outcome) in outcomes {
        let Some(outcome) = outcome else { continue };
        match outcome {
            Outcome::Sent => notified.sent += 1,
            Outcome::AlreadySent => notified.already_sent += 1,
            Outcome::Skipped => notified.skipped += 1,
            Outcome::Retry(cause) => {
                warn!(post = %post.id, user, error = %describe_chain(cause.as_ref()),
                      "real-time notice not sent; the job will be retried");
                failed += 1;
                first_cause.get_or_insert(cause);
            }
        }
    }
    info!(post = %post.id, sent = notified.sent, already_sent = notified.already_sent,
          skipped = notified.skipped, failed, "real-time notices worked");
    if failed > 0 {
        return Err(NotifyError {
            post: post.id.clone(),
            failed,
            source: first_cause,
        });
    }
    Ok(notified)
}

/// The `matched` terms `user` still holds in the store, as the store has them, ordered.
async fn held_terms(
    subscriptions: &dyn Subscriptions,
    user: &str,
    matched: Vec<String>,
) -> Result<Vec<String>, sde_core::SubscriptionsError> {
    let matched: BTreeSet<String> = matched.iter().map(|term| normalise(term)).collect();
    Ok(subscriptions
        .list(user, SubscriptionKind::RealTime)
        .await?
        .into_iter()
        .filter(|term| matched.contains(&normalise(term)))
        .collect())
}

/// Mails one user's notice, at most once under its ledger key.
async fn mail_one(
    job: &RealTimeJob,
    user: &str,
    terms: &[String],
    deps: NotifyDeps<'_>,
) -> Outcome {
    let post = &job.post;
    let address = match deps.subscriptions.address(user).await {
        Ok(Some(address)) => address,
        Ok(None) => {
            warn!(post = %post.id, user, "no address recorded for a subscriber; not mailed");
            return Outcome::Skipped;
        }
        Err(error) => return Outcome::Retry(error.into()),
    };
    let footer = notices::Footer {
        site: deps.site,
        unsubscribe: deps.unsubscribe,
        user,
        kind: SubscriptionKind::RealTime,
        now: Utc::now(),
    };
    let mail = MailJob {
        key: real_time_key(user, &post.id),
        message: notices::real_time_notice(&address, post, terms, &footer),
    };
    match deps.mail.send_once(&mail).await {
        Ok(Dispatched::AlreadySent) => Outcome::AlreadySent,
        Ok(dispatched) => {
            info!(post = %post.id, user, ?dispatched, terms = terms.len(), "real-time notice sent");
            Outcome::Sent
        }
        Err(error) if error.is_refused() => {
            warn!(post = %post.id, user, error = %describe_chain(&error),
                  "the mail provider refused a real-time notice; not retried");
            Outcome::Skipped
        }
        Err(error) => Outcome::Retry(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::mail_once::{KEEP, LEASE};
    use sde_core::testing::{MemoryLedger, MemorySubscriptions, RecordingMailer, WordMatcher};
    use sde_core::{
        Claim, DeliveryLedger as _, EmailMessage, LedgerMailer, Post, SigningKey, SubscriptionTerm,
        UserId,
    };
    use std::sync::Arc;

    const SITE: &str = "https://sde.example.com";

    /// Everything a job runs over, in memory.
    #[derive(Debug)]
    struct World {
        unsubscribe: UnsubscribeLinks,
        matcher: WordMatcher,
        subscriptions: MemorySubscriptions,
        ledger: Arc<MemoryLedger>,
        mailer: Arc<RecordingMailer>,
        mail: LedgerMailer,
    }

    impl Default for World {
        fn default() -> Self {
            let (ledger, mailer) = (
                Arc::<MemoryLedger>::default(),
                Arc::<RecordingMailer>::default(),
            );
            World {
                unsubscribe: UnsubscribeLinks::new(&SigningKey::generate(), SITE),
                matcher: WordMatcher::default(),
                subscriptions: MemorySubscriptions::default(),
                mail: LedgerMailer::new(ledger.clone(), mailer.clone()),
                ledger,
                mailer,
            }
        }
    }

    impl World {
        fn deps(&self) -> NotifyDeps<'_> {
            NotifyDeps {
                matcher: &self.matcher,
                subscriptions: &self.subscriptions,
                mail: &self.mail,
                site: SITE,
                unsubscribe: &self.unsubscribe,
            }
        }

        /// `user` (address `<user>@example.com`) subscribes in real time to `text`, in the store
        /// and the matcher, as the subscription route does.
        async fn subscribe(&self, user: &str, text: &str) {
            let term = SubscriptionTerm::parse(text).unwrap();
            self.subscriptions
                .set_address(user, &format!("{user}@example.com"))
                .await
                .unwrap();
            self.subscriptions
                .add(user, SubscriptionKind::RealTime, &term, 50)
                .await
                .unwrap();
            self.matcher.subscribed(user, &term).await.unwrap();
        }

        async fn run(&self, job: &RealTimeJob) -> Result<Notified, NotifyError> {
            notify_real_time(job, self.deps()).await
        }

        fn mail_to(&self, user: &str) -> Vec<EmailMessage> {
            let address = format!("{user}@example.com");
            self.mailer
                .sent()
                .into_iter()
                .filter(|message| message.to == address)
                .collect()
        }
    }

    fn job(author: &str, content: &str, tags: &[&str]) -> RealTimeJob {
        RealTimeJob {
            post: Post {
                id: "post-1".into(),
                user_id: UserId::Text(author.into()),
                date_created: "2026-03-04T05:06:07Z".parse().unwrap(),
                content: content.into(),
                tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            },
        }
    }

    #[tokio::test]
    async fn each_matching_subscriber_gets_one_email_naming_their_terms_and_the_post() {
        let world = World::default();
        world.subscribe("ada", "aurora").await;
        world.subscribe("ada", "Northern Lights").await;
        world.subscribe("ada", "volcano").await;
        world.subscribe("cy", "lights").await;
        world.subscribe("dee", "volcano").await;

        let notified = world
            .run(&job("bob", "The northern lights tonight", &["#aurora"]))
            .await
            .unwrap();
        assert_eq!(notified.sent, 2);
        let ada = world.mail_to("ada");
        assert_eq!(ada.len(), 1, "one email for two matching terms");
        assert!(ada[0].subject.contains("aurora") && ada[0].subject.contains("Northern Lights"));
        assert!(
            !ada[0].text.contains("volcano"),
            "a term that did not match is not named"
        );
        assert!(ada[0].text.contains("The northern lights tonight"));
        assert!(
            ada[0]
                .html
                .contains("https://sde.example.com/?search=Northern%20Lights")
        );
        assert_eq!(world.mail_to("cy").len(), 1);
        assert!(world.mail_to("dee").is_empty(), "no match, no mail");
    }

    #[tokio::test]
    async fn delivering_the_same_job_twice_sends_one_email_per_user() {
        let world = World::default();
        world.subscribe("ada", "aurora").await;
        world.subscribe("cy", "aurora").await;
        let job = job("bob", "aurora tonight", &[]);
        assert_eq!(world.run(&job).await.unwrap().sent, 2);
        let again = world.run(&job).await.unwrap();
        assert_eq!((again.sent, again.already_sent), (0, 2));
        assert_eq!(world.mailer.sent().len(), 2);
    }

    #[tokio::test]
    async fn the_author_is_not_mailed_about_their_own_post() {
        let world = World::default();
        world.subscribe("bob", "aurora").await;
        world.subscribe("ada", "aurora").await;
        world.run(&job("bob", "aurora tonight", &[])).await.unwrap();
        assert!(world.mail_to("bob").is_empty());
        assert_eq!(world.mail_to("ada").len(), 1);
    }

    #[tokio::test]
    async fn a_term_removed_from_the_store_but_still_in_the_matcher_is_not_mailed() {
        let world = World::default();
        world.subscribe("ada", "aurora").await;
        world.subscribe("ada", "tonight").await;
        world.subscribe("cy", "aurora").await;
        // Removed from the store; the matcher was not told (its update failed half-way).
        for (user, text) in [("ada", "AURORA"), ("cy", "aurora")] {
            world
                .subscriptions
                .remove(
                    user,
                    SubscriptionKind::RealTime,
                    &SubscriptionTerm::parse(text).unwrap(),
                )
                .await
                .unwrap();
        }
        world.run(&job("bob", "aurora tonight", &[])).await.unwrap();
        let ada = world.mail_to("ada");
        assert_eq!(ada.len(), 1);
        assert!(ada[0].subject.contains("tonight") && !ada[0].text.contains("aurora:"));
        assert!(
            world.mail_to("cy").is_empty(),
            "cy holds no matching term any more"
        );
    }

    #[tokio::test]
    async fn a_mailer_failing_for_one_user_is_retried_for_that_user_only() {
        let world = World::default();
        for user in ["ada", "cy", "dee"] {
            world.subscribe(user, "aurora").await;
        }
        world.mailer.fail_for("cy@example.com", true);
        let job = job("bob", "aurora tonight", &[]);
        let error = world.run(&job).await.unwrap_err();
        assert_eq!(error.failed, 1);
        assert!(describe_chain(&error).contains("mail provider that is down"));
        assert_eq!(world.mailer.sent().len(), 2, "ada and dee were mailed");

        world.mailer.fail_for("cy@example.com", false);
        let retried = world.run(&job).await.unwrap();
        assert_eq!((retried.sent, retried.already_sent), (1, 2));
        for user in ["ada", "cy", "dee"] {
            assert_eq!(world.mail_to(user).len(), 1, "{user}");
        }
    }

    #[tokio::test]
    async fn a_subscriber_without_a_recorded_address_is_skipped() {
        let world = World::default();
        let term = SubscriptionTerm::parse("aurora").unwrap();
        world
            .subscriptions
            .add("ada", SubscriptionKind::RealTime, &term, 50)
            .await
            .unwrap();
        world.matcher.subscribed("ada", &term).await.unwrap();
        let notified = world.run(&job("bob", "aurora", &[])).await.unwrap();
        assert_eq!(notified.skipped, 1);
        assert!(world.mailer.sent().is_empty());
    }

    #[tokio::test]
    async fn a_live_claim_of_another_delivery_makes_the_job_retry_without_mailing() {
        let world = World::default();
        world.subscribe("ada", "aurora").await;
        let now = Utc::now();
        let held = world
            .ledger
            .claim(&real_time_key("ada", "post-1"), now + LEASE, now + KEEP)
            .await
            .unwrap();
        assert!(matches!(held, Claim::Claimed { .. }));
        let error = world.run(&job("bob", "aurora", &[])).await.unwrap_err();
        assert_eq!(error.failed, 1);
        assert!(world.mailer.sent().is_empty());
    }

    /// Sends nothing; counts the sends in flight at once.
    #[derive(Debug, Default)]
    struct CountingMail {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
        sent: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl OnceMailer for CountingMail {
        async fn send_once(&self, _: &MailJob) -> Result<Dispatched, sde_core::MailOnceError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, SeqCst);
            self.sent.fetch_add(1, SeqCst);
            Ok(Dispatched::Queued)
        }
    }

    #[tokio::test]
    async fn a_post_many_follow_is_mailed_to_several_subscribers_at_once_within_the_bound() {
        use std::sync::atomic::Ordering::SeqCst;
        let world = World::default();
        for n in 0..40 {
            world.subscribe(&format!("user-{n}"), "aurora").await;
        }
        let mail = CountingMail::default();
        let deps = NotifyDeps {
            mail: &mail,
            ..world.deps()
        };
        let notified = notify_real_time(&job("bob", "aurora", &[]), deps)
            .await
            .unwrap();
        assert_eq!((notified.sent, mail.sent.load(SeqCst)), (40, 40));
        let most = mail.most.load(SeqCst);
        assert!((2..=USERS_AT_ONCE).contains(&most), "{most} sends at once");
    }
}
