//! Scanning every match of a query: a producer on Tokio's blocking pool walks each segment's
//! matches in doc-id order and sends batches of posts through a bounded channel, so the next
//! batch is read while the caller encodes the previous one.
//!
//! The producer holds the [`Searcher`] it started with, so the scan sees that snapshot whatever
//! is committed meanwhile. It never holds more than the batch it is filling plus the batches in
//! the channel. Dropping the receiving end (closing the scan) makes its next send fail, and it
//! stops.

use crate::error::{from_join, from_tantivy};
use crate::schema::StoredPost;
use async_trait::async_trait;
use sde_core::{IndexError, IndexErrorKind, Post, PostScan};
use std::num::NonZeroUsize;
use tantivy::query::Weight;
use tantivy::{DocSet, Searcher, TERMINATED};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

/// Batches read ahead of the caller: one being consumed, one ready, one being filled.
const CHANNEL_BATCHES: usize = 2;
/// Decompressed doc-store blocks the producer keeps per segment; it reads in doc-id order, so
/// the current block is all it ever needs again.
const SCAN_DOC_STORE_CACHE_BLOCKS: usize = 1;
/// Largest capacity reserved up front for a batch, whatever batch size was asked for.
const MAX_BATCH_RESERVE: usize = 4096;

type Batch = Result<Vec<Post>, IndexError>;

/// A scan whose snapshot is taken and total counted, not yet started.
pub(crate) struct PreparedScan {
    searcher: Searcher,
    weight: Box<dyn Weight>,
    /// Matches per segment, in the searcher's segment order.
    counts: Vec<u32>,
    total: u64,
}

impl PreparedScan {
    /// Counts the matches of `weight` in the snapshot `searcher` (deleted posts excluded).
    pub fn new(searcher: Searcher, weight: Box<dyn Weight>) -> Result<Self, IndexError> {
        let counts = searcher
            .segment_readers()
            .iter()
            .map(|segment| weight.count(segment))
            .collect::<tantivy::Result<Vec<u32>>>()
            .map_err(|error| from_tantivy("counting the matches of a scan", error))?;
        let total = counts.iter().copied().map(u64::from).sum();
        Ok(PreparedScan {
            searcher,
            weight,
            counts,
            total,
        })
    }

    /// The exact number of posts the scan will yield.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Starts the producer; must be called within a Tokio runtime.
pub(crate) fn start(prepared: PreparedScan, batch_size: NonZeroUsize) -> TantivyScan {
    let (sender, receiver) = mpsc::channel(CHANNEL_BATCHES);
    let total = prepared.total;
    let producer = tokio::task::spawn_blocking(move || produce(prepared, batch_size, sender));
    TantivyScan {
        total,
        yielded: 0,
        receiver,
        producer: Some(producer),
    }
}

/// A running scan of a tantivy index.
#[derive(Debug)]
pub(crate) struct TantivyScan {
    total: u64,
    yielded: u64,
    receiver: mpsc::Receiver<Batch>,
    producer: Option<JoinHandle<()>>,
}

#[async_trait]
impl PostScan for TantivyScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Post>>, IndexError> {
        if let Some(batch) = self.receiver.recv().await {
            let batch = batch?;
            self.yielded += batch.len() as u64;
            return Ok(Some(batch));
        }
        // The producer is done: make sure it ended because it had yielded everything.
        if let Some(producer) = self.producer.take() {
            producer
                .await
                .map_err(|error| from_join("scanning", error))?;
        }
        if self.yielded != self.total {
            return Err(IndexError::new(
                IndexErrorKind::Corrupt,
                format!(
                    "scanning: {} posts read but {} counted",
                    self.yielded, self.total
                ),
            ));
        }
        Ok(None)
    }

    async fn close(self: Box<Self>) -> Result<(), IndexError> {
        let TantivyScan {
            receiver,
            producer,
            yielded,
            total,
        } = *self;
        drop(receiver);
        if let Some(producer) = producer {
            producer
                .await
                .map_err(|error| from_join("closing a scan", error))?;
        }
        debug!(yielded, total, "scan closed");
        Ok(())
    }
}

fn produce(prepared: PreparedScan, batch_size: NonZeroUsize, sender: mpsc::Sender<Batch>) {
    if let Err(error) = walk(&prepared, batch_size.get(), &sender) {
        // If the receiver is gone there is nobody left to tell.
        let _ = sender.blocking_send(Err(error));
    }
}

/// Sends every match in (segment, doc id) order; returns early once the receiver is gone.
fn walk(
    prepared: &PreparedScan,
    batch_size: usize,
    sender: &mpsc::Sender<Batch>,
) -> Result<(), IndexError> {
    let mut batches = Batcher {
        batch: Vec::new(),
        batch_size,
        sender,
    };
    batches.renew();
    for (segment, &count) in prepared
        .searcher
        .segment_readers()
        .iter()
        .zip(&prepared.counts)
    {
        if sender.is_closed() {
            return Ok(());
        }
        let store = segment
            .get_store_reader(SCAN_DOC_STORE_CACHE_BLOCKS)
            .map_err(|error| {
                IndexError::new(IndexErrorKind::Corrupt, "opening a segment's doc store")
                    .with_source(error)
            })?;
        let alive = segment.alive_bitset();
        if count == segment.num_docs() {
            // Every live post matches (match-all, or a filter that spans the segment): read the
            // doc store front to back, one block after another, instead of looking each match
            // up in the block index and the block cache.
            for post in store.iter::<StoredPost>(alive) {
                let post = post
                    .map_err(|error| from_tantivy("reading a post of a scan", error))?
                    .into_post()?;
                if !batches.push(post) {
                    return Ok(());
                }
            }
            continue;
        }
        let mut scorer = prepared
            .weight
            .scorer(segment, 1.0)
            .map_err(|error| from_tantivy("starting a segment of a scan", error))?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                let post = store
                    .get::<StoredPost>(doc)
                    .map_err(|error| from_tantivy("reading a post of a scan", error))?
                    .into_post()?;
                if !batches.push(post) {
                    return Ok(());
                }
            }
            doc = scorer.advance();
        }
    }
    if !batches.batch.is_empty() {
        // A failed send means the receiver is gone, which is not an error of the scan.
        let _ = sender.blocking_send(Ok(batches.batch));
    }
    Ok(())
}

/// Fills batches and sends each as soon as it is full.
struct Batcher<'a> {
    batch: Vec<Post>,
    batch_size: usize,
    sender: &'a mpsc::Sender<Batch>,
}

impl Batcher<'_> {
    fn renew(&mut self) -> Vec<Post> {
        let fresh = Vec::with_capacity(self.batch_size.min(MAX_BATCH_RESERVE));
        std::mem::replace(&mut self.batch, fresh)
    }

    /// Adds `post`; false once the receiver is gone.
    fn push(&mut self, post: Post) -> bool {
        self.batch.push(post);
        if self.batch.len() < self.batch_size {
            return true;
        }
        let full = self.renew();
        self.sender.blocking_send(Ok(full)).is_ok()
    }
}
