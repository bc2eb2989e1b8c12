//! [`PostStats`] on Elasticsearch or OpenSearch: one aggregation-only search per question (see
//! the crate's "Counts"), whose answer is an error unless every shard answered in time.

use crate::error::EsError;
use crate::index::EsIndex;
use crate::query;
use crate::response::SearchResponse;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::{
    Bucket, BucketCount, IndexError, IndexErrorKind, PostQuery, PostStats, PostSummary, TopTags,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::num::NonZeroUsize;
use tracing::{debug, warn};

impl EsIndex {
    /// Sends an aggregation body; returns the exact total and the `aggregations` object.
    async fn aggregate(&self, body: Value, context: &str) -> Result<(u64, Value), IndexError> {
        let path = format!("{}/_search", self.index_name());
        let response: SearchResponse = self.post_search(path, body, context).await?;
        if response.timed_out {
            warn!(index = %self.index_name(), took_ms = response.took, "aggregation timed out");
            return Err(
                IndexError::new(IndexErrorKind::Timeout, context).with_source(EsError::TimedOut)
            );
        }
        if let Some(failure) = response.shard_failures() {
            warn!(index = %self.index_name(), error = %failure, "aggregation is missing shards");
            return Err(IndexError::new(
                IndexErrorKind::Unavailable,
                format!("{context}: some shards did not answer, so the counts would be short"),
            )
            .with_source(failure));
        }
        let total = response.exact_total(context)?;
        debug!(index = %self.index_name(), total, took_ms = response.took, "aggregation answered");
        Ok((total, response.aggregations.unwrap_or(Value::Null)))
    }
}

/// A bucket of a histogram or terms aggregation.
#[derive(Debug, Deserialize)]
struct AggBucket<K> {
    key: K,
    doc_count: u64,
}

/// The `buckets` of the aggregation `name`.
fn buckets<K: DeserializeOwned>(
    aggregations: &Value,
    name: &str,
    context: &str,
) -> Result<Vec<AggBucket<K>>, IndexError> {
    Vec::<AggBucket<K>>::deserialize(&aggregations[name]["buckets"]).map_err(|error| {
        IndexError::new(
            IndexErrorKind::Corrupt,
            format!("{context}: reading the {name} aggregation"),
        )
        .with_source(error)
    })
}

/// The value of the `min`/`max` aggregation `name`, in epoch milliseconds (`null` when nothing
/// matched).
fn date_value(
    aggregations: &Value,
    name: &str,
    context: &str,
) -> Result<Option<DateTime<Utc>>, IndexError> {
    let corrupt = || {
        IndexError::new(
            IndexErrorKind::Corrupt,
            format!("{context}: reading the {name} date {}", aggregations[name]),
        )
    };
    match &aggregations[name]["value"] {
        Value::Null => Ok(None),
        Value::Number(millis) => {
            let millis = millis.as_f64().ok_or_else(corrupt)?;
            millis_to_date(millis).map(Some).ok_or_else(corrupt)
        }
        _ => Err(corrupt()),
    }
}

fn millis_to_date(millis: f64) -> Option<DateTime<Utc>> {
    if !millis.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis(millis.round() as i64)
}

#[async_trait]
impl PostStats for EsIndex {
    async fn summary(&self, query: &PostQuery) -> Result<PostSummary, IndexError> {
        let context = "summarising posts";
        let (posts, aggregations) = self.aggregate(query::summary_body(query), context).await?;
        if posts == 0 {
            return Ok(PostSummary::default());
        }
        Ok(PostSummary {
            posts,
            oldest: date_value(&aggregations, "oldest", context)?,
            newest: date_value(&aggregations, "newest", context)?,
        })
    }

    async fn post_frequency(
        &self,
        query: &PostQuery,
        bucket: Bucket,
    ) -> Result<Vec<BucketCount>, IndexError> {
        let context = format!("counting posts per {bucket}");
        let body = query::frequency_body(query, bucket);
        let (_, aggregations) = self.aggregate(body, &context).await?;
        buckets::<f64>(&aggregations, "frequency", &context)?
            .into_iter()
            .map(|found| {
                let start = millis_to_date(found.key).ok_or_else(|| {
                    IndexError::new(
                        IndexErrorKind::Corrupt,
                        format!("{context}: a bucket key {} out of range", found.key),
                    )
                })?;
                Ok(BucketCount {
                    start,
                    posts: found.doc_count,
                })
            })
            .collect()
    }

    async fn top_tags(
        &self,
        query: &PostQuery,
        limit: NonZeroUsize,
    ) -> Result<TopTags, IndexError> {
        let context = "counting tags";
        let body = query::top_tags_body(query, limit.get());
        let (posts, aggregations) = self.aggregate(body, context).await?;
        let tags = buckets::<String>(&aggregations, "tags", context)?
            .into_iter()
            .map(|found| (found.key, found.doc_count));
        Ok(TopTags::ranked(posts, tags, limit))
    }
}
