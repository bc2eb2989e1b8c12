//! `EsIndex` against the hand-written responses of Elasticsearch 7, Elasticsearch 8 and
//! OpenSearch 2 under `tests/fixtures/<engine>/`, answered by a scripted transport that also
//! keeps every request, so searches, scans, their failure paths and scroll clearing are checked
//! without a cluster. The fixtures were written by hand in the shapes the engines' API
//! specifications document (`tests/fixtures/README.md` names the source of each); no cluster was
//! reachable to record them.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::testing::search_index::served_posts;
use sde_core::{
    DateRange, IndexError, IndexErrorKind, PageRequest, Post, PostQuery, SearchIndex, UserId,
};
use sde_elasticsearch::query;
use sde_elasticsearch::response::{ErrorDetail, SearchResponse};
use sde_elasticsearch::testing::{ENGINES, fixture, fixture_json};
use sde_elasticsearch::{EsConfig, EsIndex, EsMethod, EsRequest, EsResponse, EsTransport};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// What the scripted transport answers to the next request.
enum Answer {
    Body(u16, Vec<u8>),
    NoConnection,
}

fn ok(engine: &str, name: &str) -> Answer {
    Answer::Body(200, fixture(engine, name))
}

fn status(status: u16, engine: &str, name: &str) -> Answer {
    Answer::Body(status, fixture(engine, name))
}

fn json_answer(value: Value) -> Answer {
    Answer::Body(200, serde_json::to_vec(&value).unwrap())
}

/// A transport that answers from a script and remembers what it was asked.
#[derive(Debug, Default)]
struct ScriptedTransport {
    answers: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<EsRequest>>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Body(status, _) => write!(f, "Body({status})"),
            Answer::NoConnection => f.write_str("NoConnection"),
        }
    }
}

impl ScriptedTransport {
    fn new(answers: impl IntoIterator<Item = Answer>) -> Arc<Self> {
        Arc::new(ScriptedTransport {
            answers: Mutex::new(answers.into_iter().collect()),
            requests: Mutex::default(),
        })
    }

    fn requests(&self) -> Vec<EsRequest> {
        self.requests.lock().unwrap().clone()
    }

