//! Scanning every match of a query: producers on Tokio's blocking pool walk each segment's
//! matches in doc-id order and send batches of posts through bounded channels, so the next
//! batches are read while the caller encodes the previous one. The caller hands each batch it is
//! done with back through a second channel, and the producer overwrites those posts with the
//! next ones (see [`StoredPost::overwrite`]).
//!
//! Reading and decoding stored posts is half or more of an export's work, so a scan may run
//! several producers (see [`producers_for`]). They share the batches by turns (a [`Rota`]):
//! batch `k` of the scan, its matches `k * batch_size ..` in scan order, is read by producer
//! `k % producers`, and the caller takes the batches from the producers' channels in the same
//! turns. So the posts come in the one order whatever the number of producers.
//!
//! The producers hold the [`Searcher`] the scan started with, so the scan sees that snapshot
//! whatever is committed meanwhile. Each never holds more than the batch it is filling plus the
//! batches in its channel. Dropping the receiving ends (closing the scan) makes their next send
//! fail, and they stop.

use crate::error::{from_join, from_tantivy};
use crate::schema::StoredPost;
use async_trait::async_trait;
use sde_core::{IndexError, IndexErrorKind, Post, PostScan, Slice};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc as recycle;
use tantivy::directory::OwnedBytes;
use tantivy::fastfield::{AliveBitSet, write_alive_bitset};
use tantivy::query::Weight;
use tantivy::{BitSet, DocSet, Searcher, SegmentReader, TERMINATED};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

/// Most producers one scan runs, however many cores there are.
pub(crate) const MAX_PRODUCERS: usize = 4;
/// Batches each producer reads ahead of the caller.
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
    /// The matches, numbered in scan order, this scan yields: all of them, or one slice's.
    range: Range<u64>,
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
            range: 0..total,
        })
    }

    /// Narrows the scan to `slice` of its matches (numbered in scan order, which is fixed for
    /// one searcher), so the slices of one snapshot partition its matches.
    pub fn slice(mut self, slice: Slice) -> Self {
        self.range = slice.range(self.range.end - self.range.start);
        self
    }

    /// The exact number of posts the scan will yield.
    pub fn total(&self) -> u64 {
        self.range.end - self.range.start
    }

    /// The number of producers to read this scan with on this machine.
    pub fn producers(&self, batch_size: NonZeroUsize) -> NonZeroUsize {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        producers_for(self.total(), self.searcher.num_docs(), batch_size, cores)
    }
}

/// Scans matching at most one post in this many are sparse (see [`producers_for`]).
const SPARSE_ONE_IN: u64 = 10;

/// How many producers a scan of `total` matches among `posts` posts, in batches of
/// `batch_size`, runs on `cores` cores: up to [`MAX_PRODUCERS`], never more than there are
/// batches, and
/// - for a sparse scan, one per core. Reading a sparse match costs a block lookup and a
///   decompression, many times the work of encoding it, so the producers are what the export
///   waits for: on 2 cores, two producers made 20–30k-row exports of a 1M-post index about
///   25 % faster than one;
/// - otherwise one per two cores. Reading posts is then about half of an export's CPU time, and
///   encoding and writing the file the other half, so more producers only take cores from the
///   encoder: on 2 cores, two producers made a match-all export 20–40 % slower, and one
///   matching 60 % of the posts 4 % slower (see docs/performance.md).
pub(crate) fn producers_for(
    total: u64,
    posts: u64,
    batch_size: NonZeroUsize,
    cores: usize,
) -> NonZeroUsize {
    let sparse = total.saturating_mul(SPARSE_ONE_IN) <= posts;
    let wanted = if sparse { cores } else { cores / 2 };
    let batches = total.div_ceil(batch_size.get() as u64);
    let batches = usize::try_from(batches).unwrap_or(usize::MAX);
    NonZeroUsize::new(wanted.min(MAX_PRODUCERS).min(batches)).unwrap_or(NonZeroUsize::MIN)
}

/// Starts `producers` producers; must be called within a Tokio runtime.
pub(crate) fn start(
    prepared: PreparedScan,
    batch_size: NonZeroUsize,
    producers: NonZeroUsize,
) -> TantivyScan {
    let total = prepared.total();
    let prepared = Arc::new(prepared);
    let mut turns = Vec::with_capacity(producers.get());
    let mut handles = Vec::with_capacity(producers.get());
    for producer in 0..producers.get() {
        let (sender, receiver) = mpsc::channel(CHANNEL_BATCHES);
        let (recycler, recycled) = recycle::sync_channel(RECYCLED_BATCHES);
        let prepared = Arc::clone(&prepared);
        let rota = Rota::new(producer, producers, batch_size);
        handles.push(tokio::task::spawn_blocking(move || {
            produce(&prepared, rota, Channels { sender, recycled })
        }));
        turns.push(Turn { receiver, recycler });
    }
    TantivyScan {
        total,
        yielded: 0,
        turns,
        next_turn: 0,
        producers: handles,
    }
}

