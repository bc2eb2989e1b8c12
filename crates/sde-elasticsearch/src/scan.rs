//! [`EsScan`]: every match of a query through the scroll API, sorted by `_doc`.
//!
//! The scroll is opened with `allow_partial_search_results=false`, and any batch that still
//! reports failed shards or `timed_out` ends the scan with an error: a partial batch would make
//! the export's row count disagree with the total. The scroll context is cleared as soon as the
//! last batch has been read or a batch has failed, again by [`close`](PostScan::close) if that
//! did not work, and in the background if the scan is dropped unclosed; a 404 (already gone)
//! counts as cleared. A context nobody clears expires after the keep-alive.

use crate::error::EsError;
use crate::query;
use crate::response::{SearchResponse, status_error};
use crate::transport::{EsMethod, EsRequest, EsTransport};
use async_trait::async_trait;
use sde_core::describe_chain;
use sde_core::{IndexError, IndexErrorKind, Post, PostQuery, PostScan};
use std::num::NonZeroUsize;
use std::sync::Arc;
use tracing::{debug, info, warn};

/// Where a scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// More batches may come.
    Reading,
    /// Every post has been yielded.
    Finished,
    /// A batch failed; only `close` is allowed.
    Failed,
}

/// A running scroll over the posts matching a query.
#[derive(Debug)]
pub struct EsScan {
    transport: Arc<dyn EsTransport>,
    index: String,
    keep_alive: String,
    total: u64,
    yielded: u64,
    batches: u64,
    /// The hits of the request that opened the scroll, handed out as the first batch.
    first: Option<Vec<Post>>,
    /// The id to continue with (the cluster may change it from one response to the next).
    scroll_id: String,
    /// Every distinct id seen, all cleared at the end.
    scroll_ids: Vec<String>,
    state: State,
    released: bool,
}

impl EsScan {
    /// Opens a scroll over `query` in `index` and reads its first batch.
    pub(crate) async fn open(
        transport: Arc<dyn EsTransport>,
        index: &str,
        keep_alive: &str,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Self, IndexError> {
        let context = "opening the export scan";
        let response = transport
            .send(EsRequest {
                method: EsMethod::Post,
                path: format!(
                    "{index}/_search?scroll={keep_alive}&allow_partial_search_results=false"
                ),
                body: query::scroll_body(query, batch_size.get()),
            })
            .await?;
        if !(200..300).contains(&response.status) {
            let error = status_error(response.status, &response.body, context);
            warn!(index, status = response.status, error = %describe_chain(&error), "opening a scroll failed");
            return Err(error);
        }
        let response = SearchResponse::parse(&response.body, context)?;
        let Some(scroll_id) = response.scroll_id.clone() else {
            return Err(IndexError::new(IndexErrorKind::Corrupt, context)
                .with_source(EsError::MissingScrollId));
        };
        let mut scan = EsScan {
            transport,
            index: index.to_owned(),
            keep_alive: keep_alive.to_owned(),
            total: 0,
            yielded: 0,
            batches: 0,
            first: None,
            scroll_ids: vec![scroll_id.clone()],
            scroll_id,
            state: State::Reading,
            released: false,
        };
        let opened = scan
            .check(&response, context)
            .and_then(|()| response.exact_total(context))
            .and_then(|total| Ok((total, response.into_posts()?)));
        match opened {
            Ok((total, first)) => {
                scan.total = total;
                scan.first = Some(first);
                info!(index, total, batch_size, "scroll opened");
                Ok(scan)
            }
            Err(error) => {
                scan.state = State::Failed;
                scan.release_quietly().await;
                Err(error)
            }
        }
    }

    /// Reads the next batch; `None` once a batch comes back empty.
    async fn read_batch(&mut self) -> Result<Option<Vec<Post>>, IndexError> {
        self.batches += 1;
        let context = format!("reading batch {} of the export scan", self.batches);
        let posts = match self.first.take() {
            Some(first) => first,
            None => self.scroll_next(&context).await?,
        };
        if posts.is_empty() {
            return Ok(None);
        }
        self.yielded += posts.len() as u64;
        if self.yielded > self.total {
            return Err(
                IndexError::new(IndexErrorKind::Corrupt, context).with_source(
                    EsError::TooManyHits {
                        yielded: self.yielded,
                        total: self.total,
                    },
                ),
            );
        }
        debug!(index = %self.index, batch = self.batches, posts = posts.len(), yielded = self.yielded,
               "scroll batch read");
        Ok(Some(posts))
    }

    async fn scroll_next(&mut self, context: &str) -> Result<Vec<Post>, IndexError> {
        let response = self
            .transport
            .send(EsRequest {
                method: EsMethod::Post,
                path: "_search/scroll".to_owned(),
                body: query::scroll_next_body(&self.scroll_id, &self.keep_alive),
            })
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(status_error(response.status, &response.body, context));
        }
        let response = SearchResponse::parse(&response.body, context)?;
        if let Some(id) = &response.scroll_id
            && *id != self.scroll_id
        {
            self.scroll_id = id.clone();
            if !self.scroll_ids.contains(id) {
                self.scroll_ids.push(id.clone());
            }
        }
        self.check(&response, context)?;
        response.into_posts()
    }

