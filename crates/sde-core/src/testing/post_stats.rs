//! The `PostStats` contract, split like the `SearchIndex` one (see
//! [`search_index`](super::search_index)) and for the same reason: a fake that serves fixed
//! answers cannot aggregate.
//!
//! | part | what it checks | runs against |
//! |---|---|---|
//! | [`semantics`] | the counts agree with `/search`: a histogram adds up to the search total and each bucket holds what a search of its span finds, in every bucket size; weeks start on Monday and months on the 1st; each top tag counts the posts a search for it finds, ranked most first, cut at the limit, a tag counted once per post, exactly as written, long tags left out; the summary's count, oldest and newest; nothing matching | `TantivyIndex` (sde-tantivy's tests) |
//! | [`served`] | the answers about [`served_posts`](super::search_index::served_posts) and [`served_query`](super::search_index::served_query): the summary, posts per day and per hour, the top tags | `TantivyIndex` loaded with them; `EsIndex` against the fake cluster serving the hand-written aggregation responses of each engine |
//! | [`faults`] | an aggregation that timed out or misses shards is an error, never a short count | `EsIndex` against the fake cluster |
//!
//! Each check is an `async fn` taking one argument that builds the index under test; the
//! [`post_stats_tests!`](crate::post_stats_tests) macro turns a list of checks into
//! `#[tokio::test]`s.

use crate::{PostStats, SearchIndex};
use std::sync::Arc;

/// An index seen through both traits, so a check can compare its counts with `/search`.
#[derive(Debug, Clone)]
pub struct StatsUnderTest {
    pub search: Arc<dyn SearchIndex>,
    pub stats: Arc<dyn PostStats>,
}

/// Runs the named checks of one part as `#[tokio::test]`s, each building its index with `$arg`:
///
/// ```text
/// sde_core::post_stats_tests!(semantics, load; the_histogram_adds_up_to_the_search_total);
/// ```
#[macro_export]
macro_rules! post_stats_tests {
    ($part:ident, $arg:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::testing::post_stats::$part::$check($arg).await;
            }
        )+
    };
}

