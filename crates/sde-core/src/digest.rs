//! The daily digest's selection rule: which of a day's matching posts one subscriber's email
//! shows, and in which sections.
//!
//! Each matching post is filed under the set of the subscriber's terms it matched; posts sharing
//! a set form a section. Sections with more terms come first (a post matching "aurora" and
//! "norway" is likelier to interest than one matching either alone); sections with as many terms
//! are ordered by their terms, so the order never depends on how the posts arrived. Within a
//! section the newest post comes first.
//!
//! An email shows at most [`MAX_DIGEST_POSTS`] posts, and every section keeps at least one:
//! each section is given one post, and the pool of `MAX_DIGEST_POSTS − sections` further posts
//! is handed out in section order, each section taking as many as it has until the pool is
//! empty. (Were there more sections than posts allowed, only the first [`MAX_DIGEST_POSTS`]
//! sections are kept: a user holds at most 50 daily terms, so this takes a day whose posts
//! match over 50 different combinations of them.) A section says how many of its posts it left
//! out, so the email can link to the search for the rest.

use crate::post::Post;
use std::collections::BTreeMap;

/// Most posts one digest email shows.
pub const MAX_DIGEST_POSTS: usize = 50;

/// A post and the subscriber's terms it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedPost {
    pub post: Post,
    /// The terms as the subscriber gave them; order and repeats do not matter.
    pub terms: Vec<String>,
}

/// The posts that matched one set of terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSection {
    /// The terms, sorted.
    pub terms: Vec<String>,
    /// The posts shown, newest first.
    pub posts: Vec<Post>,
    /// How many more posts matched exactly these terms but are not shown.
    pub left_out: usize,
}

/// One subscriber's digest: its sections in the order the email shows them. Empty when nothing
/// matched, and then no email is sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digest {
    pub sections: Vec<DigestSection>,
}

