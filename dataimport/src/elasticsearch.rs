//! Loading posts into a real Elasticsearch or OpenSearch cluster through `_bulk`, in batches,
//! retrying what a busy cluster throws back (429, 5xx, dropped connections) and failing clearly
//! on what retrying cannot fix (rejected documents, bad requests, auth).
//!
//! The index is created, if absent, with an explicit mapping ([`index_mapping`]). `UserID` is a
//! `keyword`: old posts carry integers and new ones Cognito `sub` strings, and a `long` mapping
//! (what dynamic mapping picks from the first old post) would reject every `sub`. A keyword field
//! accepts both (numbers are indexed as their decimal text) while `_source` keeps each value's
//! JSON type, so exports still round-trip `7` as a number and a `sub` as a string; user ids are
//! only ever matched exactly, never ranged, so nothing is lost.

use crate::bulk;
use reqwest::{Method, StatusCode, Url};
use sde_core::Post;
use serde::Deserialize;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Posts per `_bulk` request when the caller has no better idea.
pub const DEFAULT_BATCH_SIZE: usize = 1_000;
/// A batch is also cut once its body reaches this size, whatever the post count (Elasticsearch
/// recommends bulk bodies of a few megabytes; the default `http.max_content_length` is 100 MB).
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Longest response body quoted in an error.
const MAX_QUOTED_BODY: usize = 500;

/// The error `reqwest::Url` parsing reports (the `url` crate's `ParseError`).
pub type UrlParseError = <Url as FromStr>::Err;

/// How failed requests are retried: exponential backoff from `initial_backoff`, doubling up to
/// `max_backoff`, at most `max_attempts` tries in all (a `Retry-After` header lengthens a wait,
/// still capped by `max_backoff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, including the first (0 counts as 1).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest wait between tries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 6 tries, waiting 250 ms, 500 ms, 1 s, 2 s, 4 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// Everything [`load_with`] can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Posts per `_bulk` request (0 counts as 1).
    pub batch_size: usize,
    /// Retrying of 429, 5xx and connection errors.
    pub retry: RetryPolicy,
    /// Timeout of each HTTP request.
    pub request_timeout: Duration,
    /// Refresh the index at the end so the posts are searchable at once.
    pub refresh: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            refresh: true,
        }
    }
}

/// Why loading stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The cluster URL does not parse.
    #[error("invalid Elasticsearch URL")]
    InvalidUrl(#[source] UrlParseError),
    /// The cluster URL parses but cannot be used (wrong scheme, not a base URL).
    #[error("unsupported Elasticsearch URL: {0}")]
    UnsupportedUrl(&'static str),
    /// The index name is not one Elasticsearch accepts.
    #[error(
        "invalid index name {0:?}: use lowercase, no spaces or any of \\/*?\"<>|,#:, not starting with - _ +"
    )]
    InvalidIndexName(String),
    /// The HTTP client could not be set up.
    #[error("could not set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// A request failed without an HTTP answer (connection refused or reset, timeout) on every try.
    #[error("{what} failed after {attempts} attempt(s)")]
    Http {
        what: &'static str,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    /// The cluster answered with an error status (after retries if it was retryable).
    #[error("{what} failed with HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        what: &'static str,
        status: u16,
        attempts: u32,
        /// The start of the response body.
        body: String,
    },
    /// The cluster answered 2xx with a body that is not what Elasticsearch sends.
    #[error("unexpected response to {what}")]
    Response {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A post could not be encoded as JSON.
    #[error("could not encode a post")]
    Encode(#[source] std::io::Error),
    /// The cluster rejected documents of a batch (mapping errors, rejected executions after
    /// retries, …). Posts of earlier batches stay loaded.
    #[error(
        "{failed} of {batch} post(s) in a bulk request were rejected ({loaded} loaded before it); first: post {id:?}, HTTP {status}, {kind}: {reason}"
    )]
    Item {
        /// Posts confirmed loaded before this batch.
        loaded: u64,
        /// Rejected posts in this batch.
        failed: usize,
        /// Posts in this batch.
        batch: usize,
        /// Id of the first rejected post.
        id: String,
        /// Item status of the first rejected post.
        status: u16,
        /// Elasticsearch error type of the first rejected post, e.g. `mapper_parsing_exception`.
        kind: String,
        /// Elasticsearch's reason for the first rejected post.
        reason: String,
    },
}

