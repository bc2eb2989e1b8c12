//! The `PostStore` contract (`sde_core::testing::post_store`) run against `EsIndex`, through the
//! real `elasticsearch` client, against the fake cluster of `sde_elasticsearch::testing`, once per
//! engine (Elasticsearch 7, Elasticsearch 8, OpenSearch 2), and the one request a new post is.
//!
//! The fake answers exactly one request with the hand-written `index_created.json` of
//! `tests/fixtures/<engine>/`: `PUT /posts/_doc/<id of new_post>?refresh=wait_for` whose body is
//! that post's `_source`, field for field. Anything else — another index, id, body, method or
//! refresh policy — gets a 500 saying the fake has no answer, so the served checks pass only if
//! `EsIndex` sends that request. It cannot make the post searchable, so the semantics part runs
//! against the embedded index (and against a real cluster in `live_cluster.rs` when
//! `SDE_TEST_ES_URL` names one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::PostStore;
use sde_core::testing::new_post;
use sde_core::testing::post_store::faults::WriteFault;
use sde_elasticsearch::testing::{FakeCluster, Reply, Seen, fixture_json, unreachable_url};
use sde_elasticsearch::{EsConfig, EsIndex};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// `EsIndex` with the fake cluster it talks to, kept alive as long as the index.
#[derive(Debug)]
struct OverFake {
    index: EsIndex,
    _cluster: Option<FakeCluster>,
}

#[async_trait::async_trait]
impl PostStore for OverFake {
    async fn put(&self, post: &sde_core::Post) -> Result<(), sde_core::IndexError> {
        self.index.put(post).await
    }
}

fn over(cluster: Option<FakeCluster>, url: &str, timeout: Duration) -> Arc<dyn PostStore> {
    let mut config = EsConfig::new(url).unwrap();
    config.request_timeout = timeout;
    Arc::new(OverFake {
        index: EsIndex::new(&config).unwrap(),
        _cluster: cluster,
    })
}

async fn serving(
    respond: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
) -> Arc<dyn PostStore> {
    let cluster = FakeCluster::start(respond).await;
    let url = cluster.url().to_owned();
    over(Some(cluster), &url, Duration::from_secs(5))
}