/// Counts compared with `/search`, through the two traits only. Each check takes a loader that
/// builds an index holding exactly the given posts.
pub mod semantics {
    use super::StatsUnderTest;
    use crate::{
        Bucket, DateRange, MAX_COUNTED_TAG_CHARS, PageRequest, Post, PostQuery, TagCount, UserId,
    };
    use chrono::{DateTime, Duration, Utc};
    use std::future::Future;
    use std::num::NonZeroUsize;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn post(id: usize, date: DateTime<Utc>, content: &str, tags: &[&str]) -> Post {
        Post {
            id: format!("p{id:04}"),
            user_id: UserId::Int(id as i64),
            date_created: date,
            content: content.to_owned(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    /// Tag words, none of which appears in any content, so a search for a tag finds exactly the
    /// posts carrying it.
    const TAGS: [(&str, usize); 6] = [
        ("#amber", 2),
        ("#birch", 3),
        ("#cedar", 5),
        ("#delta", 7),
        ("#ember", 11),
        ("#fjord", 13),
    ];

    /// 160 posts, one every 11 h 17 min from Sunday 2019-06-30 23:00 (about ten weeks, across
    /// two month ends), with four kinds of content and tags by divisibility (so each tag is
    /// carried by a different number of posts).
    pub fn spread_posts() -> Vec<Post> {
        let start = at("2019-06-30T23:00:00Z");
        let contents = ["cats", "dogs", "cats and dogs", "coffee at dawn"];
        (0..160)
            .map(|i| {
                let tags: Vec<&str> = TAGS
                    .iter()
                    .filter(|(_, every)| i % every == 0)
                    .map(|(tag, _)| *tag)
                    .collect();
                post(
                    i,
                    start + Duration::minutes(677 * i as i64),
                    contents[i % contents.len()],
                    &tags,
                )
            })
            .collect()
    }

    fn query(terms: &[&str], from: Option<&str>, to: Option<&str>) -> PostQuery {
        PostQuery {
            terms: terms.iter().map(|term| (*term).to_owned()).collect(),
            date_range: DateRange {
                from: from.map(at),
                to: to.map(at),
            },
        }
    }

    /// The queries every check runs: everything, terms, a range, both.
    fn queries() -> Vec<PostQuery> {
        vec![
            PostQuery::default(),
            query(&["cats"], None, None),
            query(&["cats", "dogs"], None, None),
            query(
                &[],
                Some("2019-07-08T06:30:00Z"),
                Some("2019-08-03T00:00:00Z"),
            ),
            query(
                &["dogs"],
                Some("2019-07-15T00:00:00Z"),
                Some("2019-08-31T12:00:00Z"),
            ),
            query(&["unicorns"], None, None),
        ]
    }

    async fn total(index: &StatsUnderTest, query: &PostQuery) -> u64 {
        let page = PageRequest { number: 0, size: 1 };
        index.search.search(query, page).await.unwrap().total
    }

    fn limit(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    pub async fn the_histogram_adds_up_to_the_search_total<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(spread_posts()).await;
        for query in queries() {
            let expected = total(&index, &query).await;
            for bucket in Bucket::ALL {
                let bars = index.stats.post_frequency(&query, bucket).await.unwrap();
                let sum: u64 = bars.iter().map(|bar| bar.posts).sum();
                assert_eq!(sum, expected, "{bucket} histogram of {query:?}");
                for pair in bars.windows(2) {
                    assert!(pair[0].start < pair[1].start, "bars in order: {bars:?}");
                }
                for bar in &bars {
                    assert_eq!(bucket.start_of(bar.start), bar.start, "{bucket} bar start");
                }
            }
        }
    }

    pub async fn each_bucket_holds_what_a_search_of_its_span_finds<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(spread_posts()).await;
        for query in [
            query(&["cats"], None, None),
            query(
                &[],
                Some("2019-07-08T06:30:00Z"),
                Some("2019-08-03T00:00:00Z"),
            ),
        ] {
            for bucket in [Bucket::Day, Bucket::Week, Bucket::Month] {
                let bars = index.stats.post_frequency(&query, bucket).await.unwrap();
                assert!(!bars.is_empty());
                for bar in bars {
                    let from = bar.start.max(query.date_range.from.unwrap_or(bar.start));
                    let next = bucket.next_start(bar.start);
                    let to = next.min(query.date_range.to.unwrap_or(next));
                    let span = PostQuery {
                        terms: query.terms.clone(),
                        date_range: DateRange {
                            from: Some(from),
                            to: Some(to),
                        },
                    };
                    assert_eq!(
                        bar.posts,
                        total(&index, &span).await,
                        "{bucket} from {} of {query:?}",
                        bar.start
                    );
                }
            }
        }
    }

    pub async fn weeks_start_on_monday_and_months_on_the_first<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(vec![
            post(1, at("2019-07-21T23:59:59Z"), "x", &[]), // Sunday
            post(2, at("2019-07-22T00:00:00Z"), "x", &[]), // Monday
            post(3, at("2019-07-31T23:00:00Z"), "x", &[]),
            post(4, at("2019-08-01T00:00:00Z"), "x", &[]),
            post(5, at("2019-08-01T00:30:00Z"), "x", &[]),
        ])
        .await;
        let counts = |bars: Vec<crate::BucketCount>| -> Vec<(DateTime<Utc>, u64)> {
            bars.into_iter().map(|bar| (bar.start, bar.posts)).collect()
        };
        let all = PostQuery::default();
        assert_eq!(
            counts(
                index
                    .stats
                    .post_frequency(&all, Bucket::Week)
                    .await
                    .unwrap()
            ),
            [
                (at("2019-07-15T00:00:00Z"), 1),
                (at("2019-07-22T00:00:00Z"), 1),
                (at("2019-07-29T00:00:00Z"), 3),
            ]
        );
        assert_eq!(
            counts(
                index
                    .stats
                    .post_frequency(&all, Bucket::Month)
                    .await
                    .unwrap()
            ),
            [
                (at("2019-07-01T00:00:00Z"), 3),
                (at("2019-08-01T00:00:00Z"), 2)
            ]
        );
        let hours = counts(
            index
                .stats
                .post_frequency(&all, Bucket::Hour)
                .await
                .unwrap(),
        );
        assert_eq!(hours.first(), Some(&(at("2019-07-21T23:00:00Z"), 1)));
        assert_eq!(hours.last(), Some(&(at("2019-08-01T00:00:00Z"), 2)));
        assert_eq!(hours.iter().map(|(_, posts)| posts).sum::<u64>(), 5);
    }

    pub async fn each_top_tag_counts_the_posts_a_search_for_it_finds<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(spread_posts()).await;
        for query in queries() {
            let top = index.stats.top_tags(&query, limit(20)).await.unwrap();
            assert_eq!(top.posts, total(&index, &query).await, "posts of {query:?}");
            let expected_tags = if top.posts == 0 { 0 } else { 1 };
            assert!(top.tags.len() >= expected_tags, "tags of {query:?}");
            for TagCount { tag, posts } in &top.tags {
                let mut with_tag = query.clone();
                with_tag.terms.push(tag.clone());
                assert_eq!(*posts, total(&index, &with_tag).await, "{tag} in {query:?}");
                assert!(*posts > 0, "a listed tag is carried by a match");
            }
            let mut ranked = top.tags.clone();
            ranked.sort_by(|a, b| b.posts.cmp(&a.posts).then_with(|| a.tag.cmp(&b.tag)));
            assert_eq!(top.tags, ranked, "most posts first, ties by tag");
        }
        let everything = PostQuery::default();
        let all = index.stats.top_tags(&everything, limit(20)).await.unwrap();
        assert_eq!(
            all.tags.len(),
            TAGS.len(),
            "every tag, when the limit allows"
        );
        let top_three = index.stats.top_tags(&everything, limit(3)).await.unwrap();
        assert_eq!(top_three.tags, all.tags[..3], "the limit keeps the first");
        assert_eq!(top_three.posts, 160);
    }

