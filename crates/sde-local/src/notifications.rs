//! [`LocalNotificationQueue`]: the local stack's notification queue, an in-process channel worked
//! by one task, in place of SQS and its worker function. A job that fails (`notify_real_time`
//! says some subscriber could not be mailed yet) is tried again after a growing pause, up to
//! [`RetryPolicy::attempts`] times in all; one that still fails is dead-lettered: logged as an
//! error and appended to `dead-letters.jsonl` under the data directory, where it can be read and
//! queued again. Jobs are worked a few at a time, so a slow mailer does not hold up the rest.
//!
//! Unlike SQS, the queue lives in memory: a job queued or waiting for a retry when the process
//! stops is lost (its post is stored; its subscribers miss that one real-time notice). The ledger
//! keeps a job that did run from mailing anyone twice after a restart.

use sde_core::{
    NotificationQueue, OnceMailer, QueueError, QueueErrorKind, RealTimeJob, SubscriptionMatcher,
    Subscriptions, UnsubscribeLinks, describe_chain,
};
use sde_handlers::notify::{NotifyDeps, notify_real_time};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// How often, and after how long, a failed job is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The pause before the first retry; each next one doubles it.
    pub first_pause: Duration,
}

impl Default for RetryPolicy {
    /// Five tries over about half a minute: a mail relay restarting is waited for, a broken one
    /// is not.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_pause: Duration::from_secs(2),
        }
    }
}

/// What the worker mails with.
#[derive(Debug, Clone)]
pub struct NotifyParts {
    pub matcher: Arc<dyn SubscriptionMatcher>,
    pub subscriptions: Arc<dyn Subscriptions>,
    /// Sends each notice at most once: the delivery ledger and the outbox.
    pub mail: Arc<dyn OnceMailer>,
    /// The page's address, for search links.
    pub site: String,
    /// Signs the emails' one-click unsubscribe links.
    pub unsubscribe: Arc<UnsubscribeLinks>,
}

/// A job and how many times it was tried.
#[derive(Debug)]
struct Delivery {
    job: RealTimeJob,
    tries: u32,
}

/// How many jobs are worked at once.
const WORKERS: usize = 4;

/// The in-process queue; its worker runs until `shutdown`.
#[derive(Debug, Clone)]
pub struct LocalNotificationQueue {
    sender: mpsc::UnboundedSender<Delivery>,
}

impl LocalNotificationQueue {
    /// Starts the worker over `parts`, dead-lettering to `dead_letters`.
    pub fn start(
        parts: NotifyParts,
        retry: RetryPolicy,
        dead_letters: PathBuf,
        shutdown: CancellationToken,
    ) -> Self {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Delivery>();
        let requeue = sender.clone();
        let parts = Arc::new(parts);
        let dead_letters = Arc::new(dead_letters);
        let permits = Arc::new(Semaphore::new(WORKERS));
        tokio::spawn(async move {
            loop {
                let delivery = tokio::select! {
                    () = shutdown.cancelled() => break,
                    delivery = receiver.recv() => match delivery {
                        Some(delivery) => delivery,
                        None => break,
                    },
                };
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (parts, requeue, dead_letters, shutdown) = (
                    parts.clone(),
                    requeue.clone(),
                    dead_letters.clone(),
                    shutdown.clone(),
                );
                tokio::spawn(async move {
                    work(delivery, &parts, retry, &requeue, &dead_letters, &shutdown).await;
                    drop(permit);
                });
            }
        });
        LocalNotificationQueue { sender }
    }
}

/// Works one delivery: done, put back after a pause, or dead-lettered.
async fn work(
    delivery: Delivery,
    parts: &NotifyParts,
    retry: RetryPolicy,
    requeue: &mpsc::UnboundedSender<Delivery>,
    dead_letters: &std::path::Path,
    shutdown: &CancellationToken,
) {
    let deps = NotifyDeps {
        matcher: parts.matcher.as_ref(),
        subscriptions: parts.subscriptions.as_ref(),
        mail: parts.mail.as_ref(),
        site: &parts.site,
        unsubscribe: &parts.unsubscribe,
    };
    let tries = delivery.tries + 1;
    let Err(failure) = notify_real_time(&delivery.job, deps).await else {
        return;
    };
    if tries >= retry.attempts.max(1) {
        error!(post = %delivery.job.post.id, tries, error = %describe_chain(&failure),
               "a real-time notification job failed every try; dead-lettered");
        if let Err(write) = dead_letter(dead_letters, &delivery.job) {
            error!(post = %delivery.job.post.id, error = %write,
                   "writing a dead letter failed");
        }
        return;
    }
    let pause = retry
        .first_pause
        .saturating_mul(2u32.saturating_pow(tries - 1));
    info!(post = %delivery.job.post.id, tries, pause_ms = pause.as_millis() as u64,
          "a real-time notification job will be retried");
    let requeue = requeue.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(pause) => {
                let _ = requeue.send(Delivery { job: delivery.job, tries });
            }
        }
    });
}

