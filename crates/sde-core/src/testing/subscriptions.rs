//! The `Subscriptions` contract: a user's terms are listed as given, all of them, and a term
//! already held (compared trimmed and case-insensitively) is `AlreadySubscribed`; users and kinds
//! are kept apart, even users whose names extend one another; removing takes exactly the
//! normalised term ("dog" never takes "hot dog") and says whether there was one; the cap is per
//! user and kind, and a removal makes room; paging through a kind's subscribers visits every one
//! exactly once and no other kind's; of racing adds of one term exactly one succeeds, and of
//! racing adds of different terms no more than the cap; a user's address is the one last
//! recorded, and users' addresses are kept apart. Run by `LocalSubscriptions`' unit tests
//! (sde-local) and by `DynamoDbSubscriptions`' tests against moto's DynamoDB (sde-aws).
//!
//! Users are fresh names each run, so a shared, long-lived store may be given.

use crate::{Added, SubscriptionKind, SubscriptionTerm, Subscriptions};
use std::collections::HashMap;
use std::sync::Arc;

const DAILY: SubscriptionKind = SubscriptionKind::Daily;
const REAL_TIME: SubscriptionKind = SubscriptionKind::RealTime;
/// A cap no test reaches unless it means to.
const ROOMY: u32 = 1_000;
/// How many adds race in [`subscriptions_contract`].
pub const RACERS: usize = 20;
const RACED_CAP: u32 = 5;

/// A fresh user, shaped like a Cognito `sub`.
fn user() -> String {
    super::unique("7c1e4b2a-9d3f-4a6e")
}

fn term(text: &str) -> SubscriptionTerm {
    SubscriptionTerm::parse(text).unwrap()
}

/// Runs the subscriptions contract against `subscriptions`.
pub async fn subscriptions_contract(subscriptions: Arc<dyn Subscriptions>) {
    a_users_terms_are_listed_as_given_and_a_held_term_is_not_added_twice(subscriptions.as_ref())
        .await;
    every_term_is_listed_however_many(subscriptions.as_ref()).await;
    users_and_kinds_are_kept_apart(subscriptions.as_ref()).await;
    removing_takes_exactly_the_normalised_term(subscriptions.as_ref()).await;
    the_cap_is_per_user_and_kind_and_a_removal_makes_room(subscriptions.as_ref()).await;
    paging_through_a_kind_visits_each_of_its_subscriptions_once(subscriptions.as_ref()).await;
    of_racing_adds_of_one_term_exactly_one_succeeds(Arc::clone(&subscriptions)).await;
    a_users_address_is_the_one_last_recorded(subscriptions.as_ref()).await;
    racing_adds_of_different_terms_stay_within_the_cap(subscriptions).await;
}

async fn a_users_address_is_the_one_last_recorded(subscriptions: &dyn Subscriptions) {
    let ada = user();
    let longer = format!("{ada}0");
    assert_eq!(subscriptions.address(&ada).await.unwrap(), None);
    subscriptions
        .set_address(&ada, "ada@example.com")
        .await
        .unwrap();
    add(subscriptions, &ada, REAL_TIME, "aurora").await;
    assert_eq!(
        subscriptions.address(&ada).await.unwrap().as_deref(),
        Some("ada@example.com")
    );
    subscriptions
        .set_address(&ada, "ada.lovelace@example.org")
        .await
        .unwrap();
    assert_eq!(
        subscriptions.address(&ada).await.unwrap().as_deref(),
        Some("ada.lovelace@example.org"),
        "the address is refreshed"
    );
    assert_eq!(
        subscriptions.address(&longer).await.unwrap(),
        None,
        "another user's address is their own"
    );
    assert_eq!(
        list(subscriptions, &ada, REAL_TIME).await,
        ["aurora"],
        "recording an address touches no term"
    );
}

async fn add(subscriptions: &dyn Subscriptions, user: &str, kind: SubscriptionKind, text: &str) {
    assert_eq!(
        subscriptions
            .add(user, kind, &term(text), ROOMY)
            .await
            .unwrap(),
        Added::Added,
        "adding {text:?}"
    );
}

