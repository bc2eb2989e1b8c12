//! Daily digests: once a day each user with daily subscriptions gets one email with the previous
//! UTC day's posts matching any of their terms — their own posts left out — chosen and ordered by
//! [`Digest::select`]. Nothing matched, no email.
//!
//! The work is split as it runs on AWS: [`daily_digest_users`] pages through every daily
//! subscription (never one unpaginated scan) and names each subscriber once, and
//! [`plan_daily_digests`] queues a [`DigestJob`] per user; the queue's worker calls
//! [`send_digest_job`], which [`compose_daily_digest`]s that user's digest and
//! [`daily_digest_email`] writes. The local stack runs [`send_daily_digests`], the same per-user
//! step in one loop. A
//! [`DayMatches`] remembers each term's matches for the day, so a term many users hold is
//! searched once per run rather than once per user.
//!
//! "Matching" is what `/search` means for the term: the same query, over the day as a date range.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sde_core::notices::{Footer, search_link};
use sde_core::subscriptions::normalise;
use sde_core::{
    DateRange, Digest, DigestJob, DigestQueue, Dispatched, EmailMessage, IndexError, MailJob,
    MailOnceError, MatchedPost, OnceMailer, Post, PostQuery, QueueError, SearchIndex,
    SubscriptionKind, Subscriptions, SubscriptionsError, UnsubscribeLinks, daily_key,
    describe_chain, html,
};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

/// How many daily subscriptions one page of the planning walk reads.
pub const PLAN_PAGE: u32 = 500;

/// Posts read per batch when collecting a term's matches.
const SCAN_BATCH: NonZeroUsize = NonZeroUsize::new(1_000).expect("non-zero");

/// Why a digest could not be made or sent; trying again later may succeed.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("reading the subscriptions")]
    Subscriptions(#[from] SubscriptionsError),
    #[error("searching the day's posts")]
    Index(#[from] IndexError),
    #[error("sending the digest")]
    Mail(#[from] MailOnceError),
}

/// What [`send_daily_digest`] and [`send_daily_digests`] use.
#[derive(Debug, Clone, Copy)]
pub struct DigestDeps<'a> {
    pub index: &'a dyn SearchIndex,
    pub subscriptions: &'a dyn Subscriptions,
    /// Sends each digest at most once (on AWS: queues it for `send-mail`).
    pub mail: &'a dyn OnceMailer,
    /// The frontend's address, for search links.
    pub site: &'a str,
    /// Signs the emails' one-click unsubscribe links.
    pub unsubscribe: &'a UnsubscribeLinks,
}

/// What sending one user's digest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestSent {
    /// Sent now (on AWS: queued now for `send-mail`).
    Sent,
    /// Nothing of the day matched: no email.
    NothingToSend,
    /// An earlier run sent it.
    AlreadySent,
    /// No verified address is recorded for the user: not mailed.
    NoAddress,
}

/// Sends `user` their digest of `matches`' day, at most once however often it is asked (under
/// the ledger key [`daily_key`], through [`DigestDeps::mail`]).
pub async fn send_daily_digest(
    deps: DigestDeps<'_>,
    matches: &DayMatches,
    user: &str,
    now: DateTime<Utc>,
) -> Result<DigestSent, DigestError> {
    let key = daily_key(user, matches.day());
    let Some(address) = deps.subscriptions.address(user).await? else {
        warn!(
            user,
            "no address recorded for a daily subscriber; not mailed"
        );
        return Ok(DigestSent::NoAddress);
    };
    let digest = compose_daily_digest(deps.index, deps.subscriptions, matches, user).await?;
    if digest.is_empty() {
        return Ok(DigestSent::NothingToSend);
    }
    let footer = Footer {
        site: deps.site,
        unsubscribe: deps.unsubscribe,
        user,
        kind: SubscriptionKind::Daily,
        now,
    };
    let mail = MailJob {
        key,
        message: daily_digest_email(&address, matches.day(), &digest, &footer),
    };
    match deps.mail.send_once(&mail).await? {
        Dispatched::AlreadySent => Ok(DigestSent::AlreadySent),
        dispatched => {
            info!(user, ?dispatched, posts = digest.shown(), day = %matches.day(), "daily digest sent");
            Ok(DigestSent::Sent)
        }
    }
}