fn dead_letter(path: &std::path::Path, job: &RealTimeJob) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut line = serde_json::to_vec(job)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

#[async_trait::async_trait]
impl NotificationQueue for LocalNotificationQueue {
    async fn enqueue(&self, job: &RealTimeJob) -> Result<(), QueueError> {
        self.sender
            .send(Delivery {
                job: job.clone(),
                tries: 0,
            })
            .map_err(|_| {
                QueueError::new(
                    QueueErrorKind::Unavailable,
                    "queueing a notification job: the worker has stopped",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::{MemoryLedger, MemorySubscriptions, RecordingMailer, WordMatcher};
    use sde_core::{LedgerMailer, Post, SubscriptionKind, SubscriptionTerm, UserId};

    async fn parts() -> (NotifyParts, Arc<RecordingMailer>) {
        let subscriptions = Arc::new(MemorySubscriptions::default());
        let matcher = Arc::new(WordMatcher::default());
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
        let mailer = Arc::new(RecordingMailer::default());
        (
            NotifyParts {
                matcher,
                subscriptions,
                mail: Arc::new(LedgerMailer::new(
                    Arc::new(MemoryLedger::default()),
                    mailer.clone(),
                )),
                site: "http://127.0.0.1:1".into(),
                unsubscribe: Arc::new(UnsubscribeLinks::new(
                    &sde_core::SigningKey::generate(),
                    "http://127.0.0.1:1",
                )),
            },
            mailer,
        )
    }

    fn job(id: &str) -> RealTimeJob {
        RealTimeJob {
            post: Post {
                id: id.into(),
                user_id: UserId::Text("bob".into()),
                date_created: "2026-03-04T05:06:07Z".parse().unwrap(),
                content: "aurora tonight".into(),
                tags: vec![],
            },
        }
    }

    async fn eventually(what: &str, done: impl Fn() -> bool) {
        for _ in 0..200 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{what} did not happen");
    }

    const QUICK: RetryPolicy = RetryPolicy {
        attempts: 3,
        first_pause: Duration::from_millis(20),
    };

    #[tokio::test]
    async fn a_job_that_fails_at_first_is_retried_until_it_goes_through() {
        let dir = tempfile::tempdir().unwrap();
        let (parts, mailer) = parts().await;
        mailer.fail_for("ada@example.com", true);
        let shutdown = CancellationToken::new();
        let queue = LocalNotificationQueue::start(
            parts,
            QUICK,
            dir.path().join("dead-letters.jsonl"),
            shutdown.clone(),
        );
        queue.enqueue(&job("p-1")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        mailer.fail_for("ada@example.com", false);
        eventually("the retry", || mailer.sent().len() == 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(mailer.sent().len(), 1, "mailed once");
        assert!(!dir.path().join("dead-letters.jsonl").exists());
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_job_that_fails_every_try_is_dead_lettered() {
        let dir = tempfile::tempdir().unwrap();
        let dead_letters = dir.path().join("dead-letters.jsonl");
        let (parts, mailer) = parts().await;
        mailer.fail_for("ada@example.com", true);
        let shutdown = CancellationToken::new();
        let queue =
            LocalNotificationQueue::start(parts, QUICK, dead_letters.clone(), shutdown.clone());
        queue.enqueue(&job("p-2")).await.unwrap();
        eventually("the dead letter", || dead_letters.exists()).await;
        let text = std::fs::read_to_string(&dead_letters).unwrap();
        let jobs: Vec<RealTimeJob> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(jobs, [job("p-2")], "dead-lettered once, whole");
        assert!(mailer.sent().is_empty());
        shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            queue.enqueue(&job("p-3")).await.unwrap_err().kind,
            QueueErrorKind::Unavailable,
            "a stopped worker takes no jobs"
        );
    }
}
