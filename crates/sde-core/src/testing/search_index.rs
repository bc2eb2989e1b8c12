//! The `SearchIndex` contract, in three parts, because not every implementation can honestly be
//! made to show every behaviour:
//!
//! | part | what it checks | what it needs | runs against |
//! |---|---|---|---|
//! | [`semantics`] | the design page's search semantics: every term must match, through `Content` or `Tags`, case and Unicode folding, user text never parsed as syntax, tags outrank content, ranking by relevance, the half-open date range, pages that concatenate to the full ranking, scans of many posts in any batch size, replacement by id, posts round-tripping | an engine that really indexes and searches the posts it is given | `TantivyIndex` (sde-tantivy's tests); `EsIndex` against a real cluster when `SDE_TEST_ES_URL` names one |
//! | [`served`] | the shape of answers about a small known set of posts ([`served_posts`]): exact totals, pages no bigger than asked that together hold every match once, a page past the end empty with the total, a scan yielding every match once in bounded batches and ending cleanly, posts exactly as stored | an index holding exactly [`served_posts`], all of which match [`served_query`] | `TantivyIndex` loaded with them; `EsIndex` against a fake HTTP server that serves the hand-written Elasticsearch 7, Elasticsearch 8 and OpenSearch 2 responses under `crates/sde-elasticsearch/tests/fixtures/` |
//! | [`faults`] | failures mapped to [`IndexErrorKind`](crate::IndexErrorKind): overload and outages are transient `Unavailable`, slowness `Timeout`, unreadable answers `Corrupt`; partial answers are a warning on a page but an error in a scan; a scan that fails midway stays failed and still closes | a way to make the backend fail on demand ([`faults::Fault`]) | `EsIndex` against the fake server; the embedded index has no remote peer to fail that way, so it does not run this part |
//!
//! Why the split: a fake that serves fixed responses cannot rank, match or filter, so running
//! [`semantics`] against it would only test the fixtures. What it can do honestly is answer the
//! requests a cluster holding [`served_posts`] would be sent, with the bodies such a cluster
//! sends, and fail in the ways clusters fail — which is what [`served`] and [`faults`] check, the
//! same way for every implementation that can take part.
//!
//! Each check is an `async fn` taking one argument that builds the index under test; the
//! [`search_index_tests!`](crate::search_index_tests) macro turns a list of checks into
//! `#[tokio::test]`s.

use crate::{Post, PostQuery, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The four posts [`served`] is about, exactly as the hand-written Elasticsearch fixtures hold
/// them: numeric and Cognito-`sub` authors, a date with milliseconds, commas, quotes, a newline,
/// an emoji and accents in the text, and a post without tags. Every one matches
/// [`served_query`].
pub fn served_posts() -> Vec<Post> {
    vec![
        Post {
            id: "c0ffee00-0001-4a5b-9c1d-000000000001".into(),
            user_id: UserId::Int(7),
            date_created: at("2019-07-21T08:15:00Z"),
            content: "My cats knocked the coffee off the table again. #mornings".into(),
            tags: vec!["#cats".into(), "#coffee".into()],
        },
        Post {
            id: "c0ffee00-0002-4a5b-9c1d-000000000002".into(),
            user_id: UserId::Text("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into()),
            date_created: at("2019-07-21T11:02:37.500Z"),
            content: "Two cats, one box,\n\"who fits?\" — a thread 🧵".into(),
            tags: vec!["#cats".into()],
        },
        Post {
            id: "c0ffee00-0003-4a5b-9c1d-000000000003".into(),
            user_id: UserId::Int(42),
            date_created: at("2019-07-22T19:45:12Z"),
            content: "Adopted a rescue today, the shelter had so many cats, dogs and rabbits"
                .into(),
            tags: vec!["#adopt".into(), "#cats".into(), "#dogs".into()],
        },
        Post {
            id: "c0ffee00-0004-4a5b-9c1d-000000000004".into(),
            user_id: UserId::Text("8e1d0b7a-2c3f-4d5e-8a9b-0c1d2e3f4a5b".into()),
            date_created: at("2019-07-22T23:59:59Z"),
            content: "Cats vs. cucumbers, part 2, with commas, \"quotes\" and ünïcödé".into(),
            tags: vec![],
        },
    ]
}

/// The query [`served`] and [`faults`] send: the term `cats`, which every served post matches.
pub fn served_query() -> PostQuery {
    PostQuery {
        terms: vec!["cats".into()],
        ..PostQuery::default()
    }
}

/// The ids of `posts`, checking none comes twice.
fn distinct_ids(posts: &[Post], what: &str) -> HashSet<String> {
    let ids: HashSet<String> = posts.iter().map(|post| post.id.clone()).collect();
    assert_eq!(ids.len(), posts.len(), "{what}: no post comes twice");
    ids
}

/// Checks every post equals the served post with its id, field for field.
fn as_served(posts: &[Post], what: &str) {
    let served = served_posts();
    for post in posts {
        let Some(stored) = served.iter().find(|stored| stored.id == post.id) else {
            panic!("{what}: {:?} is not a served post", post.id);
        };
        assert_eq!(post, stored, "{what}: the post comes back as stored");
    }
}

/// Runs the named checks of one part as `#[tokio::test]`s, each building its index with `$arg`:
///
/// ```text
/// sde_core::search_index_tests!(semantics, load; every_term_must_match, matching_ignores_case);
/// sde_core::search_index_tests!(served, open; a_page_holds_at_most_its_size_with_the_exact_total);
/// ```
///
/// The calling crate needs `tokio` (with its macros) among its dev-dependencies.
#[macro_export]
macro_rules! search_index_tests {
    ($part:ident, $arg:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::testing::search_index::$part::$check($arg).await;
            }
        )+
    };
}

