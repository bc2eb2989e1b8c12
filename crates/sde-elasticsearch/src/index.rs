//! [`EsIndex`]: the [`SearchIndex`] on Elasticsearch or OpenSearch — ranked pages with
//! `from`/`size`, whole result sets with a scroll.

use crate::config::{ConfigError, Engine, EsConfig};
use crate::error::EsError;
use crate::pit::{self, EsSliceScan, SnapshotId};
use crate::query::{self, MAX_RESULT_WINDOW};
use crate::response::{SearchResponse, status_error};
use crate::scan::EsScan;
use crate::transport::{ClientTransport, EsMethod, EsRequest, EsTransport};
use async_trait::async_trait;
use sde_core::{
    IndexError, IndexErrorKind, PageRequest, PostQuery, PostScan, SearchIndex, SearchPage, Slice,
    Snapshot, describe_chain,
};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};

/// The posts index on an Elasticsearch or OpenSearch cluster.
#[derive(Debug, Clone)]
pub struct EsIndex {
    transport: Arc<dyn EsTransport>,
    index: String,
    max_batch_size: NonZeroUsize,
    keep_alive: String,
    engine: Engine,
}

impl EsIndex {
    /// Connects (lazily: no request is sent until the first search) with the official client.
    pub fn new(config: &EsConfig) -> Result<Self, ConfigError> {
        let transport = ClientTransport::new(config)?;
        Self::with_transport(config, Arc::new(transport))
    }

    /// An index that sends its requests through `transport` (tests pass scripted answers).
    pub fn with_transport(
        config: &EsConfig,
        transport: Arc<dyn EsTransport>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(EsIndex {
            transport,
            index: config.index.clone(),
            max_batch_size: config.max_batch_size,
            keep_alive: config.keep_alive_param(),
            engine: config.engine,
        })
    }

    /// The name of the posts index.
    pub(crate) fn index_name(&self) -> &str {
        &self.index
    }

    /// Where requests go.
    pub(crate) fn transport(&self) -> &dyn EsTransport {
        self.transport.as_ref()
    }

    /// Sends a search to `path` and returns the parsed 2xx response.
    pub(crate) async fn post_search(
        &self,
        path: String,
        body: serde_json::Value,
        context: &str,
    ) -> Result<SearchResponse, IndexError> {
        let response = self
            .transport
            .send(EsRequest {
                method: EsMethod::Post,
                path,
                body,
            })
            .await?;
        if !(200..300).contains(&response.status) {
            let error = status_error(response.status, &response.body, context);
            warn!(index = %self.index, status = response.status, error = %describe_chain(&error),
                  "search request failed");
            return Err(error);
        }
        SearchResponse::parse(&response.body, context)
    }

    /// The exact number of matches of `query`.
    async fn count(&self, query: &PostQuery, context: &str) -> Result<u64, IndexError> {
        let path = format!("{}/_search", self.index);
        let response = self
            .post_search(path, query::count_body(query), context)
            .await?;
        if response.timed_out {
            return Err(
                IndexError::new(IndexErrorKind::Timeout, context).with_source(EsError::TimedOut)
            );
        }
        response.exact_total(context)
    }
}

#[async_trait]
impl SearchIndex for EsIndex {
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        let context = format!("searching page {} (size {})", page.number, page.size);
        if query::is_too_deep(page) {
            // A page past the end is empty, not an error, so first see whether there is
            // anything that deep at all.
            let total = self.count(query, &context).await?;
            if page.offset() >= total {
                return Ok(SearchPage {
                    total,
                    posts: Vec::new(),
                    warning: None,
                });
            }
            return Err(IndexError::new(
                IndexErrorKind::Rejected,
                format!(
                    "{context}: the page is too deep — only the first {MAX_RESULT_WINDOW} results \
                     of a search can be paged through; narrow the search or export it"
                ),
            ));
        }
        let body = query::page_body(query, page);
        let preference = query::preference(&body["query"]);
        let path = format!("{}/_search?preference={preference}", self.index);
        let response = self.post_search(path, body, &context).await?;
        if response.timed_out {
            warn!(index = %self.index, took_ms = response.took, "page search timed out");
            return Err(
                IndexError::new(IndexErrorKind::Timeout, context).with_source(EsError::TimedOut)
            );
        }
        let warning = match response.shard_failures() {
            Some(failure) if response.no_shard_answered() => {
                warn!(index = %self.index, error = %failure, "no shard answered the page search");
                return Err(
                    IndexError::new(IndexErrorKind::Unavailable, context).with_source(failure)
                );
            }
            Some(failure) => {
                warn!(index = %self.index, error = %failure, "page search is missing some shards");
                // Shown to users, so it names no node, index or exception.
                Some(format!(
                    "some shards failed: {} of {} shards did not answer, so the results may be incomplete",
                    response.shards.failed, response.shards.total
                ))
            }
            None => None,
        };
        let total = response.exact_total(&context)?;
        let took_ms = response.took;
        let posts = response.into_posts()?;
        debug!(index = %self.index, total, hits = posts.len(), took_ms, "page search answered");
        Ok(SearchPage {
            total,
            posts,
            warning,
        })
    }

    async fn scan(
        &self,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        let batch_size = batch_size.min(self.max_batch_size);
        let scan = EsScan::open(
            Arc::clone(&self.transport),
            &self.index,
            &self.keep_alive,
            query,
            batch_size,
        )
        .await?;
        Ok(Box::new(scan))
    }

    /// A point in time of the posts index with the query's count (see [`crate::pit`]);
    /// `Ok(None)` when the cluster has no point-in-time API, so the export runs as one scroll.
    async fn open_snapshot(
        &self,
        query: &PostQuery,
        keep_alive: Duration,
    ) -> Result<Option<Snapshot>, IndexError> {
        pit::open_snapshot(
            self.transport.as_ref(),
            self.engine,
            &self.index,
            query,
            keep_alive,
        )
        .await
    }

    async fn scan_slice(
        &self,
        snapshot: &str,
        query: &PostQuery,
        slice: Slice,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        let snapshot = SnapshotId::parse(snapshot)?;
        let batch_size = batch_size.min(self.max_batch_size);
        let scan = EsSliceScan::open(
            Arc::clone(&self.transport),
            snapshot,
            query,
            slice,
            batch_size,
        )
        .await?;
        Ok(Box::new(scan))
    }

    async fn close_snapshot(&self, snapshot: &str) -> Result<(), IndexError> {
        pit::close_snapshot(self.transport.as_ref(), &SnapshotId::parse(snapshot)?).await
    }
}
