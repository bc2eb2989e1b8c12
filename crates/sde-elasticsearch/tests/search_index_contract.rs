//! The `SearchIndex` contract (`sde_core::testing::search_index`) run against `EsIndex`, through
//! the real `elasticsearch` client, against the fake cluster of `sde_elasticsearch::testing`,
//! once per engine (Elasticsearch 7, Elasticsearch 8, OpenSearch 2).
//!
//! The fake serves the hand-written fixtures of `tests/fixtures/<engine>/`: it answers exactly
//! the requests `EsIndex` sends a cluster holding the contract's served posts (any other request
//! gets a 500 saying the fake has no answer for it), with that engine's bodies, and fails the
//! ways clusters fail. It cannot rank, match or filter, so the contract's semantics part does
//! not run here; `live_cluster.rs` runs it against a real cluster when `SDE_TEST_ES_URL` names
//! one. The served part includes the snapshot checks (sliced exports): the fake opens, pages and
//! deletes a point in time of the served posts with the engine's own API (Elasticsearch 7.12+ for
//! `es7`), in the documented shapes.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use sde_core::testing::search_index::faults::Fault;
use sde_core::testing::search_index::served::{BATCH_SIZE, PAGE_SIZE};
use sde_core::testing::search_index::{served_posts, served_query};
use sde_core::{
    IndexError, PageRequest, PostQuery, PostScan, SearchIndex, SearchPage, Slice, Snapshot,
};
use sde_elasticsearch::query;
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen, fixture_json, unreachable_url};
use sde_elasticsearch::{Engine, EsConfig, EsIndex};
use serde_json::{Value, json};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

/// `EsIndex` with the fake cluster it talks to, kept alive as long as the index.
#[derive(Debug)]
struct OverFake {
    index: EsIndex,
    _cluster: Option<FakeCluster>,
}

#[async_trait]
impl SearchIndex for OverFake {
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        self.index.search(query, page).await
    }

    async fn scan(
        &self,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        self.index.scan(query, batch_size).await
    }

    async fn open_snapshot(
        &self,
        query: &PostQuery,
        keep_alive: Duration,
    ) -> Result<Option<Snapshot>, IndexError> {
        self.index.open_snapshot(query, keep_alive).await
    }

    async fn scan_slice(
        &self,
        snapshot: &str,
        query: &PostQuery,
        slice: Slice,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        self.index
            .scan_slice(snapshot, query, slice, batch_size)
            .await
    }

    async fn close_snapshot(&self, snapshot: &str) -> Result<(), IndexError> {
        self.index.close_snapshot(snapshot).await
    }
}

/// The point-in-time API of the engine a fixture folder stands for.
fn engine_of(folder: &str) -> Engine {
    if folder.starts_with("opensearch") {
        Engine::OpenSearch
    } else {
        Engine::Elasticsearch
    }
}

fn over(
    cluster: Option<FakeCluster>,
    url: &str,
    timeout: Duration,
    engine: Engine,
) -> Arc<dyn SearchIndex> {
    let mut config = EsConfig::new(url).unwrap();
    config.request_timeout = timeout;
    config.engine = engine;
    Arc::new(OverFake {
        index: EsIndex::new(&config).unwrap(),
        _cluster: cluster,
    })
}

async fn serving(
    engine: Engine,
    respond: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
) -> Arc<dyn SearchIndex> {
    let cluster = FakeCluster::start(respond).await;
    let url = cluster.url().to_owned();
    over(Some(cluster), &url, Duration::from_secs(5), engine)
}

/// What a request is, as far as the fake can tell.
enum Request {
    /// A ranked page of the served query, starting at this offset.
    Page(u64),
    /// Opening a scroll over the served query.
    OpenScroll,
    /// The next batch of a scroll.
    NextBatch,
    /// Clearing a scroll.
    Clear,
    /// Opening a point in time on the posts index, with this engine's API.
    OpenPit(Engine),
    /// A search of a point in time: the count (`size: 0`) or a page of a slice.
    PitSearch,
    /// Deleting a point in time, with this engine's API.
    ClosePit(Engine),
    /// Anything else: the fake has no honest answer.
    Other,
}

