//! The local matcher means exactly what `/search` means: on generated posts and terms, the posts
//! that a search for one term finds in the embedded index are exactly the posts the matcher says
//! match a subscription to that term.
//!
//! Posts and terms are drawn from a small vocabulary chosen to trip a matcher that does not use
//! the index's analyser: case (`Dog`, `DOGS`), `#` tags, punctuation inside and around words
//! (`hot-dog`, `don't`, `(cat)`, `a.b`), words glued together, accented and other Unicode letters
//! (`café`/`CAFE`, `ÉCOLE`, `東京`, `Über`), digits, an emoji, and text with no token at all
//! (`!!!`, `#`, `—`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sde_core::{PageRequest, Post, PostQuery, SearchIndex, SubscriptionTerm, UserId};
use sde_tantivy::{LocalMatcher, TantivyIndex};
use std::collections::BTreeSet;

const WORDS: &[&str] = &[
    "dog", "Dog", "DOGS", "#dog", "dog!", "hot", "HOT", "hot-dog", "cat", "cats", "(cat)", "café",
    "Café", "CAFE", "cafe", "école", "ÉCOLE", "東京", "naïve", "über", "Über", "don't", "a.b",
    "x_y", "2019", "🎈", "!!!", "#", "—", "?",
];

/// What goes between two words: a space, punctuation, or nothing (glued).
const GLUE: &[&str] = &[" ", " ", ", ", "\n", "-", "#", ""];

fn text(max_words: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(WORDS), prop::sample::select(GLUE)),
        0..=max_words,
    )
    .prop_map(|parts| {
        let mut text = String::new();
        for (i, (word, glue)) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push_str(glue);
            }
            text.push_str(word);
        }
        text
    })
}

fn tag() -> impl Strategy<Value = String> {
    (any::<bool>(), text(2)).prop_map(|(hash, text)| if hash { format!("#{text}") } else { text })
}

fn posts() -> impl Strategy<Value = Vec<Post>> {
    prop::collection::vec((text(8), prop::collection::vec(tag(), 0..4)), 1..12).prop_map(|posts| {
        posts
            .into_iter()
            .enumerate()
            .map(|(n, (content, tags))| Post {
                id: format!("post-{n:02}"),
                user_id: UserId::Int(n as i64),
                date_created: "2026-03-01T09:30:00Z".parse().unwrap(),
                content,
                tags,
            })
            .collect()
    })
}

/// Terms the store would accept (not blank), at most three words.
fn terms() -> impl Strategy<Value = Vec<SubscriptionTerm>> {
    prop::collection::vec(text(3), 1..10).prop_map(|texts| {
        texts
            .iter()
            .filter_map(|text| SubscriptionTerm::parse(text).ok())
            .collect()
    })
}

fn compare(posts: &[Post], terms: &[SubscriptionTerm]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let index = TantivyIndex::in_memory().unwrap();
    let mut writer = index.writer().unwrap();
    for post in posts {
        writer.add(post).unwrap();
    }
    writer.commit().unwrap();

    // One user per term, so that terms equal once normalised stay separate subscriptions.
    let matcher = LocalMatcher::new();
    for (n, term) in terms.iter().enumerate() {
        matcher.subscribe(&format!("user-{n}"), term);
    }
    let mut matched: Vec<BTreeSet<String>> = vec![BTreeSet::new(); terms.len()];
    for post in posts {
        for subscription in matcher.matches(post) {
            let n: usize = subscription.user["user-".len()..].parse().unwrap();
            assert_eq!(subscription.term, terms[n].text());
            assert!(
                matched[n].insert(post.id.clone()),
                "{} answered twice for {:?}",
                terms[n].text(),
                post
            );
        }
    }

    for (term, matched) in terms.iter().zip(&matched) {
        let query = PostQuery {
            terms: vec![term.text().to_owned()],
            ..PostQuery::default()
        };
        let page = runtime
            .block_on(index.search(
                &query,
                PageRequest {
                    number: 0,
                    size: 100,
                },
            ))
            .unwrap();
        let found: BTreeSet<String> = page.posts.into_iter().map(|post| post.id).collect();
        assert_eq!(page.total, found.len() as u64);
        assert_eq!(
            &found,
            matched,
            "term {:?}: /search found the left posts, the matcher the right; posts: {posts:#?}",
            term.text()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_matcher_matches_exactly_what_search_finds(posts in posts(), terms in terms()) {
        compare(&posts, &terms);
    }
}

/// The cases the generator is built to reach, written out, so they are checked on every run
/// whatever the generator draws.
#[test]
fn hand_written_cases_agree_with_search() {
    let post = |n: usize, content: &str, tags: &[&str]| Post {
        id: format!("post-{n:02}"),
        user_id: UserId::Int(n as i64),
        date_created: "2026-03-01T09:30:00Z".parse().unwrap(),
        content: content.into(),
        tags: tags.iter().map(|&tag| tag.into()).collect(),
    };
    let posts = [
        post(0, "Hot-dog stand, don't miss", &["#Food"]),
        post(1, "dogs and CATS", &[]),
        post(2, "!!! — ?", &["#"]),
        post(3, "ÉCOLE café 東京🎈", &["#über"]),
        post(4, "hotdog", &["#dog#cat"]),
    ];
    let terms: Vec<SubscriptionTerm> = [
        "dog", "hot dog", "#food", "don't", "DOGS", "!!!", "#", "école", "CAFÉ", "東京", "Über",
        "cat", "hotdog", "🎈",
    ]
    .iter()
    .map(|text| SubscriptionTerm::parse(text).unwrap())
    .collect();
    compare(&posts, &terms);
    // And the matcher does find something: the comparison is not between two empty sets.
    let matcher = LocalMatcher::new();
    matcher.subscribe("ada", &terms[1]);
    assert_eq!(matcher.matches(&posts[0]).len(), 1);
    assert_eq!(matcher.matches(&posts[4]).len(), 1, "#dog#cat tags dog");
}
