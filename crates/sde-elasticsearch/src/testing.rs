//! Test support (feature `testing`): a fake Elasticsearch HTTP server on 127.0.0.1 that records
//! every request and answers each with whatever the test's responder returns — usually one of
//! the hand-written fixtures under `tests/fixtures/<engine>/` — so the real client, its
//! transport, and everything above it run without a cluster. Shared by this crate's tests and
//! the importer's.
//!
//! The fixtures were written by hand in the shapes the engines' API specifications and
//! reference pages document (`tests/fixtures/README.md` names the source of each); no cluster
//! was reachable to record them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The engines the fixtures cover, by folder name.
pub const ENGINES: [&str; 3] = ["es7", "es8", "opensearch2"];

/// The bytes of `tests/fixtures/<engine>/<name>`; panics if it is missing.
pub fn fixture(engine: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        engine,
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// [`fixture`] as JSON.
pub fn fixture_json(engine: &str, name: &str) -> Value {
    serde_json::from_slice(&fixture(engine, name))
        .unwrap_or_else(|e| panic!("{engine}/{name} is not JSON: {e}"))
}

/// One request as the fake cluster received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`, `HEAD`, …
    pub method: String,
    /// The request target: path and query string, e.g. `/posts/_search?scroll=2m`.
    pub target: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty when there was none).
    pub body: Vec<u8>,
}

impl Seen {
    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{} {}: the body is not JSON: {e}", self.method, self.target)
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `_id` of every action line of an NDJSON `_bulk` body, in order.
    pub fn bulk_ids(&self) -> Vec<String> {
        self.text()
            .lines()
            .step_by(2)
            .map(|line| {
                let action: Value = serde_json::from_str(line).unwrap();
                let meta = action.as_object().and_then(|a| a.values().next()).unwrap();
                meta["_id"].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

/// What the fake cluster does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answers with this status, headers and body (`content-type: application/json` unless a
    /// header says otherwise).
    Answer {
        /// HTTP status.
        status: u16,
        /// Extra headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Reads the request and never answers, holding the connection open (a hung node).
    Silence,
}

impl Reply {
    /// A JSON (or any) body with `status`.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `value` serialised, with `status`.
    pub fn value(status: u16, value: &Value) -> Reply {
        Reply::json(status, serde_json::to_vec(value).unwrap())
    }

    /// The fixture `tests/fixtures/<engine>/<name>` with `status`.
    pub fn fixture(status: u16, engine: &str, name: &str) -> Reply {
        Reply::json(status, fixture(engine, name))
    }

    /// The same answer with one more header.
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Answer {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Reply::Answer {
                    status,
                    headers,
                    body,
                }
            }
            Reply::Silence => Reply::Silence,
        }
    }
}

type Responder = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A fake cluster listening on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct FakeCluster {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: JoinHandle<()>,
}

impl FakeCluster {
    /// Starts a server that answers each request with `respond(request, n)`, where `n` counts
    /// the earlier requests with the same method and path (query string ignored), from 0.
    pub async fn start(respond: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let respond: Arc<Responder> = Arc::new(respond);
        let server = tokio::spawn(async move {
            // Dropping the set (when the server task is aborted) ends every connection too.
            let mut connections = JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                connections.spawn(serve(socket, Arc::clone(&log), Arc::clone(&respond)));
                while connections.try_join_next().is_some() {}
            }
        });
        FakeCluster { url, seen, server }
    }

    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The requests received with `method` to `path` (query string ignored).
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|r| r.method == method && r.path() == path)
            .collect()
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(mut socket: TcpStream, log: Arc<Mutex<Vec<Seen>>>, respond: Arc<Responder>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    let reply = {
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let n = log
            .iter()
            .filter(|r| r.method == request.method && r.path() == request.path())
            .count();
        log.push(request.clone());
        if request.header("transfer-encoding").is_some() {
            Reply::json(501, "the fake cluster reads content-length bodies only")
        } else {
            respond(&request, n)
        }
    };
    match reply {
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let body = if request.method == "HEAD" {
                Vec::new()
            } else {
                body
            };
            let mut head = format!("HTTP/1.1 {status} Fake\r\n");
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("content-type: application/json\r\n");
            }
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            ));
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
        Reply::Silence => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            drop(socket);
        }
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Seen> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body: data[head_end..].to_vec(),
    })
}

/// A `_bulk` answer with one item per document of `request`, shaped like the bulk API's
/// documented response (`took`, `errors`, `items[].index` with `_index`, `_id`, `status` and, on
/// failure, `error.type`/`error.reason`). `status_of(position)` picks each item's status: 2xx is
/// indexed, 429 a full write queue, anything else a mapping error.
pub fn bulk_reply(request: &Seen, status_of: impl Fn(usize) -> u16) -> Reply {
    let index = request
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let items: Vec<Value> = request
        .bulk_ids()
        .iter()
        .enumerate()
        .map(|(i, id)| match status_of(i) {
            status @ 200..=299 => json!({"index": {
                "_index": index, "_id": id, "_version": 1, "result": "created",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": i, "_primary_term": 1, "status": status}}),
            429 => json!({"index": {"_index": index, "_id": id, "status": 429, "error": {
                "type": "es_rejected_execution_exception",
                "reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=54215758, max_coordinating_and_primary_bytes=53687091]"}}}),
            status => json!({"index": {"_index": index, "_id": id, "status": status, "error": {
                "type": "mapper_parsing_exception",
                "reason": "failed to parse field [DateCreated] of type [date] in document with id '".to_owned() + id + "'. Preview of field's value: 'yesterday'"}}}),
        })
        .collect();
    let errors = items.iter().any(|i| i["index"]["error"].is_object());
    Reply::value(200, &json!({"took": 3, "errors": errors, "items": items}))
}

/// A URL where nothing listens (a port bound and released again).
pub fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}
