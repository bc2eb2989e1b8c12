//! Loading posts into a real Elasticsearch or OpenSearch cluster through `_bulk`, in batches,
//! retrying what a busy cluster throws back (429, 5xx, dropped connections) and failing clearly
//! on what retrying cannot fix (rejected documents, bad requests, auth).
//!
//! The cluster is reached the way the search functions reach it: `sde-elasticsearch` turns the
//! URL into an [`EsConfig`] (credentials out of the URL into basic auth, `https` required for
//! them unless the cluster is on this machine, index name checked) and builds the official
//! `elasticsearch` client from it; batches are the client's [`BulkOperation`]s sent with
//! [`BulkParts`]. The index is created, if absent, with the posts index's explicit mapping
//! ([`index_mapping`]; see `sde_elasticsearch::mapping` for why `UserID` is a keyword).

use bytes::{Bytes, BytesMut};
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderValue};
use elasticsearch::http::request::Body as _;
use elasticsearch::http::response::Response;
use elasticsearch::indices::{IndicesCreateParts, IndicesExistsParts, IndicesRefreshParts};
use elasticsearch::{BulkOperation, BulkParts, Elasticsearch};
use sde_core::Post;
use sde_core::post::PostSource;
use sde_elasticsearch::{ClientTransport, ConfigError, EsConfig, IndexNameError, check_index_name};
use serde::Deserialize;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tracing::{debug, info, warn};

pub use sde_elasticsearch::index_mapping;

/// Posts per `_bulk` request when the caller has no better idea.
pub const DEFAULT_BATCH_SIZE: usize = 1_000;
/// A batch is also cut once its body reaches this size, whatever the post count (Elasticsearch
/// recommends bulk bodies of a few megabytes; the default `http.max_content_length` is 100 MB).
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Longest response body quoted in an error.
const MAX_QUOTED_BODY: usize = 500;

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