/// Loads posts into Elasticsearch/OpenSearch at `url` (optionally `https://user:pass@host:9200`
/// for basic auth) via `_bulk` in batches of `batch_size`, with the default [`LoadOptions`]
/// otherwise. Creates the index with [`index_mapping`] if absent. `progress` is called after each
/// batch with the number of posts loaded so far. Returns the number of posts loaded.
pub async fn load(
    url: &str,
    index_name: &str,
    posts: impl Iterator<Item = Post>,
    batch_size: usize,
    progress: &dyn Fn(u64),
) -> Result<u64, LoadError> {
    let options = LoadOptions {
        batch_size,
        ..LoadOptions::default()
    };
    load_with(url, index_name, posts, &options, progress).await
}

/// [`load`] with every option spelled out.
pub async fn load_with(
    url: &str,
    index_name: &str,
    posts: impl Iterator<Item = Post>,
    options: &LoadOptions,
    progress: &dyn Fn(u64),
) -> Result<u64, LoadError> {
    validate_index_name(index_name)?;
    let cluster = Cluster::connect(url, options)?;
    cluster.ensure_index(index_name).await?;

    let bulk_path = format!("{index_name}/_bulk");
    let batch_size = options.batch_size.max(1);
    let mut posts = posts.peekable();
    let mut loaded = 0u64;
    let mut batch = Batch::default();
    while posts.peek().is_some() {
        batch.clear();
        while batch.len() < batch_size && batch.body.len() < MAX_BATCH_BYTES {
            let Some(post) = posts.next() else { break };
            batch.push(index_name, post)?;
        }
        cluster.send_batch(&bulk_path, &batch, loaded).await?;
        loaded += batch.len() as u64;
        progress(loaded);
        debug!(loaded, "bulk batch loaded");
    }
    if options.refresh {
        cluster
            .request(
                Method::POST,
                &format!("{index_name}/_refresh"),
                None,
                "refresh",
            )
            .await?;
    }
    info!(
        loaded,
        index = index_name,
        "posts loaded into elasticsearch"
    );
    Ok(loaded)
}

/// The mapping a new index gets; see the module docs for why `UserID` is a keyword.
pub fn index_mapping() -> serde_json::Value {
    serde_json::json!({
        "mappings": {
            "properties": {
                "UserID": {"type": "keyword"},
                "DateCreated": {"type": "date"},
                "Content": {"type": "text"},
                "Tags": {"type": "text"}
            }
        }
    })
}

fn validate_index_name(name: &str) -> Result<(), LoadError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.starts_with(['-', '_', '+'])
        && name.chars().all(|c| {
            !c.is_uppercase()
                && !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ':'
                )
        });
    if valid {
        Ok(())
    } else {
        Err(LoadError::InvalidIndexName(name.to_owned()))
    }
}

/// One `_bulk` body and where each post's two lines start, so rejected posts can be resent alone.
#[derive(Default)]
struct Batch {
    body: Vec<u8>,
    starts: Vec<usize>,
}

impl Batch {
    fn clear(&mut self) {
        self.body.clear();
        self.starts.clear();
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn push(&mut self, index_name: &str, post: Post) -> Result<(), LoadError> {
        self.starts.push(self.body.len());
        bulk::append_entry(&mut self.body, index_name, post).map_err(LoadError::Encode)
    }

    fn entry(&self, i: usize) -> &[u8] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.body.len());
        &self.body[self.starts[i]..end]
    }

    /// A batch of just the given entries, in order.
    fn subset(&self, entries: &[usize]) -> Batch {
        let mut sub = Batch::default();
        for &i in entries {
            sub.starts.push(sub.body.len());
            sub.body.extend_from_slice(self.entry(i));
        }
        sub
    }
}

