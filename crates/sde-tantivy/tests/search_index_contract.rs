//! The `SearchIndex` contract: the design page's search semantics, checked through
//! `&dyn SearchIndex` only, so the same suite can run against every implementation.
//!
//! `suite` holds the checks; each takes a loader that builds an index holding exactly the given
//! posts (later posts replace earlier ones with the same id) and returns it once they are
//! visible. `contract_tests!` turns the checks into tests for one loader; the bottom of this
//! file runs them against the tantivy index.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod suite {
    use chrono::{DateTime, Duration, Utc};
    use sde_core::{DateRange, PageRequest, Post, PostQuery, SearchIndex, UserId};
    use std::collections::HashSet;
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    /// Page size large enough to hold every post of any check.
    const ALL: PageRequest = PageRequest {
        number: 0,
        size: 1_000,
    };

    pub fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    pub fn post(id: &str, content: &str, tags: &[&str]) -> Post {
        Post {
            id: id.to_owned(),
            user_id: UserId::Int(1),
            date_created: at("2020-01-01T00:00:00Z"),
            content: content.to_owned(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    fn dated(id: &str, date: &str) -> Post {
        Post {
            date_created: at(date),
            ..post(id, "cats", &[])
        }
    }

    fn terms(terms: &[&str]) -> PostQuery {
        PostQuery {
            terms: terms.iter().map(|term| (*term).to_owned()).collect(),
            ..PostQuery::default()
        }
    }

    fn range(from: Option<&str>, to: Option<&str>) -> DateRange {
        DateRange {
            from: from.map(at),
            to: to.map(at),
        }
    }

    /// The ids of every match, best first; also checks the total agrees with the page.
    async fn ranked(index: &dyn SearchIndex, query: &PostQuery) -> Vec<String> {
        let page = index.search(query, ALL).await.unwrap();
        assert_eq!(page.total, page.posts.len() as u64, "total of {query:?}");
        assert_eq!(page.warning, None);
        page.posts.into_iter().map(|post| post.id).collect()
    }

    async fn matching(index: &dyn SearchIndex, query: &PostQuery) -> HashSet<String> {
        ranked(index, query).await.into_iter().collect()
    }

    fn ids(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    /// Scans `query`, checking batch sizes and that no post comes twice; returns the ids in
    /// scan order and the scan's total.
    async fn scanned(
        index: &dyn SearchIndex,
        query: &PostQuery,
        batch_size: usize,
    ) -> (Vec<String>, u64) {
        let mut scan = index
            .scan(query, NonZeroUsize::new(batch_size).unwrap())
            .await
            .unwrap();
        let total = scan.total();
        let mut seen = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            assert!(!batch.is_empty(), "a batch is never empty");
            assert!(
                batch.len() <= batch_size,
                "batch of {} > {batch_size}",
                batch.len()
            );
            seen.extend(batch.drain(..).map(|post| post.id));
        }
        scan.close().await.unwrap();
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a scan yields each post once");
        (seen, total)
    }

    pub async fn every_term_must_match<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("both", "cats and dogs", &[]),
            post("cats", "cats only", &[]),
            post("dogs", "dogs only", &[]),
        ])
        .await;
        assert_eq!(
            matching(&*index, &terms(&["cats", "dogs"])).await,
            ids(&["both"])
        );
        assert_eq!(
            matching(&*index, &terms(&["cats"])).await,
            ids(&["both", "cats"])
        );
    }

    pub async fn a_term_matches_through_content_or_tags<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("content", "my cats", &[]),
            post("tag", "my pets", &["#cats"]),
            post("neither", "my dogs", &["#dogs"]),
        ])
        .await;
        assert_eq!(
            matching(&*index, &terms(&["cats"])).await,
            ids(&["content", "tag"])
        );
        // Each term may match through a different field.
        assert_eq!(
            matching(&*index, &terms(&["pets", "cats"])).await,
            ids(&["tag"])
        );
    }

    pub async fn a_multi_word_term_matches_any_of_its_words<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("cats", "cats", &[]),
            post("dogs", "dogs", &[]),
            post("fish", "fish", &[]),
        ])
        .await;
        assert_eq!(
            matching(&*index, &terms(&["cats dogs"])).await,
            ids(&["cats", "dogs"])
        );
    }

    pub async fn hash_tag_and_bare_word_both_match_a_tag<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("tagged", "a photo", &["#cats"]),
            post("other", "a photo", &[]),
        ])
        .await;
        assert_eq!(
            matching(&*index, &terms(&["#cats"])).await,
            ids(&["tagged"])
        );
        assert_eq!(matching(&*index, &terms(&["cats"])).await, ids(&["tagged"]));
    }

    pub async fn matching_ignores_case<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![post("loud", "CATS Rule", &["#Dogs"])]).await;
        for term in ["cats", "cAtS", "RULE", "dogs", "#DOGS"] {
            assert_eq!(
                matching(&*index, &terms(&[term])).await,
                ids(&["loud"]),
                "{term}"
            );
        }
    }

    pub async fn unicode_text_matches<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post(
                "unicode",
                "Ünïcode café in 東京, naïve \"quotes\",\nnewlines",
                &["#Ωmega"],
            ),
            post("ascii", "unicode cafe", &[]),
        ])
        .await;
        for term in [
            "ünïcode",
            "CAFÉ",
            "東京",
            "naïve",
            "quotes",
            "ωmega",
            "#ΩMEGA",
        ] {
            assert_eq!(
                matching(&*index, &terms(&[term])).await,
                ids(&["unicode"]),
                "{term}"
            );
        }
    }

    pub async fn a_punctuation_only_term_matches_nothing<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![post("p", "cats!!! ... ?", &["#"])]).await;
        assert!(matching(&*index, &terms(&["!!!"])).await.is_empty());
        assert!(matching(&*index, &terms(&["#"])).await.is_empty());
        assert!(matching(&*index, &terms(&["cats", "..."])).await.is_empty());
        let (seen, total) = scanned(&*index, &terms(&["?"]), 10).await;
        assert_eq!((seen.len(), total), (0, 0));
    }

    pub async fn query_syntax_in_user_text_is_plain_words<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("cats", "cats", &[]),
            post("x", "x marks the spot", &[]),
            post("y", "y is a letter", &[]),
        ])
        .await;
        // `AND`, `:` and `*` are words or separators, not operators: any word may match.
        assert_eq!(
            matching(&*index, &terms(&["cats AND dogs:*"])).await,
            ids(&["cats"])
        );
        // `-x` is the word x, not "everything but x".
        assert_eq!(matching(&*index, &terms(&["-x"])).await, ids(&["x"]));
        // Unbalanced quotes and brackets are no error; with no word in them, no match.
        for term in ["\"(", "(", "\"", "[}", "\\", "*", "?"] {
            assert!(
                matching(&*index, &terms(&[term])).await.is_empty(),
                "{term}"
            );
        }
        assert_eq!(matching(&*index, &terms(&["\"cats"])).await, ids(&["cats"]));
    }

    pub async fn a_word_in_tags_outranks_the_same_word_in_content<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("in-content", "cats word", &["#other"]),
            post("in-tags", "other word", &["#cats"]),
        ])
        .await;
        assert_eq!(
            ranked(&*index, &terms(&["cats"])).await,
            ["in-tags", "in-content"]
        );
    }

    pub async fn results_are_ranked_by_relevance<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post(
                "long",
                "cats and many other words that dilute the match a lot",
                &[],
            ),
            post("short", "cats", &[]),
            post("both-words", "cats dogs", &[]),
        ])
        .await;
        assert_eq!(ranked(&*index, &terms(&["cats"])).await[0], "short");
        assert_eq!(
            ranked(&*index, &terms(&["cats dogs"])).await[0],
            "both-words"
        );
    }

    pub async fn no_terms_and_no_range_match_every_post<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("a", "cats", &[]),
            post("b", "", &[]),
            post("c", "", &["#x"]),
        ])
        .await;
        assert_eq!(
            matching(&*index, &PostQuery::default()).await,
            ids(&["a", "b", "c"])
        );
    }

    pub async fn the_date_range_is_half_open_and_either_end_may_be_open<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            dated("jan", "2020-01-01T00:00:00Z"),
            dated("feb", "2020-02-01T00:00:00.250Z"),
            dated("mar", "2020-03-01T00:00:00Z"),
        ])
        .await;
        let within = |from, to| PostQuery {
            terms: vec![],
            date_range: range(from, to),
        };
        let cases = [
            (
                Some("2020-01-01T00:00:00Z"),
                Some("2020-03-01T00:00:00Z"),
                ids(&["jan", "feb"]),
            ),
            (None, Some("2020-02-01T00:00:00.250Z"), ids(&["jan"])),
            (None, Some("2020-02-01T00:00:00.251Z"), ids(&["jan", "feb"])),
            (Some("2020-02-01T00:00:00.250Z"), None, ids(&["feb", "mar"])),
            (Some("2020-02-01T00:00:00.251Z"), None, ids(&["mar"])),
            (Some("2021-01-01T00:00:00Z"), None, ids(&[])),
            (
                Some("0001-01-01T00:00:00Z"),
                Some("9999-01-01T00:00:00Z"),
                ids(&["jan", "feb", "mar"]),
            ),
        ];
        for (from, to, expected) in cases {
            assert_eq!(
                matching(&*index, &within(from, to)).await,
                expected,
                "{from:?}..{to:?}"
            );
        }
    }

    pub async fn the_date_range_combines_with_terms<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            Post {
                content: "cats".into(),
                ..dated("old-cats", "2019-07-20T23:59:59Z")
            },
            Post {
                content: "cats".into(),
                ..dated("new-cats", "2019-07-21T10:00:00Z")
            },
            Post {
                content: "dogs".into(),
                ..dated("new-dogs", "2019-07-21T11:00:00Z")
            },
        ])
        .await;
        let query = PostQuery {
            terms: vec!["cats".into()],
            date_range: range(Some("2019-07-21T00:00:00Z"), Some("2019-07-23T00:00:00Z")),
        };
        assert_eq!(matching(&*index, &query).await, ids(&["new-cats"]));
    }

    pub async fn the_date_range_does_not_change_the_ranking<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            Post {
                content: "cats and other words".into(),
                ..dated("long", "2020-01-01T00:00:00Z")
            },
            Post {
                content: "cats".into(),
                ..dated("short", "2020-01-02T00:00:00Z")
            },
        ])
        .await;
        let mut query = terms(&["cats"]);
        let unfiltered = ranked(&*index, &query).await;
        query.date_range = range(Some("2019-01-01T00:00:00Z"), None);
        assert_eq!(ranked(&*index, &query).await, unfiltered);
    }

    pub async fn pages_concatenate_to_the_full_ranking_with_exact_totals<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        // Varied lengths give varied scores; repeated lengths give ties.
        let posts: Vec<Post> = (0..40)
            .map(|i| {
                post(
                    &format!("p{i:02}"),
                    &format!("cats {}", "word ".repeat(i % 7)),
                    &[],
                )
            })
            .chain((0..5).map(|i| post(&format!("dog{i}"), "dogs", &[])))
            .collect();
        let index = load(posts).await;
        let query = terms(&["cats"]);
        let full = ranked(&*index, &query).await;
        assert_eq!(full.len(), 40);

        let mut paged = Vec::new();
        for number in 0.. {
            let page = index
                .search(&query, PageRequest { number, size: 7 })
                .await
                .unwrap();
            assert_eq!(page.total, 40, "every page reports the exact total");
            if page.posts.is_empty() {
                assert_eq!(number, 6, "the page after the last one is empty");
                break;
            }
            assert!(page.posts.len() <= 7);
            paged.extend(page.posts.into_iter().map(|post| post.id));
        }
        assert_eq!(paged, full, "pages concatenated equal the full ranking");

        let last = index
            .search(&query, PageRequest { number: 5, size: 7 })
            .await
            .unwrap();
        assert_eq!(last.posts.len(), 5, "the last page holds the rest");
        let far = index
            .search(
                &query,
                PageRequest {
                    number: u32::MAX,
                    size: 1_000,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (far.total, far.posts.len()),
            (40, 0),
            "a page far past the end is empty"
        );
    }

    pub async fn a_scan_yields_every_match_exactly_once<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let posts: Vec<Post> = (0..137)
            .map(|i| {
                let content = if i % 3 == 0 { "dogs" } else { "cats" };
                let at = at("2020-01-01T00:00:00Z") + Duration::minutes(i);
                Post {
                    date_created: at,
                    ..post(&format!("p{i}"), content, &[])
                }
            })
            .collect();
        let expected: HashSet<String> = posts
            .iter()
            .filter(|post| post.content == "cats")
            .map(|post| post.id.clone())
            .collect();
        let index = load(posts).await;
        let query = terms(&["cats"]);
        let searched = index
            .search(&query, PageRequest { number: 0, size: 1 })
            .await
            .unwrap();
        for batch_size in [1, 10, 91, 1_000] {
            let (seen, total) = scanned(&*index, &query, batch_size).await;
            assert_eq!(
                total, searched.total,
                "the scan's total equals the search's"
            );
            assert_eq!(total, expected.len() as u64);
            assert_eq!(
                seen.into_iter().collect::<HashSet<_>>(),
                expected,
                "batch {batch_size}"
            );
        }
        let (all, total) = scanned(&*index, &PostQuery::default(), 50).await;
        assert_eq!((all.len(), total), (137, 137));
    }

    pub async fn a_scan_of_nothing_has_total_zero_and_no_batches<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![post("a", "cats", &[])]).await;
        let mut scan = index
            .scan(&terms(&["unicorns"]), NonZeroUsize::MIN)
            .await
            .unwrap();
        assert_eq!(scan.total(), 0);
        assert!(!scan.next_batch(&mut Vec::new()).await.unwrap());
        scan.close().await.unwrap();
    }

    pub async fn a_later_post_with_the_same_id_replaces_the_earlier<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = load(vec![
            post("p1", "cats", &[]),
            post("p2", "cats", &[]),
            post("p1", "dogs", &[]),
        ])
        .await;
        assert_eq!(matching(&*index, &terms(&["cats"])).await, ids(&["p2"]));
        assert_eq!(matching(&*index, &terms(&["dogs"])).await, ids(&["p1"]));
        let (seen, total) = scanned(&*index, &PostQuery::default(), 1).await;
        assert_eq!((seen.len(), total), (2, 2));
    }

    pub async fn posts_round_trip_unchanged<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let original = vec![
            Post {
                user_id: UserId::Int(-7),
                date_created: at("2019-07-21T10:11:12.345Z"),
                ..post("int", "quote \" comma , newline \n end", &["#a", "#b"])
            },
            Post {
                user_id: UserId::Text("9f1c-42".into()),
                date_created: at("2019-07-21T10:11:12.345678Z"),
                ..post("text", "", &[])
            },
        ];
        let index = load(original.clone()).await;
        let mut page = index
            .search(&PostQuery::default(), ALL)
            .await
            .unwrap()
            .posts;
        page.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(page, original, "search returns posts as indexed");
        let mut scan = index
            .scan(&PostQuery::default(), NonZeroUsize::MIN)
            .await
            .unwrap();
        let mut scanned = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            scanned.append(&mut batch);
        }
        scan.close().await.unwrap();
        scanned.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(scanned, original, "scan returns posts as indexed");
    }
}