    pub async fn a_tag_counts_once_per_post_exactly_as_written<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let long = format!("#{}", "x".repeat(MAX_COUNTED_TAG_CHARS));
        let index = load(vec![
            post(
                1,
                at("2020-01-01T00:00:00Z"),
                "a",
                &["#cats", "#cats", "#Cats"],
            ),
            post(2, at("2020-01-02T00:00:00Z"), "b", &["#cats", "#ünï cödé"]),
            post(3, at("2020-01-03T00:00:00Z"), "c", &[&long]),
            post(4, at("2020-01-04T00:00:00Z"), "d", &[]),
        ])
        .await;
        let top = index
            .stats
            .top_tags(&PostQuery::default(), limit(10))
            .await
            .unwrap();
        let tag = |tag: &str, posts| TagCount {
            tag: tag.into(),
            posts,
        };
        assert_eq!(top.posts, 4);
        assert_eq!(
            top.tags,
            [tag("#cats", 2), tag("#Cats", 1), tag("#ünï cödé", 1)],
            "once per post, case and spaces kept, tags over {MAX_COUNTED_TAG_CHARS} characters left out"
        );
    }

    pub async fn the_summary_counts_matches_and_names_the_oldest_and_newest<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(spread_posts()).await;
        for query in queries() {
            let summary = index.stats.summary(&query).await.unwrap();
            assert_eq!(summary.posts, total(&index, &query).await, "{query:?}");
            let mut dates: Vec<DateTime<Utc>> = spread_posts()
                .into_iter()
                .map(|post| post.date_created)
                .filter(|date| query.date_range.contains(*date))
                .collect();
            dates.sort();
            if summary.posts == 0 {
                assert_eq!((summary.oldest, summary.newest), (None, None));
            } else if query.terms.is_empty() {
                assert_eq!(summary.oldest, dates.first().copied(), "{query:?}");
                assert_eq!(summary.newest, dates.last().copied(), "{query:?}");
            } else {
                let oldest = summary.oldest.unwrap();
                let newest = summary.newest.unwrap();
                assert!(oldest <= newest);
                let before = PostQuery {
                    terms: query.terms.clone(),
                    date_range: DateRange {
                        from: query.date_range.from,
                        to: Some(oldest),
                    },
                };
                assert_eq!(total(&index, &before).await, 0, "nothing before the oldest");
                let after = PostQuery {
                    terms: query.terms.clone(),
                    date_range: DateRange {
                        from: Some(newest + Duration::milliseconds(1)),
                        to: query.date_range.to,
                    },
                };
                assert_eq!(total(&index, &after).await, 0, "nothing after the newest");
            }
        }
    }

    pub async fn nothing_matching_is_no_bars_no_tags_and_no_dates<L, F>(load: L)
    where
        L: Fn(Vec<Post>) -> F,
        F: Future<Output = StatsUnderTest>,
    {
        let index = load(spread_posts()).await;
        let nothing = query(&["unicorns"], None, None);
        for bucket in Bucket::ALL {
            let bars = index.stats.post_frequency(&nothing, bucket).await.unwrap();
            assert!(bars.iter().all(|bar| bar.posts == 0), "{bars:?}");
        }
        let top = index.stats.top_tags(&nothing, limit(5)).await.unwrap();
        assert_eq!((top.posts, top.tags.len()), (0, 0));
        let summary = index.stats.summary(&nothing).await.unwrap();
        assert_eq!(summary, crate::PostSummary::default());
        let empty = load(Vec::new()).await;
        assert_eq!(
            empty.stats.summary(&PostQuery::default()).await.unwrap(),
            crate::PostSummary::default()
        );
    }
}

