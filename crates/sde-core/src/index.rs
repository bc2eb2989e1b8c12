//! The search index seen from the domain: one ranked page, or a scan of every match.

use crate::criteria::{PageRequest, PostQuery};
use crate::error::BoxError;
use crate::fanout::{Slice, Snapshot};
use crate::post::Post;
use async_trait::async_trait;
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

/// One page of ranked results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    /// Exact number of posts matching the query, over all pages.
    pub total: u64,
    /// The posts of the requested page, best first.
    pub posts: Vec<Post>,
    /// Set when the index answered but not completely (e.g. some shards failed); the results are
    /// usable and the caller should tell the user they may be partial.
    pub warning: Option<String>,
}

/// A search index of posts. Implementations: the embedded tantivy index and Elasticsearch.
///
/// Both implement the design page's semantics: every term of the query is a `multi_match` over
/// `Content` and `Tags` (boosted ×3) and all terms must match; the date range filters
/// `from <= DateCreated < to`; user text is never parsed as query syntax.
#[async_trait]
pub trait SearchIndex: Send + Sync + fmt::Debug {
    /// Returns page `page` of the posts matching `query`, ranked by score (ties in a stable
    /// order), with the exact total. A page past the end is empty, not an error.
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError>;

    /// Starts a scan that yields every post matching `query` exactly once, in batches of at most
    /// `batch_size`, in an order that is stable for the life of the scan. The scan sees the index
    /// as it was when it started; it never collects the whole result in memory.
    async fn scan(
        &self,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError>;

    /// Pins a snapshot of the index for a sliced export of `query` and counts its matches; the
    /// snapshot lives `keep_alive` past its last use, or until [`close_snapshot`]. `Ok(None)`:
    /// this index cannot pin one (e.g. a cluster without point-in-time), so the export runs as
    /// one scan.
    ///
    /// [`close_snapshot`]: Self::close_snapshot
    async fn open_snapshot(
        &self,
        query: &PostQuery,
        keep_alive: Duration,
    ) -> Result<Option<Snapshot>, IndexError> {
        let _ = (query, keep_alive);
        Ok(None)
    }

    /// Scans slice `slice` of the snapshot `snapshot` opened for the same `query`. The slices
    /// `0..count` of one snapshot yield every post matching in the snapshot exactly once between
    /// them, whatever is written to the index meanwhile; each scan's total is its slice's own. An
    /// unknown or expired snapshot is `Rejected`.
    async fn scan_slice(
        &self,
        snapshot: &str,
        query: &PostQuery,
        slice: Slice,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        let _ = (snapshot, query, slice, batch_size);
        Err(IndexError::new(
            IndexErrorKind::Rejected,
            "scanning a slice: this index pins no snapshots",
        ))
    }

    /// Releases a snapshot; closing one that is gone (closed, expired) succeeds.
    async fn close_snapshot(&self, snapshot: &str) -> Result<(), IndexError> {
        let _ = snapshot;
        Ok(())
    }
}

/// A running scan over every post matching a query.
#[async_trait]
pub trait PostScan: Send {
    /// Exact number of posts this scan will yield, fixed when it started.
    fn total(&self) -> u64;

    /// Replaces the contents of `batch` with the next posts and returns true, or empties it
    /// and returns false once every post has been yielded. After an error the scan must not be
    /// used again except to [`close`](Self::close) it.
    ///
    /// Pass the same `batch` every time: a scan may hand its buffers back and forth with the
    /// caller, so that reading a post allocates nothing once the buffers have grown.
    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError>;

    /// Releases what the scan holds (a scroll context, a point in time, a reader thread).
    /// Called on success and failure alike.
    async fn close(self: Box<Self>) -> Result<(), IndexError>;
}

/// What went wrong in the index, for retry decisions and status mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexErrorKind {
    /// The index could not be reached or was overloaded; trying again may succeed.
    Unavailable,
    /// The index took too long to answer.
    Timeout,
    /// The index refused the query (a bug on our side or a limit such as the result window).
    Rejected,
    /// The index answered with something we could not read, or its files are damaged.
    Corrupt,
}

impl IndexErrorKind {
    /// Whether the same call may succeed if tried again.
    pub fn is_transient(self) -> bool {
        matches!(self, IndexErrorKind::Unavailable | IndexErrorKind::Timeout)
    }
}

impl fmt::Display for IndexErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IndexErrorKind::Unavailable => "search index unavailable",
            IndexErrorKind::Timeout => "search index timed out",
            IndexErrorKind::Rejected => "search index rejected the query",
            IndexErrorKind::Corrupt => "search index answer unreadable",
        })
    }
}

/// An index failure: its kind, what we were doing, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind} while {context}")]
pub struct IndexError {
    pub kind: IndexErrorKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl IndexError {
    /// An error of `kind` met while doing `context` (lowercase, e.g. "reading batch 3").
    pub fn new(kind: IndexErrorKind, context: impl Into<String>) -> Self {
        IndexError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// Keeps `source` as the cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}
