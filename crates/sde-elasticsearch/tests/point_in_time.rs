//! Sliced exports on a point in time (`open_snapshot`, `scan_slice`, `close_snapshot`) against
//! the fake cluster of `sde_elasticsearch::testing`, through the real client, for both APIs:
//! OpenSearch 2.4+ and Elasticsearch 7.12+.
//!
//! The fake's answers are hand-written in the shapes the engines document (OpenSearch: "Point in
//! Time API" — `pit_id`, `_shards`, `creation_time`; the delete answer `pits[].successful`;
//! Elasticsearch: "Open point in time API" — `id`; "Close point in time API" — `succeeded`,
//! `num_freed`; searches as in `tests/fixtures/README.md`, plus `pit_id` and each hit's `sort`).
//! No cluster was reachable to record them. Behind them is a small model of a sharded index, so
//! paging meets what a real one does: three shards that each number their documents from 0 (so
//! `_doc` values repeat across shards), slices that span several shards, and a PIT id the cluster
//! refreshes on every answer.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sde_core::testing::search_index::served_query;
use sde_core::{IndexErrorKind, Post, PostScan, SearchIndex, Slice};
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen};
use sde_elasticsearch::{Engine, EsConfig, EsIndex, query};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Posts in the model index.
const POSTS: u64 = 23;
/// Its shards; post `i` lives on shard `i % SHARDS` as document number `i / SHARDS`.
const SHARDS: u64 = 3;
const KEEP_ALIVE: Duration = Duration::from_secs(20 * 60);

fn post_id(i: u64) -> String {
    format!("post-{i:02}")
}

fn source(i: u64) -> Value {
    json!({"UserID": i, "DateCreated": "2019-07-21T08:15:00Z", "Content": format!("cats {i}"),
           "Tags": ["#cats"]})
}

/// What the model cluster keeps between requests.
#[derive(Debug, Default)]
struct Model {
    /// Ids handed out, in order; the last answer to each chain of searches refreshes it.
    issued: u64,
    /// For each slice (`id/max`), the PIT id its next page must carry.
    expected: HashMap<String, String>,
    /// The id the count answered with: where every slice starts.
    root: Option<String>,
    /// Whether the PIT was deleted.
    deleted: bool,
    /// Problems the model saw in requests (a test fails if any).
    problems: Vec<String>,
}

/// The model cluster: `engine`'s API over the sharded posts.
fn cluster(engine: Engine, model: Arc<Mutex<Model>>) -> impl Fn(&Seen, usize) -> Reply {
    move |request, _| {
        let mut model = model.lock().unwrap();
        let problem = |model: &mut Model, text: String| {
            model.problems.push(text.clone());
            Reply::json(500, text)
        };
        match (engine, request.method.as_str(), request.path()) {
            (Engine::OpenSearch, "POST", "/posts/_search/point_in_time")
            | (Engine::Elasticsearch, "POST", "/posts/_pit") => {
                let expected_query = match engine {
                    Engine::OpenSearch => "keep_alive=20m&allow_partial_pit_creation=false",
                    Engine::Elasticsearch => "keep_alive=20m",
                };
                if request.query() != Some(expected_query) || !request.body.is_empty() {
                    return problem(&mut model, format!("open: {}", request.target));
                }
                model.issued = 1;
                Reply::value(
                    200,
                    &match engine {
                        Engine::OpenSearch => json!({"pit_id": "pit-1",
                        "_shards": {"total": SHARDS, "successful": SHARDS, "skipped": 0, "failed": 0},
                        "creation_time": 1_658_146_050_064_u64}),
                        Engine::Elasticsearch => json!({"id": "pit-1"}),
                    },
                )
            }
            (_, "POST", "/_search") => {
                if request.query() != Some("allow_partial_search_results=false") {
                    return problem(&mut model, format!("search: {}", request.target));
                }
                let body = request.json();
                if body["pit"]["keep_alive"] != "20m" {
                    return problem(&mut model, format!("keep_alive: {body}"));
                }
                let pit = body["pit"]["id"].as_str().unwrap_or_default().to_owned();
                model.issued += 1;
                let refreshed = format!("pit-{}", model.issued);
                if body["size"] == 0 {
                    // The count, on the PIT just opened.
                    if pit != "pit-1"
                        || body
                            != query::pit_count_body(
                                &served_query(),
                                &pit,
                                "20m",
                                &sde_elasticsearch::pit::slice_sort(engine),
                            )
                    {
                        return problem(&mut model, format!("count: {body}"));
                    }
                    model.root = Some(refreshed.clone());
                    return Reply::value(200, &answer(&refreshed, Some(POSTS), Vec::new()));
                }
                page(engine, &mut model, &body, &pit, &refreshed)
            }
            (Engine::OpenSearch, "DELETE", "/_search/point_in_time")
            | (Engine::Elasticsearch, "DELETE", "/_pit") => {
                let body = request.json();
                let id = match engine {
                    Engine::OpenSearch => body["pit_id"][0].as_str(),
                    Engine::Elasticsearch => body["id"].as_str(),
                };
                if id != model.root.as_deref() {
                    return problem(&mut model, format!("delete: {body}"));
                }
                if model.deleted {
                    // Gone already.
                    return match engine {
                        Engine::OpenSearch => Reply::value(
                            200,
                            &json!({"pits": [{"successful": false, "pit_id": id}]}),
                        ),
                        Engine::Elasticsearch => {
                            Reply::value(404, &json!({"succeeded": true, "num_freed": 0}))
                        }
                    };
                }
                model.deleted = true;
                Reply::value(
                    200,
                    &match engine {
                        Engine::OpenSearch => {
                            json!({"pits": [{"successful": true, "pit_id": id}]})
                        }
                        Engine::Elasticsearch => json!({"succeeded": true, "num_freed": 1}),
                    },
                )
            }
            _ => problem(
                &mut model,
                format!("no answer for {} {}", request.method, request.target),
            ),
        }
    }
}

