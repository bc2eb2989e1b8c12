//! `subscriptions`: a caller's daily and real-time subscriptions to search terms — add, remove,
//! list — behind `POST`, `DELETE` and `GET /subscriptions/{daily,real-time}`.
//!
//! Terms are compared trimmed and case-insensitively ([`SubscriptionTerm`]). Adding one already
//! held is a 400 `"Subscription already exists"` (the message the frontend knows), removing one
//! not held a 404, and a caller holds at most [`MAX_SUBSCRIPTIONS_PER_KIND`] of each kind (400
//! past it: waiting does not help, removing one does). Subscribing needs a verified email address
//! (403 otherwise), because that is where the mail will go; removing and listing do not. Each
//! subscribe records the caller's verified address with their subscriptions (replacing the last
//! one), as mail is sent later by a worker that has no token to read it from.
//!
//! Real-time terms are also handed to the [`SubscriptionMatcher`], after the store: the store is
//! the source of truth and the mailer checks every match against it, so the matcher may be ahead
//! of the store (a term it still holds is harmless) but must never be behind it (a term it lacks
//! is mail never sent). So a subscribe whose matcher update fails is undone in the store and
//! answered as an error; an unsubscribe tells the matcher even when the store no longer held the
//! term, so a retry of one whose matcher update failed heals it.

use crate::api_error::{ApiError, ApiErrorKind};
use sde_core::{
    Added, Caller, MAX_SUBSCRIPTIONS_PER_KIND, Owner, SubscriptionKind, SubscriptionMatcher,
    SubscriptionRequest, SubscriptionTerm, Subscriptions,
};
use serde::Serialize;
use tracing::{info, warn};

/// The message of adding a term already held, as the original backend answered it.
pub const ALREADY_EXISTS: &str = "Subscription already exists";
/// The message of removing a term not held.
pub const NOT_FOUND: &str = "Subscription not found";

/// What adding or removing answers: the term as stored, and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionAnswer {
    pub value: String,
    pub kind: SubscriptionKind,
}

/// Subscribes `caller` to the term of `request` for `kind`, recording their verified address
/// and, for a real-time term, telling `matcher`.
pub async fn subscribe(
    store: &dyn Subscriptions,
    matcher: &dyn SubscriptionMatcher,
    caller: &Caller,
    kind: SubscriptionKind,
    request: SubscriptionRequest,
) -> Result<SubscriptionAnswer, ApiError> {
    let owner = caller.with_verified_email()?;
    let term = SubscriptionTerm::try_from(request)?;
    store.set_address(&owner.sub, &owner.email).await?;
    let added = store
        .add(&owner.sub, kind, &term, MAX_SUBSCRIPTIONS_PER_KIND)
        .await?;
    // Held already or just added, a real-time term must be in the matcher too (idempotent).
    if kind == SubscriptionKind::RealTime
        && !matches!(added, Added::Full { .. })
        && let Err(error) = matcher.subscribed(&owner.sub, &term).await
    {
        if added == Added::Added
            && let Err(undo) = store.remove(&owner.sub, kind, &term).await
        {
            warn!(error = %sde_core::describe_chain(&undo),
                  "undoing a subscription the matcher did not take failed");
        }
        return Err(error.into());
    }
    match added {
        Added::Added => {
            info!(%kind, chars = term.text().chars().count(), "subscription added");
            Ok(SubscriptionAnswer {
                value: term.text().to_owned(),
                kind,
            })
        }
        Added::AlreadySubscribed => Err(ApiError::bad_request(ALREADY_EXISTS)),
        Added::Full { held } => Err(ApiError::new(
            ApiErrorKind::BadRequest,
            format!(
                "you have {held} {kind} subscriptions, the most allowed is \
                 {MAX_SUBSCRIPTIONS_PER_KIND}: remove one first"
            ),
        )),
    }
}

/// Unsubscribes `owner` from the term of `request` for `kind`: 404 unless they held it. A
/// real-time term is taken out of `matcher` too, held or not.
pub async fn unsubscribe(
    store: &dyn Subscriptions,
    matcher: &dyn SubscriptionMatcher,
    owner: &Owner,
    kind: SubscriptionKind,
    request: SubscriptionRequest,
) -> Result<SubscriptionAnswer, ApiError> {
    let term = SubscriptionTerm::try_from(request)?;
    let removed = store.remove(&owner.sub, kind, &term).await?;
    if kind == SubscriptionKind::RealTime {
        matcher.unsubscribed(&owner.sub, &term).await?;
    }
    if removed {
        info!(%kind, "subscription removed");
        Ok(SubscriptionAnswer {
            value: term.text().to_owned(),
            kind,
        })
    } else {
        Err(ApiError::not_found(NOT_FOUND))
    }
}