#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    #[serde(rename = "_id", default)]
    id: Option<String>,
    #[serde(default)]
    status: u16,
    error: Option<ItemError>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ItemError {
    Detailed {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Text(String),
}

/// A cluster endpoint with its client, credentials and retry policy. Not `Debug`: it holds the
/// password.
struct Cluster {
    client: reqwest::Client,
    base: Url,
    auth: Option<(String, String)>,
    retry: RetryPolicy,
}

impl Cluster {
    fn connect(url: &str, options: &LoadOptions) -> Result<Self, LoadError> {
        let mut base = Url::parse(url).map_err(LoadError::InvalidUrl)?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(LoadError::UnsupportedUrl(
                "the scheme must be http or https",
            ));
        }
        if base.cannot_be_a_base() {
            return Err(LoadError::UnsupportedUrl("not a base URL"));
        }
        let auth = (!base.username().is_empty()).then(|| {
            (
                percent_decode(base.username()),
                percent_decode(base.password().unwrap_or("")),
            )
        });
        // Credentials travel in the Authorization header, never in the request line or logs.
        base.set_username("")
            .and_then(|()| base.set_password(None))
            .map_err(|()| LoadError::UnsupportedUrl("cannot strip credentials from the URL"))?;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(LoadError::Client)?;
        Ok(Cluster {
            client,
            base,
            auth,
            retry: options.retry.clone(),
        })
    }

    /// Creates the index with the explicit mapping unless it exists.
    async fn ensure_index(&self, index_name: &str) -> Result<(), LoadError> {
        let what = "checking the index";
        match self
            .request_raw(Method::HEAD, index_name, None, what)
            .await?
        {
            (status, _) if status.is_success() => return Ok(()),
            (StatusCode::NOT_FOUND, _) => {}
            (status, body) => return Err(status_error(what, status, 1, &body)),
        }
        let mapping = serde_json::to_vec(&index_mapping())
            .map_err(|e| LoadError::Encode(std::io::Error::from(e)))?;
        let what = "creating the index";
        match self
            .request_raw(
                Method::PUT,
                index_name,
                Some((mapping, "application/json")),
                what,
            )
            .await?
        {
            (status, _) if status.is_success() => {
                info!(index = index_name, "created elasticsearch index");
                Ok(())
            }
            // Someone else created it between our check and our create: fine.
            (StatusCode::BAD_REQUEST, body)
                if body.contains("resource_already_exists_exception") =>
            {
                Ok(())
            }
            (status, body) => Err(status_error(what, status, 1, &body)),
        }
    }

    /// Sends one batch; posts rejected with 429 alone are resent (they were only throttled),
    /// any other rejection fails the load.
    async fn send_batch(&self, path: &str, batch: &Batch, loaded: u64) -> Result<(), LoadError> {
        let what = "bulk request";
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut attempt = 1;
        loop {
            let body = if pending.len() == batch.len() {
                batch.body.clone()
            } else {
                batch.subset(&pending).body
            };
            let text = self
                .request(
                    Method::POST,
                    path,
                    Some((body, "application/x-ndjson")),
                    what,
                )
                .await?;
            let response: BulkResponse = serde_json::from_str(&text)
                .map_err(|source| LoadError::Response { what, source })?;
            if !response.errors {
                return Ok(());
            }
            let mut throttled = Vec::new();
            let mut first_error = None;
            let mut failed = 0;
            for (position, item) in response.items.iter().enumerate() {
                let Some(item) = item.values().next() else {
                    continue;
                };
                if item.error.is_none() && item.status < 300 {
                    continue;
                }
                if item.status == 429 {
                    throttled.push(pending.get(position).copied().unwrap_or(position));
                    continue;
                }
                failed += 1;
                first_error.get_or_insert(item);
            }
            if let Some(item) = first_error {
                let (kind, reason) = match &item.error {
                    Some(ItemError::Detailed { kind, reason }) => {
                        (kind.clone(), reason.clone().unwrap_or_default())
                    }
                    Some(ItemError::Text(reason)) => (String::new(), reason.clone()),
                    None => (String::new(), String::new()),
                };
                return Err(LoadError::Item {
                    loaded,
                    failed: failed + throttled.len(),
                    batch: batch.len(),
                    id: item.id.clone().unwrap_or_default(),
                    status: item.status,
                    kind,
                    reason,
                });
            }
            if throttled.is_empty() {
                // `errors: true` without a failed item: nothing to resend.
                return Ok(());
            }
            if attempt >= self.retry.max_attempts.max(1) {
                return Err(LoadError::Item {
                    loaded,
                    failed: throttled.len(),
                    batch: batch.len(),
                    id: String::new(),
                    status: 429,
                    kind: "es_rejected_execution_exception".to_owned(),
                    reason: format!("still throttled after {attempt} attempt(s)"),
                });
            }
            warn!(
                attempt,
                throttled = throttled.len(),
                "resending throttled bulk items"
            );
            tokio::time::sleep(self.backoff(attempt, None)).await;
            attempt += 1;
            pending = throttled;
        }
    }

    /// A request that must succeed: 2xx gives the body, anything else an error.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
        what: &'static str,
    ) -> Result<String, LoadError> {
        match self.request_raw(method, path, body, what).await? {
            (status, body) if status.is_success() => Ok(body),
            (status, body) => Err(status_error(what, status, 1, &body)),
        }
    }

    /// Sends a request, retrying 429, 5xx and transport errors with backoff; returns the final
    /// status and body (retryable statuses only once the attempts are used up, as an error).
    async fn request_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
        what: &'static str,
    ) -> Result<(StatusCode, String), LoadError> {
        let url = self.base.join(path).map_err(LoadError::InvalidUrl)?;
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let mut request = self.client.request(method.clone(), url.clone());
            if let Some((user, password)) = &self.auth {
                request = request.basic_auth(user, Some(password));
            }
            if let Some((bytes, content_type)) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(bytes.clone());
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(&response);
                    match response.text().await {
                        Ok(text) => Ok((status, text, retry_after)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok((status, text, retry_after)) if is_retryable(status) => {
                    if attempt >= max_attempts {
                        return Err(status_error(what, status, attempt, &text));
                    }
                    warn!(
                        what,
                        attempt,
                        status = status.as_u16(),
                        "retrying elasticsearch request"
                    );
                    tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                }
                Ok((status, text, _)) => return Ok((status, text)),
                Err(source) if source.is_builder() || attempt >= max_attempts => {
                    return Err(LoadError::Http {
                        what,
                        attempts: attempt,
                        source,
                    });
                }
                Err(source) => {
                    warn!(what, attempt, error = %source, "retrying elasticsearch request");
                    tokio::time::sleep(self.backoff(attempt, None)).await;
                }
            }
            attempt += 1;
        }
    }

    /// The wait after failed try number `attempt` (1-based).
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .retry
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16));
        exponential
            .max(retry_after.unwrap_or_default())
            .min(self.retry.max_backoff)
    }
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