/// What one day's run did, user by user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestRun {
    pub sent: usize,
    pub nothing_to_send: usize,
    pub already_sent: usize,
    pub no_address: usize,
    /// Users whose digest failed (logged with its cause); running the day again retries them.
    pub failed: usize,
}

/// Sends every daily subscriber their digest of `day`, one user after another. One user's
/// failure is logged and counted, and the run goes on; running the same day again sends only
/// what was not sent.
pub async fn send_daily_digests(
    deps: DigestDeps<'_>,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<DigestRun, SubscriptionsError> {
    let users = daily_digest_users(deps.subscriptions, PLAN_PAGE).await?;
    let matches = DayMatches::new(day);
    let mut run = DigestRun::default();
    for user in &users {
        match send_daily_digest(deps, &matches, user, now).await {
            Ok(DigestSent::Sent) => run.sent += 1,
            Ok(DigestSent::NothingToSend) => run.nothing_to_send += 1,
            Ok(DigestSent::AlreadySent) => run.already_sent += 1,
            Ok(DigestSent::NoAddress) => run.no_address += 1,
            Err(error) => {
                run.failed += 1;
                warn!(user, %day, error = %describe_chain(&error), "daily digest not sent");
            }
        }
    }
    info!(%day, ?run, "daily digests done");
    Ok(run)
}