/// Search semantics, checked through `&dyn SearchIndex` only. Each check takes a loader that
/// builds an index holding exactly the given posts (later posts replace earlier ones with the
/// same id) and returns it once they are visible.
pub mod semantics {
    use crate::{DateRange, PageRequest, Post, PostQuery, SearchIndex, UserId};
    use chrono::{DateTime, Duration, Utc};
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

/// The shape of answers about [`served_posts`](super::served_posts). Each check takes `open`,
/// which returns an index holding exactly those posts (a new one per call, so a fake can start
/// its script afresh). Pages are [`PAGE_SIZE`] and scan batches [`BATCH_SIZE`], the sizes the
/// fixtures were written for.
pub mod served {
    use super::{as_served, distinct_ids, served_posts, served_query};
    use crate::{IndexErrorKind, PageRequest, Post, SearchIndex, Slice};
    use std::collections::HashSet;
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;
    use std::time::Duration;

    /// The page size of every page this part asks for.
    pub const PAGE_SIZE: u32 = 3;
    /// The batch size of every scan this part starts.
    pub const BATCH_SIZE: usize = 2;

    fn page(number: u32) -> PageRequest {
        PageRequest {
            number,
            size: PAGE_SIZE,
        }
    }

    fn served_ids() -> HashSet<String> {
        served_posts().into_iter().map(|post| post.id).collect()
    }

    /// Reads a whole scan of the served query, checking each batch; returns the posts in scan
    /// order and the scan's total.
    async fn scan_all(index: &dyn SearchIndex) -> (Vec<Post>, u64) {
        let batch_size = NonZeroUsize::new(BATCH_SIZE).unwrap();
        let mut scan = index.scan(&served_query(), batch_size).await.unwrap();
        let total = scan.total();
        let mut posts = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            assert!(!batch.is_empty(), "a batch is never empty");
            assert!(
                batch.len() <= BATCH_SIZE,
                "a batch of {} is bigger than the {BATCH_SIZE} asked for",
                batch.len()
            );
            posts.append(&mut batch);
        }
        assert!(
            !scan.next_batch(&mut batch).await.unwrap(),
            "a finished scan stays finished"
        );
        assert!(
            batch.is_empty(),
            "a finished scan hands back an empty batch"
        );
        scan.close().await.unwrap();
        (posts, total)
    }

