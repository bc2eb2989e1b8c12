//! [`LocalMatcher`]: the local stack's [`SubscriptionMatcher`], an inverted map from token to the
//! real-time subscriptions whose term holds it.
//!
//! A term is analysed once, when it is subscribed, by the very function the search query uses
//! ([`query::analyze`] over [`text_analyzer`]), and a post by the analyser its `Content` and
//! `Tags` are indexed with; a subscription matches when any of its term's tokens is among the
//! post's, which is what the `multi_match` (operator `OR`) of `/search` does for one term. A term
//! with no token is held (so it can be forgotten) but indexed under nothing, so it matches
//! nothing, as `zero_terms_query: none` says. Matching a post costs its distinct tokens and the
//! subscriptions found (plus clearing and scanning one bit per subscription held, 12.5 KB for
//! 100,000), not a look at every subscription.
//!
//! The map lives in memory behind a [`RwLock`]: many posts are matched at once, subscriptions
//! change rarely. [`LocalMatcher::load`] fills it from the subscription store at start-up.

use crate::query;
use crate::schema::text_analyzer;
use async_trait::async_trait;
use sde_core::{
    Post, Subscription, SubscriptionKind, SubscriptionMatcher, SubscriptionTerm, Subscriptions,
    SubscriptionsError,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tantivy::tokenizer::TextAnalyzer;
use tracing::{debug, warn};

/// Subscriptions read from the store per page by [`LocalMatcher::load`].
const LOAD_PAGE: u32 = 1_000;

/// Real-time subscriptions, indexed by the tokens of their terms.
#[derive(Default)]
pub struct LocalMatcher {
    book: RwLock<Book>,
}

/// Position of a subscription in [`Book::entries`].
type Slot = u32;

#[derive(Default)]
struct Book {
    /// Every subscription held, by slot; `None` marks a free slot (kept in `free`).
    entries: Vec<Option<Entry>>,
    free: Vec<Slot>,
    /// The user and term of every entry, one after the other, packed: a post matching
    /// thousands of subscriptions reads their text from a few megabytes, in slot order, instead
    /// of from two heap blocks each scattered over the whole heap (which made copying the text
    /// out most of the time of such a match).
    texts: String,
    /// Bytes of `texts` no entry refers to any more; compacted away once they are half.
    garbage: usize,
    /// Per user, normalised term → slot.
    by_user: HashMap<String, HashMap<String, Slot>>,
    /// Token → the slots of the subscriptions whose term holds it, each once.
    by_token: HashMap<String, Vec<Slot>>,
    held: usize,
}

struct Entry {
    /// Where the user starts in [`Book::texts`]; the term follows it.
    start: usize,
    user_len: usize,
    term_len: usize,
    /// The term's distinct tokens.
    tokens: Box<[String]>,
}

impl Entry {
    fn subscription(&self, texts: &str) -> Option<Subscription> {
        let user_end = self.start + self.user_len;
        Some(Subscription {
            user: texts.get(self.start..user_end)?.to_owned(),
            term: texts.get(user_end..user_end + self.term_len)?.to_owned(),
        })
    }
}

impl fmt::Debug for LocalMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let book = self.read();
        f.debug_struct("LocalMatcher")
            .field("subscriptions", &book.held)
            .field("tokens", &book.by_token.len())
            .finish()
    }
}

impl LocalMatcher {
    /// A matcher holding no subscription.
    pub fn new() -> Self {
        Self::default()
    }