/// Why a day's digests could not be planned; the whole plan may be run again (each digest still
/// goes out once: the ledger keeps a job queued twice from mailing twice).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("paging through the daily subscribers")]
    Subscriptions(#[from] SubscriptionsError),
    #[error("queueing a daily digest job")]
    Queue(#[from] QueueError),
}

/// Queues one [`DigestJob`] of `day` per daily subscriber, paging through the subscriptions
/// [`PLAN_PAGE`] at a time. Returns how many jobs were queued.
pub async fn plan_daily_digests(
    subscriptions: &dyn Subscriptions,
    queue: &dyn DigestQueue,
    day: NaiveDate,
) -> Result<usize, PlanError> {
    let users = daily_digest_users(subscriptions, PLAN_PAGE).await?;
    for user in &users {
        queue
            .enqueue_digest(&DigestJob {
                user: user.clone(),
                day,
            })
            .await?;
    }
    info!(%day, jobs = users.len(), "daily digests planned");
    Ok(users.len())
}

/// The [`DayMatches`] of the day being worked, kept between jobs (a warm Lambda container works
/// many users of the same day) and replaced when a job names another day.
#[derive(Debug, Default)]
pub struct DigestDays {
    current: Mutex<Option<Arc<DayMatches>>>,
}

impl DigestDays {
    /// The matches of `day`: the kept ones when they are that day's, else new ones.
    pub fn of(&self, day: NaiveDate) -> Arc<DayMatches> {
        let Ok(mut current) = self.current.lock() else {
            // A poisoned lock only loses the cache.
            return Arc::new(DayMatches::new(day));
        };
        match current.as_ref() {
            Some(matches) if matches.day() == day => matches.clone(),
            _ => {
                let matches = Arc::new(DayMatches::new(day));
                *current = Some(matches.clone());
                matches
            }
        }
    }
}

/// Works one queued [`DigestJob`]: sends its user their digest of its day, at most once however
/// often the job is delivered. An error (the digest is being sent by another delivery, or
/// failed) means the job should come back.
pub async fn send_digest_job(
    deps: DigestDeps<'_>,
    days: &DigestDays,
    job: &DigestJob,
    now: DateTime<Utc>,
) -> Result<DigestSent, DigestError> {
    let matches = days.of(job.day);
    send_daily_digest(deps, &matches, &job.user, now).await
}

/// `[day 00:00 UTC, next day 00:00 UTC)`.
pub fn day_range(day: NaiveDate) -> DateRange {
    let start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    DateRange {
        from: start(day),
        to: day.checked_add_days(Days::new(1)).and_then(start),
    }
}

/// The day a run at `now` digests: the previous UTC day.
pub fn previous_day(now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    today.pred_opt().unwrap_or(today)
}

/// Every user holding a daily subscription, each once, in the order the store pages them.
/// Pages through the store `page` subscriptions at a time ([`PLAN_PAGE`] in production); one
/// user's terms may span pages.
pub async fn daily_digest_users(
    subscriptions: &dyn Subscriptions,
    page: u32,
) -> Result<Vec<String>, SubscriptionsError> {
    let mut users = Vec::new();
    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = subscriptions
            .subscribers(SubscriptionKind::Daily, after.as_deref(), page)
            .await?;
        for subscription in page.subscriptions {
            if seen.insert(subscription.user.clone()) {
                users.push(subscription.user);
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(users),
        }
    }
}

/// Each term's matches on one day, searched once per run and shared by every user holding it.
#[derive(Debug)]
pub struct DayMatches {
    day: NaiveDate,
    by_term: Mutex<HashMap<String, Arc<Vec<Post>>>>,
}

impl DayMatches {
    pub fn new(day: NaiveDate) -> Self {
        DayMatches {
            day,
            by_term: Mutex::new(HashMap::new()),
        }
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// Every post of the day `/search` returns for `term`.
    async fn of(&self, index: &dyn SearchIndex, term: &str) -> Result<Arc<Vec<Post>>, IndexError> {
        let key = normalise(term);
        if let Some(known) = self.cached(&key) {
            return Ok(known);
        }
        let query = PostQuery {
            terms: vec![term.to_owned()],
            date_range: day_range(self.day),
        };
        let mut scan = index.scan(&query, SCAN_BATCH).await?;
        let mut posts = Vec::new();
        let mut batch = Vec::new();
        loop {
            batch.clear();
            let more = match scan.next_batch(&mut batch).await {
                Ok(more) => more,
                Err(error) => {
                    // Best effort: the scan's failure is the one worth reporting.
                    let _ = scan.close().await;
                    return Err(error);
                }
            };
            posts.append(&mut batch);
            if !more {
                break;
            }
        }
        scan.close().await?;
        let posts = Arc::new(posts);
        if let Ok(mut by_term) = self.by_term.lock() {
            by_term.insert(key, posts.clone());
        }
        Ok(posts)
    }

    fn cached(&self, key: &str) -> Option<Arc<Vec<Post>>> {
        self.by_term.lock().ok()?.get(key).cloned()
    }
}

/// `user`'s digest of `matches`' day: every post of that day matching one of their daily terms,
/// their own posts left out. Empty when they hold no daily term or nothing matched.
pub async fn compose_daily_digest(
    index: &dyn SearchIndex,
    subscriptions: &dyn Subscriptions,
    matches: &DayMatches,
    user: &str,
) -> Result<Digest, DigestError> {
    let terms = subscriptions.list(user, SubscriptionKind::Daily).await?;
    let mut matched = Vec::new();
    for term in terms {
        for post in matches.of(index, &term).await?.iter() {
            if post.user_id.to_string() == user {
                continue;
            }
            matched.push(MatchedPost {
                post: post.clone(),
                terms: vec![term.clone()],
            });
        }
    }
    Ok(Digest::select(matched))
}

/// The digest email of `digest` to `to`, about `day`, ending with `footer` (of kind daily).
/// Every user-supplied string — terms, post text, tags — is escaped in the HTML part. Each
/// section's terms link to their searches; the footer carries an unsubscribe link for each term
/// and the `List-Unsubscribe` link stops every daily digest.
pub fn daily_digest_email(
    to: &str,
    day: NaiveDate,
    digest: &Digest,
    footer: &Footer<'_>,
) -> EmailMessage {
    let search = |term: &str| search_link(footer.site, term);
    let shown = digest.shown();
    let subject = match shown {
        1 => format!("1 new post for your daily searches, {day}"),
        n => format!("{n} new posts for your daily searches, {day}"),
    };
    let mut text = format!("Posts of {day} (UTC) matching your daily searches.\r\n");
    let mut html_body = format!("<p>Posts of {day} (UTC) matching your daily searches.</p>");
    let mut terms_seen: Vec<&str> = Vec::new();
    for section in &digest.sections {
        let named: Vec<String> = section.terms.iter().map(|t| format!("“{t}”")).collect();
        let _ = write!(text, "\r\nMatching {}:\r\n", named.join(" and "));
        let linked: Vec<String> = section
            .terms
            .iter()
            .map(|term| {
                format!(
                    "<a href=\"{}\">“{}”</a>",
                    html::escape(&search(term)),
                    html::escape(term)
                )
            })
            .collect();
        let _ = write!(html_body, "<h2>Matching {}</h2><ul>", linked.join(" and "));
        for post in &section.posts {
            let when = post.date_created.format("%H:%M UTC");
            let tags = post.tags.join(" ");
            let _ = write!(text, "\r\n- {when}: {}", post.content);
            if !tags.is_empty() {
                let _ = write!(text, " [{tags}]");
            }
            text.push_str("\r\n");
            let _ = write!(
                html_body,
                "<li><p style=\"white-space:pre-wrap\">{}</p><p><small>{when}{}</small></p></li>",
                html::escape(&post.content),
                if tags.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", html::escape(&tags))
                }
            );
        }
        html_body.push_str("</ul>");
        if section.left_out > 0 {
            let more = match section.left_out {
                1 => "1 more post".to_owned(),
                n => format!("{n} more posts"),
            };
            // A section's search runs its first term; the others are in the same section.
            let first = section.terms.first().map(String::as_str).unwrap_or("");
            let _ = write!(text, "\r\n…and {more}: {}\r\n", search(first));
            let _ = write!(
                html_body,
                "<p><a href=\"{}\">…and {more}</a></p>",
                html::escape(&search(first))
            );
        }
        for term in &section.terms {
            if !terms_seen.contains(&term.as_str()) {
                terms_seen.push(term);
            }
        }
    }
    text.push_str("\r\n-- \r\n");
    text.push_str(&footer.text(&terms_seen));
    html_body.push_str(&footer.html(&terms_seen));
    EmailMessage {
        to: to.to_owned(),
        subject,
        text,
        html: html_body,
        unsubscribe: Some(footer.unsubscribe_all()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use sde_core::mail_once::{KEEP, LEASE};
    use sde_core::testing::{MemoryLedger, MemorySubscriptions, RecordingMailer, RecordingQueue};
    use sde_core::{
        Added, DeliveryLedger as _, LedgerMailer, SigningKey, SubscriptionTerm, UnsubscribeGrant,
        UnsubscribeLinks, UnsubscribeScope, UserId,
    };
    use sde_tantivy::TantivyIndex;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    fn post(id: &str, author: &str, at: DateTime<Utc>, content: &str, tags: &[&str]) -> Post {
        Post {
            id: id.into(),
            user_id: UserId::Text(author.into()),
            date_created: at,
            content: content.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    async fn subscribe(book: &MemorySubscriptions, user: &str, kind: SubscriptionKind, term: &str) {
        let term = SubscriptionTerm::parse(term).unwrap();
        assert_eq!(book.add(user, kind, &term, 50).await.unwrap(), Added::Added);
    }

    #[tokio::test]
    async fn a_digest_holds_the_days_matches_of_any_term_without_the_users_own_posts() {
        let midnight = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        for post in [
            post("p1", "bob", midnight, "Aurora over Tromsø", &["#norway"]),
            post(
                "p2",
                "bob",
                midnight + Duration::hours(23),
                "Another aurora",
                &[],
            ),
            post(
                "p3",
                "ada",
                midnight + Duration::hours(2),
                "My own aurora",
                &[],
            ),
            post(
                "p4",
                "bob",
                midnight - Duration::seconds(1),
                "aurora, the day before",
                &[],
            ),
            post(
                "p5",
                "bob",
                midnight + Duration::days(1),
                "aurora, the day after",
                &[],
            ),
            post(
                "p6",
                "bob",
                midnight + Duration::hours(5),
                "Cats of Norway",
                &[],
            ),
            post(
                "p7",
                "bob",
                midnight + Duration::hours(6),
                "nothing to see",
                &[],
            ),
        ] {
            writer.add(&post).unwrap();
        }
        writer.commit().unwrap();
        let book = MemorySubscriptions::default();
        subscribe(&book, "ada", SubscriptionKind::Daily, "Aurora").await;
        subscribe(&book, "ada", SubscriptionKind::Daily, "norway").await;
        subscribe(&book, "ada", SubscriptionKind::RealTime, "nothing").await;
        subscribe(&book, "cy", SubscriptionKind::Daily, "dogs").await;

        let matches = DayMatches::new(day());
        let digest = compose_daily_digest(&index, &book, &matches, "ada")
            .await
            .unwrap();
        let sections: Vec<(Vec<String>, Vec<String>)> = digest
            .sections
            .iter()
            .map(|s| {
                (
                    s.terms.clone(),
                    s.posts.iter().map(|p| p.id.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            sections,
            vec![
                (vec!["Aurora".into(), "norway".into()], vec!["p1".into()]),
                (vec!["Aurora".into()], vec!["p2".into()]),
                (vec!["norway".into()], vec!["p6".into()]),
            ]
        );
        let nothing = compose_daily_digest(&index, &book, &matches, "cy")
            .await
            .unwrap();
        assert!(nothing.is_empty());
    }

    #[tokio::test]
    async fn every_daily_subscriber_is_named_once_across_pages() {
        let book = MemorySubscriptions::default();
        for user in 0..30 {
            for term in ["a", "b", "c"] {
                subscribe(
                    &book,
                    &format!("user-{user:02}"),
                    SubscriptionKind::Daily,
                    term,
                )
                .await;
            }
        }
        subscribe(&book, "only-real-time", SubscriptionKind::RealTime, "a").await;
        // Pages of 7 split most users' three terms across two pages.
        let users = daily_digest_users(&book, 7).await.unwrap();
        let expected: Vec<String> = (0..30).map(|user| format!("user-{user:02}")).collect();
        assert_eq!(users, expected);
        assert!(!users.contains(&"only-real-time".to_owned()));
    }

    #[test]
    fn the_email_escapes_what_users_wrote_and_links_each_search_and_unsubscribe() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 8, 5, 0).unwrap();
        let digest = Digest::select(vec![MatchedPost {
            post: post(
                "p1",
                "bob",
                at,
                "<script>alert(1)</script> & more",
                &["#<b>"],
            ),
            terms: vec!["cats & <dogs>".into()],
        }]);
        let key = SigningKey::generate();
        let unsubscribe = UnsubscribeLinks::new(&key, "https://api.example/prod");
        let footer = Footer {
            site: "https://app.example/",
            unsubscribe: &unsubscribe,
            user: "ada",
            kind: SubscriptionKind::Daily,
            now: at,
        };
        let email = daily_digest_email("ada@example.com", day(), &digest, &footer);
        assert_eq!(email.to, "ada@example.com");
        assert_eq!(
            email.subject,
            "1 new post for your daily searches, 2026-11-30"
        );
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(!email.html.contains("<b>"), "{}", email.html);
        assert!(
            email
                .html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more")
        );
        assert!(email.html.contains("“cats &amp; &lt;dogs&gt;”"));
        assert!(
            email
                .html
                .contains("href=\"https://app.example/?search=cats%20%26%20%3Cdogs%3E\""),
            "{}",
            email.html
        );
        assert!(
            email
                .text
                .contains("<script>alert(1)</script> & more [#<b>]")
        );
        assert!(email.text.contains("https://app.example/?unsubscribe=true"));

        let check = |url: &str| -> UnsubscribeGrant {
            unsubscribe
                .check(url.split_once('?').unwrap().1, at)
                .unwrap()
        };
        let header = email.unsubscribe.as_deref().unwrap();
        let all = check(header);
        assert_eq!(
            (all.user.as_str(), all.kind),
            ("ada", SubscriptionKind::Daily)
        );
        assert_eq!(all.scope, UnsubscribeScope::All);
        let per_term = email
            .text
            .lines()
            .find_map(|line| line.strip_prefix("Stop “cats & <dogs>”: "))
            .unwrap();
        assert_eq!(
            check(per_term).scope,
            UnsubscribeScope::Term(SubscriptionTerm::parse("cats & <dogs>").unwrap())
        );
    }

    #[tokio::test]
    async fn planning_pages_through_every_subscriber_and_queues_each_once() {
        let book = MemorySubscriptions::default();
        // 300 users with two daily terms each: 600 subscriptions, more than one page.
        let users: Vec<String> = (0..300).map(|n| format!("user-{n:03}")).collect();
        for user in &users {
            for term in ["aurora", "cats"] {
                subscribe(&book, user, SubscriptionKind::Daily, term).await;
            }
        }
        subscribe(&book, "only-real-time", SubscriptionKind::RealTime, "a").await;
        assert!(2 * users.len() > PLAN_PAGE as usize);
        let queue = RecordingQueue::default();
        let queued = plan_daily_digests(&book, &queue, day()).await.unwrap();
        assert_eq!(queued, users.len());
        let jobs = queue.digests.lock().unwrap().clone();
        let expected: Vec<DigestJob> = users
            .iter()
            .map(|user| DigestJob {
                user: user.clone(),
                day: day(),
            })
            .collect();
        assert_eq!(jobs, expected, "every subscriber once, of the day asked");
        assert!(queue.jobs.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_queue_that_fails_fails_the_plan() {
        let book = MemorySubscriptions::default();
        subscribe(&book, "ada", SubscriptionKind::Daily, "aurora").await;
        let queue = RecordingQueue {
            down: true,
            ..RecordingQueue::default()
        };
        let error = plan_daily_digests(&book, &queue, day()).await.unwrap_err();
        assert!(matches!(error, PlanError::Queue(_)), "{error:?}");
    }

    /// An index of Bob's posts `(id, hour after midnight, content)`.
    fn bobs_posts(midnight: DateTime<Utc>, posts: &[(&str, i64, &str)]) -> TantivyIndex {
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        for (id, hour, content) in posts {
            writer
                .add(&post(
                    id,
                    "bob",
                    midnight + Duration::hours(*hour),
                    content,
                    &[],
                ))
                .unwrap();
        }
        writer.commit().unwrap();
        index
    }

    /// The mailing half of a digest run, in memory: the ledger, a recording mailer, the links.
    struct Mailing {
        ledger: Arc<MemoryLedger>,
        mailer: Arc<RecordingMailer>,
        mail: LedgerMailer,
        unsubscribe: UnsubscribeLinks,
    }

    impl Mailing {
        fn new() -> Self {
            let (ledger, mailer) = (
                Arc::<MemoryLedger>::default(),
                Arc::<RecordingMailer>::default(),
            );
            Mailing {
                mail: LedgerMailer::new(ledger.clone(), mailer.clone()),
                ledger,
                mailer,
                unsubscribe: UnsubscribeLinks::new(&SigningKey::generate(), "https://api.example"),
            }
        }

        fn deps<'a>(
            &'a self,
            index: &'a TantivyIndex,
            book: &'a MemorySubscriptions,
        ) -> DigestDeps<'a> {
            DigestDeps {
                index,
                subscriptions: book,
                mail: &self.mail,
                site: "https://app.example",
                unsubscribe: &self.unsubscribe,
            }
        }
    }

    #[tokio::test]
    async fn a_digest_job_delivered_twice_mails_once_and_one_in_progress_comes_back() {
        let midnight = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let index = bobs_posts(midnight, &[("p1", 3, "aurora tonight")]);
        let book = MemorySubscriptions::default();
        for user in ["ada", "cy"] {
            subscribe(&book, user, SubscriptionKind::Daily, "aurora").await;
            book.set_address(user, &format!("{user}@example.com"))
                .await
                .unwrap();
        }
        let mailing = Mailing::new();
        let (ledger, mailer) = (&mailing.ledger, &mailing.mailer);
        let deps = mailing.deps(&index, &book);
        let now = midnight + Duration::hours(25);
        let days = DigestDays::default();
        let job = |user: &str| DigestJob {
            user: user.into(),
            day: day(),
        };
        let first = send_digest_job(deps, &days, &job("ada"), now)
            .await
            .unwrap();
        let again = send_digest_job(deps, &days, &job("ada"), now)
            .await
            .unwrap();
        assert_eq!((first, again), (DigestSent::Sent, DigestSent::AlreadySent));

        // Another delivery of Cy's job holds the claim: this one fails, to come back later.
        // (The ledger leases by the clock, so this claim is live now.)
        let key = daily_key("cy", day());
        let clock = Utc::now();
        ledger
            .claim(&key, clock + LEASE, clock + KEEP)
            .await
            .unwrap();
        let busy = send_digest_job(deps, &days, &job("cy"), now)
            .await
            .unwrap_err();
        assert!(
            matches!(busy, DigestError::Mail(MailOnceError::InProgress { .. })),
            "{busy:?}"
        );
        let to: Vec<String> = mailer.sent().into_iter().map(|m| m.to).collect();
        assert_eq!(to, ["ada@example.com"]);
    }

    #[test]
    fn the_days_matches_are_kept_until_another_day_is_asked() {
        let days = DigestDays::default();
        let first = days.of(day());
        assert!(Arc::ptr_eq(&first, &days.of(day())));
        let next = day().succ_opt().unwrap();
        assert_eq!(days.of(next).day(), next);
        assert!(!Arc::ptr_eq(&first, &days.of(day())));
    }

    #[test]
    fn the_day_is_the_previous_utc_day_as_a_half_open_range() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        assert_eq!(previous_day(now), day());
        let range = day_range(day());
        assert_eq!(
            range.from,
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap())
        );
        assert_eq!(
            range.to,
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
        );
    }

    #[tokio::test]
    async fn each_users_digest_goes_out_once_however_often_the_day_is_run() {
        let midnight = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let index = bobs_posts(
            midnight,
            &[("p1", 3, "aurora tonight"), ("p2", 9, "cats and dogs")],
        );
        let book = MemorySubscriptions::default();
        for (user, term) in [
            ("ada", "aurora"),
            ("cy", "cats"),
            ("dee", "zeppelin"),
            ("eve", "dogs"),
        ] {
            subscribe(&book, user, SubscriptionKind::Daily, term).await;
            if user != "eve" {
                book.set_address(user, &format!("{user}@example.com"))
                    .await
                    .unwrap();
            }
        }
        let mailing = Mailing::new();
        let mailer = &mailing.mailer;
        let deps = mailing.deps(&index, &book);
        let now = midnight + Duration::hours(25);

        // Cy's mail provider is down: the run goes on, and Cy is counted as failed.
        mailer.fail_for("cy@example.com", true);
        let first = send_daily_digests(deps, day(), now).await.unwrap();
        assert_eq!(
            first,
            DigestRun {
                sent: 1,
                nothing_to_send: 1,
                already_sent: 0,
                no_address: 1,
                failed: 1
            }
        );
        // Run again, provider back: only Cy's digest goes out.
        mailer.fail_for("cy@example.com", false);
        let second = send_daily_digests(deps, day(), now).await.unwrap();
        assert_eq!((second.sent, second.already_sent, second.failed), (1, 1, 0));
        let third = send_daily_digests(deps, day(), now).await.unwrap();
        assert_eq!((third.sent, third.already_sent), (0, 2));
        let to: Vec<String> = mailer.sent().into_iter().map(|m| m.to).collect();
        assert_eq!(to, ["ada@example.com", "cy@example.com"]);
        let ada = &mailer.sent()[0];
        assert!(ada.text.contains("aurora tonight"), "{}", ada.text);
        assert!(ada.unsubscribe.is_some());
    }
}
