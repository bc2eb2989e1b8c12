//! Subscriptions to a search term: a user asks to be told, daily or in real time, about new posts
//! that `/search` would return for the term. This module holds the term as validated from the
//! `{"value": "term"}` body, the two kinds, and the [`Subscriptions`] store every host implements
//! (a file under the data directory locally, a DynamoDB table on AWS). Beside a user's terms the
//! store keeps the one address their mail goes to: the verified address of their ID token, recorded
//! (and refreshed) each time they subscribe, as mail is sent later, by a worker with no token.
//!
//! Terms are compared normalised — trimmed and lower-cased — so `" Cats "` and `"cats"` are one
//! subscription, while `"dog"` and `"hot dog"` stay two.

use crate::criteria::MAX_TERM_CHARS;
use crate::error::BoxError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Most subscriptions one user may hold of each kind (so 50 daily and 50 real-time). Every new
/// post is matched against every real-time term, so the cap bounds that work per user.
pub const MAX_SUBSCRIPTIONS_PER_KIND: u32 = 50;

/// How often a subscriber hears about matching posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubscriptionKind {
    /// One digest of the previous UTC day's matches, sent at 01:00 UTC.
    #[serde(rename = "daily")]
    Daily,
    /// An email as soon as a matching post is made.
    #[serde(rename = "real-time")]
    RealTime,
}

impl SubscriptionKind {
    /// Both kinds.
    pub const ALL: [SubscriptionKind; 2] = [SubscriptionKind::Daily, SubscriptionKind::RealTime];

    /// The name in routes (`/subscriptions/<name>`) and in stored keys.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::Daily => "daily",
            SubscriptionKind::RealTime => "real-time",
        }
    }
}

impl fmt::Display for SubscriptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `POST`/`DELETE /subscriptions/<kind>` exactly as received.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SubscriptionRequest {
    #[serde(default)]
    pub value: Option<Value>,
}

/// A validated subscription term: the text as the user gave it (trimmed) and its normalised
/// form, which is what stores compare and key on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubscriptionTerm {
    text: String,
    normalised: String,
}

impl SubscriptionTerm {
    /// Validates `text` like a search term (`{"value": …}` of `/search`): not empty once trimmed,
    /// at most [`MAX_TERM_CHARS`] characters.
    pub fn parse(text: &str) -> Result<Self, SubscriptionError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SubscriptionError::EmptyValue);
        }
        if text.chars().count() > MAX_TERM_CHARS {
            return Err(SubscriptionError::ValueTooLong {
                max: MAX_TERM_CHARS,
            });
        }
        Ok(SubscriptionTerm {
            text: text.to_owned(),
            normalised: normalise(text),
        })
    }

    /// The term as given, trimmed: what `GET` lists.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The form two terms are compared in: trimmed and lower-cased.
    pub fn normalised(&self) -> &str {
        &self.normalised
    }
}

/// Trimmed and lower-cased (Unicode-aware).
pub fn normalise(text: &str) -> String {
    text.trim().to_lowercase()
}

impl TryFrom<SubscriptionRequest> for SubscriptionTerm {
    type Error = SubscriptionError;

    fn try_from(request: SubscriptionRequest) -> Result<Self, Self::Error> {
        match request.value {
            Some(Value::String(text)) => SubscriptionTerm::parse(&text),
            None | Some(Value::Null) => Err(SubscriptionError::MissingValue),
            Some(_) => Err(SubscriptionError::ValueNotText),
        }
    }
}

/// Why a subscription body was refused; the message is meant for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("the body must be {{\"value\": \"term\"}}")]
    MissingValue,
    #[error("\"value\" must be text")]
    ValueNotText,
    #[error("\"value\" must not be empty")]
    EmptyValue,
    #[error("\"value\" is longer than {max} characters")]
    ValueTooLong { max: usize },
}

/// The answer to [`Subscriptions::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The user now holds the subscription.
    Added,
    /// The user already held a subscription of this kind to the same normalised term; nothing
    /// changed.
    AlreadySubscribed,
    /// The user already holds `held` subscriptions of this kind, at least the cap; nothing was
    /// added.
    Full { held: u32 },
}

/// One user's subscription to one term, as [`Subscriptions::subscribers`] pages through them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// The subscriber's `sub`.
    pub user: String,
    /// The term as they gave it.
    pub term: String,
}

/// One page of [`Subscriptions::subscribers`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberPage {
    pub subscriptions: Vec<Subscription>,
    /// Where the next page starts; `None` on the last page. Opaque: only the store that made it
    /// reads it.
    pub next: Option<String>,
}