/// A search answer in the documented shape.
fn answer(pit: &str, total: Option<u64>, hits: Vec<Value>) -> Value {
    let mut body = json!({
        "pit_id": pit, "took": 2, "timed_out": false,
        "_shards": {"total": SHARDS, "successful": SHARDS, "skipped": 0, "failed": 0},
        "hits": {"max_score": null, "hits": hits},
    });
    if let Some(total) = total {
        body["hits"]["total"] = json!({"value": total, "relation": "eq"});
    }
    body
}

/// One page of a slice, as the engine would answer it.
fn page(engine: Engine, model: &mut Model, body: &Value, pit: &str, refreshed: &str) -> Reply {
    let (slice, max) = match &body["slice"] {
        Value::Null => (0, 1),
        slice => (
            slice["id"].as_u64().unwrap(),
            slice["max"].as_u64().unwrap(),
        ),
    };
    let key = format!("{slice}/{max}");
    let carried = model.expected.get(&key).or(model.root.as_ref());
    if carried.map(String::as_str) != Some(pit) {
        let text = format!("slice {key} sent pit {pit}, not {carried:?}");
        model.problems.push(text.clone());
        return Reply::json(500, text);
    }
    model.expected.insert(key.clone(), refreshed.to_owned());
    let first = body.get("search_after").is_none();
    if body["track_total_hits"] != first {
        model
            .problems
            .push(format!("slice {key}: track_total_hits {body}"));
    }
    let sort = match engine {
        Engine::OpenSearch => json!([{"_doc": "asc"}]),
        Engine::Elasticsearch => json!([{"_shard_doc": "asc"}]),
    };
    if body["sort"] != sort {
        model.problems.push(format!("slice {key}: sort {body}"));
    }
    // The slice's posts in sort order: document number, then shard (the coordinating node's
    // order for equal sort values) — or the unique `_shard_doc`.
    let key_of = |i: u64| -> i64 {
        let (shard, doc) = (i % SHARDS, i / SHARDS);
        match engine {
            Engine::OpenSearch => (doc * SHARDS + shard) as i64,
            Engine::Elasticsearch => ((shard << 32) | doc) as i64,
        }
    };
    let sort_value = |i: u64| -> i64 {
        match engine {
            Engine::OpenSearch => (i / SHARDS) as i64,
            Engine::Elasticsearch => key_of(i),
        }
    };
    let mut members: Vec<u64> = (0..POSTS).filter(|i| i % max == slice).collect();
    members.sort_by_key(|i| key_of(*i));
    let after = body["search_after"][0].as_i64();
    let size = body["size"].as_u64().unwrap() as usize;
    let hits: Vec<Value> = members
        .iter()
        .filter(|i| after.is_none_or(|after| sort_value(**i) > after))
        .take(size)
        .map(|i| {
            json!({"_index": "posts", "_id": post_id(*i), "_score": null, "_source": source(*i),
                   "sort": [sort_value(*i)]})
        })
        .collect();
    let total = first.then_some(members.len() as u64);
    Reply::value(200, &answer(refreshed, total, hits))
}