    fn clears(&self) -> Vec<EsRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == EsMethod::Delete)
            .collect()
    }

    fn unanswered(&self) -> usize {
        self.answers.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl EsTransport for ScriptedTransport {
    async fn send(&self, request: EsRequest) -> Result<EsResponse, IndexError> {
        self.requests.lock().unwrap().push(request.clone());
        match self.answers.lock().unwrap().pop_front() {
            Some(Answer::Body(status, body)) => Ok(EsResponse { status, body }),
            Some(Answer::NoConnection) => Err(IndexError::new(
                IndexErrorKind::Unavailable,
                "sending the request",
            )),
            None => panic!("unexpected request {request:?}"),
        }
    }
}

fn index_over(cluster: &Arc<ScriptedTransport>) -> EsIndex {
    let config = EsConfig::new("https://search-posts.eu-west-1.es.amazonaws.com").unwrap();
    EsIndex::with_transport(&config, Arc::clone(cluster) as Arc<dyn EsTransport>).unwrap()
}

fn cats() -> PostQuery {
    PostQuery {
        terms: vec!["cats".into()],
        ..PostQuery::default()
    }
}

fn first_page(size: u32) -> PageRequest {
    PageRequest { number: 0, size }
}

fn batch(size: usize) -> NonZeroUsize {
    NonZeroUsize::new(size).unwrap()
}

fn ids(posts: &[Post]) -> Vec<&str> {
    posts.iter().map(|p| p.id.as_str()).collect()
}

/// The error with its causes, as the logs show it.
fn chain(error: &IndexError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn scroll_id(engine: &str) -> String {
    fixture_json(engine, "scroll_first.json")["_scroll_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_ranked_page_parses_from_every_engine() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([ok(engine, "search_ok.json")]);
        let index: &dyn SearchIndex = &index_over(&cluster);
        let page = index.search(&cats(), first_page(3)).await.unwrap();

        assert_eq!(page.total, 4, "{engine}");
        assert_eq!(page.warning, None, "{engine}");
        assert_eq!(
            ids(&page.posts),
            [
                "c0ffee00-0001-4a5b-9c1d-000000000001",
                "c0ffee00-0002-4a5b-9c1d-000000000002",
                "c0ffee00-0004-4a5b-9c1d-000000000004"
            ],
            "{engine}"
        );
        let [first, second, third] = &page.posts[..] else {
            panic!("{engine}: three posts expected");
        };
        assert_eq!(first.user_id, UserId::Int(7));
        assert_eq!(first.tags, ["#cats", "#coffee"]);
        assert_eq!(
            second.user_id,
            UserId::Text("3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b".into())
        );
        assert_eq!(
            second.date_created,
            "2019-07-21T11:02:37.500Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
        assert_eq!(
            second.content,
            "Two cats, one box,\n\"who fits?\" — a thread 🧵"
        );
        assert!(third.tags.is_empty());

        let [request] = &cluster.requests()[..] else {
            panic!("{engine}: one request expected");
        };
        assert_eq!(request.method, EsMethod::Post);
        assert!(
            request.path.starts_with("posts/_search?preference=sde-"),
            "{}",
            request.path
        );
        assert_eq!(request.body, query::page_body(&cats(), first_page(3)));
    }
}

#[tokio::test]
async fn every_page_of_one_search_uses_the_same_preference() {
    let cluster =
        ScriptedTransport::new([ok("es8", "search_ok.json"), ok("es8", "search_ok.json")]);
    let index = index_over(&cluster);
    index.search(&cats(), first_page(3)).await.unwrap();
    index
        .search(&cats(), PageRequest { number: 1, size: 3 })
        .await
        .unwrap();
    let requests = cluster.requests();
    assert_eq!(requests[0].path, requests[1].path);
    assert_eq!(requests[1].body["from"], 3);
}

#[tokio::test]
async fn shard_failures_in_a_page_become_a_warning_that_names_no_internals() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([ok(engine, "search_shard_failures.json")]);
        let page = index_over(&cluster)
            .search(&cats(), first_page(3))
            .await
            .unwrap();
        assert_eq!(page.total, 3, "{engine}");
        assert_eq!(page.posts.len(), 2, "{engine}");
        let warning = page
            .warning
            .unwrap_or_else(|| panic!("{engine}: no warning"));
        assert_eq!(
            warning,
            "some shards failed: 1 of 5 shards did not answer, so the results may be incomplete"
        );
    }
}

#[tokio::test]
async fn a_timed_out_page_is_a_timeout_error() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([ok(engine, "search_timed_out.json")]);
        let error = index_over(&cluster)
            .search(&cats(), first_page(3))
            .await
            .unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Timeout, "{engine}");
        assert!(
            chain(&error).contains("timed_out: true"),
            "{}",
            chain(&error)
        );
    }
}

#[tokio::test]
async fn error_statuses_become_error_kinds_keeping_the_clusters_reason() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([
            status(400, engine, "error_400.json"),
            status(429, engine, "error_429.json"),
            Answer::NoConnection,
        ]);
        let index = index_over(&cluster);

        let rejected = index.search(&cats(), first_page(3)).await.unwrap_err();
        assert_eq!(rejected.kind, IndexErrorKind::Rejected, "{engine}");
        assert!(
            chain(&rejected).contains("HTTP 400: search_phase_execution_exception"),
            "{}",
            chain(&rejected)
        );
        // The part a user may see says what we did, not what the cluster said.
        assert!(!rejected.to_string().contains("exception"), "{rejected}");

        let overloaded = index.search(&cats(), first_page(3)).await.unwrap_err();
        assert_eq!(overloaded.kind, IndexErrorKind::Unavailable, "{engine}");
        assert!(overloaded.kind.is_transient());
        assert!(
            chain(&overloaded).contains("HTTP 429"),
            "{}",
            chain(&overloaded)
        );

        let unreachable = index.search(&cats(), first_page(3)).await.unwrap_err();
        assert_eq!(unreachable.kind, IndexErrorKind::Unavailable, "{engine}");
    }
}