/// Each user's subscriptions, per kind.
#[async_trait]
pub trait Subscriptions: Send + Sync + fmt::Debug {
    /// Subscribes `user` to `term` for `kind`, unless they already hold that normalised term
    /// ([`Added::AlreadySubscribed`]) or already hold `cap` or more subscriptions of `kind`
    /// ([`Added::Full`]). Atomic per term: of two calls racing to add one term, one answers
    /// `Added` and the other `AlreadySubscribed`. The cap holds against racing adds of
    /// different terms too.
    async fn add(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
        cap: u32,
    ) -> Result<Added, SubscriptionsError>;

    /// Unsubscribes `user` from the subscription of `kind` whose normalised term equals
    /// `term`'s. Returns whether there was one; no other term (and no other user's or kind's
    /// subscription) is touched.
    async fn remove(
        &self,
        user: &str,
        kind: SubscriptionKind,
        term: &SubscriptionTerm,
    ) -> Result<bool, SubscriptionsError>;

    /// Every term `user` holds of `kind`, as given, ordered by normalised term.
    async fn list(
        &self,
        user: &str,
        kind: SubscriptionKind,
    ) -> Result<Vec<String>, SubscriptionsError>;

    /// A page of at most `limit` (at least 1) subscriptions of `kind`, across every user, from
    /// `after` (the `next` of the previous page; `None` for the first). Following `next` until it
    /// is `None` visits every subscription present throughout exactly once, for digests.
    async fn subscribers(
        &self,
        kind: SubscriptionKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SubscriberPage, SubscriptionsError>;

    /// Records `address` as where `user`'s subscription mail goes, replacing the one recorded
    /// before. Callers pass only an address the user's token vouches for (`email_verified`).
    async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError>;

    /// The address last recorded for `user` by [`Subscriptions::set_address`], if any.
    async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError>;
}

/// What went wrong reading or writing subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionsErrorKind {
    /// The store could not be reached or throttled us; trying again may succeed.
    Unavailable,
    /// The store refused the request (permissions, a missing table, a bad page token).
    Rejected,
}

impl fmt::Display for SubscriptionsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubscriptionsErrorKind::Unavailable => "subscriptions unavailable",
            SubscriptionsErrorKind::Rejected => "subscriptions store rejected the request",
        })
    }
}

/// A subscriptions failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct SubscriptionsError {
    pub kind: SubscriptionsErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl SubscriptionsError {
    pub fn new(kind: SubscriptionsErrorKind, context: impl Into<String>) -> Self {
        SubscriptionsError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn term(body: Value) -> Result<SubscriptionTerm, SubscriptionError> {
        SubscriptionTerm::try_from(serde_json::from_value::<SubscriptionRequest>(body).unwrap())
    }

    #[test]
    fn a_term_is_kept_trimmed_and_compared_lower_cased() {
        let cats = term(json!({"value": "  Cats & Dogs "})).unwrap();
        assert_eq!(cats.text(), "Cats & Dogs");
        assert_eq!(cats.normalised(), "cats & dogs");
        assert_eq!(
            SubscriptionTerm::parse("ÉCOLE").unwrap().normalised(),
            "école"
        );
        assert_ne!(
            SubscriptionTerm::parse("dog").unwrap().normalised(),
            SubscriptionTerm::parse("hot dog").unwrap().normalised()
        );
    }

    #[test]
    fn a_term_is_validated_like_a_search_term() {
        assert_eq!(
            term(json!({"value": " \t "})),
            Err(SubscriptionError::EmptyValue)
        );
        assert_eq!(term(json!({})), Err(SubscriptionError::MissingValue));
        assert_eq!(
            term(json!({"value": null})),
            Err(SubscriptionError::MissingValue)
        );
        assert_eq!(
            term(json!({"value": 7})),
            Err(SubscriptionError::ValueNotText)
        );
        let longest = "é".repeat(MAX_TERM_CHARS);
        assert!(term(json!({"value": longest})).is_ok());
        assert_eq!(
            term(json!({"value": format!("{longest}x")})),
            Err(SubscriptionError::ValueTooLong {
                max: MAX_TERM_CHARS
            })
        );
    }

    #[test]
    fn kinds_are_named_as_in_their_routes() {
        assert_eq!(SubscriptionKind::Daily.as_str(), "daily");
        assert_eq!(SubscriptionKind::RealTime.to_string(), "real-time");
        assert_eq!(
            serde_json::to_value(SubscriptionKind::RealTime).unwrap(),
            json!("real-time")
        );
    }
}