async fn index_over(engine: Engine) -> (EsIndex, FakeCluster, Arc<Mutex<Model>>) {
    let model = Arc::new(Mutex::new(Model::default()));
    let fake = FakeCluster::start(cluster(engine, Arc::clone(&model))).await;
    let mut config = EsConfig::new(fake.url()).unwrap();
    config.engine = engine;
    (EsIndex::new(&config).unwrap(), fake, model)
}

/// The error of a scan expected to fail when it opens.
fn failed(result: Result<Box<dyn PostScan>, sde_core::IndexError>) -> sde_core::IndexError {
    match result {
        Ok(_) => panic!("the scan opened"),
        Err(error) => error,
    }
}

async fn read_all(mut scan: Box<dyn PostScan>) -> Vec<Post> {
    let mut posts = Vec::new();
    let mut batch = Vec::new();
    while scan.next_batch(&mut batch).await.unwrap() {
        posts.append(&mut batch);
    }
    scan.close().await.unwrap();
    posts
}

const ENGINES: [Engine; 2] = [Engine::OpenSearch, Engine::Elasticsearch];

#[tokio::test]
async fn the_slices_of_one_pit_yield_every_post_once() {
    for engine in ENGINES {
        for count in 1..=4u32 {
            for batch in [4usize, 5, 100] {
                let what = format!("{engine:?}, {count} slices, pages of {batch}");
                let (index, fake, model) = index_over(engine).await;
                let snapshot = index
                    .open_snapshot(&served_query(), KEEP_ALIVE)
                    .await
                    .unwrap()
                    .expect("the cluster opens a point in time");
                assert_eq!(snapshot.total, POSTS, "{what}");
                // The id the count answered with, with the API and keep-alive it was opened with.
                assert_eq!(
                    snapshot.id,
                    format!("{}:20m:pit-2", engine.name()),
                    "{what}"
                );
                let mut ids = Vec::new();
                let mut totals = 0;
                for slice in 0..count {
                    let scan = index
                        .scan_slice(
                            &snapshot.id,
                            &served_query(),
                            Slice {
                                index: slice,
                                count,
                            },
                            NonZeroUsize::new(batch).unwrap(),
                        )
                        .await
                        .unwrap();
                    let total = scan.total();
                    let posts = read_all(scan).await;
                    assert_eq!(
                        posts.len() as u64,
                        total,
                        "{what}: slice {slice}'s own total"
                    );
                    totals += total;
                    ids.extend(posts.into_iter().map(|post| post.id));
                }
                assert_eq!(totals, POSTS, "{what}");
                let distinct: BTreeSet<&String> = ids.iter().collect();
                assert_eq!(distinct.len(), ids.len(), "{what}: no post twice");
                let every: BTreeSet<String> = (0..POSTS).map(post_id).collect();
                assert_eq!(
                    distinct.into_iter().cloned().collect::<BTreeSet<_>>(),
                    every,
                    "{what}"
                );
                index.close_snapshot(&snapshot.id).await.unwrap();
                let model = model.lock().unwrap();
                assert!(model.problems.is_empty(), "{what}: {:?}", model.problems);
                assert!(model.deleted, "{what}");
                drop(fake);
            }
        }
    }
}

