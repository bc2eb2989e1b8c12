//! The `PostStats` contract (`sde_core::testing::post_stats`) run against `EsIndex`, through the
//! real `elasticsearch` client, against the fake cluster of `sde_elasticsearch::testing`, once per
//! engine (Elasticsearch 7, Elasticsearch 8, OpenSearch 2).
//!
//! The fake answers exactly the aggregation requests `EsIndex` sends a cluster holding the
//! contract's served posts — each body compared with the one `sde_elasticsearch::query` builds —
//! with the hand-written `stats_*.json` fixtures of `tests/fixtures/<engine>/`; any other request
//! gets a 500. It cannot aggregate, so the semantics part runs against the embedded index (and
//! against a real cluster in `live_cluster.rs` when `SDE_TEST_ES_URL` names one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::testing::post_stats::served::{TOP_TAGS, served_days};
use sde_core::testing::search_index::faults::Fault;
use sde_core::testing::search_index::served_query;
use sde_core::{Bucket, PostStats};
use sde_elasticsearch::query;
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen};
use sde_elasticsearch::{EsConfig, EsIndex};
use std::sync::Arc;
use std::time::Duration;

/// `EsIndex` with the fake cluster it talks to, kept alive as long as the index.
#[derive(Debug)]
struct OverFake {
    index: EsIndex,
    _cluster: FakeCluster,
}

#[async_trait::async_trait]
impl PostStats for OverFake {
    async fn summary(
        &self,
        query: &sde_core::PostQuery,
    ) -> Result<sde_core::PostSummary, sde_core::IndexError> {
        self.index.summary(query).await
    }

    async fn post_frequency(
        &self,
        query: &sde_core::PostQuery,
        bucket: Bucket,
    ) -> Result<Vec<sde_core::BucketCount>, sde_core::IndexError> {
        self.index.post_frequency(query, bucket).await
    }

    async fn top_tags(
        &self,
        query: &sde_core::PostQuery,
        limit: std::num::NonZeroUsize,
    ) -> Result<sde_core::TopTags, sde_core::IndexError> {
        self.index.top_tags(query, limit).await
    }
}

async fn serving(
    respond: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
) -> Arc<dyn PostStats> {
    let cluster = FakeCluster::start(respond).await;
    let mut config = EsConfig::new(cluster.url()).unwrap();
    config.request_timeout = Duration::from_secs(5);
    Arc::new(OverFake {
        index: EsIndex::new(&config).unwrap(),
        _cluster: cluster,
    })
}

/// The fixture answering `request`, if it is one a cluster holding the served posts is sent.
fn fixture_for(request: &Seen) -> Option<&'static str> {
    if (request.method.as_str(), request.path()) != ("POST", "/posts/_search") {
        return None;
    }
    let body = request.json();
    [
        (query::summary_body(&served_query()), "stats_summary.json"),
        (
            query::frequency_body(&served_days(), Bucket::Day),
            "stats_frequency_day.json",
        ),
        (
            query::frequency_body(&served_days(), Bucket::Hour),
            "stats_frequency_hour.json",
        ),
        (
            query::top_tags_body(&served_query(), TOP_TAGS),
            "stats_top_tags.json",
        ),
    ]
    .into_iter()
    .find(|(expected, _)| *expected == body)
    .map(|(_, name)| name)
}

fn no_answer(request: &Seen) -> Reply {
    Reply::json(
        500,
        format!(
            "the fake cluster has no answer for {} {} {}",
            request.method,
            request.target,
            request.text()
        ),
    )
}

async fn open(engine: &'static str) -> Arc<dyn PostStats> {
    serving(move |request, _| match fixture_for(request) {
        Some(name) => Reply::fixture(200, engine, name),
        None => no_answer(request),
    })
    .await
}

/// A cluster that answers the first page of every aggregation request with the failure of
/// `fault` (a served aggregation body is recognised only to refuse the others).
async fn make(engine: &'static str, fault: Fault) -> Arc<dyn PostStats> {
    serving(move |request, _| {
        if request.path() != "/posts/_search" {
            return no_answer(request);
        }
        match fault {
            Fault::PartialResults => Reply::fixture(200, engine, "search_shard_failures.json"),
            Fault::TimedOutInside => Reply::fixture(200, engine, "search_timed_out.json"),
            Fault::Unavailable => Reply::fixture(503, engine, "error_503.json"),
            _ => no_answer(request),
        }
    })
    .await
}

macro_rules! engine {
    ($engine:ident) => {
        mod $engine {
            use sde_core::PostStats;
            use sde_core::testing::search_index::faults::Fault;
            use std::sync::Arc;

            async fn open() -> Arc<dyn PostStats> {
                super::open(stringify!($engine)).await
            }

            async fn make(fault: Fault) -> Arc<dyn PostStats> {
                super::make(stringify!($engine), fault).await
            }

            sde_core::post_stats_tests!(served, open;
                the_served_summary,
                the_served_posts_per_day,
                the_served_posts_per_hour,
                the_served_tags,
            );

            sde_core::post_stats_tests!(faults, make;
                an_aggregation_missing_shards_is_an_error_not_a_short_count,
                an_aggregation_that_timed_out_is_a_timeout,
                an_unavailable_cluster_is_a_transient_error,
            );
        }
    };
}

engine!(es7);
engine!(es8);
engine!(opensearch2);

#[test]
fn the_requests_are_aggregations_that_read_no_post() {
    for (body, asked) in [
        (query::summary_body(&served_query()), served_query()),
        (
            query::frequency_body(&served_days(), Bucket::Week),
            served_days(),
        ),
        (
            query::top_tags_body(&served_query(), TOP_TAGS),
            served_query(),
        ),
    ] {
        assert_eq!(body["size"], 0, "{body}");
        assert_eq!(body["track_total_hits"], true, "{body}");
        assert_eq!(
            body["query"],
            query::query_clause(&asked),
            "the search's own query"
        );
    }
    let week = query::frequency_body(&served_query(), Bucket::Week);
    assert_eq!(
        week["aggs"]["frequency"]["date_histogram"]["calendar_interval"],
        "1w"
    );
    let month = query::frequency_body(&served_query(), Bucket::Month);
    assert_eq!(
        month["aggs"]["frequency"]["date_histogram"]["calendar_interval"],
        "1M"
    );
    let hour = query::frequency_body(&served_query(), Bucket::Hour);
    assert_eq!(
        hour["aggs"]["frequency"]["date_histogram"]["fixed_interval"],
        "1h"
    );
    let tags = query::top_tags_body(&served_query(), 20);
    assert_eq!(tags["aggs"]["tags"]["terms"]["field"], "Tags.keyword");
    assert_eq!(
        sde_elasticsearch::index_mapping()["mappings"]["properties"]["Tags"]["fields"]["keyword"]["type"],
        "keyword",
        "the importer's mapping has the sub-field the terms aggregation reads"
    );
}