/// Turns the named checks of [`suite`] into `#[tokio::test]`s that build indexes with `$load`.
#[macro_export]
macro_rules! contract_tests {
    ($load:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::suite::$check($load).await;
            }
        )+
    };
}

mod tantivy_index {
    use sde_core::{Post, SearchIndex};
    use sde_tantivy::TantivyIndex;
    use std::sync::Arc;

    /// Loads the posts in three commits, so checks also cover several segments and replacement
    /// across segments.
    async fn load(posts: Vec<Post>) -> Arc<dyn SearchIndex> {
        let index = TantivyIndex::in_memory().unwrap();
        let chunk = posts.len().div_ceil(3).max(1);
        for part in posts.chunks(chunk) {
            let mut writer = index.writer().unwrap();
            for post in part {
                writer.add(post).unwrap();
            }
            writer.commit().unwrap();
        }
        Arc::new(index)
    }

    contract_tests!(load;
        every_term_must_match,
        a_term_matches_through_content_or_tags,
        a_multi_word_term_matches_any_of_its_words,
        hash_tag_and_bare_word_both_match_a_tag,
        matching_ignores_case,
        unicode_text_matches,
        a_punctuation_only_term_matches_nothing,
        query_syntax_in_user_text_is_plain_words,
        a_word_in_tags_outranks_the_same_word_in_content,
        results_are_ranked_by_relevance,
        no_terms_and_no_range_match_every_post,
        the_date_range_is_half_open_and_either_end_may_be_open,
        the_date_range_combines_with_terms,
        the_date_range_does_not_change_the_ranking,
        pages_concatenate_to_the_full_ranking_with_exact_totals,
        a_scan_yields_every_match_exactly_once,
        a_scan_of_nothing_has_total_zero_and_no_batches,
        a_later_post_with_the_same_id_replaces_the_earlier,
        posts_round_trip_unchanged,
    );
}