#[tokio::test]
async fn pages_carry_the_refreshed_pit_the_slice_and_the_last_sort_values() {
    for engine in ENGINES {
        let (index, fake, _model) = index_over(engine).await;
        let snapshot = index
            .open_snapshot(&served_query(), KEEP_ALIVE)
            .await
            .unwrap()
            .unwrap();
        let slice = Slice { index: 1, count: 2 };
        let scan = index
            .scan_slice(
                &snapshot.id,
                &served_query(),
                slice,
                NonZeroUsize::new(4).unwrap(),
            )
            .await
            .unwrap();
        read_all(scan).await;
        let pages: Vec<Value> = fake
            .requests_to("POST", "/_search")
            .iter()
            .map(Seen::json)
            .filter(|body| body["size"] != 0)
            .collect();
        // Slice 1 of 2 holds the 11 odd posts.
        let sort = sde_elasticsearch::pit::slice_sort(engine);
        assert_eq!(
            pages[0],
            query::pit_page_body(&served_query(), "pit-2", "20m", slice, &sort, 4, None),
            "{engine:?}: the first page"
        );
        assert_eq!(pages[0]["slice"], json!({"id": 1, "max": 2}));
        let after: Vec<&Value> = pages[1..].iter().map(|p| &p["search_after"]).collect();
        match engine {
            Engine::OpenSearch => {
                // In `_doc` order the odd posts are 1, 3, 5, 7 | 9, 11, 13 | 15, 17, 19 | 21.
                // Page 1 ends with post 7 (document 2 of shard 1), so page 2 asks from
                // document 2 on (after 1) and drops post 7 again; and so on. The last page is
                // not full, which ends the slice.
                assert_eq!(after, [&json!([1]), &json!([3]), &json!([5])]);
            }
            Engine::Elasticsearch => {
                // In `_shard_doc` order: shard 0's 3, 9, 15, 21, shard 1's 1, 7, 13, 19, then
                // shard 2's 5, 11, 17; each page continues after the last hit's value, post 21
                // (shard 0, doc 7) then post 19 (shard 1, doc 6).
                assert_eq!(after, [&json!([7]), &json!([(1i64 << 32) | 6])]);
            }
        }
        // Each next page carries the PIT id of the answer before it.
        for (n, page) in pages.iter().enumerate().skip(1) {
            assert_eq!(page["pit"]["id"], format!("pit-{}", n + 2), "{engine:?}");
            assert_eq!(page["slice"], pages[0]["slice"]);
            assert_eq!(page["track_total_hits"], false);
        }
        // A slice holds nothing of its own: reading it sent no delete.
        assert!(fake.seen().iter().all(|r| r.method != "DELETE"));
    }
}

#[tokio::test]
async fn closing_deletes_the_pit_and_a_pit_already_gone_is_closed() {
    for engine in ENGINES {
        let (index, fake, _model) = index_over(engine).await;
        let snapshot = index
            .open_snapshot(&served_query(), KEEP_ALIVE)
            .await
            .unwrap()
            .unwrap();
        index.close_snapshot(&snapshot.id).await.unwrap();
        // Gone: OpenSearch answers 200 with `successful: false`, Elasticsearch 404.
        index.close_snapshot(&snapshot.id).await.unwrap();
        let deletes: Vec<Seen> = fake
            .seen()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .collect();
        assert_eq!(deletes.len(), 2);
        match engine {
            Engine::OpenSearch => {
                assert_eq!(deletes[0].path(), "/_search/point_in_time");
                assert_eq!(deletes[0].json(), json!({"pit_id": ["pit-2"]}));
            }
            Engine::Elasticsearch => {
                assert_eq!(deletes[0].path(), "/_pit");
                assert_eq!(deletes[0].json(), json!({"id": "pit-2"}));
            }
        }
    }
}