/// The answers about the served posts. Each check takes `open`, which returns an index holding
/// exactly [`served_posts`](super::search_index::served_posts) (a new one per call).
pub mod served {
    use crate::testing::search_index::{served_posts, served_query};
    use crate::{Bucket, BucketCount, DateRange, PostQuery, PostStats, TagCount, fill_buckets};
    use chrono::{DateTime, Utc};
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    /// The most tags [`the_served_tags`] asks for: the report's top 20.
    pub const TOP_TAGS: usize = 20;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// The served query limited to the two days the served posts span.
    pub fn served_days() -> PostQuery {
        PostQuery {
            date_range: DateRange {
                from: Some(at("2019-07-21T00:00:00Z")),
                to: Some(at("2019-07-23T00:00:00Z")),
            },
            ..served_query()
        }
    }

    pub async fn the_served_summary<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let summary = open().await.summary(&served_query()).await.unwrap();
        assert_eq!(summary.posts, served_posts().len() as u64);
        assert_eq!(summary.oldest, Some(at("2019-07-21T08:15:00Z")));
        assert_eq!(summary.newest, Some(at("2019-07-22T23:59:59Z")));
    }

    pub async fn the_served_posts_per_day<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let query = served_days();
        let counts = open()
            .await
            .post_frequency(&query, Bucket::Day)
            .await
            .unwrap();
        let (from, to) = (query.date_range.from.unwrap(), query.date_range.to.unwrap());
        let bars = fill_buckets(Bucket::Day, from, to, &counts);
        let day = |start: &str, posts| BucketCount {
            start: at(start),
            posts,
        };
        assert_eq!(
            bars,
            [
                day("2019-07-21T00:00:00Z", 2),
                day("2019-07-22T00:00:00Z", 2)
            ]
        );
        let sum: u64 = bars.iter().map(|bar| bar.posts).sum();
        assert_eq!(
            sum,
            served_posts().len() as u64,
            "the histogram adds up to the total"
        );
    }

    pub async fn the_served_posts_per_hour<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let counts = open()
            .await
            .post_frequency(&served_days(), Bucket::Hour)
            .await
            .unwrap();
        let busy: Vec<(DateTime<Utc>, u64)> = counts
            .into_iter()
            .filter(|bar| bar.posts > 0)
            .map(|bar| (bar.start, bar.posts))
            .collect();
        assert_eq!(
            busy,
            [
                (at("2019-07-21T08:00:00Z"), 1),
                (at("2019-07-21T11:00:00Z"), 1),
                (at("2019-07-22T19:00:00Z"), 1),
                (at("2019-07-22T23:00:00Z"), 1),
            ]
        );
    }

    pub async fn the_served_tags<L, F>(open: L)
    where
        L: Fn() -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let top = open()
            .await
            .top_tags(&served_query(), NonZeroUsize::new(TOP_TAGS).unwrap())
            .await
            .unwrap();
        let tag = |tag: &str, posts| TagCount {
            tag: tag.into(),
            posts,
        };
        assert_eq!(top.posts, served_posts().len() as u64);
        assert_eq!(
            top.tags,
            [
                tag("#cats", 3),
                tag("#adopt", 1),
                tag("#coffee", 1),
                tag("#dogs", 1)
            ]
        );
    }
}

/// Failures of a backend that can be made to fail (`make(Fault::…)`), reusing the faults of the
/// search contract.
pub mod faults {
    use crate::testing::search_index::faults::Fault;
    use crate::testing::search_index::served_query;
    use crate::{Bucket, IndexErrorKind, PostStats};
    use std::future::Future;
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    pub async fn an_aggregation_missing_shards_is_an_error_not_a_short_count<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let stats = make(Fault::PartialResults).await;
        let error = stats
            .post_frequency(&served_query(), Bucket::Day)
            .await
            .unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Unavailable, "{error}");
        let stats = make(Fault::PartialResults).await;
        let top = stats
            .top_tags(&served_query(), NonZeroUsize::MIN)
            .await
            .unwrap_err();
        assert_eq!(top.kind, IndexErrorKind::Unavailable, "{top}");
    }

    pub async fn an_aggregation_that_timed_out_is_a_timeout<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let stats = make(Fault::TimedOutInside).await;
        let error = stats.summary(&served_query()).await.unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Timeout, "{error}");
    }

    pub async fn an_unavailable_cluster_is_a_transient_error<M, F>(make: M)
    where
        M: Fn(Fault) -> F,
        F: Future<Output = Arc<dyn PostStats>>,
    {
        let stats = make(Fault::Unavailable).await;
        let error = stats
            .top_tags(&served_query(), NonZeroUsize::MIN)
            .await
            .unwrap_err();
        assert!(error.kind.is_transient(), "{error}");
    }
}
