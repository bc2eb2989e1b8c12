//! Drives a real local stack, started on port 0 over a temporary data directory, through its
//! public HTTP and WebSocket API — the way the frontend does.

#![allow(dead_code)]

pub mod hosts;

use futures::{SinkExt, StreamExt};
use sde_local::{RunningStack, StackConfig, StoreLayer};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Posts seeded into every test stack; small enough to export quickly, big enough to span
/// several batches and parts.
pub const SEED_POSTS: u64 = 3_000;

pub struct TestApp {
    pub stack: Option<RunningStack>,
    pub url: String,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
}

pub fn config(data_dir: PathBuf) -> StackConfig {
    let mut config = StackConfig::new("127.0.0.1:0".parse().unwrap(), data_dir);
    config.seed_posts = SEED_POSTS;
    config.time_scale = 0.01;
    config.export.batch_size = std::num::NonZeroUsize::new(500).unwrap();
    config
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut StackConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Self::spawn_in(dir.path().to_path_buf(), adjust).await;
        app._dir = Some(dir);
        app
    }

    pub async fn spawn_in(data_dir: PathBuf, adjust: impl FnOnce(&mut StackConfig)) -> TestApp {
        let mut config = config(data_dir.clone());
        adjust(&mut config);
        let stack = sde_local::start(config).await.unwrap();
        TestApp {
            url: stack.base_url.clone(),
            stack: Some(stack),
            data_dir,
            _dir: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn with_store_layer(layer: StoreLayer) -> impl FnOnce(&mut StackConfig) {
        move |config| config.store_layer = Some(layer)
    }

    pub async fn shutdown(&mut self) {
        if let Some(stack) = self.stack.take() {
            stack.shutdown().await.unwrap();
        }
    }

    pub async fn token(&self, email: &str) -> String {
        let response = self
            .http
            .post(format!("{}/auth/token", self.url))
            .json(&json!({"email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["idToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// POSTs JSON with a bearer token; returns status and body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Calls `method path` with a bearer token and no body; returns status and body.
    pub async fn call(&self, method: reqwest::Method, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The caller's exports, as `GET /exports` lists them.
    pub async fn exports(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.call(reqwest::Method::GET, "/exports", token).await;
        assert_eq!(status, 200, "{body}");
        body["exports"].as_array().unwrap().clone()
    }

    pub async fn search(&self, token: &str, criteria: &Value) -> Value {
        let (status, body) = self.post("/search", token, criteria.clone()).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn start_export(&self, token: &str, kind: &str, criteria: &Value) -> String {
        let (status, body) = self
            .post(
                "/download-request",
                token,
                json!({"type": kind, "searchCriteria": criteria}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["executionArn"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, token: &str, arn: &str) -> Value {
        let (status, body) = self
            .post("/report-status", token, json!({"executionArn": arn}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Polls `report-status` every `every` until the export is no longer RUNNING.
    pub async fn wait_finished(&self, token: &str, arn: &str, every: Duration) -> Value {
        for _ in 0..600 {
            let status = self.status(token, arn).await;
            if status["status"] != "RUNNING" {
                return status;
            }
            tokio::time::sleep(every).await;
        }
        panic!("export {arn} still running");
    }

    pub async fn download(&self, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    pub async fn connect(&self, token: &str) -> Socket {
        let url = format!("{}/ws?token={token}", self.url.replacen("http", "ws", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Socket(socket)
    }

    /// Every export file currently stored.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.path().is_dir() {
                    walk(&entry.path(), out)
                } else {
                    out.push(entry.path())
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.data_dir.join("objects"), &mut files);
        files
    }

    /// Every message in the outbox, decoded to text.
    pub fn outbox(&self) -> Vec<String> {
        let mut messages: Vec<String> = std::fs::read_dir(self.data_dir.join("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| decode_quoted_printable(&std::fs::read_to_string(entry.path()).unwrap()))
            .collect();
        messages.sort();
        messages
    }
}

pub struct Socket(
    pub tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Socket {
    pub async fn send(&mut self, frame: Value) {
        self.0
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn open(&mut self, arn: &str) {
        self.send(json!({"action": "OpenConnection", "executionArn": arn}))
            .await;
    }

    /// The next text frame, or `None` if none comes within `within`.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(within, self.0.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(text.as_str()).unwrap());
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }
}

/// Parses a CSV export into rows (without the header).
pub fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(bytes)
        .records()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Undoes quoted-printable soft line breaks and escapes, enough to read links in test mail.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