    /// A matcher holding every real-time subscription of `store`, read page by page.
    pub async fn load(store: &dyn Subscriptions) -> Result<Self, SubscriptionsError> {
        let matcher = Self::new();
        let mut analyzer = text_analyzer();
        let mut after: Option<String> = None;
        loop {
            let page = store
                .subscribers(SubscriptionKind::RealTime, after.as_deref(), LOAD_PAGE)
                .await?;
            {
                let mut book = matcher.write();
                for Subscription { user, term } in page.subscriptions {
                    match SubscriptionTerm::parse(&term) {
                        Ok(term) => book.add(&mut analyzer, &user, &term),
                        // The store validated every term it holds; one that is not a term can
                        // match nothing anyway.
                        Err(error) => warn!(user = %user, error = %error,
                                            "skipping a stored real-time term that is not valid"),
                    }
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        debug!(
            subscriptions = matcher.len(),
            "real-time subscriptions loaded"
        );
        Ok(matcher)
    }

    /// How many subscriptions are held.
    pub fn len(&self) -> usize {
        self.read().held
    }

    /// Whether no subscription is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `term` for `user` (see [`SubscriptionMatcher::subscribed`]), without waiting.
    pub fn subscribe(&self, user: &str, term: &SubscriptionTerm) {
        let mut analyzer = text_analyzer();
        self.write().add(&mut analyzer, user, term);
    }

    /// Forgets `term` of `user` (see [`SubscriptionMatcher::unsubscribed`]), without waiting.
    pub fn unsubscribe(&self, user: &str, term: &SubscriptionTerm) {
        self.write().remove(user, term.normalised());
    }

    /// The subscriptions `post` matches (see [`SubscriptionMatcher::matching`]), in no
    /// particular order.
    pub fn matches(&self, post: &Post) -> Vec<Subscription> {
        let tokens = post_tokens(&mut text_analyzer(), post);
        let book = self.read();
        // One bit per slot, set for every subscription holding one of the post's tokens: a term
        // sharing several tokens with the post is reached once per token and answered once.
        let mut hit = vec![0u64; book.entries.len().div_ceil(64)];
        let mut reached = 0;
        for slots in tokens.iter().filter_map(|token| book.by_token.get(token)) {
            reached += slots.len();
            for &slot in slots {
                if let Some(bits) = hit.get_mut(slot as usize / 64) {
                    *bits |= 1u64 << (slot % 64);
                }
            }
        }
        // Read the hits in slot order: entries (and, as loaded, their text) lie in that order in
        // memory, so a post matching thousands of subscriptions walks memory forwards instead of
        // jumping about it.
        let mut found = Vec::with_capacity(reached);
        for (word, mut bits) in hit.into_iter().enumerate() {
            while bits != 0 {
                let slot = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(subscription) = book
                    .entries
                    .get(slot)
                    .and_then(Option::as_ref)
                    .and_then(|entry| entry.subscription(&book.texts))
                {
                    found.push(subscription);
                }
            }
        }
        found
    }

    fn read(&self) -> RwLockReadGuard<'_, Book> {
        // The book is consistent after every statement that can panic (none is expected), so a
        // poisoned lock still guards a usable book.
        self.book.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Book> {
        self.book.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The distinct tokens of a post's `Content` and `Tags`, as the index analyses them.
fn post_tokens(analyzer: &mut TextAnalyzer, post: &Post) -> Vec<String> {
    let mut tokens = query::analyze(analyzer, &post.content);
    for tag in &post.tags {
        tokens.extend(query::analyze(analyzer, tag));
    }
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

impl Book {
    fn add(&mut self, analyzer: &mut TextAnalyzer, user: &str, term: &SubscriptionTerm) {
        if self
            .by_user
            .get(user)
            .is_some_and(|terms| terms.contains_key(term.normalised()))
        {
            return;
        }
        // The query side of `/search`: the term as given, through the same analyser.
        let mut tokens = query::analyze(analyzer, term.text());
        tokens.sort_unstable();
        tokens.dedup();
        let entry = Entry {
            start: self.texts.len(),
            user_len: user.len(),
            term_len: term.text().len(),
            tokens: tokens.into_boxed_slice(),
        };
        self.texts.push_str(user);
        self.texts.push_str(term.text());
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                // Four billion subscriptions do not fit in memory long before this.
                let slot = Slot::try_from(self.entries.len()).unwrap_or(Slot::MAX);
                self.entries.push(None);
                slot
            }
        };
        for token in entry.tokens.iter() {
            match self.by_token.get_mut(token) {
                Some(slots) => slots.push(slot),
                None => {
                    self.by_token.insert(token.clone(), vec![slot]);
                }
            }
        }
        if let Some(place) = usize::try_from(slot)
            .ok()
            .and_then(|at| self.entries.get_mut(at))
        {
            *place = Some(entry);
        }
        self.by_user
            .entry(user.to_owned())
            .or_default()
            .insert(term.normalised().to_owned(), slot);
        self.held += 1;
    }

    fn remove(&mut self, user: &str, normalised: &str) {
        let Some(terms) = self.by_user.get_mut(user) else {
            return;
        };
        let Some(slot) = terms.remove(normalised) else {
            return;
        };
        if terms.is_empty() {
            self.by_user.remove(user);
        }
        let entry = usize::try_from(slot)
            .ok()
            .and_then(|at| self.entries.get_mut(at))
            .and_then(Option::take);
        if let Some(entry) = entry {
            self.garbage += entry.user_len + entry.term_len;
            for token in entry.tokens.iter() {
                if let Some(slots) = self.by_token.get_mut(token) {
                    slots.retain(|&held| held != slot);
                    if slots.is_empty() {
                        self.by_token.remove(token);
                    }
                }
            }
        }
        self.free.push(slot);
        self.held -= 1;
        if self.garbage > self.texts.len() / 2 {
            self.compact();
        }
    }

    /// Rewrites [`Book::texts`] without the text of forgotten subscriptions, in slot order.
    fn compact(&mut self) {
        let mut texts = String::with_capacity(self.texts.len() - self.garbage);
        for entry in self.entries.iter_mut().flatten() {
            let end = entry.start + entry.user_len + entry.term_len;
            let start = texts.len();
            texts.push_str(self.texts.get(entry.start..end).unwrap_or_default());
            entry.start = start;
        }
        self.texts = texts;
        self.garbage = 0;
    }
}

#[async_trait]
impl SubscriptionMatcher for LocalMatcher {
    async fn matching(&self, post: &Post) -> Result<Vec<Subscription>, SubscriptionsError> {
        Ok(self.matches(post))
    }

    async fn subscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        self.subscribe(user, term);
        Ok(())
    }

    async fn unsubscribed(
        &self,
        user: &str,
        term: &SubscriptionTerm,
    ) -> Result<(), SubscriptionsError> {
        self.unsubscribe(user, term);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use sde_core::testing::subscription_matcher_contract;
    use sde_core::{Added, SubscriberPage, SubscriptionBook, UserId};
    use std::sync::Mutex;

    #[tokio::test]
    async fn the_local_matcher_keeps_the_contract() {
        subscription_matcher_contract(&LocalMatcher::new()).await;
    }

    /// A store over a [`SubscriptionBook`] that counts the pages read, or fails every call.
    #[derive(Debug, Default)]
    struct BookStore {
        book: Mutex<SubscriptionBook>,
        pages: Mutex<u32>,
        fail: bool,
    }

    #[async_trait]
    impl Subscriptions for BookStore {
        async fn add(
            &self,
            user: &str,
            kind: SubscriptionKind,
            term: &SubscriptionTerm,
            cap: u32,
        ) -> Result<Added, SubscriptionsError> {
            Ok(self.book.lock().unwrap().add(user, kind, term, cap))
        }

        async fn remove(
            &self,
            user: &str,
            kind: SubscriptionKind,
            term: &SubscriptionTerm,
        ) -> Result<bool, SubscriptionsError> {
            Ok(self.book.lock().unwrap().remove(user, kind, term).is_some())
        }

        async fn list(
            &self,
            user: &str,
            kind: SubscriptionKind,
        ) -> Result<Vec<String>, SubscriptionsError> {
            Ok(self.book.lock().unwrap().list(user, kind))
        }

        async fn set_address(&self, user: &str, address: &str) -> Result<(), SubscriptionsError> {
            self.book.lock().unwrap().set_address(user, address);
            Ok(())
        }

        async fn address(&self, user: &str) -> Result<Option<String>, SubscriptionsError> {
            Ok(self.book.lock().unwrap().address(user).map(str::to_owned))
        }

        async fn subscribers(
            &self,
            kind: SubscriptionKind,
            after: Option<&str>,
            limit: u32,
        ) -> Result<SubscriberPage, SubscriptionsError> {
            if self.fail {
                return Err(SubscriptionsError::new(
                    sde_core::SubscriptionsErrorKind::Unavailable,
                    "reading subscribers",
                ));
            }
            *self.pages.lock().unwrap() += 1;
            self.book.lock().unwrap().page(kind, after, limit)
        }
    }

    fn post(content: &str) -> Post {
        Post {
            id: "p1".into(),
            user_id: UserId::Int(1),
            date_created: "2026-03-01T09:30:00Z".parse().unwrap(),
            content: content.into(),
            tags: Vec::new(),
        }
    }

    #[tokio::test]
    async fn loading_reads_every_page_of_real_time_subscriptions_and_no_daily_one() {
        let store = BookStore::default();
        let users = 2 * LOAD_PAGE + 100;
        for n in 0..users {
            let user = format!("user-{n:05}");
            let word = if n % 2 == 0 { "Even" } else { "odd" };
            for text in [word.to_owned(), format!("w{n}")] {
                let term = SubscriptionTerm::parse(&text).unwrap();
                let added = store
                    .add(&user, SubscriptionKind::RealTime, &term, 50)
                    .await
                    .unwrap();
                assert_eq!(added, Added::Added);
            }
        }
        let daily = SubscriptionTerm::parse("daily only").unwrap();
        store
            .add("user-00000", SubscriptionKind::Daily, &daily, 50)
            .await
            .unwrap();

        let matcher = LocalMatcher::load(&store).await.unwrap();
        assert_eq!(matcher.len(), 2 * users as usize);
        assert!(*store.pages.lock().unwrap() >= 5, "read page by page");
        let even = matcher.matches(&post("even numbers"));
        assert_eq!(even.len(), (users as usize).div_ceil(2));
        assert!(even.iter().all(|s| s.term == "Even"));
        let mut found = matcher.matches(&post("w2099 and W7"));
        found.sort_unstable_by(|a, b| a.user.cmp(&b.user));
        assert_eq!(
            found,
            [
                Subscription {
                    user: "user-00007".into(),
                    term: "w7".into()
                },
                Subscription {
                    user: "user-02099".into(),
                    term: "w2099".into()
                },
            ]
        );
        assert!(matcher.matches(&post("daily only")).is_empty());
    }

    #[test]
    fn forgetting_most_subscriptions_compacts_their_text_and_keeps_the_rest_intact() {
        let matcher = LocalMatcher::new();
        let term = |text: &str| SubscriptionTerm::parse(text).unwrap();
        for n in 0..100 {
            matcher.subscribe(&format!("user-{n}"), &term(&format!("Kite{n} flying")));
        }
        let full = matcher.read().texts.len();
        for n in (0..100).filter(|n| n % 10 != 3) {
            matcher.unsubscribe(&format!("user-{n}"), &term(&format!("kite{n} FLYING")));
        }
        {
            let book = matcher.read();
            assert!(
                book.texts.len() < full / 2,
                "compacted: {} of {full}",
                book.texts.len()
            );
            assert!(book.garbage <= book.texts.len() / 2);
        }
        // Reused slots put new text at the end, out of slot order.
        matcher.subscribe("zed", &term("flying"));
        let mut found: Vec<(String, String)> = matcher
            .matches(&post("flying kite43"))
            .into_iter()
            .map(|s| (s.user, s.term))
            .collect();
        found.sort();
        let mut expected: Vec<(String, String)> = (0..10)
            .map(|k| {
                (
                    format!("user-{}", k * 10 + 3),
                    format!("Kite{} flying", k * 10 + 3),
                )
            })
            .collect();
        expected.push(("zed".into(), "flying".into()));
        expected.sort();
        assert_eq!(found, expected);
    }

    #[tokio::test]
    async fn a_store_that_fails_fails_the_load() {
        let store = BookStore {
            fail: true,
            ..BookStore::default()
        };
        let error = LocalMatcher::load(&store).await.unwrap_err();
        assert_eq!(error.kind, sde_core::SubscriptionsErrorKind::Unavailable);
    }

    #[test]
    fn forgetting_frees_the_tokens_and_the_slot_is_reused() {
        let matcher = LocalMatcher::new();
        let term = |text: &str| SubscriptionTerm::parse(text).unwrap();
        matcher.subscribe("ada", &term("red kite"));
        matcher.subscribe("bob", &term("kite"));
        matcher.unsubscribe("ada", &term("RED KITE"));
        assert_eq!(matcher.len(), 1);
        {
            let book = matcher.read();
            assert!(!book.by_token.contains_key("red"));
            assert_eq!(book.by_token["kite"].len(), 1);
        }
        matcher.subscribe("cy", &term("red"));
        assert_eq!(matcher.read().entries.len(), 2, "the freed slot is reused");
        let found = matcher.matches(&post("a red kite"));
        let mut users: Vec<&str> = found.iter().map(|s| s.user.as_str()).collect();
        users.sort_unstable();
        assert_eq!(users, ["bob", "cy"]);
    }
}
