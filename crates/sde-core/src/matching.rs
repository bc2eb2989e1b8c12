//! Real-time matching: which real-time subscriptions a new post matches. "Matches" means exactly
//! what `/search` means for the subscription's term: the term's tokens, through the same
//! analyser, against the post's `Content` or `Tags`, any one token being enough (Elasticsearch's
//! `multi_match` with operator `OR`), and a term with no searchable token matching nothing.
//!
//! Implementations: an in-memory matcher over the embedded index's analyser locally, an
//! OpenSearch percolator index on AWS. Either is kept in step with the [`Subscriptions`] store
//! by the subscription routes ([`SubscriptionMatcher::subscribed`] after a term is stored,
//! [`SubscriptionMatcher::unsubscribed`] after it is removed), so the store stays the source of
//! truth: a matcher may only ever be ahead of it by a term whose removal failed half-way, and
//! whoever mails checks a match against the store first.
//!
//! [`Subscriptions`]: crate::Subscriptions

use crate::post::Post;
use crate::subscriptions::{Subscription, SubscriptionTerm, SubscriptionsError};
use async_trait::async_trait;
use std::fmt;

/// Finds the real-time subscriptions a post matches.
#[async_trait]
pub trait SubscriptionMatcher: Send + Sync + fmt::Debug {
    /// Every real-time subscription, of any user (the post's author included: leaving the author
    /// out is the caller's rule), whose term matches `post`, each once, terms as given.
    async fn matching(&self, post: &Post) -> Result<Vec<Subscription>, SubscriptionsError>;

    /// Records that `user` now holds a real-time subscription to `term`. Idempotent: recording
    /// a held term again changes nothing.
    async fn subscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError>;

    /// Records that `user` no longer holds a real-time subscription to `term` (compared
    /// normalised). Idempotent: forgetting an absent term changes nothing.
    async fn unsubscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError>;
}