/// A running scan of a tantivy index.
#[derive(Debug)]
pub(crate) struct TantivyScan {
    total: u64,
    yielded: u64,
    /// The caller's ends of each producer's channels, in turn order.
    turns: Vec<Turn>,
    /// The producer whose batch comes next.
    next_turn: usize,
    producers: Vec<JoinHandle<()>>,
}

/// The caller's ends of one producer's channels.
#[derive(Debug)]
struct Turn {
    receiver: mpsc::Receiver<Batch>,
    recycler: recycle::SyncSender<Vec<Post>>,
}

impl TantivyScan {
    /// Stops the producers that are still running (their next send fails) and waits for them.
    async fn stop_producers(&mut self, doing: &str) -> Result<(), IndexError> {
        self.turns.clear();
        for producer in self.producers.drain(..) {
            producer.await.map_err(|error| from_join(doing, error))?;
        }
        Ok(())
    }
}

#[async_trait]
impl PostScan for TantivyScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
        let received = match self.turns.get_mut(self.next_turn) {
            Some(turn) => turn.receiver.recv().await,
            None => None,
        };
        if let Some(full) = received {
            let used = std::mem::replace(batch, full?);
            self.yielded += batch.len() as u64;
            if used.capacity() > 0 {
                // With the recycling channel full or the producer finished, it is dropped.
                let _ = self.turns[self.next_turn].recycler.try_send(used);
            }
            self.next_turn = (self.next_turn + 1) % self.turns.len();
            return Ok(true);
        }
        batch.clear();
        // The producer whose turn it is has ended, so there are no more batches: make sure every
        // producer ended because the scan had yielded everything.
        self.stop_producers("scanning").await?;
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

    async fn close(mut self: Box<Self>) -> Result<(), IndexError> {
        self.stop_producers("closing a scan").await?;
        debug!(yielded = self.yielded, total = self.total, "scan closed");
        Ok(())
    }
}

/// The producer's ends of the two channels.
struct Channels {
    sender: mpsc::Sender<Batch>,
    recycled: recycle::Receiver<Vec<Post>>,
}

fn produce(prepared: &PreparedScan, rota: Rota, channels: Channels) {
    let mut batches = Batcher {
        batch: Vec::new(),
        filled: 0,
        batch_size: rota.batch_size,
        channels,
    };
    if let Err(error) = walk(prepared, rota, &mut batches) {
        // If the receiver is gone there is nobody left to tell.
        let _ = batches.channels.sender.blocking_send(Err(error));
    }
}

