//! `unsubscribe` by link: the one-click unsubscribe of a subscription email (RFC 8058). The
//! signed link names the user, the kind and the term; following it removes that one
//! subscription without signing in, and tells the matcher for a real-time one. Removing a
//! subscription already gone is not an error: the person asked for it not to be there, and it is
//! not.

use sde_core::{
    SubscriptionKind, SubscriptionMatcher, Subscriptions, SubscriptionsError, UnsubscribeGrant,
};
use tracing::info;

/// What following an unsubscribe link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUnsubscribed {
    /// The subscription was there and is now removed.
    Removed,
    /// There was no such subscription any more.
    AlreadyGone,
}

/// Removes the subscription `grant` names (already checked: signature and expiry). The matcher,
/// when there is one, forgets a real-time term whether or not the store still held it, so a
/// half-finished earlier removal is completed.
pub async fn unsubscribe_by_link(
    store: &dyn Subscriptions,
    matcher: Option<&dyn SubscriptionMatcher>,
    grant: &UnsubscribeGrant,
) -> Result<LinkUnsubscribed, SubscriptionsError> {
    let removed = store.remove(&grant.user, grant.kind, &grant.term).await?;
    if let (SubscriptionKind::RealTime, Some(matcher)) = (grant.kind, matcher) {
        matcher.unsubscribed(&grant.user, &grant.term).await?;
    }
    info!(kind = %grant.kind, removed, "unsubscribed by link");
    Ok(if removed {
        LinkUnsubscribed::Removed
    } else {
        LinkUnsubscribed::AlreadyGone
    })
}
