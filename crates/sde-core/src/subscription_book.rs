//! [`SubscriptionBook`]: every user's subscriptions held in memory, with the rules every store
//! keeps — one subscription per normalised term, a cap per kind, paging through the subscribers
//! of a kind in a stable order. The local stack's store keeps one under a lock and writes it to a
//! file; tests keep one behind their fakes.

use crate::subscriptions::{
    Added, SubscriberPage, Subscription, SubscriptionKind, SubscriptionTerm, SubscriptionsError,
    SubscriptionsErrorKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A user's terms of one kind: normalised term → the term as given.
type Terms = BTreeMap<String, String>;

/// Where a page of [`SubscriptionBook::page`] starts: after this user's this term.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    user: String,
    normalised: String,
}

/// Per kind, per user (`sub`), their terms. Ordered, so paging follows (user, normalised term).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionBook {
    held: BTreeMap<SubscriptionKind, BTreeMap<String, Terms>>,
    /// Each subscriber's address (`sub` → verified email).
    addresses: BTreeMap<String, String>,
}

impl SubscriptionBook {
    /// Subscribes `user` to `term` for `kind`, under the rules of [`Subscriptions::add`](crate::Subscriptions::add).
    pub fn add(
        &mut self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Added {
        let terms = self
            .held
            .entry(kind)
            .or_default()
            .entry(user.to_owned())
            .or_default();
        if terms.contains_key(term.normalised()) {
            return Added::AlreadySubscribed;
        }
        let count = u32::try_from(terms.len()).unwrap_or(u32::MAX);
        if count >= cap {
            return Added::Full { held: count };
        }
        terms.insert(term.normalised().to_owned(), term.text().to_owned());
        Added::Added
    }

    /// Takes `term` out of what `user` holds of `kind`; returns its text as given, if it was
    /// there.
    pub fn remove(
        &mut self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Option<String> {
        let users = self.held.get_mut(&kind)?;
        let terms = users.get_mut(user)?;
        let text = terms.remove(term.normalised())?;
        if terms.is_empty() {
            users.remove(user);
        }
        Some(text)
    }

    /// `user`'s terms of `kind` as given, ordered by their normalised form.
    pub fn list(&self, user: &str, kind: SubscriptionKind) -> Vec<String> {
        self.held
            .get(&kind)
            .and_then(|users| users.get(user))
            .map(|terms| terms.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Records where `user`'s mail goes; returns the address it replaces, if any.
    pub fn set_address(&mut self, user: &str, address: &str) -> Option<String> {
        self.addresses.insert(user.to_owned(), address.to_owned())
    }

    /// Where `user`'s mail goes, if recorded.
    pub fn address(&self, user: &str) -> Option<&str> {
        self.addresses.get(user).map(String::as_str)
    }

    /// Forgets `user`'s address (to undo a [`SubscriptionBook::set_address`]).
    pub fn forget_address(&mut self, user: &str) {
        self.addresses.remove(user);
    }

    /// Every recorded address: (user, address).
    pub fn addresses(&self) -> impl Iterator<Item = (&str, &str)> {
        self.addresses
            .iter()
            .map(|(user, address)| (user.as_str(), address.as_str()))
    }

    /// Every subscription, of every kind.
    pub fn iter(&self) -> impl Iterator<Item = (SubscriptionKind, &str, &str)> {
        self.held.iter().flat_map(|(kind, users)| {
            users.iter().flat_map(move |(user, terms)| {
                terms
                    .values()
                    .map(move |term| (*kind, user.as_str(), term.as_str()))
            })
        })
    }

    /// Up to `limit` subscriptions of `kind` after the page token `after`, under the rules of
    /// [`Subscriptions::subscribers`](crate::Subscriptions::subscribers).
    pub fn page(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError> {
        let token_error = |context: &str, error: serde_json::Error| {
            SubscriptionsError::new(SubscriptionsErrorKind::Rejected, context.to_owned())
                .with_source(error)
        };
        let after: Option<Cursor> = after
            .map(serde_json::from_str)
            .transpose()
            .map_err(|error| token_error("reading a page token", error))?;
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let mut page = SubscriberPage::default();
        let Some(users) = self.held.get(&kind) else {
            return Ok(page);
        };
        let all = users.iter().flat_map(|(user, terms)| {
            terms
                .iter()
                .map(move |(normalised, term)| (user, normalised, term))
        });
        let mut rest = all
            .skip_while(|(user, normalised, _)| {
                after.as_ref().is_some_and(|after| {
                    (user.as_str(), normalised.as_str())
                        <= (after.user.as_str(), after.normalised.as_str())
                })
            })
            .peekable();
        let mut last = None;
        while page.subscriptions.len() < limit {
            let Some((user, normalised, term)) = rest.next() else {
                break;
            };
            page.subscriptions.push(Subscription {
                user: user.clone(),
                term: term.clone(),
            });
            last = Some(Cursor {
                user: user.clone(),
                normalised: normalised.clone(),
            });
        }
        if rest.peek().is_some() {
            page.next = last
                .map(|cursor| serde_json::to_string(&cursor))
                .transpose()
                .map_err(|error| token_error("making a page token", error))?;
        }
        Ok(page)
    }
}
