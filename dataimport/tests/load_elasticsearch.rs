//! Loading into Elasticsearch, through the real client, against the fake cluster of
//! `sde_elasticsearch::testing`: batching and progress, index creation with the explicit
//! mapping, retries of throttled requests and throttled items, clear errors for rejected
//! documents, credentials from the URL, and refusals before any request. The `_bulk` answers
//! follow the bulk API's documented response shape (`testing::bulk_reply`).

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::Post;
use sde_dataimport::elasticsearch::{index_mapping, load, load_with};
use sde_dataimport::generate::{GeneratorConfig, PostGenerator};
use sde_dataimport::{LoadError, LoadOptions, RetryPolicy};
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen, bulk_reply, unreachable_url};
use std::sync::Mutex;
use std::time::Duration;

/// A cluster whose `posts` index exists and whose `_bulk` answers come from `bulk`.
async fn with_index(bulk: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> FakeCluster {
    FakeCluster::start(
        move |request, n| match (request.method.as_str(), request.path()) {
            ("HEAD", "/posts") => Reply::json(200, ""),
            ("POST" | "PUT", "/posts/_bulk") => bulk(request, n),
            ("GET" | "POST", "/posts/_refresh") => {
                Reply::json(200, r#"{"_shards":{"total":2,"successful":1,"failed":0}}"#)
            }
            _ => Reply::json(
                404,
                r#"{"error":"the fake cluster has no answer for this"}"#,
            ),
        },
    )
    .await
}

fn all_created(request: &Seen) -> Reply {
    bulk_reply(request, |_| 201)
}

fn posts(n: usize) -> impl Iterator<Item = Post> {
    PostGenerator::new(GeneratorConfig::default()).take(n)
}

fn fast(batch_size: usize) -> LoadOptions {
    LoadOptions {
        batch_size,
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        request_timeout: Duration::from_secs(5),
        refresh: true,
    }
}

fn bulk_requests(cluster: &FakeCluster) -> Vec<Seen> {
    cluster
        .seen()
        .into_iter()
        .filter(|r| r.path().ends_with("/_bulk"))
        .collect()
}

#[tokio::test]
async fn a_throttled_bulk_request_is_retried_and_then_succeeds() {
    let cluster = with_index(|request, n| {
        if n == 0 {
            Reply::json(429, r#"{"error":"too many requests"}"#)
        } else {
            all_created(request)
        }
    })
    .await;
    let reported = Mutex::new(Vec::new());
    let loaded = load(cluster.url(), "posts", posts(25), 10, &|n| {
        reported.lock().unwrap().push(n)
    })
    .await
    .unwrap();
    assert_eq!(loaded, 25);
    assert_eq!(*reported.lock().unwrap(), [10, 20, 25]);
    let bulks = bulk_requests(&cluster);
    assert_eq!(bulks.len(), 4, "three batches, the first sent twice");
    assert_eq!(
        bulks[0].body, bulks[1].body,
        "the retry resends the same batch"
    );
    assert_eq!(
        bulks[0].header("content-type"),
        Some("application/x-ndjson")
    );
    let ids: Vec<String> = bulks[1..].iter().flat_map(Seen::bulk_ids).collect();
    let expected: Vec<String> = posts(25).map(|p| p.id).collect();
    assert_eq!(ids, expected);
    assert_eq!(cluster.seen().last().unwrap().path(), "/posts/_refresh");
}

#[tokio::test]
async fn every_bulk_line_pair_is_an_index_action_and_the_post_source() {
    let cluster = with_index(|request, _| all_created(request)).await;
    load_with(cluster.url(), "posts", posts(3), &fast(10), &|_| {})
        .await
        .unwrap();
    let [bulk] = &bulk_requests(&cluster)[..] else {
        panic!("one bulk request expected");
    };
    let text = bulk.text();
    assert!(text.ends_with('\n'), "a bulk body ends with a newline");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for (pair, post) in lines.chunks(2).zip(posts(3)) {
        // The index is in the path, so the action names only the id.
        assert_eq!(pair[0], serde_json::json!({"index": {"_id": post.id}}));
        let (_, source) = post.into_source();
        assert_eq!(pair[1], serde_json::to_value(source).unwrap());
    }
}

#[tokio::test]
async fn an_item_level_error_surfaces_with_its_reason() {
    let cluster =
        with_index(|request, _| bulk_reply(request, |i| if i == 1 { 400 } else { 201 })).await;
    let err = load_with(cluster.url(), "posts", posts(5), &fast(10), &|_| {})
        .await
        .unwrap_err();
    match &err {
        LoadError::Item {
            loaded,
            failed,
            batch,
            id,
            status,
            kind,
            reason,
        } => {
            assert_eq!((*loaded, *failed, *batch, *status), (0, 1, 5, 400));
            assert_eq!(id, "2a-00000001");
            assert_eq!(kind, "mapper_parsing_exception");
            assert!(reason.contains("DateCreated"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("failed to parse field [DateCreated]"),
        "{err}"
    );
    assert_eq!(
        bulk_requests(&cluster).len(),
        1,
        "rejected documents are not retried"
    );
}

#[tokio::test]
async fn only_throttled_items_are_resent() {
    let cluster =
        with_index(|request, n| bulk_reply(request, |i| if n == 0 && i == 2 { 429 } else { 201 }))
            .await;
    let loaded = load_with(cluster.url(), "posts", posts(4), &fast(10), &|_| {})
        .await
        .unwrap();
    assert_eq!(loaded, 4);
    let bulks = bulk_requests(&cluster);
    assert_eq!(bulks.len(), 2);
    assert_eq!(bulks[1].bulk_ids(), ["2a-00000002"]);
}

#[tokio::test]
async fn a_missing_index_is_created_with_the_explicit_mapping() {
    let cluster = FakeCluster::start(|request, _| match request.method.as_str() {
        "HEAD" => Reply::json(404, ""),
        "PUT" => Reply::json(
            200,
            r#"{"acknowledged":true,"shards_acknowledged":true,"index":"posts"}"#,
        ),
        _ if request.path().ends_with("/_bulk") => all_created(request),
        _ => Reply::json(200, "{}"),
    })
    .await;
    load_with(cluster.url(), "posts", posts(3), &fast(10), &|_| {})
        .await
        .unwrap();
    let [put] = &cluster.requests_to("PUT", "/posts")[..] else {
        panic!("one create-index request expected");
    };
    assert_eq!(put.header("content-type"), Some("application/json"));
    let mapping = put.json();
    assert_eq!(mapping, index_mapping());
    assert_eq!(
        mapping["mappings"]["properties"]["UserID"]["type"],
        "keyword"
    );
}

#[tokio::test]
async fn an_index_created_meanwhile_by_someone_else_is_fine() {
    let cluster = FakeCluster::start(|request, _| match request.method.as_str() {
        "HEAD" => Reply::json(404, ""),
        "PUT" => Reply::json(
            400,
            r#"{"error":{"root_cause":[{"type":"resource_already_exists_exception","reason":"index [posts/x] already exists"}],"type":"resource_already_exists_exception","reason":"index [posts/x] already exists"},"status":400}"#,
        ),
        _ if request.path().ends_with("/_bulk") => all_created(request),
        _ => Reply::json(200, "{}"),
    })
    .await;
    let loaded = load_with(cluster.url(), "posts", posts(2), &fast(10), &|_| {})
        .await
        .unwrap();
    assert_eq!(loaded, 2);
}

#[tokio::test]
async fn credentials_in_the_url_become_basic_auth_and_a_path_prefix_is_kept() {
    let cluster = FakeCluster::start(|request, _| match request.path() {
        "/es/posts" => Reply::json(200, ""),
        "/es/posts/_bulk" => all_created(request),
        "/es/posts/_refresh" => Reply::json(200, "{}"),
        _ => Reply::json(404, "{}"),
    })
    .await;
    let url = cluster
        .url()
        .replace("http://", "http://elastic:p%40ss:w%25rd@")
        + "/es";
    load_with(&url, "posts", posts(2), &fast(10), &|_| {})
        .await
        .unwrap();
    let seen = cluster.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in seen {
        assert_eq!(
            request.header("authorization"),
            Some("Basic ZWxhc3RpYzpwQHNzOnclcmQ="),
            "{request:?}"
        );
        assert!(!request.target.contains("elastic"), "{request:?}");
    }
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_attempt_budget() {
    let cluster = with_index(|_, _| {
        Reply::json(
            503,
            r#"{"error":{"root_cause":[],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":503}"#,
        )
    })
    .await;
    let err = load_with(cluster.url(), "posts", posts(3), &fast(10), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Status {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("all shards failed"), "{err}");
    assert_eq!(bulk_requests(&cluster).len(), 4);
}

#[tokio::test]
async fn a_retry_after_header_is_honoured_within_the_backoff_cap() {
    let cluster = with_index(|request, n| {
        if n == 0 {
            Reply::json(429, r#"{"error":"slow down"}"#).with_header("Retry-After", "1")
        } else {
            all_created(request)
        }
    })
    .await;
    let mut options = fast(10);
    options.retry.max_backoff = Duration::from_millis(600);
    let started = std::time::Instant::now();
    load_with(cluster.url(), "posts", posts(1), &options, &|_| {})
        .await
        .unwrap();
    let waited = started.elapsed();
    // Retry-After: 1 s, capped at 600 ms: far longer than the 5 ms backoff, never a full second.
    assert!(waited >= Duration::from_millis(550), "{waited:?}");
    assert!(waited < Duration::from_millis(1_000), "{waited:?}");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let cluster = with_index(|_, _| {
        Reply::json(
            400,
            r#"{"error":{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\n]"},"status":400}"#,
        )
    })
    .await;
    let err = load_with(cluster.url(), "posts", posts(3), &fast(10), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Status {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(bulk_requests(&cluster).len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let err = load_with(&unreachable_url(), "posts", posts(3), &fast(10), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, LoadError::Http { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn bad_urls_and_index_names_fail_before_any_request() {
    for name in ["", "Posts", "a/b", "_posts", "a b", "..", "x#y", "100%"] {
        let err = load("http://127.0.0.1:1", name, posts(1), 10, &|_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, LoadError::InvalidIndexName(_)),
            "{name:?}: {err:?}"
        );
        assert!(err.to_string().contains("is not an index name"), "{err}");
    }
    for url in [
        "not a url",
        "ftp://host",
        "https://host:9200/?pretty",
        // Credentials would cross the network in clear text.
        "http://elastic:changeme@es.internal:9200",
    ] {
        let err = load(url, "posts", posts(1), 10, &|_| {}).await.unwrap_err();
        assert!(matches!(err, LoadError::Config(_)), "{url}: {err:?}");
        assert!(
            !format!("{err:?}").contains("changeme"),
            "the password never prints: {err:?}"
        );
    }
}
