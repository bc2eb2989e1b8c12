//! The causes kept inside an [`IndexError`](sde_core::IndexError): what the cluster or the
//! client said, in detail for the logs. The `IndexError` context around them stays free of
//! cluster internals, because callers may show it to users.

/// What went wrong between this crate and the cluster.
#[derive(Debug, thiserror::Error)]
pub enum EsError {
    /// The HTTP client failed without an answer (connection refused or reset, DNS, TLS, timeout).
    #[error("request to the cluster failed")]
    Client(#[source] elasticsearch::Error),
    /// The cluster answered with an error status.
    #[error("HTTP {status}: {error_type}: {reason}")]
    Status {
        status: u16,
        error_type: String,
        reason: String,
    },
    /// Some shards failed, so the answer is partial.
    #[error("{failed} of {total} shards failed: {reason}")]
    ShardFailures {
        failed: u64,
        total: u64,
        reason: String,
    },
    /// A shard ran out of time, so the answer is partial.
    #[error("the search timed out inside the cluster (timed_out: true)")]
    TimedOut,
    /// A 2xx body that is not a search response.
    #[error("the response is not a search response: {start}")]
    Body {
        #[source]
        source: serde_json::Error,
        /// The start of the body.
        start: String,
    },
    /// The total is a lower bound, which would make the export's row-count check lie.
    #[error("the total hit count is not exact ({relation} {value})")]
    InexactTotal { value: u64, relation: String },
    /// The response has no `hits.total`.
    #[error("the response has no hits.total")]
    MissingTotal,
    /// A scroll response without a scroll id.
    #[error("the response to a scroll request has no _scroll_id")]
    MissingScrollId,
    /// A hit without `_source` (the index stores no source, or it was filtered away).
    #[error("document {id:?} has no _source")]
    MissingSource { id: String },
    /// A `_source` that is not a post.
    #[error("document {id:?} is not a post")]
    Document {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// A request body could not be encoded (never expected: bodies are built from JSON values).
    #[error("could not encode the request body")]
    Encode(#[source] serde_json::Error),
    /// A 2xx answer to a write that does not say the document was written under its id.
    #[error("the write of document {id:?} answered {result:?}, not created or updated")]
    UnexpectedWrite { id: String, result: String },
    /// A scan handed out more posts than its total said it would.
    #[error("the scroll returned {yielded} posts, more than its total of {total}")]
    TooManyHits { yielded: u64, total: u64 },
    /// The answer to opening a point in time has no id.
    #[error("the response to opening a point in time has no id")]
    MissingPitId,
    /// Opening a point in time reached only some shards: slices would miss their posts.
    #[error("the point in time was opened on {successful} of {total} shards")]
    PartialPit { successful: u64, total: u64 },
    /// A hit of a sorted page without sort values to continue after.
    #[error("document {id:?} of a sorted page has no sort values")]
    MissingSort { id: String },
    /// A whole page of hits that were all handed out already: the page is not larger than the
    /// shards that share one document number, so paging would never move on.
    #[error(
        "a page of {size} hits held only hits already read (page size too small for the shard count)"
    )]
    NoProgress { size: usize },
}