/// Sends every match of this producer's turns in (segment, doc id) order; returns early once the
/// receiver is gone.
fn walk(prepared: &PreparedScan, mut rota: Rota, batches: &mut Batcher) -> Result<(), IndexError> {
    let range = &prepared.range;
    let mut before = 0u64;
    for (segment, &count) in prepared
        .searcher
        .segment_readers()
        .iter()
        .zip(&prepared.counts)
    {
        if batches.channels.sender.is_closed() {
            return Ok(());
        }
        // This segment's matches are numbered `first..before` in scan order; the scan yields
        // those in its range: `skip` of them are before it, `take` in it.
        let first = before;
        before += u64::from(count);
        if before <= range.start || count == 0 {
            continue;
        }
        if first >= range.end {
            break;
        }
        let skip = usize::try_from(range.start.saturating_sub(first)).unwrap_or(usize::MAX);
        let take =
            usize::try_from(before.min(range.end) - first.max(range.start)).unwrap_or(usize::MAX);
        let store = segment
            .get_store_reader(SCAN_DOC_STORE_CACHE_BLOCKS)
            .map_err(|error| {
                IndexError::new(IndexErrorKind::Corrupt, "opening a segment's doc store")
                    .with_source(error)
            })?;
        if count == segment.num_docs() {
            // Every live post matches (match-all, or a filter that spans the segment): read the
            // doc store front to back, one block after another, instead of looking each match
            // up in the block index and the block cache. The other producers' posts are skipped
            // as if deleted, so they are never decoded here.
            let (mine, count) = rota.take_segment(segment, skip, take);
            if count == 0 {
                continue;
            }
            for post in store.iter::<StoredPost>(mine.as_ref()).take(count) {
                let post = post.map_err(|error| from_tantivy("reading a post of a scan", error))?;
                if !batches.push(post)? {
                    return Ok(());
                }
            }
            continue;
        }
        let alive = segment.alive_bitset();
        let mut scorer = prepared
            .weight
            .scorer(segment, 1.0)
            .map_err(|error| from_tantivy("starting a segment of a scan", error))?;
        let mut doc = scorer.doc();
        let mut ordinal = 0usize;
        while doc != TERMINATED {
            let in_range = alive.is_none_or(|alive| alive.is_alive(doc)) && {
                ordinal += 1;
                ordinal > skip
            };
            if ordinal > skip + take {
                break;
            }
            if in_range && rota.take() {
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

/// Whose turn each match of a scan is: the producers take turns of `batch_size` matches, in
/// scan order, so each turn is exactly one batch.
#[derive(Debug, Clone, Copy)]
struct Rota {
    /// The producer this rota is for.
    producer: usize,
    producers: usize,
    batch_size: usize,
    /// The producer whose turn the next match is, and how many matches of that turn have passed.
    turn: usize,
    passed: usize,
}

impl Rota {
    fn new(producer: usize, producers: NonZeroUsize, batch_size: NonZeroUsize) -> Self {
        Rota {
            producer,
            producers: producers.get(),
            batch_size: batch_size.get(),
            turn: 0,
            passed: 0,
        }
    }

    /// Moves past the next match; true if it is this producer's.
    fn take(&mut self) -> bool {
        let mine = self.turn == self.producer;
        self.passed += 1;
        if self.passed == self.batch_size {
            self.passed = 0;
            self.turn = (self.turn + 1) % self.producers;
        }
        mine
    }

    /// Moves past `take` live posts of `segment` after the first `skip`; returns the set of
    /// those that are this producer's (`None`: every post of the segment) and how many there
    /// are. A lone producer of a whole segment owns every post, so its rota need not move.
    fn take_segment(
        &mut self,
        segment: &SegmentReader,
        skip: usize,
        take: usize,
    ) -> (Option<AliveBitSet>, usize) {
        let alive = segment.alive_bitset();
        let whole = skip == 0 && take >= segment.num_docs() as usize;
        if self.producers == 1 && whole {
            return (alive.cloned(), segment.num_docs() as usize);
        }
        let max_doc = segment.max_doc();
        let mut mine = BitSet::with_max_value(max_doc);
        let mut count = 0;
        let mut ordinal = 0usize;
        for doc in 0..max_doc {
            if !alive.is_none_or(|alive| alive.is_alive(doc)) {
                continue;
            }
            ordinal += 1;
            if ordinal <= skip {
                continue;
            }
            if ordinal > skip + take {
                break;
            }
            if self.take() {
                mine.insert(doc);
                count += 1;
            }
        }
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = write_alive_bitset(&mine, &mut bytes);
        (Some(AliveBitSet::open(OwnedBytes::new(bytes))), count)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn producers(total: u64, posts: u64, batch_size: usize, cores: usize) -> usize {
        let batch_size = NonZeroUsize::new(batch_size).unwrap_or(NonZeroUsize::MIN);
        producers_for(total, posts, batch_size, cores).get()
    }

    #[test]
    fn sparse_scans_get_a_producer_per_core_and_dense_ones_one_per_two() {
        let posts = 1_000_000;
        // A sparse scan: at most one post in ten matches.
        assert_eq!(producers(20_000, posts, 2_000, 2), 2);
        assert_eq!(producers(100_000, posts, 2_000, 3), 3);
        // A dense scan: more than one post in ten, up to every post.
        assert_eq!(producers(100_001, posts, 2_000, 2), 1);
        assert_eq!(producers(posts, posts, 2_000, 2), 1);
        assert_eq!(producers(posts, posts, 2_000, 6), 3);
        // One core, or none reported, still gets one producer.
        assert_eq!(producers(posts, posts, 2_000, 1), 1);
        assert_eq!(producers(10, posts, 2_000, 0), 1);
    }

    #[test]
    fn producers_are_capped_and_never_outnumber_the_batches() {
        assert_eq!(producers(1_000_000, 1_000_000, 2_000, 64), MAX_PRODUCERS);
        assert_eq!(producers(10, 1_000_000, 2_000, 64), 1, "one batch");
        assert_eq!(producers(4_001, 1_000_000, 2_000, 64), 3, "three batches");
        assert_eq!(producers(0, 1_000_000, 2_000, 64), 1, "an empty scan");
        assert_eq!(producers(0, 0, 1, 2), 1, "an empty index");
    }
}