    /// A batch that timed out or misses shards is an error: its rows would be missing.
    fn check(&self, response: &SearchResponse, context: &str) -> Result<(), IndexError> {
        if response.timed_out {
            return Err(
                IndexError::new(IndexErrorKind::Timeout, context).with_source(EsError::TimedOut)
            );
        }
        if let Some(failure) = response.shard_failures() {
            return Err(IndexError::new(IndexErrorKind::Unavailable, context).with_source(failure));
        }
        Ok(())
    }

    /// Clears every scroll id of this scan; a 404 means it is already gone.
    async fn clear(&self) -> Result<(), IndexError> {
        let context = "releasing the export scan";
        let response = self
            .transport
            .send(EsRequest {
                method: EsMethod::Delete,
                path: "_search/scroll".to_owned(),
                body: query::clear_scroll_body(&self.scroll_ids),
            })
            .await?;
        match response.status {
            200..=299 | 404 => Ok(()),
            status => Err(status_error(status, &response.body, context)),
        }
    }

    /// Clears the scroll now, logging a failure: `close` will try again.
    async fn release_quietly(&mut self) {
        match self.clear().await {
            Ok(()) => self.released = true,
            Err(error) => {
                warn!(index = %self.index, error = %describe_chain(&error), "clearing a scroll failed")
            }
        }
    }
}

#[async_trait]
impl PostScan for EsScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
        batch.clear();
        match self.state {
            State::Reading => {}
            State::Finished => return Ok(false),
            State::Failed => {
                return Err(IndexError::new(
                    IndexErrorKind::Rejected,
                    "reading a scan that has already failed",
                ));
            }
        }
        match self.read_batch().await {
            Ok(Some(posts)) => {
                *batch = posts;
                Ok(true)
            }
            Ok(None) => {
                self.state = State::Finished;
                info!(index = %self.index, posts = self.yielded, total = self.total,
                      batches = self.batches, "scroll finished");
                self.release_quietly().await;
                Ok(false)
            }
            Err(error) => {
                self.state = State::Failed;
                warn!(index = %self.index, batch = self.batches, error = %describe_chain(&error),
                      "scroll batch failed");
                self.release_quietly().await;
                Err(error)
            }
        }
    }

    async fn close(mut self: Box<Self>) -> Result<(), IndexError> {
        if self.released {
            return Ok(());
        }
        // Whatever happens now, this was the last attempt: Drop must not try again.
        self.released = true;
        self.clear().await
    }
}

impl Drop for EsScan {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Dropped without close (a panic or a cancelled task upstream): clear in the background
        // if a runtime is there to do it, otherwise the keep-alive frees the context.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            debug!(index = %self.index, "scroll left to expire");
            return;
        };
        let transport = Arc::clone(&self.transport);
        let request = EsRequest {
            method: EsMethod::Delete,
            path: "_search/scroll".to_owned(),
            body: query::clear_scroll_body(&self.scroll_ids),
        };
        runtime.spawn(async move {
            if let Err(error) = transport.send(request).await {
                debug!(error = %describe_chain(&error), "clearing a dropped scroll failed");
            }
        });
    }
}