    pub async fn a_page_holds_at_most_its_size_with_the_exact_total<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let first = index.search(&served_query(), page(0)).await.unwrap();
        assert_eq!(first.total, served_posts().len() as u64, "the exact total");
        assert_eq!(first.posts.len(), PAGE_SIZE as usize, "a full first page");
        assert_eq!(first.warning, None, "a complete answer has no warning");
        let ids = distinct_ids(&first.posts, "the first page");
        assert!(ids.is_subset(&served_ids()), "only matches are served");
    }

    pub async fn pages_hold_every_match_once_and_past_the_end_is_empty<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let mut seen = Vec::new();
        for number in 0..2 {
            let answer = index.search(&served_query(), page(number)).await.unwrap();
            assert_eq!(answer.total, 4, "page {number} reports the exact total");
            assert!(answer.posts.len() <= PAGE_SIZE as usize);
            seen.extend(answer.posts);
        }
        assert_eq!(
            distinct_ids(&seen, "pages 0 and 1"),
            served_ids(),
            "the pages together hold every match"
        );
        let past = index.search(&served_query(), page(2)).await.unwrap();
        assert_eq!(
            (past.total, past.posts.len()),
            (4, 0),
            "a page past the end is empty and keeps the total"
        );
    }

    pub async fn a_scan_yields_every_match_once_in_bounded_batches<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let (posts, total) = scan_all(&*index).await;
        assert_eq!(total, served_posts().len() as u64, "the scan's exact total");
        assert_eq!(
            posts.len() as u64,
            total,
            "a scan yields as many as its total"
        );
        assert_eq!(distinct_ids(&posts, "the scan"), served_ids());
    }

    pub async fn posts_come_back_exactly_as_stored<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let searched = index.search(&served_query(), page(0)).await.unwrap();
        as_served(&searched.posts, "a searched page");
        let index = open().await;
        let (scanned, _) = scan_all(&*index).await;
        as_served(&scanned, "a scan");
    }

    /// For indexes that pin snapshots (sliced exports): the served query's snapshot counts every
    /// match; cut into 1, 2 or 3 slices, the slices yield every match exactly once between them,
    /// each as many as its own total, in bounded batches, as stored; closing the snapshot
    /// succeeds, twice.
    pub async fn the_slices_of_one_snapshot_yield_every_match_once<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let snapshot = index
            .open_snapshot(&served_query(), Duration::from_secs(60))
            .await
            .unwrap()
            .expect("this index pins snapshots");
        assert_eq!(
            snapshot.total,
            served_posts().len() as u64,
            "the exact total"
        );
        let batch_size = NonZeroUsize::new(BATCH_SIZE).unwrap();
        for count in 1..=3u32 {
            let mut posts = Vec::new();
            let mut totals = 0;
            for index_of_slice in 0..count {
                let slice = Slice {
                    index: index_of_slice,
                    count,
                };
                let mut scan = index
                    .scan_slice(&snapshot.id, &served_query(), slice, batch_size)
                    .await
                    .unwrap();
                let total = scan.total();
                let mut yielded = 0;
                let mut batch = Vec::new();
                while scan.next_batch(&mut batch).await.unwrap() {
                    assert!(!batch.is_empty() && batch.len() <= BATCH_SIZE);
                    yielded += batch.len() as u64;
                    posts.append(&mut batch);
                }
                scan.close().await.unwrap();
                assert_eq!(yielded, total, "slice {slice:?} yields its own total");
                totals += total;
            }
            assert_eq!(totals, snapshot.total, "{count} slices' totals add up");
            assert_eq!(
                distinct_ids(&posts, "the slices"),
                served_ids(),
                "{count} slices hold every match once"
            );
            as_served(&posts, "a slice");
        }
        index.close_snapshot(&snapshot.id).await.unwrap();
        index.close_snapshot(&snapshot.id).await.unwrap();
    }

    /// A snapshot id the index never made, and a slice past the count, are `Rejected`.
    pub async fn unknown_snapshots_and_slices_are_rejected<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = open().await;
        let batch_size = NonZeroUsize::new(BATCH_SIZE).unwrap();
        let slice = Slice { index: 0, count: 2 };
        let unknown = index
            .scan_slice("no-such-snapshot", &served_query(), slice, batch_size)
            .await;
        assert_eq!(
            unknown.err().map(|error| error.kind),
            Some(IndexErrorKind::Rejected),
            "an unknown snapshot"
        );
        let snapshot = index
            .open_snapshot(&served_query(), Duration::from_secs(60))
            .await
            .unwrap()
            .expect("this index pins snapshots");
        let past = Slice { index: 2, count: 2 };
        let beyond = index
            .scan_slice(&snapshot.id, &served_query(), past, batch_size)
            .await;
        assert_eq!(
            beyond.err().map(|error| error.kind),
            Some(IndexErrorKind::Rejected),
            "a slice past the count"
        );
        index.close_snapshot(&snapshot.id).await.unwrap();
    }
}

