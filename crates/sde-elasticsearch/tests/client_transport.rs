//! `ClientTransport` — the official `elasticsearch` client underneath `EsIndex` — against a
//! minimal HTTP server on 127.0.0.1 that records what arrives and answers with recorded bodies:
//! paths (with a proxy prefix), methods, JSON bodies and basic auth go out as intended; any
//! status comes back as is; no answer becomes `Unavailable` or `Timeout`.

// Helpers shared by tests panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sde_core::{IndexErrorKind, PageRequest, PostQuery, SearchIndex};
use sde_elasticsearch::{
    ClientTransport, EsConfig, EsIndex, EsMethod, EsRequest, EsTransport, Secret,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One request as the server saw it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one request with `status` and `body`, and hands back what it received.
async fn serve_once(status: u16, body: Vec<u8>) -> (String, oneshot::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the headers ended");
            received.extend_from_slice(&chunk[..n]);
            if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
        };
        let head = String::from_utf8(received[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut request_body = received[head_end + 4..].to_vec();
        while request_body.len() < length {
            let n = socket.read(&mut chunk).await.unwrap();
            request_body.extend_from_slice(&chunk[..n]);
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.shutdown().await.unwrap();
        let _ = seen_tx.send(Seen {
            request_line,
            headers,
            body: request_body,
        });
    });
    (format!("http://{address}"), seen_rx)
}

fn fixture(engine: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/{engine}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn requests_carry_path_body_and_basic_auth_and_any_status_comes_back() {
    let error = fixture("opensearch2", "error_429.json");
    let (url, seen) = serve_once(429, error.clone()).await;
    let mut config = EsConfig::new(&url).unwrap();
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

    let seen = seen.await.unwrap();
    assert_eq!(
        seen.request_line,
        "POST /posts/_search?scroll=2m&allow_partial_search_results=false HTTP/1.1"
    );
    assert_eq!(
        seen.header("authorization"),
        Some("Basic c2RlLXJlYWRlcjpwYTpzcyB3MHJk")
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&seen.body).unwrap(), body);
}

#[tokio::test]
async fn clearing_a_scroll_is_a_delete_with_a_body() {
    let (url, seen) = serve_once(200, fixture("es7", "clear_scroll.json")).await;
    let transport = ClientTransport::new(&EsConfig::new(&url).unwrap()).unwrap();
    let response = transport
        .send(EsRequest {
            method: EsMethod::Delete,
            path: "_search/scroll".into(),
            body: json!({"scroll_id": ["abc"]}),
        })
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let seen = seen.await.unwrap();
    assert_eq!(seen.request_line, "DELETE /_search/scroll HTTP/1.1");
    assert_eq!(
        serde_json::from_slice::<Value>(&seen.body).unwrap(),
        json!({"scroll_id": ["abc"]})
    );
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test]
async fn a_search_through_a_proxy_prefix_reads_the_recorded_page() {
    let (url, seen) = serve_once(200, fixture("es8", "search_ok.json")).await;
    let config = EsConfig::new(&format!("{url}/search-proxy")).unwrap();
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
    let seen = seen.await.unwrap();
    assert!(
        seen.request_line
            .starts_with("POST /search-proxy/posts/_search?preference=sde-"),
        "{}",
        seen.request_line
    );
}

#[tokio::test]
async fn a_cluster_that_refuses_connections_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = EsConfig::new(&format!("http://{address}")).unwrap();
    let error = EsIndex::new(&config)
        .unwrap()
        .search(&PostQuery::default(), PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Unavailable);
}

#[tokio::test]
async fn a_cluster_that_does_not_answer_in_time_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Accepts the connection, then says nothing.
    let silent = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let mut config = EsConfig::new(&format!("http://{address}")).unwrap();
    config.request_timeout = Duration::from_millis(300);
    let error = EsIndex::new(&config)
        .unwrap()
        .search(&PostQuery::default(), PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind, IndexErrorKind::Timeout);
    silent.abort();
}
