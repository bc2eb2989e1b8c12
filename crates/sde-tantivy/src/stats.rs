//! [`PostStats`] on tantivy: the matches of a query (built exactly as for a search) fed to
//! tantivy's aggregations — a `date_histogram` over the `DateCreated` fast column and a `terms`
//! aggregation over the `TagsKeyword` one — so no post is read.
//!
//! Tantivy's date histogram has fixed intervals only: hours are `1h`; days, weeks and months are
//! counted per day (`1d`, days with posts only) and the days added up into their week or month,
//! which is exact because every week and month boundary is a day boundary. A histogram computes
//! in `f64` nanoseconds, exact for any whole-microsecond time; a post less than a quarter of a
//! microsecond before an hour's end could be counted in the next hour.

use crate::error::{from_join, from_tantivy};
use crate::index::TantivyIndex;
use crate::query;
use crate::schema::{TAGS_KEYWORD, text_analyzer};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{
    Bucket, BucketCount, IndexError, IndexErrorKind, PostQuery, PostStats, PostSummary, TopTags,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::num::NonZeroUsize;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::collector::{Count, TopDocs};
use tantivy::{Order, Searcher};

/// Extra tags asked of the terms aggregation beyond the limit, so that tags tied at the cut
/// can be ordered by name before cutting.
const TIE_MARGIN: usize = 64;

impl TantivyIndex {
    /// Runs `work` with a searcher on the blocking pool.
    async fn with_searcher<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Searcher, &TantivyIndex) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let index = self.clone();
        tokio::task::spawn_blocking(move || work(&index.searcher(), &index))
            .await
            .map_err(|error| from_join(what, error))?
    }

    /// Runs the aggregation `request` over the matches of `query`; returns the match count and
    /// the aggregation results as Elasticsearch-shaped JSON.
    fn aggregate(
        &self,
        searcher: &Searcher,
        query: &PostQuery,
        request: Value,
    ) -> Result<(u64, Value), IndexError> {
        let query = query::build(query, self.fields(), &mut text_analyzer());
        let aggregations: Aggregations = serde_json::from_value(request).map_err(|error| {
            IndexError::new(IndexErrorKind::Rejected, "building an aggregation").with_source(error)
        })?;
        let collector = AggregationCollector::from_aggs(aggregations, AggContextParams::default());
        let (count, results) = searcher
            .search(&query, &(Count, collector))
            .map_err(|error| from_tantivy("aggregating", error))?;
        let results = serde_json::to_value(results).map_err(|error| {
            IndexError::new(IndexErrorKind::Corrupt, "reading an aggregation").with_source(error)
        })?;
        Ok((count as u64, results))
    }
}

/// A bucket of an aggregation's answer.
#[derive(Debug, serde::Deserialize)]
struct AggBucket<K> {
    key: K,
    doc_count: u64,
}

fn buckets<K: DeserializeOwned>(
    results: &Value,
    name: &str,
) -> Result<Vec<AggBucket<K>>, IndexError> {
    serde_json::from_value(results[name]["buckets"].clone()).map_err(|error| {
        IndexError::new(
            IndexErrorKind::Corrupt,
            format!("reading the {name} aggregation"),
        )
        .with_source(error)
    })
}

fn from_millis(millis: f64) -> Result<DateTime<Utc>, IndexError> {
    DateTime::from_timestamp_millis(millis.round() as i64).ok_or_else(|| {
        IndexError::new(
            IndexErrorKind::Corrupt,
            format!("reading a histogram key {millis} out of range"),
        )
    })
}

#[async_trait]
impl PostStats for TantivyIndex {
    async fn summary(&self, query: &PostQuery) -> Result<PostSummary, IndexError> {
        let query = query.clone();
        self.with_searcher("summarising posts", move |searcher, index| {
            let query = query::build(&query, index.fields(), &mut text_analyzer());
            let first = |order| {
                TopDocs::with_limit(1)
                    .order_by_fast_field::<tantivy::DateTime>("DateCreated", order)
            };
            let (count, (oldest, newest)) = searcher
                .search(&query, &(Count, (first(Order::Asc), first(Order::Desc))))
                .map_err(|error| from_tantivy("summarising posts", error))?;
            let date = |hits: Vec<(Option<tantivy::DateTime>, _)>| {
                hits.into_iter()
                    .next()
                    .and_then(|(date, _)| date)
                    .map(|date| DateTime::from_timestamp_nanos(date.into_timestamp_nanos()))
            };
            Ok(PostSummary {
                posts: count as u64,
                oldest: date(oldest),
                newest: date(newest),
            })
        })
        .await
    }

    async fn post_frequency(
        &self,
        query: &PostQuery,
        bucket: Bucket,
    ) -> Result<Vec<BucketCount>, IndexError> {
        let query = query.clone();
        let interval = if bucket == Bucket::Hour { "1h" } else { "1d" };
        let request = json!({"frequency": {"date_histogram": {
            "field": "DateCreated", "fixed_interval": interval, "min_doc_count": 1}}});
        self.with_searcher("counting posts per bucket", move |searcher, index| {
            let (_, results) = index.aggregate(searcher, &query, request)?;
            let mut bars: Vec<BucketCount> = Vec::new();
            for found in buckets::<f64>(&results, "frequency")? {
                let start = bucket.start_of(from_millis(found.key)?);
                match bars.last_mut() {
                    Some(last) if last.start == start => last.posts += found.doc_count,
                    _ => bars.push(BucketCount {
                        start,
                        posts: found.doc_count,
                    }),
                }
            }
            Ok(bars)
        })
        .await
    }

    async fn top_tags(
        &self,
        query: &PostQuery,
        limit: NonZeroUsize,
    ) -> Result<TopTags, IndexError> {
        let query = query.clone();
        let size = limit.get().saturating_add(TIE_MARGIN);
        let request = json!({"tags": {"terms": {
            "field": TAGS_KEYWORD, "size": size, "segment_size": size.saturating_mul(10),
            "order": {"_count": "desc"}}}});
        self.with_searcher("counting tags", move |searcher, index| {
            let (posts, results) = index.aggregate(searcher, &query, request)?;
            let tags = buckets::<String>(&results, "tags")?
                .into_iter()
                .map(|found| (found.key, found.doc_count));
            Ok(TopTags::ranked(posts, tags, limit))
        })
        .await
    }
}