#[tokio::test]
async fn a_deep_page_is_refused_unless_it_lies_past_the_end() {
    let deep = PageRequest {
        number: 1_000,
        size: 10,
    };
    let count = |total: u64| {
        json_answer(json!({"took": 1, "timed_out": false,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": total, "relation": "eq"}, "max_score": null, "hits": []}}))
    };
    let cluster = ScriptedTransport::new([count(25_000), count(4)]);
    let index = index_over(&cluster);

    let error = index.search(&cats(), deep).await.unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Rejected);
    assert!(error.to_string().contains("too deep"), "{error}");
    assert!(error.to_string().contains("10000"), "{error}");

    let page = index.search(&cats(), deep).await.unwrap();
    assert_eq!(page.total, 4);
    assert!(page.posts.is_empty());

    // Only the size-0 count went out, never a from/size past the window.
    for request in cluster.requests() {
        assert_eq!(request.body, query::count_body(&cats()));
    }
}

#[tokio::test]
async fn a_scan_yields_every_post_then_clears_its_scroll() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([
            ok(engine, "scroll_first.json"),
            ok(engine, "scroll_next.json"),
            ok(engine, "scroll_empty.json"),
            ok(engine, "clear_scroll.json"),
        ]);
        let index = index_over(&cluster);
        let mut scan = index.scan(&PostQuery::default(), batch(2)).await.unwrap();
        assert_eq!(scan.total(), 4, "{engine}");

        let mut posts = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            assert!(batch.len() <= 2);
            posts.append(&mut batch);
        }
        assert_eq!(
            ids(&posts),
            [
                "c0ffee00-0001-4a5b-9c1d-000000000001",
                "c0ffee00-0002-4a5b-9c1d-000000000002",
                "c0ffee00-0003-4a5b-9c1d-000000000003",
                "c0ffee00-0004-4a5b-9c1d-000000000004"
            ],
            "{engine}"
        );
        assert_eq!(posts[2].user_id, UserId::Int(42));
        assert_eq!(
            posts[3].content,
            "Cats vs. cucumbers, part 2, with commas, \"quotes\" and ünïcödé"
        );
        // The scroll is cleared as soon as the empty batch arrives…
        assert_eq!(cluster.clears().len(), 1, "{engine}");
        assert!(!scan.next_batch(&mut Vec::new()).await.unwrap());
        scan.close().await.unwrap();
        // …and close does not clear it twice.
        assert_eq!(cluster.unanswered(), 0);

        let id = scroll_id(engine);
        let requests = cluster.requests();
        assert_eq!(
            requests[0].path,
            "posts/_search?scroll=2m&allow_partial_search_results=false"
        );
        assert_eq!(
            requests[0].body,
            query::scroll_body(&PostQuery::default(), 2)
        );
        for next in &requests[1..3] {
            assert_eq!(next.method, EsMethod::Post);
            assert_eq!(next.path, "_search/scroll");
            assert_eq!(next.body, json!({"scroll": "2m", "scroll_id": id}));
        }
        assert_eq!(requests[3].method, EsMethod::Delete);
        assert_eq!(requests[3].path, "_search/scroll");
        assert_eq!(requests[3].body, json!({"scroll_id": [id]}));
    }
}