async fn list(
    subscriptions: &dyn Subscriptions,
    user: &str,
    kind: SubscriptionKind,
) -> Vec<String> {
    subscriptions.list(user, kind).await.unwrap()
}

async fn a_users_terms_are_listed_as_given_and_a_held_term_is_not_added_twice(
    subscriptions: &dyn Subscriptions,
) {
    let user = user();
    assert_eq!(
        list(subscriptions, &user, DAILY).await,
        Vec::<String>::new()
    );
    add(subscriptions, &user, DAILY, "  Northern Lights ").await;
    add(subscriptions, &user, DAILY, "#aurora").await;
    for again in ["northern lights", "NORTHERN LIGHTS", " Northern Lights"] {
        assert_eq!(
            subscriptions
                .add(&user, DAILY, &term(again), ROOMY)
                .await
                .unwrap(),
            Added::AlreadySubscribed,
            "{again:?}"
        );
    }
    assert_eq!(
        list(subscriptions, &user, DAILY).await,
        ["#aurora", "Northern Lights"],
        "as first given, ordered by normalised term"
    );
}

async fn every_term_is_listed_however_many(subscriptions: &dyn Subscriptions) {
    let user = user();
    let mut terms: Vec<String> = (0..60).map(|n| format!("term {n:02}")).collect();
    for text in &terms {
        add(subscriptions, &user, REAL_TIME, text).await;
    }
    terms.sort();
    assert_eq!(list(subscriptions, &user, REAL_TIME).await, terms);
}

async fn users_and_kinds_are_kept_apart(subscriptions: &dyn Subscriptions) {
    let ada = user();
    // One user's name extends the other's: a store matching by prefix would mix them up.
    let longer = format!("{ada}0");
    add(subscriptions, &ada, DAILY, "cats").await;
    assert_eq!(
        list(subscriptions, &longer, DAILY).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(subscriptions, &ada, REAL_TIME).await,
        Vec::<String>::new()
    );
    add(subscriptions, &longer, DAILY, "cats").await;
    add(subscriptions, &ada, REAL_TIME, "cats").await;
    assert!(
        subscriptions
            .remove(&longer, DAILY, &term("cats"))
            .await
            .unwrap()
    );
    assert_eq!(list(subscriptions, &ada, DAILY).await, ["cats"]);
    assert_eq!(list(subscriptions, &ada, REAL_TIME).await, ["cats"]);
    assert_eq!(
        list(subscriptions, &longer, DAILY).await,
        Vec::<String>::new()
    );
}

async fn removing_takes_exactly_the_normalised_term(subscriptions: &dyn Subscriptions) {
    let user = user();
    add(subscriptions, &user, DAILY, "hot dog").await;
    add(subscriptions, &user, DAILY, "Dog").await;
    assert!(
        !subscriptions
            .remove(&user, DAILY, &term("dogs"))
            .await
            .unwrap(),
        "there is no \"dogs\""
    );
    assert!(
        subscriptions
            .remove(&user, DAILY, &term(" DOG "))
            .await
            .unwrap()
    );
    assert_eq!(list(subscriptions, &user, DAILY).await, ["hot dog"]);
    assert!(
        !subscriptions
            .remove(&user, DAILY, &term("dog"))
            .await
            .unwrap(),
        "removed already"
    );
    assert!(
        !subscriptions
            .remove(&user, REAL_TIME, &term("hot dog"))
            .await
            .unwrap(),
        "not held of the other kind"
    );
    assert_eq!(list(subscriptions, &user, DAILY).await, ["hot dog"]);
}