fn status_error(what: &'static str, status: StatusCode, attempts: u32, body: &str) -> LoadError {
    let mut end = body.len().min(MAX_QUOTED_BODY);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < body.len() { "…" } else { "" };
    LoadError::Status {
        what,
        status: status.as_u16(),
        attempts,
        body: format!("{}{ellipsis}", &body[..end]),
    }
}

/// Decodes `%XX` escapes of URL userinfo (a password may hold `@`, `:` or `%`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GeneratorConfig, PostGenerator};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// One request as the fake cluster saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        /// The `_id`s of a bulk body, in order.
        fn bulk_ids(&self) -> Vec<String> {
            self.body
                .lines()
                .step_by(2)
                .map(|line| {
                    let action: serde_json::Value = serde_json::from_str(line).unwrap();
                    action["index"]["_id"].as_str().unwrap().to_owned()
                })
                .collect()
        }
    }

    /// A canned-response HTTP server: `respond(request, n)` answers the `n`th (0-based) request
    /// with that method and path.
    struct FakeCluster {
        url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl FakeCluster {
        async fn start(respond: impl Fn(&Seen, usize) -> (u16, String) + Send + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    let Some(request) = read_request(&mut socket).await else {
                        continue;
                    };
                    let (status, body) = {
                        let mut log = log.lock().unwrap();
                        let n = log
                            .iter()
                            .filter(|r: &&Seen| {
                                r.method == request.method && r.path == request.path
                            })
                            .count();
                        log.push(request.clone());
                        respond(&request, n)
                    };
                    let body = if request.method == "HEAD" {
                        String::new()
                    } else {
                        body
                    };
                    let response = format!(
                        "HTTP/1.1 {status} Canned\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
            });
            FakeCluster { url, seen }
        }

        /// A cluster whose index exists and whose `_bulk` answers come from `bulk`.
        async fn with_index(bulk: impl Fn(&Seen, usize) -> (u16, String) + Send + 'static) -> Self {
            Self::start(
                move |request, n| match (request.method.as_str(), request.path.as_str()) {
                    ("HEAD", "/posts") => (200, String::new()),
                    ("POST", "/posts/_bulk") => bulk(request, n),
                    ("POST", "/posts/_refresh") => (200, "{}".into()),
                    _ => (404, "{\"error\":\"unexpected\"}".into()),
                },
            )
            .await
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }

        fn bulk_requests(&self) -> Vec<Seen> {
            self.seen()
                .into_iter()
                .filter(|r| r.path.ends_with("/_bulk"))
                .collect()
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
        let path = request_line.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
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
        let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
        Some(Seen {
            method,
            path,
            headers,
            body,
        })
    }

    /// A `_bulk` answer with one item per post; `status_of(position)` picks each item's fate.
    fn bulk_answer(request: &Seen, status_of: impl Fn(usize) -> u16) -> (u16, String) {
        let items: Vec<serde_json::Value> = request
            .bulk_ids()
            .iter()
            .enumerate()
            .map(|(i, id)| match status_of(i) {
                status @ 200..=299 => serde_json::json!({"index": {"_id": id, "status": status}}),
                429 => serde_json::json!({"index": {"_id": id, "status": 429, "error": {
                    "type": "es_rejected_execution_exception", "reason": "queue full"}}}),
                status => serde_json::json!({"index": {"_id": id, "status": status, "error": {
                    "type": "mapper_parsing_exception",
                    "reason": "failed to parse field [DateCreated] of type [date]"}}}),
            })
            .collect();
        let errors = items.iter().any(|i| i["index"]["error"].is_object());
        (
            200,
            serde_json::json!({"took": 1, "errors": errors, "items": items}).to_string(),
        )
    }

    fn all_created(request: &Seen) -> (u16, String) {
        bulk_answer(request, |_| 201)
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

    #[tokio::test]
    async fn a_throttled_bulk_request_is_retried_and_then_succeeds() {
        let cluster = FakeCluster::with_index(|request, n| {
            if n == 0 {
                (429, "{\"error\":\"too many requests\"}".into())
            } else {
                all_created(request)
            }
        })
        .await;
        let reported = Mutex::new(Vec::new());
        let loaded = load(&cluster.url, "posts", posts(25), 10, &|n| {
            reported.lock().unwrap().push(n)
        })
        .await
        .unwrap();
        assert_eq!(loaded, 25);
        assert_eq!(*reported.lock().unwrap(), [10, 20, 25]);
        let bulks = cluster.bulk_requests();
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
        assert_eq!(cluster.seen().last().unwrap().path, "/posts/_refresh");
    }

    #[tokio::test]
    async fn an_item_level_error_surfaces_with_its_reason() {
        let cluster = FakeCluster::with_index(|request, _| {
            bulk_answer(request, |i| if i == 1 { 400 } else { 201 })
        })
        .await;
        let err = load_with(&cluster.url, "posts", posts(5), &fast(10), &|_| {})
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
            cluster.bulk_requests().len(),
            1,
            "rejected documents are not retried"
        );
    }

    #[tokio::test]
    async fn only_throttled_items_are_resent() {
        let cluster = FakeCluster::with_index(|request, n| {
            bulk_answer(request, |i| if n == 0 && i == 2 { 429 } else { 201 })
        })
        .await;
        let loaded = load_with(&cluster.url, "posts", posts(4), &fast(10), &|_| {})
            .await
            .unwrap();
        assert_eq!(loaded, 4);
        let bulks = cluster.bulk_requests();
        assert_eq!(bulks.len(), 2);
        assert_eq!(bulks[1].bulk_ids(), ["2a-00000002"]);
    }

    #[tokio::test]
    async fn a_missing_index_is_created_with_the_explicit_mapping() {
        let cluster = FakeCluster::start(|request, _| match request.method.as_str() {
            "HEAD" => (404, String::new()),
            "PUT" => (200, "{\"acknowledged\":true}".into()),
            _ if request.path.ends_with("/_bulk") => all_created(request),
            _ => (200, "{}".into()),
        })
        .await;
        load_with(&cluster.url, "posts", posts(3), &fast(10), &|_| {})
            .await
            .unwrap();
        let put = cluster
            .seen()
            .into_iter()
            .find(|r| r.method == "PUT")
            .unwrap();
        assert_eq!(put.path, "/posts");
        assert_eq!(put.header("content-type"), Some("application/json"));
        let mapping: serde_json::Value = serde_json::from_str(&put.body).unwrap();
        assert_eq!(mapping, index_mapping());
        assert_eq!(
            mapping["mappings"]["properties"]["UserID"]["type"],
            "keyword"
        );
    }

    #[tokio::test]
    async fn credentials_in_the_url_become_basic_auth_and_a_path_prefix_is_kept() {
        let cluster = FakeCluster::start(|request, _| match request.path.as_str() {
            "/es/posts" => (200, String::new()),
            "/es/posts/_bulk" => all_created(request),
            "/es/posts/_refresh" => (200, "{}".into()),
            _ => (404, "{}".into()),
        })
        .await;
        let url = cluster
            .url
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
        }
    }

    #[tokio::test]
    async fn persistent_server_errors_give_up_after_the_attempt_budget() {
        let cluster =
            FakeCluster::with_index(|_, _| (503, "{\"error\":\"unavailable\"}".into())).await;
        let err = load_with(&cluster.url, "posts", posts(3), &fast(10), &|_| {})
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
        assert!(err.to_string().contains("unavailable"), "{err}");
        assert_eq!(cluster.bulk_requests().len(), 4);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let cluster = FakeCluster::with_index(|_, _| {
            (400, "{\"error\":\"illegal_argument_exception\"}".into())
        })
        .await;
        let err = load_with(&cluster.url, "posts", posts(3), &fast(10), &|_| {})
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
        assert_eq!(cluster.bulk_requests().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = load_with(&url, "posts", posts(3), &fast(10), &|_| {})
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
        for name in ["", "Posts", "a/b", "_posts", "a b", "..", "x#y"] {
            let err = load("http://127.0.0.1:1", name, posts(1), 10, &|_| {})
                .await
                .unwrap_err();
            assert!(
                matches!(err, LoadError::InvalidIndexName(_)),
                "{name:?}: {err:?}"
            );
        }
        let err = load("not a url", "posts", posts(1), 10, &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::InvalidUrl(_)), "{err:?}");
        let err = load("ftp://host", "posts", posts(1), 10, &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::UnsupportedUrl(_)), "{err:?}");
    }

    #[test]
    fn userinfo_escapes_are_decoded_and_stray_percent_signs_kept() {
        assert_eq!(percent_decode("p%40ss%3Aw%25rd"), "p@ss:w%rd");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%C3%A9"), "%zzé");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let cluster = Cluster::connect("http://127.0.0.1:9200", &LoadOptions::default()).unwrap();
        let waits: Vec<u128> = (1..=7)
            .map(|a| cluster.backoff(a, None).as_millis())
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(
            cluster.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            cluster.backoff(1, Some(Duration::from_secs(60))),
            Duration::from_secs(8)
        );
    }
}