#[tokio::test]
async fn shard_failures_fail_the_scan_and_clear_its_scroll() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([
            ok(engine, "scroll_first.json"),
            ok(engine, "scroll_shard_failures.json"),
            ok(engine, "clear_scroll.json"),
        ]);
        let mut scan = index_over(&cluster)
            .scan(&PostQuery::default(), batch(2))
            .await
            .unwrap();
        let mut batch = Vec::new();
        assert!(scan.next_batch(&mut batch).await.unwrap());
        assert_eq!(batch.len(), 2);

        let error = scan.next_batch(&mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Unavailable, "{engine}");
        assert!(
            chain(&error).contains("1 of 3 shards failed"),
            "{}",
            chain(&error)
        );
        assert_eq!(cluster.clears().len(), 1, "{engine}: cleared on failure");

        let reused = scan.next_batch(&mut Vec::new()).await.unwrap_err();
        assert_eq!(reused.kind, IndexErrorKind::Rejected);
        scan.close().await.unwrap();
        assert_eq!(
            cluster.requests().len(),
            3,
            "{engine}: no request after the failure"
        );
    }
}

#[tokio::test]
async fn a_scroll_that_opens_with_shard_failures_is_refused_and_cleared() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([
            ok(engine, "scroll_shard_failures.json"),
            ok(engine, "clear_scroll.json"),
        ]);
        let error = index_over(&cluster)
            .scan(&PostQuery::default(), batch(2))
            .await
            .err()
            .unwrap();
        assert_eq!(error.kind, IndexErrorKind::Unavailable, "{engine}");
        assert_eq!(cluster.clears().len(), 1, "{engine}");
    }
}

#[tokio::test]
async fn a_timed_out_batch_fails_the_scan_with_a_timeout() {
    for engine in ENGINES {
        let mut timed_out = fixture_json(engine, "search_timed_out.json");
        timed_out["_scroll_id"] = scroll_id(engine).into();
        let cluster = ScriptedTransport::new([
            ok(engine, "scroll_first.json"),
            json_answer(timed_out),
            ok(engine, "clear_scroll.json"),
        ]);
        let mut scan = index_over(&cluster)
            .scan(&PostQuery::default(), batch(2))
            .await
            .unwrap();
        scan.next_batch(&mut Vec::new()).await.unwrap();
        let error = scan.next_batch(&mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Timeout, "{engine}");
        scan.close().await.unwrap();
        assert_eq!(cluster.clears().len(), 1, "{engine}");
    }
}

#[tokio::test]
async fn an_expired_scroll_is_a_timeout_and_a_missing_scroll_counts_as_cleared() {
    for engine in ENGINES {
        let cluster = ScriptedTransport::new([
            ok(engine, "scroll_first.json"),
            status(404, engine, "scroll_expired.json"),
            // Clearing a scroll that is gone: 404, which counts as cleared.
            Answer::Body(404, br#"{"succeeded":true,"num_freed":0}"#.to_vec()),
        ]);
        let mut scan = index_over(&cluster)
            .scan(&PostQuery::default(), batch(2))
            .await
            .unwrap();
        scan.next_batch(&mut Vec::new()).await.unwrap();
        let error = scan.next_batch(&mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind, IndexErrorKind::Timeout, "{engine}");
        assert!(
            chain(&error).contains("search_context_missing_exception"),
            "{}",
            chain(&error)
        );
        scan.close().await.unwrap();
    }

    let cluster = ScriptedTransport::new([
        ok("es8", "scroll_first.json"),
        ok("es8", "scroll_next.json"),
        ok("es8", "scroll_empty.json"),
        Answer::Body(404, br#"{"succeeded":true,"num_freed":0}"#.to_vec()),
    ]);
    let mut scan = index_over(&cluster)
        .scan(&PostQuery::default(), batch(2))
        .await
        .unwrap();
    while scan.next_batch(&mut Vec::new()).await.unwrap() {}
    scan.close().await.unwrap();
    assert_eq!(cluster.clears().len(), 1);
}

#[tokio::test]
async fn a_lost_connection_mid_scan_still_clears_and_close_retries_a_failed_clear() {
    let cluster = ScriptedTransport::new([
        ok("opensearch2", "scroll_first.json"),
        Answer::NoConnection,
        Answer::NoConnection,
        ok("opensearch2", "clear_scroll.json"),
    ]);
    let mut scan = index_over(&cluster)
        .scan(&PostQuery::default(), batch(2))
        .await
        .unwrap();
    scan.next_batch(&mut Vec::new()).await.unwrap();
    let error = scan.next_batch(&mut Vec::new()).await.unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
    // The clear after the failure could not get through either; close tries again.
    assert_eq!(cluster.clears().len(), 1);
    scan.close().await.unwrap();
    assert_eq!(cluster.clears().len(), 2);
    assert_eq!(cluster.unanswered(), 0);
}

#[tokio::test]
async fn a_scan_of_nothing_has_total_zero_and_clears_at_once() {
    let cluster = ScriptedTransport::new([
        json_answer(
            json!({"_scroll_id": "FGluY2x1ZGVfY29udGV4dF91dWlk", "took": 1, "timed_out": false,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 0, "relation": "eq"}, "max_score": null, "hits": []}}),
        ),
        ok("es8", "clear_scroll.json"),
    ]);
    let query = PostQuery {
        terms: vec!["nothing-matches-this".into()],
        date_range: DateRange::default(),
    };
    let mut scan = index_over(&cluster).scan(&query, batch(100)).await.unwrap();
    assert_eq!(scan.total(), 0);
    assert!(!scan.next_batch(&mut Vec::new()).await.unwrap());
    scan.close().await.unwrap();
    assert_eq!(cluster.clears().len(), 1);
}

