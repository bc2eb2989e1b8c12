//! Daily digests on one machine: the parts a day's run mails with, the in-process schedule that
//! runs the previous UTC day every day at a set time (01:00 UTC by default), and what
//! `sde digests --date` runs at once for any day.

use crate::stack::MAIL_FROM;
use crate::{LocalDeliveryLedger, LocalSubscriptions, OutboxMailer};
use anyhow::Context as _;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use sde_core::{
    LedgerMailer, OnceMailer, SearchIndex, SigningKey, Subscriptions, UnsubscribeLinks,
};
use sde_handlers::digests::{DigestDeps, DigestRun, previous_day, send_daily_digests};
use sde_tantivy::TantivyIndex;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// When the stack sends daily digests unless told otherwise.
pub const DEFAULT_DIGEST_TIME: NaiveTime = match NaiveTime::from_hms_opt(1, 0, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

/// What a day's run mails with.
#[derive(Debug, Clone)]
pub struct LocalDigests {
    pub index: Arc<dyn SearchIndex>,
    pub subscriptions: Arc<dyn Subscriptions>,
    /// Sends each digest at most once: the delivery ledger and the outbox.
    pub mail: Arc<dyn OnceMailer>,
    /// The page's address, for search links.
    pub site: String,
    pub unsubscribe: Arc<UnsubscribeLinks>,
}

impl LocalDigests {
    /// The parts over a stack's data directory, as `sde digests` uses them without a running
    /// stack: its index, subscriptions, delivery ledger and link key; mail goes to its outbox
    /// (and over SMTP with `smtp_url`), links point at `base_url` (the stack's address).
    pub fn open(
        data_dir: &Path,
        base_url: &str,
        smtp_url: Option<&str>,
    ) -> anyhow::Result<LocalDigests> {
        let index = TantivyIndex::open_or_create(&data_dir.join("index"))?;
        let subscriptions = LocalSubscriptions::open(&data_dir.join("subscriptions.json"))?;
        let ledger = LocalDeliveryLedger::open(&data_dir.join("deliveries.jsonl"))?;
        let key_file = data_dir.join("secrets").join("link-key");
        let key = SigningKey::load_or_create(&key_file)
            .with_context(|| format!("reading the link-signing key {}", key_file.display()))?;
        let mailer = OutboxMailer::new(data_dir.join("outbox"), MAIL_FROM, smtp_url)?;
        Ok(LocalDigests {
            index: Arc::new(index),
            subscriptions: Arc::new(subscriptions),
            mail: Arc::new(LedgerMailer::new(Arc::new(ledger), Arc::new(mailer))),
            site: base_url.trim_end_matches('/').to_owned(),
            unsubscribe: Arc::new(UnsubscribeLinks::new(&key, base_url)),
        })
    }

    /// Sends every daily subscriber their digest of `day` (each at most once, whatever else
    /// ran that day before).
    pub async fn run(&self, day: NaiveDate) -> anyhow::Result<DigestRun> {
        let deps = DigestDeps {
            index: self.index.as_ref(),
            subscriptions: self.subscriptions.as_ref(),
            mail: self.mail.as_ref(),
            site: &self.site,
            unsubscribe: &self.unsubscribe,
        };
        Ok(send_daily_digests(deps, day, Utc::now()).await?)
    }
}

/// The first time strictly after `now` that the clock of UTC reads `at`.
pub fn next_run_after(now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        return today;
    }
    now.date_naive()
        .checked_add_days(Days::new(1))
        .map_or(today, |tomorrow| tomorrow.and_time(at).and_utc())
}

/// Every day at `at` (UTC) sends the previous UTC day's digests, until `shutdown`.
pub fn spawn_schedule(digests: LocalDigests, at: NaiveTime, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let now = Utc::now();
            let next = next_run_after(now, at);
            let wait = (next - now).to_std().unwrap_or_default();
            info!(%next, "next daily digests");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => break,
            }
            let day = previous_day(Utc::now());
            if let Err(failure) = digests.run(day).await {
                error!(%day, error = %format!("{failure:#}"), "daily digests failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_run_is_today_at_the_time_if_still_ahead_else_tomorrow() {
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap();
        assert_eq!(
            next_run_after(at(0, 30, 0), DEFAULT_DIGEST_TIME),
            at(1, 0, 0)
        );
        assert_eq!(
            next_run_after(at(1, 0, 0), DEFAULT_DIGEST_TIME),
            Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap()
        );
        assert_eq!(
            next_run_after(at(23, 59, 59), DEFAULT_DIGEST_TIME),
            Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap()
        );
    }
}