impl Digest {
    /// Files `matches` into sections and chooses the posts shown. A post listed twice is kept
    /// once, with the union of its terms; a post with no terms is ignored.
    pub fn select(matches: Vec<MatchedPost>) -> Digest {
        let mut by_post: BTreeMap<String, MatchedPost> = BTreeMap::new();
        for matched in matches {
            match by_post.get_mut(&matched.post.id) {
                Some(known) => known.terms.extend(matched.terms),
                None => {
                    by_post.insert(matched.post.id.clone(), matched);
                }
            }
        }
        let mut by_terms: BTreeMap<Vec<String>, Vec<Post>> = BTreeMap::new();
        for (_, MatchedPost { post, mut terms }) in by_post {
            terms.sort();
            terms.dedup();
            if terms.is_empty() {
                continue;
            }
            by_terms.entry(terms).or_default().push(post);
        }
        let mut sections: Vec<(Vec<String>, Vec<Post>)> = by_terms.into_iter().collect();
        // Stable: sections with as many terms keep the terms' order from the map.
        sections.sort_by_key(|(terms, _)| std::cmp::Reverse(terms.len()));
        sections.truncate(MAX_DIGEST_POSTS);

        let mut pool = MAX_DIGEST_POSTS - sections.len();
        let sections = sections
            .into_iter()
            .map(|(terms, mut posts)| {
                posts.sort_by(|a, b| {
                    b.date_created
                        .cmp(&a.date_created)
                        .then_with(|| a.id.cmp(&b.id))
                });
                let extra = (posts.len() - 1).min(pool);
                pool -= extra;
                let shown = 1 + extra;
                let left_out = posts.len() - shown;
                posts.truncate(shown);
                DigestSection {
                    terms,
                    posts,
                    left_out,
                }
            })
            .collect();
        Digest { sections }
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// How many posts the email shows.
    pub fn shown(&self) -> usize {
        self.sections
            .iter()
            .map(|section| section.posts.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::UserId;
    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;

    fn post(id: usize, minute: i64) -> Post {
        Post {
            id: format!("p{id:04}"),
            user_id: UserId::Int(1),
            date_created: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
                + Duration::minutes(minute),
            content: format!("post {id}"),
            tags: vec![],
        }
    }

    fn matched(id: usize, minute: i64, terms: &[&str]) -> MatchedPost {
        MatchedPost {
            post: post(id, minute),
            terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn shape(digest: &Digest) -> Vec<(Vec<&str>, usize, usize)> {
        digest
            .sections
            .iter()
            .map(|s| {
                (
                    s.terms.iter().map(String::as_str).collect(),
                    s.posts.len(),
                    s.left_out,
                )
            })
            .collect()
    }

    #[test]
    fn nothing_matched_is_an_empty_digest() {
        assert!(Digest::select(vec![]).is_empty());
        assert!(Digest::select(vec![matched(1, 0, &[])]).is_empty());
    }

    #[test]
    fn sections_with_more_terms_come_first_then_by_terms_and_posts_newest_first() {
        let digest = Digest::select(vec![
            matched(1, 10, &["norway"]),
            matched(2, 20, &["aurora"]),
            matched(3, 30, &["norway", "aurora"]),
            matched(4, 40, &["aurora"]),
            matched(5, 5, &["aurora", "norway", "aurora"]),
        ]);
        assert_eq!(
            shape(&digest),
            vec![
                (vec!["aurora", "norway"], 2, 0),
                (vec!["aurora"], 2, 0),
                (vec!["norway"], 1, 0),
            ]
        );
        let ids = |s: &DigestSection| s.posts.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&digest.sections[0]), ["p0003", "p0005"]);
        assert_eq!(ids(&digest.sections[1]), ["p0004", "p0002"]);
    }

    #[test]
    fn a_post_listed_twice_is_shown_once_under_all_its_terms() {
        let digest = Digest::select(vec![matched(1, 0, &["cats"]), matched(1, 0, &["dogs"])]);
        assert_eq!(shape(&digest), vec![(vec!["cats", "dogs"], 1, 0)]);
    }

    #[test]
    fn the_pool_of_extra_posts_is_handed_out_in_section_order() {
        // Three sections of 30, 30 and 5 posts: each keeps one, the pool of 47 gives the first
        // section its 29 others and the second 18 of its 29.
        let mut matches = Vec::new();
        for i in 0..30 {
            matches.push(matched(i, i as i64, &["a", "b"]));
            matches.push(matched(100 + i, i as i64, &["a"]));
        }
        for i in 0..5 {
            matches.push(matched(200 + i, i as i64, &["b"]));
        }
        let digest = Digest::select(matches);
        assert_eq!(
            shape(&digest),
            vec![
                (vec!["a", "b"], 30, 0),
                (vec!["a"], 19, 11),
                (vec!["b"], 1, 4)
            ]
        );
        assert_eq!(digest.shown(), MAX_DIGEST_POSTS);
    }

    proptest! {
        #[test]
        fn every_section_keeps_one_and_at_most_fifty_are_shown(
            posts in proptest::collection::vec(
                (0usize..200, 0i64..1440, proptest::collection::btree_set(0usize..6, 0..4)),
                0..300,
            )
        ) {
            const TERMS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
            let matches: Vec<MatchedPost> = posts
                .iter()
                .map(|(id, minute, terms)| {
                    let terms: Vec<&str> = terms.iter().map(|t| TERMS[*t]).collect();
                    matched(*id, *minute, &terms)
                })
                .collect();
            let digest = Digest::select(matches);
            let distinct_posts: std::collections::BTreeSet<usize> = posts
                .iter()
                .filter(|(_, _, terms)| !terms.is_empty())
                .map(|(id, _, _)| *id)
                .collect();
            prop_assert!(digest.shown() <= MAX_DIGEST_POSTS);
            prop_assert_eq!(digest.shown(), distinct_posts.len().min(MAX_DIGEST_POSTS));
            let mut seen = std::collections::BTreeSet::new();
            for pair in digest.sections.windows(2) {
                prop_assert!(pair[0].terms.len() >= pair[1].terms.len());
            }
            for section in &digest.sections {
                prop_assert!(!section.posts.is_empty());
                for shown in &section.posts {
                    prop_assert!(seen.insert(shown.id.clone()), "a post shown twice");
                }
                for pair in section.posts.windows(2) {
                    prop_assert!(pair[0].date_created >= pair[1].date_created);
                }
            }
        }
    }
}