#[tokio::test]
async fn scan_batches_are_capped_by_the_configured_maximum() {
    let cluster = ScriptedTransport::new([
        ok("es7", "scroll_first.json"),
        ok("es7", "clear_scroll.json"),
    ]);
    let mut config = EsConfig::new("http://localhost:9200").unwrap();
    config.max_batch_size = batch(2);
    let index =
        EsIndex::with_transport(&config, Arc::clone(&cluster) as Arc<dyn EsTransport>).unwrap();
    let scan = index.scan(&cats(), batch(50_000)).await.unwrap();
    scan.close().await.unwrap();
    assert_eq!(cluster.requests()[0].body["size"], 2);
}

#[tokio::test]
async fn a_document_that_is_not_a_post_fails_naming_its_id() {
    let mut response = fixture_json("es8", "search_ok.json");
    response["hits"]["hits"][1]["_source"]["DateCreated"] = "last tuesday".into();
    let cluster = ScriptedTransport::new([json_answer(response)]);
    let error = index_over(&cluster)
        .search(&cats(), first_page(3))
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Corrupt);
    assert!(
        error
            .to_string()
            .contains("\"c0ffee00-0002-4a5b-9c1d-000000000002\""),
        "{error}"
    );
}

/// Every fixture parses as the response it stands for, carries the fields the documented shape
/// requires, and holds only the served posts of the `SearchIndex` contract, unchanged.
#[test]
fn every_fixture_reads_as_its_documented_shape() {
    let served = served_posts();
    for engine in ENGINES {
        for (name, total) in [
            ("search_ok.json", 4),
            ("search_page_2.json", 4),
            ("search_past_end.json", 4),
            ("search_shard_failures.json", 3),
            ("search_timed_out.json", 1),
            ("scroll_first.json", 4),
            ("scroll_next.json", 4),
            ("scroll_empty.json", 4),
            ("scroll_shard_failures.json", 4),
        ] {
            let what = format!("{engine}/{name}");
            let json = fixture_json(engine, name);
            for field in ["took", "timed_out", "_shards", "hits"] {
                assert!(json.get(field).is_some(), "{what}: no {field}");
            }
            for field in ["total", "successful", "skipped", "failed"] {
                assert!(json["_shards"][field].is_u64(), "{what}: _shards.{field}");
            }
            assert!(json["hits"]["hits"].is_array(), "{what}: hits.hits");
            let response = SearchResponse::parse(&fixture(engine, name), "test")
                .unwrap_or_else(|e| panic!("{what}: {}", chain(&e)));
            assert_eq!(response.exact_total("test").unwrap(), total, "{what}");
            assert_eq!(
                response.scroll_id.is_some(),
                name.starts_with("scroll_"),
                "{what}"
            );
            assert_eq!(
                response.shard_failures().is_some(),
                name.ends_with("shard_failures.json"),
                "{what}"
            );
            assert_eq!(
                response.timed_out,
                name == "search_timed_out.json",
                "{what}"
            );
            let posts = response
                .into_posts()
                .unwrap_or_else(|e| panic!("{what}: {}", chain(&e)));
            for post in posts {
                assert!(
                    served.contains(&post),
                    "{what}: {:?} is not a served post as stored",
                    post.id
                );
            }
        }
        let clear = fixture_json(engine, "clear_scroll.json");
        assert_eq!(clear, json!({"succeeded": true, "num_freed": 1}));
        for (name, status, error_type) in [
            ("error_400.json", 400, "search_phase_execution_exception"),
            ("error_429.json", 429, ""),
            ("error_503.json", 503, "search_phase_execution_exception"),
            (
                "scroll_expired.json",
                404,
                "search_phase_execution_exception",
            ),
        ] {
            let what = format!("{engine}/{name}");
            let json = fixture_json(engine, name);
            assert_eq!(json["status"], status, "{what}");
            assert!(json["error"]["type"].is_string(), "{what}: error.type");
            assert!(json["error"]["reason"].is_string(), "{what}: error.reason");
            assert!(json["error"]["root_cause"].is_array(), "{what}: root_cause");
            let detail = ErrorDetail::parse(&fixture(engine, name));
            if !error_type.is_empty() {
                assert_eq!(detail.error_type, error_type, "{what}");
            }
            assert!(!detail.reason.is_empty());
        }
        // Each engine names a full search queue its own way: Elasticsearch's class is
        // `EsRejectedExecutionException`, OpenSearch strips its `OpenSearch` prefix from
        // `OpenSearchRejectedExecutionException`; the Elasticsearch 8 fixture is a tripped
        // parent circuit breaker instead.
        let overloaded = ErrorDetail::parse(&fixture(engine, "error_429.json"));
        let expected = match engine {
            "es7" => "es_rejected_execution_exception",
            "es8" => "circuit_breaking_exception",
            _ => "rejected_execution_exception",
        };
        assert!(overloaded.is(expected), "{engine}: {overloaded:?}");
    }
}

