//! Counting posts without reading them: the index's own aggregations behind the reports — posts
//! per hour, day, week or month, and the tags most posts carry.
//!
//! Both indexes answer from aggregations over columns (Elasticsearch's `date_histogram` and
//! `terms`, tantivy's aggregations over its fast fields), so a report costs the same whatever the
//! number of posts it counts, and its counts agree with `/search`: the histogram of a query adds up
//! to the query's total, and a tag's count is the number of matching posts carrying that tag.

use crate::criteria::PostQuery;
use crate::index::IndexError;
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::NonZeroUsize;

/// Longest tag, in characters, that tag counts include. Elasticsearch's keyword sub-field
/// ignores longer values (`ignore_above`), and the embedded index does the same, so both count
/// the same tags.
pub const MAX_COUNTED_TAG_CHARS: usize = 256;

/// The width of one bar of a post-frequency chart, in UTC: hours, days, weeks starting on
/// Monday (ISO 8601, as Elasticsearch's calendar weeks), or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

impl Bucket {
    /// Every bucket size, finest first.
    pub const ALL: [Bucket; 4] = [Bucket::Hour, Bucket::Day, Bucket::Week, Bucket::Month];

    /// The name used on the wire and in file names: `hour`, `day`, `week`, `month`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    /// The bucket called `name` (as [`name`](Self::name) gives it).
    pub fn from_name(name: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|bucket| bucket.name() == name)
    }

    /// The next wider bucket, if any.
    pub fn coarser(self) -> Option<Bucket> {
        match self {
            Bucket::Hour => Some(Bucket::Day),
            Bucket::Day => Some(Bucket::Week),
            Bucket::Week => Some(Bucket::Month),
            Bucket::Month => None,
        }
    }

    /// The start of the bucket holding `at`.
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = at.date_naive();
        let midnight = |date: NaiveDate| Utc.from_utc_datetime(&date.and_time(Default::default()));
        match self {
            Bucket::Hour => midnight(date) + Duration::hours(i64::from(at.hour())),
            Bucket::Day => midnight(date),
            Bucket::Week => {
                midnight(date) - Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Bucket::Month => midnight(date.with_day(1).unwrap_or(date)),
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next_start(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Bucket::Hour => start + Duration::hours(1),
            Bucket::Day => start + Duration::days(1),
            Bucket::Week => start + Duration::weeks(1),
            Bucket::Month => {
                let (year, month) = if start.month() == 12 {
                    (start.year() + 1, 1)
                } else {
                    (start.year(), start.month() + 1)
                };
                Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
                    .single()
                    .unwrap_or(start + Duration::days(31))
            }
        }
    }

    /// The starts of the buckets covering `from <= t < to`, in order: the first is the bucket
    /// holding `from`, the last the one holding the last instant before `to`.
    pub fn starts(
        self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> {
        let first = self.start_of(from);
        std::iter::successors(Some(first), move |&start| Some(self.next_start(start)))
            .take_while(move |&start| start < to)
    }

    /// How many buckets cover `from <= t < to` (at most `limit + 1`, so a huge range is cheap
    /// to reject).
    pub fn count_within(self, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> usize {
        self.starts(from, to).take(limit.saturating_add(1)).count()
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The posts of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketCount {
    /// Where the bucket starts (see [`Bucket::start_of`]).
    pub start: DateTime<Utc>,
    /// Posts in the bucket.
    pub posts: u64,
}

/// How many posts carry one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    /// The tag exactly as posts carry it (`#cats`).
    pub tag: String,
    /// Matching posts carrying it (a post carrying it twice counts once).
    pub posts: u64,
}

/// The tags most matching posts carry, and how many posts matched in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopTags {
    /// Posts matching the query, with or without tags.
    pub posts: u64,
    /// Most posts first; tags with as many posts in the order of the tag.
    pub tags: Vec<TagCount>,
}

impl TopTags {
    /// The first `limit` of `counts` (tag, posts) ranked by [`rank_tags`], out of `posts`
    /// matching posts: what every backend's terms aggregation becomes.
    pub fn ranked(
        posts: u64,
        counts: impl IntoIterator<Item = (String, u64)>,
        limit: NonZeroUsize,
    ) -> TopTags {
        let tags = counts
            .into_iter()
            .map(|(tag, posts)| TagCount { tag, posts })
            .collect();
        TopTags {
            posts,
            tags: rank_tags(tags, limit),
        }
    }
}

/// How many posts match a query, and the dates of the oldest and newest of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSummary {
    pub posts: u64,
    /// `None` when nothing matches.
    pub oldest: Option<DateTime<Utc>>,
    /// `None` when nothing matches.
    pub newest: Option<DateTime<Utc>>,
}

/// Aggregations over the posts index. Implementations: the embedded tantivy index and
/// Elasticsearch; both match posts exactly as [`SearchIndex`](crate::SearchIndex) does.
#[async_trait]
pub trait PostStats: Send + Sync + fmt::Debug {
    /// The number of posts matching `query`, with the oldest and newest `DateCreated` among them.
    async fn summary(&self, query: &PostQuery) -> Result<PostSummary, IndexError>;

    /// The posts matching `query` per `bucket` (UTC), ordered by start. Buckets without posts
    /// may be left out; the counts add up to the number of posts matching `query` (the
    /// `/search` total).
    async fn post_frequency(
        &self,
        query: &PostQuery,
        bucket: Bucket,
    ) -> Result<Vec<BucketCount>, IndexError>;

    /// The `limit` tags carried by most posts matching `query` (each counted as the number of
    /// matching posts carrying that exact tag, ignoring tags longer than
    /// [`MAX_COUNTED_TAG_CHARS`]), most first and ties in the order of the tag, with the number
    /// of posts matching `query`.
    async fn top_tags(&self, query: &PostQuery, limit: NonZeroUsize)
    -> Result<TopTags, IndexError>;
}

/// One bar per bucket covering `from <= t < to`, taking each count from `counts` (buckets
/// without a count hold 0). A count is put in the bucket holding its start, so finer counts
/// (days of a month) add up into their bucket.
pub fn fill_buckets(
    bucket: Bucket,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    counts: &[BucketCount],
) -> Vec<BucketCount> {
    let mut bars: Vec<BucketCount> = bucket
        .starts(from, to)
        .map(|start| BucketCount { start, posts: 0 })
        .collect();
    for count in counts {
        let start = bucket.start_of(count.start);
        if let Ok(at) = bars.binary_search_by(|bar| bar.start.cmp(&start)) {
            bars[at].posts += count.posts;
        }
    }
    bars
}

/// Orders tags most posts first, ties by tag, and keeps the first `limit`.
pub fn rank_tags(mut tags: Vec<TagCount>, limit: NonZeroUsize) -> Vec<TagCount> {
    tags.sort_by(|a, b| b.posts.cmp(&a.posts).then_with(|| a.tag.cmp(&b.tag)));
    tags.truncate(limit.get());
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn buckets_start_on_the_hour_the_day_monday_and_the_first_of_the_month() {
        let moment = at("2019-07-24T13:45:10.5Z"); // a Wednesday
        assert_eq!(Bucket::Hour.start_of(moment), at("2019-07-24T13:00:00Z"));
        assert_eq!(Bucket::Day.start_of(moment), at("2019-07-24T00:00:00Z"));
        assert_eq!(Bucket::Week.start_of(moment), at("2019-07-22T00:00:00Z"));
        assert_eq!(Bucket::Month.start_of(moment), at("2019-07-01T00:00:00Z"));
        assert_eq!(
            Bucket::Week.start_of(at("2019-07-22T00:00:00Z")),
            at("2019-07-22T00:00:00Z")
        );
    }

    #[test]
    fn the_next_month_crosses_years_and_short_months() {
        assert_eq!(
            Bucket::Month.next_start(at("2019-12-01T00:00:00Z")),
            at("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            Bucket::Month.next_start(at("2020-02-01T00:00:00Z")),
            at("2020-03-01T00:00:00Z")
        );
    }

    #[test]
    fn buckets_cover_a_range_from_the_one_holding_its_start_to_before_its_end() {
        let starts: Vec<_> = Bucket::Day
            .starts(at("2019-07-21T10:00:00Z"), at("2019-07-23T00:00:00Z"))
            .collect();
        assert_eq!(
            starts,
            [at("2019-07-21T00:00:00Z"), at("2019-07-22T00:00:00Z")]
        );
        assert_eq!(
            Bucket::Hour.count_within(at("2019-07-21T00:00:00Z"), at("2019-07-22T00:00:00Z"), 1000),
            24
        );
        assert_eq!(
            Bucket::Hour.count_within(at("2000-01-01T00:00:00Z"), at("2020-01-01T00:00:00Z"), 200),
            201,
            "counting stops past the limit"
        );
    }

    #[test]
    fn bucket_names_round_trip_and_widen_up_to_months() {
        for bucket in Bucket::ALL {
            assert_eq!(Bucket::from_name(bucket.name()), Some(bucket));
        }
        assert_eq!(Bucket::from_name("year"), None);
        let widening: Vec<_> = std::iter::successors(Some(Bucket::Hour), |b| b.coarser()).collect();
        assert_eq!(widening, Bucket::ALL);
    }

    #[test]
    fn filled_buckets_hold_every_bar_with_zeros_and_fold_finer_counts() {
        let counts = [
            BucketCount {
                start: at("2019-07-03T00:00:00Z"),
                posts: 2,
            },
            BucketCount {
                start: at("2019-07-30T00:00:00Z"),
                posts: 5,
            },
            BucketCount {
                start: at("2019-09-01T00:00:00Z"),
                posts: 1,
            },
        ];
        let bars = fill_buckets(
            Bucket::Month,
            at("2019-07-15T00:00:00Z"),
            at("2019-10-01T00:00:00Z"),
            &counts,
        );
        let posts: Vec<_> = bars.iter().map(|bar| (bar.start, bar.posts)).collect();
        assert_eq!(
            posts,
            [
                (at("2019-07-01T00:00:00Z"), 7),
                (at("2019-08-01T00:00:00Z"), 0),
                (at("2019-09-01T00:00:00Z"), 1),
            ]
        );
    }

    #[test]
    fn tags_rank_by_posts_then_by_tag_and_are_cut_at_the_limit() {
        let tag = |tag: &str, posts| TagCount {
            tag: tag.into(),
            posts,
        };
        let ranked = rank_tags(
            vec![tag("#b", 2), tag("#c", 5), tag("#a", 2), tag("#d", 1)],
            NonZeroUsize::new(3).unwrap(),
        );
        assert_eq!(ranked, [tag("#c", 5), tag("#a", 2), tag("#b", 2)]);
    }
}