/// An index over a fake that answers every request with `reply(request)`.
async fn answering(
    engine: Engine,
    reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> (EsIndex, FakeCluster) {
    let fake = FakeCluster::start(move |request, _| reply(request)).await;
    let mut config = EsConfig::new(fake.url()).unwrap();
    config.engine = engine;
    (EsIndex::new(&config).unwrap(), fake)
}

#[tokio::test]
async fn a_cluster_without_point_in_time_keeps_the_single_scroll() {
    // How clusters refuse a route they do not have: OpenSearch before 2.4 and Elasticsearch
    // answer an unknown path with 400 "no handler found", a known path with another method
    // with 405; a wrong-engine path may also come back 404 from a proxy.
    let refusals = [
        (
            400,
            json!({"error": "no handler found for uri [/posts/_search/point_in_time?keep_alive=20m&allow_partial_pit_creation=false] and method [POST]"}),
        ),
        (
            405,
            json!({"error": "Incorrect HTTP method for uri [/posts/_pit?keep_alive=20m] and method [POST], allowed: [GET]", "status": 405}),
        ),
        (404, json!({"error": "Not Found"})),
    ];
    for engine in ENGINES {
        for (status, body) in &refusals {
            let reply = Reply::value(*status, body);
            let (index, fake) = answering(engine, move |_| reply.clone()).await;
            let snapshot = index
                .open_snapshot(&served_query(), KEEP_ALIVE)
                .await
                .unwrap();
            assert_eq!(snapshot, None, "{engine:?} {status}");
            assert_eq!(fake.seen().len(), 1, "nothing more is sent");
        }
    }
}

#[tokio::test]
async fn a_cluster_that_cannot_sort_a_pit_by_shard_doc_keeps_the_single_scroll() {
    // Elasticsearch 7.10 and 7.11 open a PIT but have no `_shard_doc`: the count, sorted the way
    // the slices would page, is refused, and the PIT is deleted again.
    let (index, fake) = answering(Engine::Elasticsearch, |request| {
        match (request.method.as_str(), request.path()) {
            ("POST", "/posts/_pit") => Reply::value(200, &json!({"id": "pit-1"})),
            ("POST", "/_search") => Reply::value(
                400,
                &json!({"error": {"root_cause": [{"type": "query_shard_exception",
                "reason": "No mapping found for [_shard_doc] in order to sort on",
                "index": "posts"}], "type": "search_phase_execution_exception",
                "reason": "all shards failed"}, "status": 400}),
            ),
            _ => Reply::value(200, &json!({"succeeded": true, "num_freed": 1})),
        }
    })
    .await;
    let snapshot = index
        .open_snapshot(&served_query(), KEEP_ALIVE)
        .await
        .unwrap();
    assert_eq!(snapshot, None);
    let count = fake.requests_to("POST", "/_search");
    assert_eq!(count[0].json()["sort"], json!([{"_shard_doc": "asc"}]));
    let deletes = fake.requests_to("DELETE", "/_pit");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].json(), json!({"id": "pit-1"}));
}

#[tokio::test]
async fn a_missing_index_or_a_failing_cluster_is_an_error_not_a_single_scroll() {
    let missing = json!({"error": {"root_cause": [{"type": "index_not_found_exception",
        "reason": "no such index [posts]"}], "type": "index_not_found_exception",
        "reason": "no such index [posts]"}, "status": 404});
    for (status, body, kind) in [
        (404, missing, IndexErrorKind::Unavailable),
        (503, json!({}), IndexErrorKind::Unavailable),
        (429, json!({}), IndexErrorKind::Unavailable),
    ] {
        let reply = Reply::value(status, &body);
        let (index, _fake) = answering(Engine::OpenSearch, move |_| reply.clone()).await;
        let error = index
            .open_snapshot(&served_query(), KEEP_ALIVE)
            .await
            .unwrap_err();
        assert_eq!(error.kind, kind, "{status}");
    }
}

/// OpenSearch's answer to a PIT it no longer has (an expired or deleted one).
fn expired() -> Reply {
    Reply::value(
        404,
        &json!({"error": {"root_cause": [{"type": "search_context_missing_exception",
            "reason": "No search context found for id [91]"}],
            "type": "search_phase_execution_exception", "reason": "all shards failed",
            "phase": "query", "grouped": true, "failed_shards": [{"shard": -1, "index": null,
            "reason": {"type": "search_context_missing_exception",
                       "reason": "No search context found for id [91]"}}]}, "status": 404}),
    )
}

#[tokio::test]
async fn an_expired_pit_is_rejected_when_a_slice_opens_and_midway() {
    // Expired before the slice's first page.
    let (index, _fake) = answering(Engine::OpenSearch, |_| expired()).await;
    let error = failed(
        index
            .scan_slice(
                "opensearch:20m:pit-9",
                &served_query(),
                Slice { index: 0, count: 2 },
                NonZeroUsize::new(2).unwrap(),
            )
            .await,
    );
    assert_eq!(error.kind, IndexErrorKind::Rejected);
    assert!(!error.kind.is_transient());

    // Expired between the first page and the second: the scan errs, then stays failed.
    let (index, _fake) = answering(Engine::OpenSearch, |request| {
        if request.json().get("search_after").is_some() {
            return expired();
        }
        let hits: Vec<Value> = (0..2u64)
            .map(|i| {
                json!({"_index": "posts", "_id": post_id(i), "_score": null,
                            "_source": source(i), "sort": [i]})
            })
            .collect();
        Reply::value(200, &answer("pit-9", Some(5), hits))
    })
    .await;
    let mut scan = index
        .scan_slice(
            "opensearch:20m:pit-9",
            &served_query(),
            Slice { index: 0, count: 2 },
            NonZeroUsize::new(2).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(scan.total(), 5);
    let mut batch = Vec::new();
    assert!(scan.next_batch(&mut batch).await.unwrap());
    let error = scan.next_batch(&mut batch).await.unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Rejected);
    let again = scan.next_batch(&mut batch).await.unwrap_err();
    assert_eq!(again.kind, IndexErrorKind::Rejected);
    scan.close().await.unwrap();
}

