//! Scanning every match of a query: a producer on Tokio's blocking pool walks each segment's
//! matches in doc-id order and sends batches of posts through a bounded channel, so the next
//! batch is read while the caller encodes the previous one. The caller hands each batch it is
//! done with back through a second channel, and the producer overwrites those posts with the
//! next ones (see [`StoredPost::overwrite`]).
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
use std::sync::mpsc as recycle;
use tantivy::query::Weight;
use tantivy::{DocSet, Searcher, TERMINATED};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

/// Batches read ahead of the caller: one being consumed, one ready, one being filled.
const CHANNEL_BATCHES: usize = 2;
/// Used batches waiting for the producer to refill them; the caller drops any beyond this.
const RECYCLED_BATCHES: usize = 2;
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
    let (recycler, recycled) = recycle::sync_channel(RECYCLED_BATCHES);
    let total = prepared.total;
    let producer = tokio::task::spawn_blocking(move || {
        produce(prepared, batch_size, Channels { sender, recycled })
    });
    TantivyScan {
        total,
        yielded: 0,
        receiver,
        recycler,
        producer: Some(producer),
    }
}

/// A running scan of a tantivy index.
#[derive(Debug)]
pub(crate) struct TantivyScan {
    total: u64,
    yielded: u64,
    receiver: mpsc::Receiver<Batch>,
    recycler: recycle::SyncSender<Vec<Post>>,
    producer: Option<JoinHandle<()>>,
}

#[async_trait]
impl PostScan for TantivyScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
        if let Some(full) = self.receiver.recv().await {
            let used = std::mem::replace(batch, full?);
            self.yielded += batch.len() as u64;
            if used.capacity() > 0 {
                // With the recycling channel full or the producer finished, it is dropped.
                let _ = self.recycler.try_send(used);
            }
            return Ok(true);
        }
        batch.clear();
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
        Ok(false)
    }

    async fn close(self: Box<Self>) -> Result<(), IndexError> {
        let TantivyScan {
            receiver,
            recycler: _,
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

/// The producer's ends of the two channels.
struct Channels {
    sender: mpsc::Sender<Batch>,
    recycled: recycle::Receiver<Vec<Post>>,
}

fn produce(prepared: PreparedScan, batch_size: NonZeroUsize, channels: Channels) {
    let mut batches = Batcher {
        batch: Vec::new(),
        filled: 0,
        batch_size: batch_size.get(),
        channels,
    };
    if let Err(error) = walk(&prepared, &mut batches) {
        // If the receiver is gone there is nobody left to tell.
        let _ = batches.channels.sender.blocking_send(Err(error));
    }
}

/// Sends every match in (segment, doc id) order; returns early once the receiver is gone.
fn walk(prepared: &PreparedScan, batches: &mut Batcher) -> Result<(), IndexError> {
    for (segment, &count) in prepared
        .searcher
        .segment_readers()
        .iter()
        .zip(&prepared.counts)
    {
        if batches.channels.sender.is_closed() {
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
                let post = post.map_err(|error| from_tantivy("reading a post of a scan", error))?;
                if !batches.push(post)? {
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
                    .map_err(|error| from_tantivy("reading a post of a scan", error))?;
                if !batches.push(post)? {
                    return Ok(());
                }
            }
            doc = scorer.advance();
        }
    }
    if batches.filled > 0 {
        // A failed send means the receiver is gone, which is not an error of the scan.
        batches.send();
    }
    Ok(())
}

/// Fills batches, reusing the posts of batches the caller handed back, and sends each as soon
/// as it is full.
struct Batcher {
    /// The batch being filled: `batch[..filled]` are this batch's posts, the rest are posts of a
    /// recycled batch waiting to be overwritten.
    batch: Vec<Post>,
    filled: usize,
    batch_size: usize,
    channels: Channels,
}

impl Batcher {
    /// Adds `post`; false once the receiver is gone.
    fn push(&mut self, post: StoredPost) -> Result<bool, IndexError> {
        match self.batch.get_mut(self.filled) {
            Some(reused) => post.overwrite(reused)?,
            None => self.batch.push(post.into_post()?),
        }
        self.filled += 1;
        if self.filled < self.batch_size {
            return Ok(true);
        }
        Ok(self.send())
    }

    /// Sends the filled posts and starts the next batch; false once the receiver is gone.
    fn send(&mut self) -> bool {
        self.batch.truncate(self.filled);
        let next = self
            .channels
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.batch_size.min(MAX_BATCH_RESERVE)));
        let full = std::mem::replace(&mut self.batch, next);
        self.filled = 0;
        self.channels.sender.blocking_send(Ok(full)).is_ok()
    }
}
