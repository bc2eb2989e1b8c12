//! The `SubscriptionMatcher` contract: a post matches a real-time subscription exactly when
//! `/search` for its term would find the post — any one of the term's tokens in `Content` or
//! `Tags`, compared through the analyser (case and `#` do not matter, punctuation splits words,
//! Unicode letters are letters), a term without a searchable token matching nothing; each
//! matching subscription is answered once, with the term as first given, whoever wrote the post;
//! `subscribed` and `unsubscribed` are idempotent, compare terms normalised, and touch only that
//! user's one term ("dog" is not "hot dog", and Ada forgetting "cats" leaves Bob's). Run by the
//! local matcher's tests (sde-tantivy) and, against a real cluster, by the percolator matcher's
//! live test (sde-elasticsearch).
//!
//! Users are fresh names each run and only their subscriptions are looked at, so a shared,
//! long-lived matcher may be given.

use crate::matching::SubscriptionMatcher;
use crate::post::{Post, UserId};
use crate::subscriptions::{Subscription, SubscriptionTerm};
use std::collections::BTreeSet;

/// Runs the matcher contract against `matcher`.
pub async fn subscription_matcher_contract(matcher: &dyn SubscriptionMatcher) {
    a_post_matches_a_term_through_any_of_its_tokens_in_content_or_tags(matcher).await;
    case_hash_signs_and_punctuation_do_not_matter(matcher).await;
    dog_is_not_hot_dog(matcher).await;
    subscribing_and_unsubscribing_are_idempotent_and_compare_normalised_terms(matcher).await;
    other_users_are_untouched(matcher).await;
    each_matching_subscription_is_answered_once(matcher).await;
    a_term_without_searchable_tokens_matches_nothing(matcher).await;
    the_author_is_not_left_out(matcher).await;
}

/// A fresh user, shaped like a Cognito `sub`.
fn user() -> String {
    super::unique("5d0c7f3e-2a1b-4c9d")
}

fn term(text: &str) -> SubscriptionTerm {
    SubscriptionTerm::parse(text).unwrap()
}

/// A post by someone else than any test user.
fn post(content: &str, tags: &[&str]) -> Post {
    Post {
        id: super::unique("post"),
        user_id: UserId::Text("0a1b2c3d-author".into()),
        date_created: "2026-03-01T09:30:00Z".parse().unwrap(),
        content: content.into(),
        tags: tags.iter().map(|&tag| tag.into()).collect(),
    }
}

async fn subscribe(matcher: &dyn SubscriptionMatcher, user: &str, text: &str) {
    matcher
        .subscribed(user, &term(text))
        .await
        .unwrap_or_else(|e| panic!("subscribing {user} to {text:?}: {e}"));
}

async fn unsubscribe(matcher: &dyn SubscriptionMatcher, user: &str, text: &str) {
    matcher
        .unsubscribed(user, &term(text))
        .await
        .unwrap_or_else(|e| panic!("unsubscribing {user} from {text:?}: {e}"));
}

/// The `(user, term)` pairs `post` matches among `users`' subscriptions, as a list so that a
/// subscription answered twice shows.
async fn matches(
    matcher: &dyn SubscriptionMatcher,
    post: &Post,
    users: &[&str],
) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = matcher
        .matching(post)
        .await
        .unwrap_or_else(|e| panic!("matching {post:?}: {e}"))
        .into_iter()
        .filter(|s| users.contains(&s.user.as_str()))
        .map(|Subscription { user, term }| (user, term))
        .collect();
    found.sort();
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|&(user, term)| (user.to_owned(), term.to_owned()))
        .collect();
    pairs.sort();
    pairs
}

async fn a_post_matches_a_term_through_any_of_its_tokens_in_content_or_tags(
    matcher: &dyn SubscriptionMatcher,
) {
    let ada = user();
    let users = [ada.as_str()];
    assert_eq!(
        matches(matcher, &post("northern lights", &["#aurora"]), &users).await,
        pairs(&[]),
        "nothing subscribed yet"
    );
    subscribe(matcher, &ada, "northern lights").await;
    subscribe(matcher, &ada, "zeppelin").await;
    for (content, tags) in [
        ("the northern sky", &[][..]),
        ("city lights", &[][..]),
        ("nothing here", &["#lights"][..]),
    ] {
        assert_eq!(
            matches(matcher, &post(content, tags), &users).await,
            pairs(&[(&ada, "northern lights")]),
            "{content:?} {tags:?}: one token of the term is enough, in Content or Tags"
        );
    }
    assert_eq!(
        matches(
            matcher,
            &post("a zeppelin in the northern sky", &[]),
            &users
        )
        .await,
        pairs(&[(&ada, "northern lights"), (&ada, "zeppelin")])
    );
    assert_eq!(
        matches(
            matcher,
            &post("north light zeppelins", &["#nordic"]),
            &users
        )
        .await,
        pairs(&[]),
        "tokens match whole, not as prefixes or stems"
    );
}

async fn case_hash_signs_and_punctuation_do_not_matter(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    let users = [ada.as_str()];
    subscribe(matcher, &ada, "#Aurora").await;
    subscribe(matcher, &ada, "Café").await;
    subscribe(matcher, &ada, "ÉCOLE").await;
    for (content, tags) in [
        ("AURORA tonight!", &[][..]),
        ("look", &["#aurora"][..]),
        ("look", &["AURORA"][..]),
        ("(aurora)…", &[][..]),
    ] {
        assert_eq!(
            matches(matcher, &post(content, tags), &users).await,
            pairs(&[(&ada, "#Aurora")]),
            "{content:?} {tags:?}"
        );
    }
    assert_eq!(
        matches(matcher, &post("café-au-lait, école", &[]), &users).await,
        pairs(&[(&ada, "Café"), (&ada, "ÉCOLE")]),
        "Unicode letters lower-case and punctuation splits words"
    );
    assert_eq!(
        matches(matcher, &post("cafe ecole auroras", &[]), &users).await,
        pairs(&[]),
        "accents are kept: cafe is not café"
    );
}

