//! The delivery ledger: one record per email that must go out at most once — a real-time notice
//! is keyed `realtime#<user>#<post id>`, a daily digest `daily#<user>#<date>` — so a job that is
//! retried, or a queue message delivered twice, does not mail anyone twice.
//!
//! Sending is claim → send → mark sent:
//!
//! 1. [`DeliveryLedger::claim`] writes the key as "sending" with a lease, in one conditional
//!    write that succeeds only if the key is absent, expired, or a lapsed lease. Of any number of
//!    deliveries racing for one key, one gets [`Claim::Claimed`].
//! 2. The holder sends the email.
//! 3. [`DeliveryLedger::mark_sent`] turns the record into "sent"; if the send failed,
//!    [`DeliveryLedger::release`] removes the claim so a retry may send at once.
//!
//! A delivery that finds the key "sent" skips it ([`Claim::AlreadySent`]); one that finds a live
//! lease ([`Claim::InProgress`]) must neither send nor give up: the holder may still fail, so it
//! is retried later (the queue's redelivery comes after the lease ends).
//!
//! The window that remains: a holder that crashes (or loses the ledger) after the provider
//! accepted the email but before `mark_sent` leaves a lease that lapses, and the next delivery
//! sends again. That is one duplicate for a crash in a window of one ledger write; any scheme
//! that records before sending instead loses the email in the same crash. A holder that outlives
//! its lease (a send slower than the lease) can meet a second sender too, so the lease is set
//! well above the time a send may take.
//!
//! Records expire (`keep`): a key only has to outlive every retry of its job. A record whose
//! expiry has passed counts as absent, whether or not the store has deleted it yet.
//!
//! Implementations: a map persisted in a file under the data directory locally, a DynamoDB
//! table (conditional writes, a TTL attribute) on AWS.

use crate::error::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;

/// The ledger key of a real-time notice of `post_id` to `user`.
pub fn real_time_key(user: &str, post_id: &str) -> String {
    format!("realtime#{user}#{post_id}")
}

/// The ledger key of `user`'s daily digest of `day` (`YYYY-MM-DD`).
pub fn daily_key(user: &str, day: chrono::NaiveDate) -> String {
    format!("daily#{user}#{day}")
}

/// The answer to [`DeliveryLedger::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key until the lease ends: send, then mark it sent or release it.
    /// The token proves the claim to [`DeliveryLedger::release`].
    Claimed { token: String },
    /// The email was sent already: skip it.
    AlreadySent,
    /// Another delivery holds a live lease until `until`: try again after it.
    InProgress { until: DateTime<Utc> },
}

/// At-most-once records of emails sent.
#[async_trait]
pub trait DeliveryLedger: Send + Sync + fmt::Debug {
    /// Claims `key` for one sender until `lease_until`, the record kept until `expires_at`.
    /// Atomic: of any number of calls racing for one key, at most one answers
    /// [`Claim::Claimed`] while the lease is live. A key whose lease has passed (and was never
    /// marked sent), or whose record has expired, can be claimed again.
    async fn claim(
        &self,
        key: &str,
        lease_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, LedgerError>;

    /// Records that the email of `key` was sent, kept until `expires_at`; from now on every
    /// claim answers [`Claim::AlreadySent`]. Idempotent.
    async fn mark_sent(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), LedgerError>;

    /// Gives up the claim `token` holds on `key` (the send failed), so the next claim succeeds.
    /// Does nothing if the claim is no longer `token`'s (it lapsed and another took it) or the
    /// key was marked sent.
    async fn release(&self, key: &str, token: &str) -> Result<(), LedgerError>;
}

/// What went wrong reading or writing the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerErrorKind {
    /// The store could not be reached or throttled us; trying again may succeed.
    Unavailable,
    /// The store refused the request (permissions, a missing table).
    Rejected,
}

impl fmt::Display for LedgerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LedgerErrorKind::Unavailable => "delivery ledger unavailable",
            LedgerErrorKind::Rejected => "delivery ledger rejected the request",
        })
    }
}

/// A ledger failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct LedgerError {
    pub kind: LedgerErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl LedgerError {
    pub fn new(kind: LedgerErrorKind, context: impl Into<String>) -> Self {
        LedgerError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}

/// One key's record as the local ledger keeps it, with the rule every store applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerRecord {
    /// `None` once sent; the claim's token while sending.
    pub token: Option<String>,
    /// When the claim lapses (meaningless once sent).
    pub lease_until: DateTime<Utc>,
    /// When the record stops counting.
    pub expires_at: DateTime<Utc>,
}

impl LedgerRecord {
    /// What a claim at `now` meets in this record: `None` when the key may be claimed.
    pub fn blocks(&self, now: DateTime<Utc>) -> Option<Claim> {
        if self.expires_at <= now {
            return None;
        }
        match &self.token {
            None => Some(Claim::AlreadySent),
            Some(_) if self.lease_until > now => Some(Claim::InProgress {
                until: self.lease_until,
            }),
            Some(_) => None,
        }
    }
}

/// A fresh claim token.
pub fn claim_token() -> String {
    use rand::Rng as _;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_record_blocks_while_sent_or_leased_and_not_once_expired_or_lapsed() {
        let now: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let sending = LedgerRecord {
            token: Some("t".into()),
            lease_until: now + Duration::minutes(2),
            expires_at: now + Duration::days(14),
        };
        assert_eq!(
            sending.blocks(now),
            Some(Claim::InProgress {
                until: now + Duration::minutes(2)
            })
        );
        assert_eq!(sending.blocks(now + Duration::minutes(3)), None, "lapsed");
        let sent = LedgerRecord {
            token: None,
            ..sending
        };
        assert_eq!(
            sent.blocks(now + Duration::days(1)),
            Some(Claim::AlreadySent)
        );
        assert_eq!(sent.blocks(now + Duration::days(14)), None, "expired");
        assert_eq!(real_time_key("u-1", "p-9"), "realtime#u-1#p-9");
    }
}
