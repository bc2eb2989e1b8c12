//! The queue between posting and mailing. `POST /posts` stores a post, answers 201, and only then
//! puts a [`RealTimeJob`] on the [`NotificationQueue`]; a worker takes it off and mails the
//! post's real-time subscribers, so matching and mailing never slow posting down.
//!
//! Daily digests take the same road: a planner puts one [`DigestJob`] per subscriber on a
//! [`DigestQueue`] and a worker mails each user their digest of the day.
//!
//! Implementations: SQS on AWS (retries by redelivery, a dead-letter queue after a few
//! receives), an in-process queue with a worker, bounded retries and a dead-letter log locally.
//! Either may deliver a job more than once; the [`DeliveryLedger`](crate::DeliveryLedger) keeps
//! that from mailing anyone twice.

use crate::error::BoxError;
use crate::post::Post;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Mail the real-time subscribers `post` matches. The whole post travels in the job (it is at
/// most a few KB, well under a queue message's 256 KB), so the worker needs no read of the index
/// and mails what was stored even if the index is slow to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealTimeJob {
    pub post: Post,
}

/// Puts notification jobs on a queue for a worker.
#[async_trait]
pub trait NotificationQueue: Send + Sync + fmt::Debug {
    /// Queues `job`. Once this returns `Ok` the job will be worked at least once (or end in the
    /// dead-letter queue).
    async fn enqueue(&self, job: &RealTimeJob) -> Result<(), QueueError>;
}

/// Mail `user` their digest of the UTC day `day` (`"2026-11-30"` on the wire). Small on purpose:
/// the worker reads the user's terms and the day's posts when it works the job, so a job queued
/// before a subscription changed mails what holds when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestJob {
    pub user: String,
    pub day: NaiveDate,
}

/// Puts daily digest jobs on a queue for a worker.
#[async_trait]
pub trait DigestQueue: Send + Sync + fmt::Debug {
    /// Queues `job`. Once this returns `Ok` the job will be worked at least once (or end in the
    /// dead-letter queue).
    async fn enqueue_digest(&self, job: &DigestJob) -> Result<(), QueueError>;
}

/// What went wrong queueing a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueErrorKind {
    /// The queue could not be reached or throttled us; trying again may succeed.
    Unavailable,
    /// The queue refused the job (permissions, a missing queue, a malformed job).
    Rejected,
}

impl fmt::Display for QueueErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueueErrorKind::Unavailable => "notification queue unavailable",
            QueueErrorKind::Rejected => "notification queue rejected the job",
        })
    }
}

/// A queueing failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct QueueError {
    pub kind: QueueErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl QueueError {
    pub fn new(kind: QueueErrorKind, context: impl Into<String>) -> Self {
        QueueError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::UserId;

    #[test]
    fn a_job_is_the_post_in_its_wire_names() {
        let job = RealTimeJob {
            post: Post {
                id: "p-1".into(),
                user_id: UserId::Text("u-1".into()),
                date_created: "2026-01-01T00:00:00Z".parse().unwrap(),
                content: "hi".into(),
                tags: vec!["#a".into()],
            },
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["post"]["uuid"], "p-1");
        assert_eq!(
            serde_json::from_value::<RealTimeJob>(json).unwrap(),
            job,
            "round-trips"
        );
    }

    #[test]
    fn a_digest_job_names_the_user_and_the_day() {
        let job = DigestJob {
            user: "ada".into(),
            day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(json, r#"{"user":"ada","day":"2026-11-30"}"#);
        assert_eq!(serde_json::from_str::<DigestJob>(&json).unwrap(), job);
        assert!(serde_json::from_str::<DigestJob>(r#"{"user":"ada","day":"30/11/2026"}"#).is_err());
    }
}