async fn the_cap_is_per_user_and_kind_and_a_removal_makes_room(subscriptions: &dyn Subscriptions) {
    let user = user();
    for n in 0..3 {
        assert_eq!(
            subscriptions
                .add(&user, DAILY, &term(&format!("t{n}")), 3)
                .await
                .unwrap(),
            Added::Added
        );
    }
    assert_eq!(
        subscriptions
            .add(&user, DAILY, &term("t3"), 3)
            .await
            .unwrap(),
        Added::Full { held: 3 }
    );
    assert_eq!(
        subscriptions
            .add(&user, DAILY, &term("T0"), 3)
            .await
            .unwrap(),
        Added::AlreadySubscribed,
        "a held term is already there, cap or not"
    );
    assert_eq!(
        subscriptions
            .add(&user, REAL_TIME, &term("t3"), 3)
            .await
            .unwrap(),
        Added::Added,
        "the other kind has a cap of its own"
    );
    assert_eq!(
        subscriptions
            .add(&self::user(), DAILY, &term("t3"), 3)
            .await
            .unwrap(),
        Added::Added,
        "another user has a cap of their own"
    );
    assert!(
        subscriptions
            .remove(&user, DAILY, &term("t1"))
            .await
            .unwrap()
    );
    assert!(
        !subscriptions
            .remove(&user, DAILY, &term("t1"))
            .await
            .unwrap()
    );
    assert_eq!(
        subscriptions
            .add(&user, DAILY, &term("t3"), 3)
            .await
            .unwrap(),
        Added::Added,
        "the removal made room for one"
    );
    assert_eq!(
        subscriptions
            .add(&user, DAILY, &term("t4"), 3)
            .await
            .unwrap(),
        Added::Full { held: 3 },
        "removing twice made room for one only"
    );
}

async fn paging_through_a_kind_visits_each_of_its_subscriptions_once(
    subscriptions: &dyn Subscriptions,
) {
    let (ada, bob) = (user(), user());
    let mut expected = Vec::new();
    for (who, text) in [
        (&ada, "Rain"),
        (&ada, "snow"),
        (&bob, "rain"),
        (&bob, "fog"),
    ] {
        add(subscriptions, who, DAILY, text).await;
        expected.push((who.clone(), text.to_owned()));
    }
    add(subscriptions, &ada, REAL_TIME, "hail").await;

    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = subscriptions
            .subscribers(DAILY, after.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.subscriptions.len() <= 3, "{page:?}");
        for subscription in page.subscriptions {
            *seen
                .entry((subscription.user, subscription.term))
                .or_default() += 1;
        }
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 100_000, "paging does not end");
    }
    for visit in &expected {
        assert_eq!(seen.get(visit), Some(&1), "{visit:?} once");
    }
    assert!(pages >= 2, "four subscriptions in pages of three");
    assert_eq!(
        seen.get(&(ada.clone(), "hail".to_owned())),
        None,
        "a real-time subscription is not a daily one"
    );
    assert!(
        seen.values().all(|count| *count == 1),
        "no subscription is visited twice"
    );
}

async fn of_racing_adds_of_one_term_exactly_one_succeeds(subscriptions: Arc<dyn Subscriptions>) {
    let user = user();
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (subscriptions, user) = (Arc::clone(&subscriptions), user.clone());
        let text = if n % 2 == 0 { "Eclipse" } else { " eclipse " };
        racers.spawn(async move {
            subscriptions
                .add(&user, DAILY, &term(text), ROOMY)
                .await
                .unwrap()
        });
    }
    let answers = racers.join_all().await;
    let added = answers.iter().filter(|a| **a == Added::Added).count();
    let held = answers
        .iter()
        .filter(|a| **a == Added::AlreadySubscribed)
        .count();
    assert_eq!((added, held), (1, RACERS - 1), "{answers:?}");
    assert_eq!(list(subscriptions.as_ref(), &user, DAILY).await.len(), 1);
}

async fn racing_adds_of_different_terms_stay_within_the_cap(subscriptions: Arc<dyn Subscriptions>) {
    let user = user();
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..RACERS {
        let (subscriptions, user) = (Arc::clone(&subscriptions), user.clone());
        racers.spawn(async move {
            subscriptions
                .add(&user, REAL_TIME, &term(&format!("racer {n}")), RACED_CAP)
                .await
                .unwrap()
        });
    }
    let answers = racers.join_all().await;
    let added = answers.iter().filter(|a| **a == Added::Added).count();
    assert_eq!(added, RACED_CAP as usize, "{answers:?}");
    assert_eq!(
        list(subscriptions.as_ref(), &user, REAL_TIME).await.len(),
        RACED_CAP as usize
    );
}
