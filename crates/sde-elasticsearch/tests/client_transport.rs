//! `ClientTransport` — the official `elasticsearch` client underneath `EsIndex` — against the
//! fake cluster of `sde_elasticsearch::testing`, which keeps what arrives and answers with the
//! hand-written fixture bodies:
//! paths (with a proxy prefix), methods, JSON bodies and basic auth go out as intended; any
//! status comes back as is; no answer becomes `Unavailable` or `Timeout`.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::{IndexErrorKind, PageRequest, PostQuery, SearchIndex};
use sde_elasticsearch::testing::{FakeCluster, Reply, fixture, unreachable_url};
use sde_elasticsearch::{
    ClientTransport, EsConfig, EsIndex, EsMethod, EsRequest, EsTransport, Secret,
};
use serde_json::json;
use std::time::Duration;

/// A cluster that answers every request with `status` and `body`.
async fn answering(status: u16, body: Vec<u8>) -> FakeCluster {
    FakeCluster::start(move |_, _| Reply::json(status, body.clone())).await
}

#[tokio::test]
async fn requests_carry_path_body_and_basic_auth_and_any_status_comes_back() {
    let error = fixture("opensearch2", "error_429.json");
    let cluster = answering(429, error.clone()).await;
    let mut config = EsConfig::new(cluster.url()).unwrap();
    config.username = Some("sde-reader".into());
    config.password = Some(Secret::new("pa:ss w0rd"));
    let transport = ClientTransport::new(&config).unwrap();
    assert!(!format!("{transport:?}").contains("w0rd"));

    let body = json!({"query": {"match_all": {}}, "size": 2, "sort": ["_doc"]});
    let response = transport
        .send(EsRequest {
            method: EsMethod::Post,
            path: "posts/_search?scroll=2m&allow_partial_search_results=false".into(),
            body: body.clone(),
        })
        .await
        .unwrap();
    assert_eq!(response.status, 429);
    assert_eq!(response.body, error);

    let [seen] = &cluster.seen()[..] else {
        panic!("one request expected");
    };
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.target,
        "/posts/_search?scroll=2m&allow_partial_search_results=false"
    );
    assert_eq!(
        seen.header("authorization"),
        Some("Basic c2RlLXJlYWRlcjpwYTpzcyB3MHJk")
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.json(), body);
}

#[tokio::test]
async fn clearing_a_scroll_is_a_delete_with_a_body() {
    let cluster = answering(200, fixture("es7", "clear_scroll.json")).await;
    let transport = ClientTransport::new(&EsConfig::new(cluster.url()).unwrap()).unwrap();
    let response = transport
        .send(EsRequest {
            method: EsMethod::Delete,
            path: "_search/scroll".into(),
            body: json!({"scroll_id": ["abc"]}),
        })
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let [seen] = &cluster.seen()[..] else {
        panic!("one request expected");
    };
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("DELETE", "/_search/scroll")
    );
    assert_eq!(seen.json(), json!({"scroll_id": ["abc"]}));
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test]
async fn a_search_through_a_proxy_prefix_reads_the_fixture_page() {
    let cluster = answering(200, fixture("es8", "search_ok.json")).await;
    let config = EsConfig::new(&format!("{}/search-proxy", cluster.url())).unwrap();
    let index = EsIndex::new(&config).unwrap();
    let query = PostQuery {
        terms: vec!["cats".into()],
        ..PostQuery::default()
    };
    let page = index
        .search(&query, PageRequest { number: 0, size: 3 })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(page.posts.len(), 3);
    let seen = &cluster.seen()[0];
    assert_eq!(seen.method, "POST");
    assert!(
        seen.target
            .starts_with("/search-proxy/posts/_search?preference=sde-"),
        "{}",
        seen.target
    );
}

#[tokio::test]
async fn a_cluster_that_refuses_connections_is_unavailable() {
    let config = EsConfig::new(&unreachable_url()).unwrap();
    let error = EsIndex::new(&config)
        .unwrap()
        .search(&PostQuery::default(), PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
}

#[tokio::test]
async fn a_cluster_that_does_not_answer_in_time_is_a_timeout() {
    // Accepts the connection, reads the request, then says nothing.
    let cluster = FakeCluster::start(|_, _| Reply::Silence).await;
    let mut config = EsConfig::new(cluster.url()).unwrap();
    config.request_timeout = Duration::from_millis(300);
    let error = EsIndex::new(&config)
        .unwrap()
        .search(&PostQuery::default(), PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Timeout);
}