#[test]
fn es7_hits_carry_a_type_and_newer_engines_do_not() {
    for engine in ENGINES {
        let hit = &fixture_json(engine, "search_ok.json")["hits"]["hits"][0];
        assert_eq!(hit.get("_type").is_some(), engine == "es7", "{engine}");
    }
}

#[test]
fn the_write_fixtures_read_as_their_documented_shape() {
    let stored = sde_core::testing::new_post();
    for engine in ENGINES {
        let created = fixture_json(engine, "index_created.json");
        for field in [
            "_index",
            "_id",
            "_version",
            "result",
            "_shards",
            "_seq_no",
            "_primary_term",
        ] {
            assert!(created.get(field).is_some(), "{engine}: no {field}");
        }
        assert_eq!(created["_id"], json!(stored.id), "{engine}");
        assert_eq!(created["result"], "created", "{engine}");
        assert_eq!(created["_shards"]["failed"], 0, "{engine}");
        assert_eq!(created.get("_type").is_some(), engine == "es7", "{engine}");

        let refused = fixture_json(engine, "index_refused.json");
        assert_eq!(refused["status"], 400, "{engine}");
        assert!(refused["error"]["root_cause"].is_array(), "{engine}");
        let detail = ErrorDetail::parse(&fixture(engine, "index_refused.json"));
        // Elasticsearch 8.8 renamed the exception a document that does not fit its mapping
        // raises; Elasticsearch 7 and OpenSearch kept the older name.
        let expected = match engine {
            "es8" => "document_parsing_exception",
            _ => "mapper_parsing_exception",
        };
        assert_eq!(detail.error_type, expected, "{engine}");
        assert!(
            detail.reason.contains("[UserID] of type [long]"),
            "{engine}"
        );
    }
}
