//! `subscriptions`: a caller's daily and real-time subscriptions to search terms — add, remove,
//! list — behind `POST`, `DELETE` and `GET /subscriptions/{daily,real-time}`.
//!
//! Terms are compared trimmed and case-insensitively ([`SubscriptionTerm`]). Adding one already
//! held is a 400 `"Subscription already exists"` (the message the frontend knows), removing one
//! not held a 404, and a caller holds at most [`MAX_SUBSCRIPTIONS_PER_KIND`] of each kind (400
//! past it: waiting does not help, removing one does). Subscribing needs a verified email address
//! (403 otherwise), because that is where the mail will go; removing and listing do not.

use crate::api_error::{ApiError, ApiErrorKind};
use sde_core::{
    Added, Caller, MAX_SUBSCRIPTIONS_PER_KIND, Owner, SubscriptionKind, SubscriptionRequest,
    SubscriptionTerm, Subscriptions,
};
use serde::Serialize;
use tracing::info;

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

/// Subscribes `caller` to the term of `request` for `kind`.
pub async fn subscribe(
    store: &dyn Subscriptions,
    caller: &Caller,
    kind: SubscriptionKind,
    request: SubscriptionRequest,
) -> Result<SubscriptionAnswer, ApiError> {
    let owner = caller.with_verified_email()?;
    let term = SubscriptionTerm::try_from(request)?;
    let added = store
        .add(&owner.sub, kind, &term, MAX_SUBSCRIPTIONS_PER_KIND)
        .await?;
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

/// Unsubscribes `owner` from the term of `request` for `kind`: 404 unless they held it.
pub async fn unsubscribe(
    store: &dyn Subscriptions,
    owner: &Owner,
    kind: SubscriptionKind,
    request: SubscriptionRequest,
) -> Result<SubscriptionAnswer, ApiError> {
    let term = SubscriptionTerm::try_from(request)?;
    if store.remove(&owner.sub, kind, &term).await? {
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
        let answer = subscribe(&store, &ada(), DAILY, body(json!({"value": " Cats "})))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"value": "Cats", "kind": "daily"})
        );
        let again = subscribe(&store, &ada(), DAILY, body(json!({"value": "CATS"})))
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
            let error = subscribe(&store, &ada(), DAILY, body(value.clone()))
                .await
                .unwrap_err();
            assert_eq!(
                refusal(&error),
                (400, json!({"message": message})),
                "{value}"
            );
            let error = unsubscribe(&store, &ada().owner, DAILY, body(value.clone()))
                .await
                .unwrap_err();
            assert_eq!(error.status(), 400, "{value}");
        }
        assert!(store.terms(&ada().owner.sub).is_empty());
    }

    #[tokio::test]
    async fn an_unverified_address_cannot_subscribe_but_can_list_and_unsubscribe() {
        let store = FakeStore::default();
        subscribe(&store, &ada(), DAILY, body(json!({"value": "cats"})))
            .await
            .unwrap();
        let unverified = Caller {
            email_verified: false,
            ..ada()
        };
        let error = subscribe(&store, &unverified, DAILY, body(json!({"value": "dogs"})))
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
        subscribe(&store, &ada(), DAILY, body(json!({"value": "hot dog"})))
            .await
            .unwrap();
        let error = unsubscribe(&store, &ada().owner, DAILY, body(json!({"value": "dog"})))
            .await
            .unwrap_err();
        assert_eq!(
            refusal(&error),
            (404, json!({"message": "Subscription not found"}))
        );
        let removed = unsubscribe(
            &store,
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
                &ada(),
                DAILY,
                body(json!({"value": format!("t{n}")})),
            )
            .await
            .unwrap();
        }
        let error = subscribe(&store, &ada(), DAILY, body(json!({"value": "one more"})))
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