async fn dog_is_not_hot_dog(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    let users = [ada.as_str()];
    subscribe(matcher, &ada, "dog").await;
    subscribe(matcher, &ada, "hot dog").await;
    assert_eq!(
        matches(matcher, &post("a hot day", &[]), &users).await,
        pairs(&[(&ada, "hot dog")]),
        "\"hot\" alone matches \"hot dog\" (any token), not \"dog\""
    );
    assert_eq!(
        matches(matcher, &post("my dog", &[]), &users).await,
        pairs(&[(&ada, "dog"), (&ada, "hot dog")])
    );
    unsubscribe(matcher, &ada, "dog").await;
    assert_eq!(
        matches(matcher, &post("my dog", &[]), &users).await,
        pairs(&[(&ada, "hot dog")]),
        "forgetting \"dog\" keeps \"hot dog\""
    );
    subscribe(matcher, &ada, "dog").await;
    unsubscribe(matcher, &ada, "hot dog").await;
    assert_eq!(
        matches(matcher, &post("my dog", &[]), &users).await,
        pairs(&[(&ada, "dog")]),
        "forgetting \"hot dog\" keeps \"dog\""
    );
    assert_eq!(
        matches(matcher, &post("a hot day", &[]), &users).await,
        pairs(&[])
    );
}

async fn subscribing_and_unsubscribing_are_idempotent_and_compare_normalised_terms(
    matcher: &dyn SubscriptionMatcher,
) {
    let ada = user();
    let users = [ada.as_str()];
    let kites = post("kites over the beach", &[]);
    unsubscribe(matcher, &ada, "kites").await;
    subscribe(matcher, &ada, "Kites").await;
    subscribe(matcher, &ada, "Kites").await;
    subscribe(matcher, &ada, " KITES ").await;
    assert_eq!(
        matches(matcher, &kites, &users).await,
        pairs(&[(&ada, "Kites")]),
        "one subscription, the term as first given"
    );
    unsubscribe(matcher, &ada, "kites").await;
    assert_eq!(matches(matcher, &kites, &users).await, pairs(&[]));
    unsubscribe(matcher, &ada, "KITES").await;
    assert_eq!(matches(matcher, &kites, &users).await, pairs(&[]));
    subscribe(matcher, &ada, "kites").await;
    assert_eq!(
        matches(matcher, &kites, &users).await,
        pairs(&[(&ada, "kites")]),
        "subscribing again after forgetting"
    );
}

async fn other_users_are_untouched(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    // One user's name extends the other's: a matcher keyed by prefix would mix them up.
    let longer = format!("{ada}0");
    let bob = user();
    let users = [ada.as_str(), longer.as_str(), bob.as_str()];
    let cats = post("two cats", &["#cats"]);
    subscribe(matcher, &ada, "cats").await;
    subscribe(matcher, &longer, "Cats").await;
    subscribe(matcher, &bob, "CATS").await;
    assert_eq!(
        matches(matcher, &cats, &users).await,
        pairs(&[(&ada, "cats"), (&longer, "Cats"), (&bob, "CATS")])
    );
    unsubscribe(matcher, &ada, "cats").await;
    unsubscribe(matcher, &bob, "dogs").await;
    assert_eq!(
        matches(matcher, &cats, &users).await,
        pairs(&[(&longer, "Cats"), (&bob, "CATS")])
    );
}

async fn each_matching_subscription_is_answered_once(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    let bob = user();
    let users = [ada.as_str(), bob.as_str()];
    subscribe(matcher, &ada, "cat cat #cat kitten").await;
    subscribe(matcher, &bob, "kitten").await;
    let post = post("Cat, cat and CAT: a kitten!", &["#cat", "#kitten", "#cat"]);
    let found = matches(matcher, &post, &users).await;
    assert_eq!(
        found,
        pairs(&[(&ada, "cat cat #cat kitten"), (&bob, "kitten")]),
        "once each, however many tokens match and however often"
    );
    let distinct: BTreeSet<_> = found.iter().collect();
    assert_eq!(distinct.len(), found.len());
}

async fn a_term_without_searchable_tokens_matches_nothing(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    let users = [ada.as_str()];
    subscribe(matcher, &ada, "!!!").await;
    subscribe(matcher, &ada, "#").await;
    subscribe(matcher, &ada, "— ?").await;
    for (content, tags) in [
        ("!!!", &[][..]),
        ("# — ?", &["#"][..]),
        ("wow!!! anything at all", &["#x"][..]),
        ("", &[][..]),
    ] {
        assert_eq!(
            matches(matcher, &post(content, tags), &users).await,
            pairs(&[]),
            "{content:?} {tags:?}"
        );
    }
    unsubscribe(matcher, &ada, "!!!").await;
}

async fn the_author_is_not_left_out(matcher: &dyn SubscriptionMatcher) {
    let ada = user();
    let users = [ada.as_str()];
    subscribe(matcher, &ada, "sunrise").await;
    let own = Post {
        user_id: UserId::Text(ada.clone()),
        ..post("my sunrise", &[])
    };
    assert_eq!(
        matches(matcher, &own, &users).await,
        pairs(&[(&ada, "sunrise")]),
        "leaving the author out is the caller's rule"
    );
}