fn classify(request: &Seen) -> Request {
    let scroll = request
        .query()
        .is_some_and(|query| query.starts_with("scroll="));
    match (request.method.as_str(), request.path()) {
        ("POST", "/posts/_search") if scroll => {
            let batch = query::scroll_body(&served_query(), BATCH_SIZE);
            if request.json() == batch {
                Request::OpenScroll
            } else {
                Request::Other
            }
        }
        ("POST", "/posts/_search") => {
            let body = request.json();
            let from = body["from"].as_u64().unwrap_or(u64::MAX);
            let number = u32::try_from(from / u64::from(PAGE_SIZE)).unwrap_or(u32::MAX);
            let page = PageRequest {
                number,
                size: PAGE_SIZE,
            };
            if body == query::page_body(&served_query(), page) {
                Request::Page(from)
            } else {
                Request::Other
            }
        }
        ("POST", "/_search/scroll") => Request::NextBatch,
        ("DELETE", "/_search/scroll") => Request::Clear,
        ("POST", "/posts/_search/point_in_time") => Request::OpenPit(Engine::OpenSearch),
        ("POST", "/posts/_pit") => Request::OpenPit(Engine::Elasticsearch),
        ("POST", "/_search") => {
            let body = request.json();
            if body["pit"]["id"] == "pit-served"
                && body["query"] == query::query_clause(&served_query())
            {
                Request::PitSearch
            } else {
                Request::Other
            }
        }
        ("DELETE", "/_search/point_in_time") => Request::ClosePit(Engine::OpenSearch),
        ("DELETE", "/_pit") => Request::ClosePit(Engine::Elasticsearch),
        _ => Request::Other,
    }
}

fn no_answer(request: &Seen) -> Reply {
    Reply::json(
        500,
        format!(
            "the fake cluster has no answer for {} {}",
            request.method, request.target
        ),
    )
}

/// The answer to a search of the served posts' point in time: the count, or a page of a slice
/// (one shard: the served posts in order, slice `id` of `max` holding every `max`-th, the sort
/// value — `_doc` or `_shard_doc` — their position), in the shape of `search_ok.json` plus
/// `pit_id` and each hit's `sort`.
fn pit_answer(request: &Seen) -> Reply {
    let body = request.json();
    let shards = json!({"total": 1, "successful": 1, "skipped": 0, "failed": 0});
    let total = |n: usize| json!({"value": n, "relation": "eq"});
    let posts = served_posts();
    if body["size"] == 0 {
        return Reply::value(
            200,
            &json!({"pit_id": "pit-served", "took": 1, "timed_out": false, "_shards": shards,
                    "hits": {"total": total(posts.len()), "max_score": null, "hits": []}}),
        );
    }
    let (id, max) = match &body["slice"] {
        Value::Null => (0, 1),
        slice => (
            slice["id"].as_u64().unwrap(),
            slice["max"].as_u64().unwrap(),
        ),
    };
    let after = body["search_after"][0].as_i64();
    let size = body["size"].as_u64().unwrap() as usize;
    let members: Vec<(i64, sde_core::Post)> = posts
        .into_iter()
        .enumerate()
        .filter(|(position, _)| *position as u64 % max == id)
        .map(|(position, post)| (position as i64, post))
        .collect();
    let count = members.len();
    let hits: Vec<Value> = members
        .into_iter()
        .filter(|(position, _)| after.is_none_or(|after| *position > after))
        .take(size)
        .map(|(position, post)| {
            let (id, source) = post.into_source();
            json!({"_index": "posts", "_id": id, "_score": null, "_source": source,
                   "sort": [position]})
        })
        .collect();
    let mut answer = json!({"pit_id": "pit-served", "took": 1, "timed_out": false,
        "_shards": shards, "hits": {"max_score": null, "hits": hits}});
    if body["track_total_hits"] == true {
        answer["hits"]["total"] = total(count);
    }
    Reply::value(200, &answer)
}

