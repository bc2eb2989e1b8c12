//! The EventBridge events a function takes: Step Functions' "Execution Status Change", which
//! EventBridge sends for every status an execution of a standard state machine reaches, and so
//! for every way one ends (a Catch-less error, a timeout or a StopExecution included); and the
//! daily schedule's "Scheduled Event", which starts the planning of a day's digests.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, NaiveDate, Utc};
use sde_core::{DigestQueue, ExportSlots, Subscriptions, describe_chain};
use sde_handlers::digests::{PlanError, plan_daily_digests, previous_day};
use serde::{Deserialize, Serialize};
use tracing::{error, info};

/// The `detail` of an "Execution Status Change" event, as far as it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    /// The execution's name: the export id.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`.
    pub status: String,
}

/// The statuses an execution ends in.
pub const ENDED: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// `release-export-slot`: the slot of the export whose execution ended, given back. An event
/// of another status frees nothing (the rule sends only ends). A failure is the function's
/// error, so Lambda's retries of an asynchronous invocation try again.
pub async fn release_export_slot(
    slots: &dyn ExportSlots,
    event: EventBridgeEvent<ExecutionStatusChange>,
) -> Result<(), lambda_runtime::Error> {
    let change = event.detail;
    if !ENDED.contains(&change.status.as_str()) {
        info!(
            status = change.status,
            execution = change.execution_arn,
            "an execution that has not ended keeps its slot"
        );
        return Ok(());
    }
    if let Err(failure) = sde_handlers::release_export_slot(slots, &change.name).await {
        error!(execution = change.execution_arn, error = %describe_chain(&failure), "giving back an export slot failed");
        return Err(failure.into());
    }
    Ok(())
}

/// What `plan-digests` is started with, as far as it is read: the schedule's "Scheduled Event"
/// (its `time`, when the run was due) or a hand-made `{"day": "YYYY-MM-DD"}` to plan one day
/// again. Other fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PlanDigestsEvent {
    /// The UTC day to digest; by default the day before `time`.
    #[serde(default)]
    pub day: Option<NaiveDate>,
    /// When the schedule fired; by default now. A retried invocation keeps its event's time, so
    /// it plans the day it was meant to.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
}

/// What `plan-digests` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDigests {
    pub day: NaiveDate,
    /// Digest jobs queued: one per daily subscriber.
    pub queued: usize,
}

/// Why `plan-digests` failed. The invocation fails with it, so Lambda retries a scheduled one.
#[derive(Debug, thiserror::Error)]
pub enum PlanDigestsError {
    #[error("the event is not a scheduled event or {{\"day\": \"YYYY-MM-DD\"}}")]
    Malformed(#[from] serde_json::Error),
    #[error("{day} is not over yet (UTC): only a past day can be digested")]
    NotOver { day: NaiveDate },
    #[error("planning the daily digests")]
    Plan(#[from] PlanError),
}

/// `plan-digests`: queues one digest job per daily subscriber for the event's day (the day
/// before the schedule fired, unless the event names one).
pub async fn plan_digests(
    subscriptions: &dyn Subscriptions,
    queue: &dyn DigestQueue,
    event: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<PlannedDigests, PlanDigestsError> {
    let event: PlanDigestsEvent = serde_json::from_value(event)?;
    let day = event
        .day
        .unwrap_or_else(|| previous_day(event.time.unwrap_or(now)));
    if day >= now.date_naive() {
        return Err(PlanDigestsError::NotOver { day });
    }
    match plan_daily_digests(subscriptions, queue, day).await {
        Ok(queued) => Ok(PlannedDigests { day, queued }),
        Err(failure) => {
            error!(%day, error = %describe_chain(&failure), "planning the daily digests failed");
            Err(failure.into())
        }
    }
}

#[cfg(test)]
mod digest_tests {
    use super::*;
    use chrono::TimeZone;
    use sde_core::testing::{MemorySubscriptions, RecordingQueue};
    use sde_core::{SubscriptionKind, SubscriptionTerm};
    use serde_json::json;

    async fn book() -> MemorySubscriptions {
        let book = MemorySubscriptions::default();
        for user in ["ada", "cy"] {
            book.add(
                user,
                SubscriptionKind::Daily,
                &SubscriptionTerm::parse("aurora").unwrap(),
                50,
            )
            .await
            .unwrap();
        }
        book
    }

    fn days(queue: &RecordingQueue) -> Vec<(String, String)> {
        queue
            .digests
            .lock()
            .unwrap()
            .iter()
            .map(|job| (job.user.clone(), job.day.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn the_schedule_plans_the_day_before_it_fired_and_a_named_day_is_planned_again() {
        let book = book().await;
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 1, 3, 0).unwrap();
        // A scheduled event as EventBridge sends it (hand-written), retried a day late.
        let scheduled = json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-11-30T01:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/sde-dev-plan-digests"],
            "detail": {}
        });
        let queue = RecordingQueue::default();
        let planned = plan_digests(&book, &queue, scheduled, now).await.unwrap();
        assert_eq!(planned.day.to_string(), "2026-11-29");
        assert_eq!(planned.queued, 2);
        let queue = RecordingQueue::default();
        let planned = plan_digests(&book, &queue, json!({}), now).await.unwrap();
        assert_eq!(planned.day.to_string(), "2026-11-30");
        let queue = RecordingQueue::default();
        plan_digests(&book, &queue, json!({"day": "2026-11-02"}), now)
            .await
            .unwrap();
        assert_eq!(
            days(&queue),
            [
                ("ada".into(), "2026-11-02".into()),
                ("cy".into(), "2026-11-02".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_day_not_over_or_not_a_date_queues_nothing() {
        let book = book().await;
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 1, 3, 0).unwrap();
        let queue = RecordingQueue::default();
        let today = plan_digests(&book, &queue, json!({"day": "2026-12-01"}), now).await;
        assert!(
            matches!(today, Err(PlanDigestsError::NotOver { .. })),
            "{today:?}"
        );
        let bad = plan_digests(&book, &queue, json!({"day": "yesterday"}), now).await;
        assert!(
            matches!(bad, Err(PlanDigestsError::Malformed(_))),
            "{bad:?}"
        );
        assert!(days(&queue).is_empty());
    }
}
