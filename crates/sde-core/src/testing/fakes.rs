//! In-memory stand-ins for tests of the code that uses the notification traits: subscriptions in a
//! [`SubscriptionBook`], a ledger in a map, a matcher that is a deliberate simplification of the
//! real analyser, a mailer that records (or refuses) what it is given, and a queue that records
//! jobs. They keep the traits' rules where a test relies on them; none is used outside tests.

use crate::{
    Added, Claim, DeliveryError, DeliveryErrorKind, DeliveryLedger, DigestJob, DigestQueue,
    EmailMessage, LedgerError, LedgerRecord, Mailer, NotificationQueue, Post, QueueError,
    QueueErrorKind, RealTimeJob, SubscriberPage, Subscription, SubscriptionBook, SubscriptionKind,
    SubscriptionMatcher, SubscriptionTerm, Subscriptions, SubscriptionsError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Subscriptions in memory.
#[derive(Debug, Default)]
pub struct MemorySubscriptions {
    book: Mutex<SubscriptionBook>,
}

#[async_trait]
impl Subscriptions for MemorySubscriptions {
    async fn add(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Result<Added, SubscriptionsError> {
        Ok(locked(&self.book).add(user, kind, term, cap))
    }

    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError> {
        Ok(locked(&self.book).remove(user, kind, term).is_some())
    }

    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError> {
        Ok(locked(&self.book).list(user, kind))
    }

    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        locked(&self.book).page(kind, after, limit)
    }

    async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError> {
        locked(&self.book).set_address(user, address);
        Ok(())
    }

    async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError> {
        Ok(locked(&self.book).address(user).map(str::to_owned))
    }
}

/// A ledger in memory, under the rule of [`LedgerRecord::blocks`].
#[derive(Debug, Default)]
pub struct MemoryLedger {
    records: Mutex<HashMap<String, LedgerRecord>>,
}

impl MemoryLedger {
    /// The keys marked sent.
    pub fn sent(&self) -> BTreeSet<String> {
        locked(&self.records)
            .iter()
            .filter(|(_, record)| record.token.is_none())
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[async_trait]
impl DeliveryLedger for MemoryLedger {
    async fn claim(
        &self,
        key: &str,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let mut records = locked(&self.records);
        if let Some(blocked) = records
            .get(key)
            .and_then(|record| record.blocks(Utc::now()))
        {
            return Ok(blocked);
        }
        let token = crate::ledger::claim_token();
        records.insert(
            key.to_owned(),
            LedgerRecord {
                token: Some(token.clone()),
                lease_until,
                expires_at,
            },
        );
        Ok(Claim::Claimed { token })
    }

    async fn mark_sent(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), LedgerError> {
        locked(&self.records).insert(
            key.to_owned(),
            LedgerRecord {
                token: None,
                lease_until: expires_at,
                expires_at,
            },
        );
        Ok(())
    }

    async fn release(&self, key: &str, token: &str) -> Result<(), LedgerError> {
        let mut records = locked(&self.records);
        if records
            .get(key)
            .is_some_and(|record| record.token.as_deref() == Some(token))
        {
            records.remove(key);
        }
        Ok(())
    }
}

/// A FAKE matcher for tests, not `/search`'s semantics: a real-time term matches a post when any
/// lower-cased alphanumeric word of the term is a word of the post's `Content` or `Tags`. The
/// real matchers (the embedded index's analyser, the OpenSearch percolator) live with their
/// backends.
#[derive(Debug, Default)]
pub struct WordMatcher {
    /// user → normalised term → term as given.
    held: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

#[async_trait]
impl SubscriptionMatcher for WordMatcher {
    async fn matching(&self, post: &Post) -> Result<Vec<Subscription>, SubscriptionsError> {
        let mut post_words: BTreeSet<String> = words(&post.content).collect();
        for tag in &post.tags {
            post_words.extend(words(tag));
        }
        Ok(locked(&self.held)
            .iter()
            .flat_map(|(user, terms)| {
                terms
                    .values()
                    .filter(|term| words(term).any(|word| post_words.contains(&word)))
                    .map(|term| Subscription {
                        user: user.clone(),
                        term: term.clone(),
                    })
            })
            .collect())
    }

    async fn subscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        locked(&self.held)
            .entry(user.to_owned())
            .or_default()
            .entry(term.normalised().to_owned())
            .or_insert_with(|| term.text().to_owned());
        Ok(())
    }

    async fn unsubscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        if let Some(terms) = locked(&self.held).get_mut(user) {
            terms.remove(term.normalised());
        }
        Ok(())
    }
}

/// A mailer that keeps what it sends, and refuses (as unavailable) mail to the addresses in
/// `failing`.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<EmailMessage>>,
    failing: Mutex<BTreeSet<String>>,
}

impl RecordingMailer {
    /// Every message sent so far.
    pub fn sent(&self) -> Vec<EmailMessage> {
        locked(&self.sent).clone()
    }

    /// From now on, mail to `address` fails (`fail = true`) or goes through again.
    pub fn fail_for(&self, address: &str, fail: bool) {
        let mut failing = locked(&self.failing);
        if fail {
            failing.insert(address.to_owned());
        } else {
            failing.remove(address);
        }
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: &EmailMessage) -> Result<String, DeliveryError> {
        if locked(&self.failing).contains(&message.to) {
            return Err(DeliveryError::new(
                DeliveryErrorKind::Unavailable,
                "sending through a mail provider that is down",
            ));
        }
        let mut sent = locked(&self.sent);
        sent.push(message.clone());
        Ok(format!("message-{}", sent.len()))
    }
}

/// A queue that keeps what it is given, or refuses everything when `down`.
#[derive(Debug, Default)]
pub struct RecordingQueue {
    pub jobs: Mutex<Vec<RealTimeJob>>,
    /// The daily digest jobs, in the order they were queued.
    pub digests: Mutex<Vec<DigestJob>>,
    pub down: bool,
}

#[async_trait]
impl DigestQueue for RecordingQueue {
    async fn enqueue_digest(&self, job: &DigestJob) -> Result<(), QueueError> {
        if self.down {
            return Err(QueueError::new(
                QueueErrorKind::Unavailable,
                "sending to queue sde-prod-digests",
            ));
        }
        locked(&self.digests).push(job.clone());
        Ok(())
    }
}

#[async_trait]
impl NotificationQueue for RecordingQueue {
    async fn enqueue(&self, job: &RealTimeJob) -> Result<(), QueueError> {
        if self.down {
            return Err(QueueError::new(
                QueueErrorKind::Unavailable,
                "sending to queue sde-prod-notifications",
            ));
        }
        locked(&self.jobs).push(job.clone());
        Ok(())
    }
}
