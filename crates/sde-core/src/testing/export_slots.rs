//! The `ExportSlots` contract: an owner holds at most `limit` unexpired slots, and the next
//! reservation is `Full` with how many are held; owners are counted apart; a release frees that
//! export's slot only, and releasing again, or an export that holds none, succeeds and frees
//! nothing; a slot whose expiry has passed is free without anyone deleting it, and the late
//! release of the export it lapsed from leaves its new holder alone; and of fifty reservations
//! racing for one owner's five slots exactly five succeed. Run by `MemoryExportSlots`' unit tests
//! (sde-local) and by `DynamoDbExportSlots`' tests against moto's DynamoDB (sde-aws).
//!
//! Owners are fresh names each run, so a shared, long-lived store may be given.

use crate::{ExportSlots, Reservation};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// How many reservations race in [`export_slots_contract`], and for how many slots.
pub const RACERS: usize = 50;
const RACED_LIMIT: u32 = 5;

fn in_an_hour() -> DateTime<Utc> {
    Utc::now() + Duration::hours(1)
}

/// A time already past: a slot reserved until then has lapsed.
fn a_minute_ago() -> DateTime<Utc> {
    Utc::now() - Duration::minutes(1)
}

/// A fresh owner, shaped like the owner part of an execution name.
fn owner() -> String {
    super::unique("3f2a9c1e-7b4d-4e8a")
}

/// Runs the export-slots contract against `slots`.
pub async fn export_slots_contract(slots: Arc<dyn ExportSlots>) {
    an_owner_holds_at_most_the_limit(slots.as_ref()).await;
    owners_are_counted_apart(slots.as_ref()).await;
    a_release_frees_that_exports_slot_once(slots.as_ref()).await;
    a_lapsed_slot_is_free_and_its_late_release_frees_nothing(slots.as_ref()).await;
    of_racing_reservations_exactly_the_limit_succeed(slots).await;
}

async fn reserve(slots: &dyn ExportSlots, owner: &str, export_id: &str, limit: u32) -> Reservation {
    slots
        .reserve(owner, export_id, limit, in_an_hour())
        .await
        .unwrap()
}

async fn an_owner_holds_at_most_the_limit(slots: &dyn ExportSlots) {
    let owner = owner();
    for n in 0..3 {
        assert_eq!(
            reserve(slots, &owner, &format!("{owner}_{n}"), 3).await,
            Reservation::Reserved,
            "slot {n} of 3"
        );
    }
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_3"), 3).await,
        Reservation::Full { held: 3 }
    );
    // A lower limit than the slots held is full too, and says how many are.
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_4"), 2).await,
        Reservation::Full { held: 3 }
    );
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_5"), 4).await,
        Reservation::Reserved,
        "a higher limit has room"
    );
}

async fn owners_are_counted_apart(slots: &dyn ExportSlots) {
    let (busy, other) = (owner(), owner());
    // One owner's name extends the other's: a store matching by prefix would mix them up.
    let longer = format!("{busy}0");
    assert_eq!(
        reserve(slots, &busy, &format!("{busy}_1"), 1).await,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(slots, &busy, &format!("{busy}_2"), 1).await,
        Reservation::Full { held: 1 }
    );
    for someone in [&other, &longer] {
        assert_eq!(
            reserve(slots, someone, &format!("{someone}_1"), 1).await,
            Reservation::Reserved,
            "{someone} has slots of their own"
        );
    }
}

async fn a_release_frees_that_exports_slot_once(slots: &dyn ExportSlots) {
    let owner = owner();
    let (first, second) = (format!("{owner}_1"), format!("{owner}_2"));
    assert_eq!(
        reserve(slots, &owner, &first, 2).await,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(slots, &owner, &second, 2).await,
        Reservation::Reserved
    );

    slots.release(&owner, &first).await.unwrap();
    slots.release(&owner, &first).await.unwrap();
    slots
        .release(&owner, &format!("{owner}_never"))
        .await
        .unwrap();
    slots
        .release(&super::unique("nobody"), &first)
        .await
        .unwrap();

    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_3"), 2).await,
        Reservation::Reserved,
        "the released slot is free"
    );
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_4"), 2).await,
        Reservation::Full { held: 2 },
        "releasing twice freed one slot, and the other export kept its own"
    );
    slots.release(&owner, &second).await.unwrap();
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_5"), 2).await,
        Reservation::Reserved
    );
}

async fn a_lapsed_slot_is_free_and_its_late_release_frees_nothing(slots: &dyn ExportSlots) {
    let owner = owner();
    let lapsed = format!("{owner}_lapsed");
    assert_eq!(
        slots
            .reserve(&owner, &lapsed, 1, a_minute_ago())
            .await
            .unwrap(),
        Reservation::Reserved
    );
    let taker = format!("{owner}_taker");
    assert_eq!(
        reserve(slots, &owner, &taker, 1).await,
        Reservation::Reserved,
        "a slot past its expiry is free"
    );

    // The export whose slot lapsed ends late and releases: its slot is the taker's now.
    slots.release(&owner, &lapsed).await.unwrap();
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_late"), 1).await,
        Reservation::Full { held: 1 },
        "a late release does not free the slot another export took"
    );
    slots.release(&owner, &taker).await.unwrap();
    assert_eq!(
        reserve(slots, &owner, &format!("{owner}_after"), 1).await,
        Reservation::Reserved
    );
}

async fn of_racing_reservations_exactly_the_limit_succeed(slots: Arc<dyn ExportSlots>) {
    let owner = owner();
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (slots, owner) = (Arc::clone(&slots), owner.clone());
        racers.spawn(async move {
            slots
                .reserve(&owner, &format!("{owner}_{n}"), RACED_LIMIT, in_an_hour())
                .await
                .unwrap()
        });
    }
    let answers = racers.join_all().await;
    let reserved = answers
        .iter()
        .filter(|answer| **answer == Reservation::Reserved)
        .count();
    assert_eq!(
        reserved, RACED_LIMIT as usize,
        "{RACERS} racing for {RACED_LIMIT} slots: {answers:?}"
    );
    assert_eq!(
        reserve(
            slots.as_ref(),
            &owner,
            &format!("{owner}_after"),
            RACED_LIMIT
        )
        .await,
        Reservation::Full { held: RACED_LIMIT }
    );
}