/// Whether `request` is the one a cluster is sent to store `new_post()`.
fn is_the_new_post(request: &Seen) -> bool {
    request.method == "PUT"
        && request.target == "/posts/_doc/c0ffee00-0005-4a5b-9c1d-000000000005?refresh=wait_for"
        && request.json()
            == json!({
                "UserID": "3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b",
                "DateCreated": "2026-03-01T09:30:00.250Z",
                "Content": "A zeppelin over the harbour,\n\"so quiet\" — ünïcödé 🎈",
                "Tags": ["#zeppelin", "#harbour"]
            })
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

/// A cluster of `engine` answering the new post's index request: created the first time,
/// updated (version 2) when the same post comes again.
fn storing(engine: &'static str) -> impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static {
    move |request, n| {
        if !is_the_new_post(request) {
            return no_answer(request);
        }
        let mut answer = fixture_json(engine, "index_created.json");
        if n == 0 {
            return Reply::value(201, &answer);
        }
        answer["result"] = json!("updated");
        answer["_version"] = json!(n + 1);
        Reply::value(200, &answer)
    }
}

/// A cluster of `engine` that fails the new post's index request with `fault`.
fn failing(
    engine: &'static str,
    fault: WriteFault,
) -> impl Fn(&Seen, usize) -> Reply + Send + Sync {
    move |request, _| {
        if !is_the_new_post(request) {
            return no_answer(request);
        }
        match fault {
            WriteFault::Overloaded => Reply::fixture(429, engine, "error_429.json"),
            WriteFault::Unavailable => Reply::fixture(503, engine, "error_503.json"),
            WriteFault::Unreadable => {
                Reply::json(200, "<html><body><h1>502 Bad Gateway</h1></body></html>")
                    .with_header("content-type", "text/html")
            }
            WriteFault::RefusesThePost => Reply::fixture(400, engine, "index_refused.json"),
            WriteFault::TooSlow | WriteFault::Unreachable => Reply::Silence,
        }
    }
}

async fn open(engine: &'static str) -> Arc<dyn PostStore> {
    serving(storing(engine)).await
}

async fn make(engine: &'static str, fault: WriteFault) -> Arc<dyn PostStore> {
    match fault {
        WriteFault::Unreachable => over(None, &unreachable_url(), Duration::from_secs(5)),
        WriteFault::TooSlow => {
            let cluster = FakeCluster::start(|_, _| Reply::Silence).await;
            let url = cluster.url().to_owned();
            over(Some(cluster), &url, Duration::from_millis(300))
        }
        _ => serving(failing(engine, fault)).await,
    }
}

macro_rules! engine {
    ($engine:ident) => {
        mod $engine {
            use sde_core::PostStore;
            use sde_core::testing::post_store::faults::WriteFault;
            use std::sync::Arc;

            async fn open() -> Arc<dyn PostStore> {
                super::open(stringify!($engine)).await
            }

            async fn make(fault: WriteFault) -> Arc<dyn PostStore> {
                super::make(stringify!($engine), fault).await
            }

            sde_core::post_store_tests!(served, open;
                a_new_post_is_stored,
                storing_the_same_post_again_succeeds,
            );

            sde_core::post_store_tests!(faults, make;
                overload_and_outages_are_transient_unavailable_errors,
                a_backend_too_slow_to_answer_is_a_timeout,
                an_unreadable_answer_is_corrupt,
                a_refused_post_is_rejected_and_not_transient,
            );
        }
    };
}

engine!(es7);
engine!(es8);
engine!(opensearch2);

/// What the cluster is sent, seen from the cluster's side: the configured index, the id in the
/// path, the post's `_source` as body, and `refresh=wait_for` — the request the served checks
/// depend on, spelled out.
#[tokio::test]
async fn a_new_post_is_one_put_of_its_source_under_its_id_that_waits_for_a_refresh() {
    let cluster = FakeCluster::start(|request, _| {
        let mut answer = fixture_json("opensearch2", "index_created.json");
        answer["_index"] = json!("posts-v2");
        answer["_id"] = json!(request.path().rsplit('/').next().unwrap_or_default());
        Reply::value(201, &answer)
    })
    .await;
    let mut config = EsConfig::new(cluster.url()).unwrap();
    config.index = "posts-v2".into();
    let index = EsIndex::new(&config).unwrap();
    let post = sde_core::Post {
        user_id: sde_core::UserId::Int(7),
        ..new_post()
    };

    index.put(&post).await.unwrap();

    let [request] = &cluster.seen()[..] else {
        panic!("one request expected: {:?}", cluster.seen());
    };
    assert_eq!(request.method, "PUT");
    assert_eq!(
        request.path(),
        "/posts-v2/_doc/c0ffee00-0005-4a5b-9c1d-000000000005"
    );
    assert_eq!(request.query(), Some("refresh=wait_for"));
    assert_eq!(
        request.json(),
        json!({
            "UserID": 7,
            "DateCreated": "2026-03-01T09:30:00.250Z",
            "Content": "A zeppelin over the harbour,\n\"so quiet\" — ünïcödé 🎈",
            "Tags": ["#zeppelin", "#harbour"]
        }),
        "the _source, with UserID keeping its JSON type"
    );
    assert!(
        request
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{:?}",
        request.headers
    );
}

#[tokio::test]
async fn an_answer_about_another_document_is_not_taken_for_success() {
    let store = serving(|_, _| {
        let mut answer = fixture_json("es8", "index_created.json");
        answer["_id"] = json!("someone-else");
        Reply::value(201, &answer)
    })
    .await;
    let error = store.put(&new_post()).await.unwrap_err();
    assert_eq!(error.kind, sde_core::IndexErrorKind::Corrupt, "{error}");
}