impl RetryPolicy {
    /// The wait after failed try number `attempt` (1-based), at least `retry_after` when the
    /// cluster asked for it, never more than `max_backoff`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exponential
            .max(retry_after.unwrap_or_default())
            .min(self.max_backoff)
    }

    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
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
    /// The cluster URL cannot be used (does not parse, wrong scheme, credentials over plain
    /// `http` to another machine, …); the cause says which.
    #[error("the Elasticsearch URL cannot be used")]
    Config(#[source] ConfigError),
    /// The index name is not one Elasticsearch accepts.
    #[error(transparent)]
    InvalidIndexName(#[from] IndexNameError),
    /// A request failed without an HTTP answer (connection refused or reset, timeout) on every try.
    #[error("{what} failed after {attempts} attempt(s)")]
    Http {
        what: &'static str,
        attempts: u32,
        #[source]
        source: elasticsearch::Error,
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
    /// A post could not be encoded as a bulk operation.
    #[error("could not encode a post")]
    Encode(#[source] elasticsearch::Error),
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
    check_index_name(index_name)?;
    let cluster = Cluster::connect(url, index_name, options)?;
    cluster.ensure_index().await?;

    let batch_size = options.batch_size.max(1);
    let mut posts = posts.peekable();
    let mut loaded = 0u64;
    let mut batch = Batch::default();
    while posts.peek().is_some() {
        batch.clear();
        while batch.len() < batch_size && batch.bytes < MAX_BATCH_BYTES {
            let Some(post) = posts.next() else { break };
            batch.push(post)?;
        }
        cluster.send_batch(&batch, loaded).await?;
        loaded += batch.len() as u64;
        progress(loaded);
        debug!(loaded, "bulk batch loaded");
    }
    if options.refresh {
        cluster.refresh().await?;
    }
    info!(
        loaded,
        index = index_name,
        "posts loaded into elasticsearch"
    );
    Ok(loaded)
}

/// One `_bulk` body as its operations (an action line and a `_source` line each), so rejected
/// posts can be resent alone.
#[derive(Default)]
struct Batch {
    operations: Vec<Bytes>,
    bytes: usize,
}

impl Batch {
    fn clear(&mut self) {
        self.operations.clear();
        self.bytes = 0;
    }

    fn len(&self) -> usize {
        self.operations.len()
    }

    fn push(&mut self, post: Post) -> Result<(), LoadError> {
        let (id, source) = post.into_source();
        let operation: BulkOperation<PostSource> = BulkOperation::index(source).id(id).into();
        let mut encoded = BytesMut::new();
        operation.write(&mut encoded).map_err(LoadError::Encode)?;
        self.bytes += encoded.len();
        self.operations.push(encoded.freeze());
        Ok(())
    }

    /// The operations at `positions`, in order.
    fn subset(&self, positions: &[usize]) -> Vec<Bytes> {
        positions
            .iter()
            .filter_map(|&i| self.operations.get(i).cloned())
            .collect()
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

/// The client for one index, with the retry policy. Its `Debug` would show the credentials, so
/// it has none.
struct Cluster {
    client: Elasticsearch,
    index: String,
    retry: RetryPolicy,
}

impl Cluster {
    fn connect(url: &str, index_name: &str, options: &LoadOptions) -> Result<Self, LoadError> {
        let mut config = EsConfig::from_url_with_credentials(url).map_err(LoadError::Config)?;
        config.index = index_name.to_owned();
        config.request_timeout = options.request_timeout;
        let transport = ClientTransport::new(&config).map_err(LoadError::Config)?;
        Ok(Cluster {
            client: transport.client().clone(),
            index: config.index,
            retry: options.retry.clone(),
        })
    }

    /// Creates the index with the explicit mapping unless it exists.
    async fn ensure_index(&self) -> Result<(), LoadError> {
        let indices = [self.index.as_str()];
        let what = "checking the index";
        match self
            .send(what, || async {
                self.client
                    .indices()
                    .exists(IndicesExistsParts::Index(&indices))
                    .send()
                    .await
            })
            .await?
        {
            (200..=299, _) => return Ok(()),
            (404, _) => {}
            (status, body) => return Err(status_error(what, status, 1, &body)),
        }
        let what = "creating the index";
        match self
            .send(what, || async {
                self.client
                    .indices()
                    .create(IndicesCreateParts::Index(&self.index))
                    .body(index_mapping())
                    .send()
                    .await
            })
            .await?
        {
            (200..=299, _) => {
                info!(index = %self.index, "created elasticsearch index");
                Ok(())
            }
            // Someone else created it between our check and our create: fine.
            (400, body) if body.contains("resource_already_exists_exception") => Ok(()),
            (status, body) => Err(status_error(what, status, 1, &body)),
        }
    }

    /// Sends one batch; posts rejected with 429 alone are resent (they were only throttled),
    /// any other rejection fails the load.
    async fn send_batch(&self, batch: &Batch, loaded: u64) -> Result<(), LoadError> {
        let what = "bulk request";
        let ndjson = HeaderValue::from_static("application/x-ndjson");
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut attempt = 1;
        loop {
            let operations = if pending.len() == batch.len() {
                batch.operations.clone()
            } else {
                batch.subset(&pending)
            };
            let text = self
                .succeed(what, || {
                    self.client
                        .bulk(BulkParts::Index(&self.index))
                        .header(CONTENT_TYPE, ndjson.clone())
                        .body(operations.clone())
                        .send()
                })
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
            if attempt >= self.retry.attempts() {
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
            tokio::time::sleep(self.retry.backoff(attempt, None)).await;
            attempt += 1;
            pending = throttled;
        }
    }

    /// Makes the loaded posts searchable.
    async fn refresh(&self) -> Result<(), LoadError> {
        let indices = [self.index.as_str()];
        self.succeed("refresh", || async {
            self.client
                .indices()
                .refresh(IndicesRefreshParts::Index(&indices))
                .send()
                .await
        })
        .await
        .map(drop)
    }

    /// A request that must succeed: 2xx gives the body, anything else an error.
    async fn succeed<F, Fut>(&self, what: &'static str, request: F) -> Result<String, LoadError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Response, elasticsearch::Error>>,
    {
        match self.send(what, request).await? {
            (200..=299, body) => Ok(body),
            (status, body) => Err(status_error(what, status, 1, &body)),
        }
    }

    /// Sends `request`, retrying 429, 5xx and failures without an answer with backoff; returns
    /// the final status and body (a retryable status only once the attempts are used up, as an
    /// error).
    async fn send<F, Fut>(&self, what: &'static str, request: F) -> Result<(u16, String), LoadError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Response, elasticsearch::Error>>,
    {
        let max_attempts = self.retry.attempts();
        let mut attempt = 1;
        loop {
            let outcome = match request().await {
                Ok(response) => {
                    let status = response.status_code().as_u16();
                    let retry_after = retry_after(&response);
                    response
                        .text()
                        .await
                        .map(|text| (status, text, retry_after))
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok((status, text, retry_after)) if is_retryable(status) => {
                    if attempt >= max_attempts {
                        return Err(status_error(what, status, attempt, &text));
                    }
                    warn!(what, attempt, status, "retrying elasticsearch request");
                    tokio::time::sleep(self.retry.backoff(attempt, retry_after)).await;
                }
                Ok((status, text, _)) => return Ok((status, text)),
                Err(source) if attempt >= max_attempts => {
                    return Err(LoadError::Http {
                        what,
                        attempts: attempt,
                        source,
                    });
                }
                Err(source) => {
                    warn!(what, attempt, error = %source, "retrying elasticsearch request");
                    tokio::time::sleep(self.retry.backoff(attempt, None)).await;
                }
            }
            attempt += 1;
        }
    }
}

fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

fn status_error(what: &'static str, status: u16, attempts: u32, body: &str) -> LoadError {
    let mut end = body.len().min(MAX_QUOTED_BODY);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let ellipsis = if end < body.len() { "…" } else { "" };
    LoadError::Status {
        what,
        status,
        attempts,
        body: format!("{}{ellipsis}", &body[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let retry = RetryPolicy::default();
        let waits: Vec<u128> = (1..=7)
            .map(|a| retry.backoff(a, None).as_millis())
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(
            retry.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            retry.backoff(1, Some(Duration::from_secs(60))),
            Duration::from_secs(8)
        );
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable(status), "{status}");
        }
        for status in [200, 201, 400, 401, 403, 404, 409, 413] {
            assert!(!is_retryable(status), "{status}");
        }
    }

    #[test]
    fn long_error_bodies_are_cut_at_a_character_boundary() {
        let body = "é".repeat(MAX_QUOTED_BODY);
        let LoadError::Status { body: quoted, .. } = status_error("x", 500, 1, &body) else {
            panic!("a status error");
        };
        assert!(quoted.ends_with('…'));
        assert!(quoted.len() <= MAX_QUOTED_BODY + '…'.len_utf8());
    }
}