/// Every term `owner` holds of `kind`.
pub async fn list_subscriptions(
    store: &dyn Subscriptions,
    owner: &Owner,
    kind: SubscriptionKind,
) -> Result<Vec<String>, ApiError> {
    Ok(store.list(&owner.sub, kind).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sde_core::testing::WordMatcher;
    use sde_core::{
        SubscriberPage, SubscriptionBook, SubscriptionsError, SubscriptionsErrorKind,
        describe_chain,
    };
    use serde_json::{Value, json};
    use std::sync::Mutex;

    const DAILY: SubscriptionKind = SubscriptionKind::Daily;

    /// The subscriptions of a [`SubscriptionBook`], or a failure of `failure`'s kind.
    #[derive(Debug, Default)]
    struct FakeStore {
        book: Mutex<SubscriptionBook>,
        failure: Option<SubscriptionsErrorKind>,
    }

    impl FakeStore {
        fn book(&self) -> Result<std::sync::MutexGuard<'_, SubscriptionBook>, SubscriptionsError> {
            match self.failure {
                Some(kind) => Err(SubscriptionsError::new(kind, "calling table sde-prod-subs")),
                None => Ok(self.book.lock().unwrap()),
            }
        }

        fn terms(&self, user: &str) -> Vec<String> {
            self.book.lock().unwrap().list(user, DAILY)
        }
    }

    #[async_trait::async_trait]
    impl Subscriptions for FakeStore {
        async fn add(
            &self,
            user: &str,
            kind: SubscriptionKind,
            term: &SubscriptionTerm,
            cap: u32,
        ) -> Result<Added, SubscriptionsError> {
            Ok(self.book()?.add(user, kind, term, cap))
        }

        async fn remove(
            &self,
            user: &str,
            kind: SubscriptionKind,
            term: &SubscriptionTerm,
        ) -> Result<bool, SubscriptionsError> {
            Ok(self.book()?.remove(user, kind, term).is_some())
        }

        async fn list(
            &self,
            user: &str,
            kind: SubscriptionKind,
        ) -> Result<Vec<String>, SubscriptionsError> {
            Ok(self.book()?.list(user, kind))
        }

        async fn subscribers(
            &self,
            kind: SubscriptionKind,
            after: Option<&str>,
            limit: u32,
        ) -> Result<SubscriberPage, SubscriptionsError> {
            self.book()?.page(kind, after, limit)
        }

        async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError> {
            self.book()?.set_address(user, address);
            Ok(())
        }

        async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError> {
            Ok(self.book()?.address(user).map(str::to_owned))
        }
    }

    /// A matcher that refuses every change.
    #[derive(Debug)]
    pub(super) struct DownMatcher;

    #[async_trait::async_trait]
    impl SubscriptionMatcher for DownMatcher {
        async fn matching(
            &self,
            _: &sde_core::Post,
        ) -> Result<Vec<sde_core::Subscription>, SubscriptionsError> {
            Err(SubscriptionsError::new(
                SubscriptionsErrorKind::Unavailable,
                "calling the percolator",
            ))
        }

        async fn subscribed(
            &self,
            _: &str,
            _: &SubscriptionTerm,
        ) -> Result<(), SubscriptionsError> {
            self.matching(&post()).await.map(|_| ())
        }

        async fn unsubscribed(
            &self,
            _: &str,
            _: &SubscriptionTerm,
        ) -> Result<(), SubscriptionsError> {
            self.matching(&post()).await.map(|_| ())
        }
    }

    fn post() -> sde_core::Post {
        sde_core::Post {
            id: "p-1".into(),
            user_id: sde_core::UserId::Text("b0b".into()),
            date_created: chrono::Utc::now(),
            content: "aurora tonight".into(),
            tags: vec![],
        }
    }

    fn matcher() -> WordMatcher {
        WordMatcher::default()
    }

    fn ada() -> Caller {
        Caller::verified(Owner {
            sub: "5f0c2a9e-1b3d-4e5f-8a7b-9c0d1e2f3a4b".into(),
            email: "ada@example.com".into(),
        })
    }

    fn body(value: Value) -> SubscriptionRequest {
        serde_json::from_value(value).unwrap()
    }

    fn refusal(error: &ApiError) -> (u16, Value) {
        (error.status(), error.body())
    }

    #[tokio::test]
    async fn a_term_is_added_once_compared_trimmed_and_case_insensitively() {
        let store = FakeStore::default();
        let answer = subscribe(
            &store,
            &matcher(),
            &ada(),
            DAILY,
            body(json!({"value": " Cats "})),
        )
        .await
        .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"value": "Cats", "kind": "daily"})
        );
        let again = subscribe(
            &store,
            &matcher(),
            &ada(),
            DAILY,
            body(json!({"value": "CATS"})),
        )
        .await
        .unwrap_err();
        assert_eq!(
            refusal(&again),
            (400, json!({"message": "Subscription already exists"}))
        );
        assert_eq!(store.terms(&ada().owner.sub), ["Cats"]);
    }

    #[tokio::test]
    async fn a_malformed_term_is_a_400_and_nothing_is_stored() {
        let store = FakeStore::default();
        for (value, message) in [
            (json!({"value": "   "}), "\"value\" must not be empty"),
            (json!({}), "the body must be {\"value\": \"term\"}"),
            (json!({"value": ["cats"]}), "\"value\" must be text"),
            (
                json!({"value": "x".repeat(513)}),
                "\"value\" is longer than 512 characters",
            ),
        ] {
            let error = subscribe(&store, &matcher(), &ada(), DAILY, body(value.clone()))
                .await
                .unwrap_err();
            assert_eq!(
                refusal(&error),
                (400, json!({"message": message})),
                "{value}"
            );
            let error = unsubscribe(&store, &matcher(), &ada().owner, DAILY, body(value.clone()))
                .await
                .unwrap_err();
            assert_eq!(error.status(), 400, "{value}");
        }
        assert!(store.terms(&ada().owner.sub).is_empty());
    }

    #[tokio::test]
    async fn an_unverified_address_cannot_subscribe_but_can_list_and_unsubscribe() {
        let store = FakeStore::default();
        subscribe(
            &store,
            &matcher(),
            &ada(),
            DAILY,
            body(json!({"value": "cats"})),
        )
        .await
        .unwrap();
        let unverified = Caller {
            email_verified: false,
            ..ada()
        };
        let error = subscribe(
            &store,
            &matcher(),
            &unverified,
            DAILY,
            body(json!({"value": "dogs"})),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), 403);
        assert_eq!(
            list_subscriptions(&store, &unverified.owner, DAILY)
                .await
                .unwrap(),
            ["cats"]
        );
        unsubscribe(
            &store,
            &matcher(),
            &unverified.owner,
            DAILY,
            body(json!({"value": "cats"})),
        )
        .await
        .unwrap();
        assert!(store.terms(&ada().owner.sub).is_empty());
    }

    #[tokio::test]
    async fn removing_a_term_not_held_is_a_404() {
        let store = FakeStore::default();
        subscribe(
            &store,
            &matcher(),
            &ada(),
            DAILY,
            body(json!({"value": "hot dog"})),
        )
        .await
        .unwrap();
        let error = unsubscribe(
            &store,
            &matcher(),
            &ada().owner,
            DAILY,
            body(json!({"value": "dog"})),
        )
        .await
        .unwrap_err();
        assert_eq!(
            refusal(&error),
            (404, json!({"message": "Subscription not found"}))
        );
        let removed = unsubscribe(
            &store,
            &matcher(),
            &ada().owner,
            DAILY,
            body(json!({"value": "HOT DOG"})),
        )
        .await
        .unwrap();
        assert_eq!(removed.value, "HOT DOG");
        assert!(store.terms(&ada().owner.sub).is_empty());
    }

    #[tokio::test]
    async fn past_the_cap_a_subscription_is_a_400_saying_so() {
        let store = FakeStore::default();
        for n in 0..MAX_SUBSCRIPTIONS_PER_KIND {
            subscribe(
                &store,
                &matcher(),
                &ada(),
                DAILY,
                body(json!({"value": format!("t{n}")})),
            )
            .await
            .unwrap();
        }
        let error = subscribe(
            &store,
            &matcher(),
            &ada(),
            DAILY,
            body(json!({"value": "one more"})),
        )
        .await
        .unwrap_err();
        assert_eq!(
            refusal(&error),
            (
                400,
                json!({"message": "you have 50 daily subscriptions, the most allowed is 50: \
                                   remove one first"})
            )
        );
        subscribe(
            &store,
            &matcher(),
            &ada(),
            SubscriptionKind::RealTime,
            body(json!({"value": "one more"})),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_store_failure_is_a_503_or_an_opaque_500() {
        for (kind, status) in [
            (SubscriptionsErrorKind::Unavailable, 503),
            (SubscriptionsErrorKind::Rejected, 500),
        ] {
            let store = FakeStore {
                failure: Some(kind),
                ..FakeStore::default()
            };
            let error = list_subscriptions(&store, &ada().owner, DAILY)
                .await
                .unwrap_err();
            assert_eq!(error.status(), status, "{kind:?}");
            assert!(!error.body().to_string().contains("sde-prod"), "{kind:?}");
            assert!(
                describe_chain(&error).contains("sde-prod"),
                "the log keeps it"
            );
        }
    }
}

#[cfg(test)]
mod matcher_and_address_tests {
    use super::*;
    use sde_core::testing::{MemorySubscriptions, WordMatcher};
    use sde_core::{Post, SubscriptionMatcher, UserId};
    use serde_json::json;

    fn caller(email: &str) -> Caller {
        Caller::verified(Owner {
            sub: "ada-sub".into(),
            email: email.into(),
        })
    }

    fn body(value: &str) -> SubscriptionRequest {
        serde_json::from_value(json!({ "value": value })).unwrap()
    }

    fn aurora_post() -> Post {
        Post {
            id: "p-1".into(),
            user_id: UserId::Text("b0b".into()),
            date_created: chrono::Utc::now(),
            content: "Aurora tonight".into(),
            tags: vec![],
        }
    }

    #[tokio::test]
    async fn subscribing_records_the_verified_address_and_refreshes_it() {
        let store = MemorySubscriptions::default();
        let matcher = WordMatcher::default();
        subscribe(
            &store,
            &matcher,
            &caller("ada@example.com"),
            SubscriptionKind::Daily,
            body("cats"),
        )
        .await
        .unwrap();
        assert_eq!(
            store.address("ada-sub").await.unwrap().as_deref(),
            Some("ada@example.com")
        );
        subscribe(
            &store,
            &matcher,
            &caller("ada@example.org"),
            SubscriptionKind::Daily,
            body("dogs"),
        )
        .await
        .unwrap();
        assert_eq!(
            store.address("ada-sub").await.unwrap().as_deref(),
            Some("ada@example.org")
        );
        let unverified = Caller {
            email_verified: false,
            ..caller("eve@example.com")
        };
        subscribe(
            &store,
            &matcher,
            &unverified,
            SubscriptionKind::Daily,
            body("fish"),
        )
        .await
        .unwrap_err();
        assert_eq!(
            store.address("ada-sub").await.unwrap().as_deref(),
            Some("ada@example.org"),
            "an unverified address is never recorded"
        );
    }

    #[tokio::test]
    async fn real_time_terms_are_kept_in_step_with_the_matcher_and_daily_ones_are_not() {
        let store = MemorySubscriptions::default();
        let matcher = WordMatcher::default();
        let ada = caller("ada@example.com");
        subscribe(
            &store,
            &matcher,
            &ada,
            SubscriptionKind::Daily,
            body("aurora"),
        )
        .await
        .unwrap();
        assert!(
            matcher.matching(&aurora_post()).await.unwrap().is_empty(),
            "daily is not matched in real time"
        );
        subscribe(
            &store,
            &matcher,
            &ada,
            SubscriptionKind::RealTime,
            body("Aurora"),
        )
        .await
        .unwrap();
        let matched = matcher.matching(&aurora_post()).await.unwrap();
        assert_eq!(matched.len(), 1);
        assert_eq!(
            (matched[0].user.as_str(), matched[0].term.as_str()),
            ("ada-sub", "Aurora")
        );
        unsubscribe(
            &store,
            &matcher,
            &ada.owner,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap();
        assert!(matcher.matching(&aurora_post()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_real_time_subscribe_the_matcher_refuses_is_undone_and_a_retry_succeeds() {
        let store = MemorySubscriptions::default();
        let ada = caller("ada@example.com");
        let error = subscribe(
            &store,
            &tests_down(),
            &ada,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), 503);
        assert!(
            store
                .list("ada-sub", SubscriptionKind::RealTime)
                .await
                .unwrap()
                .is_empty(),
            "undone"
        );
        let matcher = WordMatcher::default();
        subscribe(
            &store,
            &matcher,
            &ada,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap();
        assert_eq!(matcher.matching(&aurora_post()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_unsubscribe_the_matcher_missed_is_healed_by_its_retry() {
        let store = MemorySubscriptions::default();
        let matcher = WordMatcher::default();
        let ada = caller("ada@example.com");
        subscribe(
            &store,
            &matcher,
            &ada,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap();
        let error = unsubscribe(
            &store,
            &tests_down(),
            &ada.owner,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status(), 503);
        let retry = unsubscribe(
            &store,
            &matcher,
            &ada.owner,
            SubscriptionKind::RealTime,
            body("aurora"),
        )
        .await
        .unwrap_err();
        assert_eq!(retry.status(), 404, "the store let it go the first time");
        assert!(
            matcher.matching(&aurora_post()).await.unwrap().is_empty(),
            "but the matcher now has too"
        );
    }

    fn tests_down() -> impl SubscriptionMatcher {
        tests::DownMatcher
    }
}
