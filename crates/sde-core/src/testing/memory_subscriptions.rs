//! [`MemorySubscriptions`]: the [`Subscriptions`] store in memory, over the core's
//! [`SubscriptionBook`] (the rules the local store keeps too, without its file), for tests and
//! benchmarks of what reads subscriptions.

use crate::subscription_book::SubscriptionBook;
use crate::{
    Added, SubscriberPage, SubscriptionKind, SubscriptionTerm, Subscriptions, SubscriptionsError,
};
use async_trait::async_trait;
use std::sync::Mutex;

/// Subscriptions held in memory.
#[derive(Debug, Default)]
pub struct MemorySubscriptions(Mutex<SubscriptionBook>);

#[async_trait]
impl Subscriptions for MemorySubscriptions {
    async fn add(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Result<Added, SubscriptionsError> {
        Ok(self.0.lock().unwrap().add(user, kind, term, cap))
    }

    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError> {
        Ok(self.0.lock().unwrap().remove(user, kind, term).is_some())
    }

    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError> {
        Ok(self.0.lock().unwrap().list(user, kind))
    }

    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        self.0.lock().unwrap().page(kind, after, limit)
    }
}