/// A cluster of `engine` holding the served posts, answering from its fixtures.
fn served_by(engine: &'static str) -> impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static {
    move |request, n| match classify(request) {
        Request::OpenPit(api) if api == engine_of(engine) => match api {
            Engine::OpenSearch => Reply::value(
                200,
                &json!({"pit_id": "pit-served", "creation_time": 1_658_146_050_064_u64,
                        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
            ),
            Engine::Elasticsearch => Reply::value(200, &json!({"id": "pit-served"})),
        },
        Request::PitSearch => pit_answer(request),
        Request::ClosePit(api) if api == engine_of(engine) => match api {
            Engine::OpenSearch => Reply::value(
                200,
                &json!({"pits": [{"successful": true, "pit_id": "pit-served"}]}),
            ),
            Engine::Elasticsearch => Reply::value(200, &json!({"succeeded": true, "num_freed": 1})),
        },
        Request::OpenPit(_) | Request::ClosePit(_) => no_answer(request),
        Request::Page(0) => Reply::fixture(200, engine, "search_ok.json"),
        Request::Page(3) => Reply::fixture(200, engine, "search_page_2.json"),
        Request::Page(6) => Reply::fixture(200, engine, "search_past_end.json"),
        Request::OpenScroll => Reply::fixture(200, engine, "scroll_first.json"),
        // One scan per index in the checks: its second batch, then the empty one that ends it.
        Request::NextBatch if n % 2 == 0 => Reply::fixture(200, engine, "scroll_next.json"),
        Request::NextBatch => Reply::fixture(200, engine, "scroll_empty.json"),
        Request::Clear => Reply::fixture(200, engine, "clear_scroll.json"),
        Request::Page(_) | Request::Other => no_answer(request),
    }
}

/// A cluster of `engine` that fails with `fault`.
fn failing(engine: &'static str, fault: Fault) -> impl Fn(&Seen, usize) -> Reply + Send + Sync {
    move |request, _| {
        let kind = classify(request);
        match (fault, kind) {
            (_, Request::Other) => no_answer(request),
            (_, Request::Clear) => Reply::fixture(200, engine, "clear_scroll.json"),
            (Fault::Overloaded, _) => Reply::fixture(429, engine, "error_429.json"),
            (Fault::Unavailable, _) => Reply::fixture(503, engine, "error_503.json"),
            (Fault::Unreadable, _) => {
                Reply::json(200, "<html><body><h1>502 Bad Gateway</h1></body></html>")
                    .with_header("content-type", "text/html")
            }
            (Fault::PartialResults, Request::Page(_)) => {
                Reply::fixture(200, engine, "search_shard_failures.json")
            }
            (Fault::PartialResults, _) => Reply::fixture(200, engine, "scroll_shard_failures.json"),
            (Fault::TimedOutInside, Request::OpenScroll) => {
                // A scroll that opens timed out still carries its id.
                let mut body = fixture_json(engine, "search_timed_out.json");
                body["_scroll_id"] =
                    fixture_json(engine, "scroll_first.json")["_scroll_id"].clone();
                Reply::value(200, &body)
            }
            (Fault::TimedOutInside, _) => Reply::fixture(200, engine, "search_timed_out.json"),
            (Fault::FailsMidScan | Fault::ScanExpires, Request::OpenScroll) => {
                Reply::fixture(200, engine, "scroll_first.json")
            }
            (Fault::FailsMidScan, _) => Reply::fixture(200, engine, "scroll_shard_failures.json"),
            (Fault::ScanExpires, _) => Reply::fixture(404, engine, "scroll_expired.json"),
            (Fault::TooSlow | Fault::Unreachable, _) => Reply::Silence,
        }
    }
}

async fn open(engine: &'static str) -> Arc<dyn SearchIndex> {
    serving(engine_of(engine), served_by(engine)).await
}

async fn make(engine: &'static str, fault: Fault) -> Arc<dyn SearchIndex> {
    match fault {
        Fault::Unreachable => over(
            None,
            &unreachable_url(),
            Duration::from_secs(5),
            engine_of(engine),
        ),
        Fault::TooSlow => {
            let cluster = FakeCluster::start(|_, _| Reply::Silence).await;
            let url = cluster.url().to_owned();
            over(
                Some(cluster),
                &url,
                Duration::from_millis(300),
                engine_of(engine),
            )
        }
        _ => serving(engine_of(engine), failing(engine, fault)).await,
    }
}

macro_rules! engine {
    ($engine:ident) => {
        mod $engine {
            use sde_core::SearchIndex;
            use sde_core::testing::search_index::faults::Fault;
            use std::sync::Arc;

            async fn open() -> Arc<dyn SearchIndex> {
                super::open(stringify!($engine)).await
            }

            async fn make(fault: Fault) -> Arc<dyn SearchIndex> {
                super::make(stringify!($engine), fault).await
            }

            sde_core::search_index_tests!(served, open;
                a_page_holds_at_most_its_size_with_the_exact_total,
                pages_hold_every_match_once_and_past_the_end_is_empty,
                a_scan_yields_every_match_once_in_bounded_batches,
                posts_come_back_exactly_as_stored,
                the_slices_of_one_snapshot_yield_every_match_once,
                unknown_snapshots_and_slices_are_rejected,
            );

            sde_core::search_index_tests!(faults, make;
                overload_is_a_transient_unavailable_error,
                an_unavailable_or_unreachable_backend_is_a_transient_unavailable_error,
                a_backend_too_slow_to_answer_is_a_timeout,
                an_unreadable_answer_is_corrupt_and_not_transient,
                a_search_that_times_out_inside_the_backend_is_a_timeout,
                partial_results_are_a_warning_on_a_page_and_an_error_in_a_scan,
                a_scan_that_fails_midway_errs_stays_failed_and_still_closes,
            );
        }
    };
}

engine!(es7);
engine!(es8);
engine!(opensearch2);