#[tokio::test]
async fn a_page_with_failed_shards_or_timed_out_is_an_error() {
    let partial = |request: &Seen| {
        let mut body = answer("pit-9", Some(5), Vec::new());
        if request.json().get("search_after").is_none() {
            body["_shards"] = json!({"total": 3, "successful": 2, "skipped": 0, "failed": 1,
                "failures": [{"shard": 1, "index": "posts", "node": "n1",
                "reason": {"type": "rejected_execution_exception", "reason": "queue full"}}]});
        }
        Reply::value(200, &body)
    };
    let (index, _fake) = answering(Engine::OpenSearch, partial).await;
    let slice = Slice { index: 0, count: 2 };
    let batch = NonZeroUsize::new(2).unwrap();
    let error = failed(
        index
            .scan_slice("opensearch:20m:pit-9", &served_query(), slice, batch)
            .await,
    );
    assert_eq!(error.kind, IndexErrorKind::Unavailable);

    let (index, _fake) = answering(Engine::Elasticsearch, |_| {
        let mut body = answer("pit-9", Some(5), Vec::new());
        body["timed_out"] = json!(true);
        Reply::value(200, &body)
    })
    .await;
    let error = failed(
        index
            .scan_slice("elasticsearch:20m:pit-9", &served_query(), slice, batch)
            .await,
    );
    assert_eq!(error.kind, IndexErrorKind::Timeout);
}

#[tokio::test]
async fn a_pit_opened_on_some_shards_or_a_failed_count_is_closed_again() {
    // OpenSearch left a shard out of the PIT: its posts would be missing from every slice.
    let (index, fake) = answering(Engine::OpenSearch, |request| {
        match request.method.as_str() {
            "POST" => Reply::value(
                200,
                &json!({"pit_id": "pit-1", "_shards": {"total": 3, "successful": 2, "skipped": 0,
                    "failed": 1}, "creation_time": 1}),
            ),
            _ => Reply::value(
                200,
                &json!({"pits": [{"successful": true, "pit_id": "pit-1"}]}),
            ),
        }
    })
    .await;
    let error = index
        .open_snapshot(&served_query(), KEEP_ALIVE)
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
    assert_eq!(
        fake.requests_to("DELETE", "/_search/point_in_time").len(),
        1
    );

    // The count fails: the PIT just opened is deleted, the error kept.
    let (index, fake) = answering(Engine::Elasticsearch, |request| {
        match (request.method.as_str(), request.path()) {
            ("POST", "/posts/_pit") => Reply::value(200, &json!({"id": "pit-1"})),
            ("POST", "/_search") => Reply::value(503, &json!({})),
            _ => Reply::value(200, &json!({"succeeded": true, "num_freed": 1})),
        }
    })
    .await;
    let error = index
        .open_snapshot(&served_query(), KEEP_ALIVE)
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
    let deletes = fake.requests_to("DELETE", "/_pit");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].json(), json!({"id": "pit-1"}));
}

#[tokio::test]
async fn unknown_snapshots_and_slices_are_rejected_without_a_request() {
    let (index, fake) = answering(Engine::OpenSearch, |_| Reply::value(500, &json!({}))).await;
    let batch = NonZeroUsize::new(2).unwrap();
    for (snapshot, slice) in [
        ("pit-9", Slice { index: 0, count: 2 }),
        ("opensearch:20m:pit-9", Slice { index: 2, count: 2 }),
    ] {
        let error = failed(
            index
                .scan_slice(snapshot, &served_query(), slice, batch)
                .await,
        );
        assert_eq!(error.kind, IndexErrorKind::Rejected, "{snapshot} {slice:?}");
    }
    let error = index.close_snapshot("not-ours").await.unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Rejected);
    assert!(fake.seen().is_empty());
}
