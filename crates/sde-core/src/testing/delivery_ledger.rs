//! The `DeliveryLedger` contract: a key is claimed once; while its lease is live another claim
//! answers `InProgress`; once marked sent every claim answers `AlreadySent`, however often; a
//! released claim can be taken again at once, but only its own token releases it; a lapsed lease
//! or an expired record can be claimed again; keys are kept apart, even keys that extend one
//! another; of racing claims of one key exactly one wins. Run by `LocalDeliveryLedger`'s unit
//! tests (sde-local) and by `DynamoDbDeliveryLedger`'s tests against moto's DynamoDB (sde-aws).
//!
//! Keys are fresh each run, so a shared, long-lived store may be given.

use crate::{Claim, DeliveryLedger};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// How many claims race in [`delivery_ledger_contract`].
pub const RACERS: usize = 20;

fn key() -> String {
    super::unique("realtime#7c1e4b2a-9d3f#post")
}

fn lease() -> DateTime<Utc> {
    Utc::now() + Duration::minutes(2)
}

fn expiry() -> DateTime<Utc> {
    Utc::now() + Duration::days(14)
}

async fn claim(ledger: &dyn DeliveryLedger, key: &str) -> Claim {
    ledger.claim(key, lease(), expiry()).await.unwrap()
}

fn token(claim: Claim) -> String {
    match claim {
        Claim::Claimed { token } => token,
        other => panic!("expected a claim, got {other:?}"),
    }
}

/// Runs the ledger contract against `ledger`.
pub async fn delivery_ledger_contract(ledger: Arc<dyn DeliveryLedger>) {
    a_key_is_claimed_once_and_once_sent_stays_sent(ledger.as_ref()).await;
    a_released_claim_is_free_again_but_only_its_token_releases_it(ledger.as_ref()).await;
    a_lapsed_lease_or_an_expired_record_can_be_claimed_again(ledger.as_ref()).await;
    keys_are_kept_apart(ledger.as_ref()).await;
    of_racing_claims_exactly_one_wins(ledger).await;
}

async fn a_key_is_claimed_once_and_once_sent_stays_sent(ledger: &dyn DeliveryLedger) {
    let key = key();
    let _token = token(claim(ledger, &key).await);
    assert!(
        matches!(claim(ledger, &key).await, Claim::InProgress { until } if until > Utc::now()),
        "a live lease keeps others out"
    );
    ledger.mark_sent(&key, expiry()).await.unwrap();
    ledger.mark_sent(&key, expiry()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(claim(ledger, &key).await, Claim::AlreadySent);
    }
}

async fn a_released_claim_is_free_again_but_only_its_token_releases_it(
    ledger: &dyn DeliveryLedger,
) {
    let key = key();
    let first = token(claim(ledger, &key).await);
    ledger.release(&key, "not-the-token").await.unwrap();
    assert!(
        matches!(claim(ledger, &key).await, Claim::InProgress { .. }),
        "another token releases nothing"
    );
    ledger.release(&key, &first).await.unwrap();
    let second = token(claim(ledger, &key).await);
    assert_ne!(first, second, "each claim has its own token");
    ledger.mark_sent(&key, expiry()).await.unwrap();
    ledger.release(&key, &second).await.unwrap();
    assert_eq!(
        claim(ledger, &key).await,
        Claim::AlreadySent,
        "a release after sending changes nothing"
    );
}

async fn a_lapsed_lease_or_an_expired_record_can_be_claimed_again(ledger: &dyn DeliveryLedger) {
    let key = key();
    let past = Utc::now() - Duration::seconds(5);
    let _lapsed = token(ledger.claim(&key, past, expiry()).await.unwrap());
    let _again = token(claim(ledger, &key).await);

    let expired = self::key();
    let _token = token(claim(ledger, &expired).await);
    ledger.mark_sent(&expired, past).await.unwrap();
    let _token = token(claim(ledger, &expired).await);
}

async fn keys_are_kept_apart(ledger: &dyn DeliveryLedger) {
    let key = key();
    let longer = format!("{key}0");
    let _token = token(claim(ledger, &key).await);
    ledger.mark_sent(&key, expiry()).await.unwrap();
    let _token = token(claim(ledger, &longer).await);
    assert_eq!(claim(ledger, &key).await, Claim::AlreadySent);
}

async fn of_racing_claims_exactly_one_wins(ledger: Arc<dyn DeliveryLedger>) {
    let key = key();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..RACERS {
        let (ledger, key) = (Arc::clone(&ledger), key.clone());
        racers.spawn(async move { claim(ledger.as_ref(), &key).await });
    }
    let answers = racers.join_all().await;
    let won = answers
        .iter()
        .filter(|answer| matches!(answer, Claim::Claimed { .. }))
        .count();
    let waiting = answers
        .iter()
        .filter(|answer| matches!(answer, Claim::InProgress { .. }))
        .count();
    assert_eq!((won, waiting), (1, RACERS - 1), "{answers:?}");
}
