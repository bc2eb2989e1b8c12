//! `unsubscribe` by link: the one-click unsubscribe of a subscription email (RFC 8058). The
//! signed link names the user, the kind and one term or all of them; following it removes those
//! subscriptions without signing in, and tells the matcher for real-time ones. Removing a
//! subscription already gone is not an error: the person asked for it not to be there, and it is
//! not.

use sde_core::{
    SubscriptionKind, SubscriptionMatcher, SubscriptionTerm, Subscriptions, SubscriptionsError,
    UnsubscribeGrant, UnsubscribeScope,
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

/// Removes the subscriptions `grant` names (already checked: signature and expiry): its one term,
/// or every term of its kind. The matcher forgets a real-time term whether or not the store
/// still held it, so a half-finished earlier removal is completed.
pub async fn unsubscribe_by_link(
    store: &dyn Subscriptions,
    matcher: &dyn SubscriptionMatcher,
    grant: &UnsubscribeGrant,
) -> Result<LinkUnsubscribed, SubscriptionsError> {
    let terms = match &grant.scope {
        UnsubscribeScope::Term(term) => vec![term.clone()],
        UnsubscribeScope::All => store
            .list(&grant.user, grant.kind)
            .await?
            .iter()
            .filter_map(|held| SubscriptionTerm::parse(held).ok())
            .collect(),
    };
    let mut removed = 0;
    for term in &terms {
        if store.remove(&grant.user, grant.kind, term).await? {
            removed += 1;
        }
        if grant.kind == SubscriptionKind::RealTime {
            matcher.unsubscribed(&grant.user, term).await?;
        }
    }
    info!(kind = %grant.kind, removed, "unsubscribed by link");
    Ok(if removed > 0 {
        LinkUnsubscribed::Removed
    } else {
        LinkUnsubscribed::AlreadyGone
    })
}