/// Failures, each induced on demand by the index builder the checks are given
/// (`make(Fault::…)` returns an index whose backend fails that way).
pub mod faults {
    use super::{as_served, served_query};
    use crate::{IndexError, IndexErrorKind, PageRequest, SearchIndex};
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    /// A way the backend behind an index can fail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// Every request is refused as too many (HTTP 429: a full queue, a tripped breaker).
        Overloaded,
        /// Every request is answered "unavailable" (HTTP 503).
        Unavailable,
        /// Nothing listens where the backend should be.
        Unreachable,
        /// The backend accepts requests and never answers.
        TooSlow,
        /// The backend answers with something that is not a search answer (a proxy's HTML
        /// page).
        Unreadable,
        /// Some of the backend's shards fail: answers hold only part of the matches.
        PartialResults,
        /// The backend's own search time runs out: answers hold only part of the matches.
        TimedOutInside,
        /// A scan's first batch arrives, the next fails with a shard failure.
        FailsMidScan,
        /// A scan's snapshot expires on the backend between its first and second batch.
        ScanExpires,
    }

    fn first_page() -> PageRequest {
        PageRequest { number: 0, size: 3 }
    }

    fn batch_size() -> NonZeroUsize {
        NonZeroUsize::new(2).unwrap()
    }

    async fn search_error(index: &dyn SearchIndex) -> IndexError {
        match index.search(&served_query(), first_page()).await {
            Ok(page) => panic!("a failing backend answered a page: {page:?}"),
            Err(error) => error,
        }
    }

    /// The error of a scan over a failing backend: opening it, or reading it before any batch.
    async fn scan_error(index: &dyn SearchIndex) -> IndexError {
        let mut scan = match index.scan(&served_query(), batch_size()).await {
            Ok(scan) => scan,
            Err(error) => return error,
        };
        let mut batch = Vec::new();
        let error = match scan.next_batch(&mut batch).await {
            Ok(more) => panic!("a failing backend yielded a batch (more: {more}): {batch:?}"),
            Err(error) => error,
        };
        scan.close().await.unwrap();
        error
    }

    pub async fn overload_is_a_transient_unavailable_error<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = make(Fault::Overloaded).await;
        for error in [search_error(&*index).await, scan_error(&*index).await] {
            assert_eq!(error.kind, IndexErrorKind::Unavailable, "{error}");
            assert!(error.kind.is_transient(), "worth trying again later");
        }
    }

    pub async fn an_unavailable_or_unreachable_backend_is_a_transient_unavailable_error<M, F>(
        make: M,
    ) where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        for fault in [Fault::Unavailable, Fault::Unreachable] {
            let index = make(fault).await;
            for error in [search_error(&*index).await, scan_error(&*index).await] {
                assert_eq!(
                    error.kind,
                    IndexErrorKind::Unavailable,
                    "{fault:?}: {error}"
                );
                assert!(error.kind.is_transient());
            }
        }
    }

    pub async fn a_backend_too_slow_to_answer_is_a_timeout<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = make(Fault::TooSlow).await;
        for error in [search_error(&*index).await, scan_error(&*index).await] {
            assert_eq!(error.kind, IndexErrorKind::Timeout, "{error}");
        }
    }

    pub async fn an_unreadable_answer_is_corrupt_and_not_transient<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = make(Fault::Unreadable).await;
        for error in [search_error(&*index).await, scan_error(&*index).await] {
            assert_eq!(error.kind, IndexErrorKind::Corrupt, "{error}");
            assert!(
                !error.kind.is_transient(),
                "the same answer would come again"
            );
        }
    }

    pub async fn a_search_that_times_out_inside_the_backend_is_a_timeout<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = make(Fault::TimedOutInside).await;
        for error in [search_error(&*index).await, scan_error(&*index).await] {
            assert_eq!(error.kind, IndexErrorKind::Timeout, "{error}");
        }
    }

    pub async fn partial_results_are_a_warning_on_a_page_and_an_error_in_a_scan<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        let index = make(Fault::PartialResults).await;
        let page = index.search(&served_query(), first_page()).await.unwrap();
        let warning = page.warning.expect("a partial page carries a warning");
        assert!(!warning.is_empty());
        assert!(page.posts.len() <= first_page().size as usize);
        assert!(page.total >= page.posts.len() as u64, "the total as served");
        as_served(&page.posts, "a partial page");
        // An export must not silently miss rows, so a scan refuses partial batches.
        let error = scan_error(&*index).await;
        assert_eq!(error.kind, IndexErrorKind::Unavailable, "{error}");
    }

    pub async fn a_scan_that_fails_midway_errs_stays_failed_and_still_closes<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn SearchIndex>>,
    {
        for (fault, kind) in [
            (Fault::FailsMidScan, IndexErrorKind::Unavailable),
            (Fault::ScanExpires, IndexErrorKind::Timeout),
        ] {
            let index = make(fault).await;
            let mut scan = index.scan(&served_query(), batch_size()).await.unwrap();
            let mut batch = Vec::new();
            assert!(scan.next_batch(&mut batch).await.unwrap(), "{fault:?}");
            assert!(!batch.is_empty() && batch.len() <= batch_size().get());
            as_served(&batch, "the batch before the failure");
            let error = scan.next_batch(&mut batch).await.unwrap_err();
            assert_eq!(error.kind, kind, "{fault:?}: {error}");
            assert!(
                scan.next_batch(&mut batch).await.is_err(),
                "{fault:?}: a failed scan does not carry on"
            );
            scan.close().await.unwrap();
        }
    }
}
