//! [`TantivyIndex`]: opening the index, writing posts, and answering searches and scans.

use crate::directory::IndexDirectory;
use crate::error::{from_join, from_tantivy};
use crate::query;
use crate::scan::{self, PreparedScan};
use crate::schema::{PostFields, StoredPost, text_analyzer, tokenizers};
use async_trait::async_trait;
use sde_core::{
    IndexError, IndexErrorKind, PageRequest, Post, PostQuery, PostScan, SearchIndex, SearchPage,
    Slice, Snapshot,
};
use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{EnableScoring, Query, TermSetQuery};
use tantivy::store::Compressor;
use tantivy::{
    DocAddress, DocSet, Index, IndexBuilder, IndexReader, IndexSettings, IndexWriter, ReloadPolicy,
    Score, Searcher, TERMINATED, TantivyDocument, TantivyError,
};
use tracing::debug;

/// Memory the writer may use for buffering documents before it flushes a segment, over all its
/// threads; tantivy needs at least 15 MB per thread.
const WRITER_MEMORY_BYTES: usize = 64_000_000;
/// Most indexing threads one writer uses (each gets an equal share of the memory budget).
const MAX_WRITER_THREADS: usize = 4;
/// Uncompressed size at which the doc store closes a block (new indexes; an index keeps the
/// size it was created with).
const DOC_STORE_BLOCK_BYTES: usize = 4096;
/// Decompressed doc-store blocks each segment's reader keeps for page fetches.
const SEARCH_DOC_STORE_CACHE_BLOCKS: usize = 128;
/// Posts a [`PostWriter`] collects before it deletes their ids in one operation and adds them.
const ADD_BATCH_POSTS: usize = 10_000;
/// Memory of the writer that stores one new post: the least tantivy accepts for its one
/// thread (a post is a few kilobytes; the arena grows only as far as it is used).
const SINGLE_POST_WRITER_MEMORY_BYTES: usize = 15_000_000;

/// The posts index on tantivy, on disk or in RAM.
///
/// Cheap to clone (it is an `Arc`); searches and scans run on Tokio's blocking pool. Posts
/// become visible to new searches and scans when a [`PostWriter`] commits; a scan keeps seeing
/// the index as it was when it started.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    fields: PostFields,
    location: String,
    /// Held while new posts are written, so posts stored at the same time take the index's one
    /// writer in turn instead of failing on its lock.
    posting: Mutex<()>,
    /// New posts waiting for the next commit (see `posting.rs`).
    waiting_posts: Mutex<Vec<crate::posting::WaitingPost>>,
    /// Searchers pinned for sliced exports, by snapshot id.
    snapshots: Mutex<HashMap<String, Pinned>>,
}

/// A searcher generation kept alive for the slices of one export.
struct Pinned {
    searcher: Searcher,
    keep_alive: Duration,
    expires_at: Instant,
}

impl fmt::Debug for TantivyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TantivyIndex")
            .field("location", &self.inner.location)
            .field("num_posts", &self.num_posts())
            .finish()
    }
}

impl TantivyIndex {
    /// Opens the index in `dir` (created, with the posts schema, if absent).
    ///
    /// Fails with `Rejected` if `dir` holds an index with another schema, `Unavailable` if the
    /// folder cannot be used, `Corrupt` if the index files cannot be read.
    pub fn open_or_create(dir: &Path) -> Result<Self, IndexError> {
        let location = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|error| {
            IndexError::new(
                IndexErrorKind::Unavailable,
                format!("creating index folder {location}"),
            )
            .with_source(error)
        })?;
        let directory = IndexDirectory::open(dir).map_err(|error| {
            IndexError::new(
                IndexErrorKind::Unavailable,
                format!("opening index folder {location}"),
            )
            .with_source(error)
        })?;
        let index = builder()
            .open_or_create(directory)
            .map_err(|error| match error {
                TantivyError::SchemaError(_) => IndexError::new(
                    IndexErrorKind::Rejected,
                    format!(
                        "opening the index in {location}: it was written by an earlier version of \
                     sde; delete the folder and import again"
                    ),
                )
                .with_source(error),
                error => from_tantivy(format!("opening the index in {location}"), error),
            })?;
        Self::from_index(index, location)
    }

    /// A new, empty index held in RAM, for tests.
    pub fn in_memory() -> Result<Self, IndexError> {
        let index = builder()
            .create_in_ram()
            .map_err(|error| from_tantivy("creating an index in ram", error))?;
        Self::from_index(index, "ram".to_owned())
    }

    fn from_index(index: Index, location: String) -> Result<Self, IndexError> {
        let fields = PostFields::from_schema(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(SEARCH_DOC_STORE_CACHE_BLOCKS)
            .try_into()
            .map_err(|error| from_tantivy(format!("opening a reader on {location}"), error))?;
        Ok(TantivyIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                fields,
                location,
                posting: Mutex::new(()),
                waiting_posts: Mutex::default(),
                snapshots: Mutex::default(),
            }),
        })
    }

    /// Points new searches and scans at the latest commit.
    fn reload(&self) -> Result<(), IndexError> {
        let inner = &self.inner;
        inner.reader.reload().map_err(|error| {
            from_tantivy(format!("reloading the reader of {}", inner.location), error)
        })
    }

    /// A searcher on the latest commit the reader sees.
    pub(crate) fn searcher(&self) -> Searcher {
        self.inner.reader.searcher()
    }

    /// The fields of the schema.
    pub(crate) fn fields(&self) -> &PostFields {
        &self.inner.fields
    }

    /// Number of posts committed and visible to searches.
    pub fn num_posts(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// The turn to write new posts: whoever holds it commits every post waiting.
    pub(crate) fn posting_turn(&self) -> MutexGuard<'_, ()> {
        self.inner
            .posting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The new posts waiting for the next commit.
    pub(crate) fn waiting_posts(&self) -> MutexGuard<'_, Vec<crate::posting::WaitingPost>> {
        self.inner
            .waiting_posts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A writer for a few new posts, opened by the holder of the [`Self::posting_turn`].
    pub(crate) fn small_batch_writer(&self) -> Result<PostWriter, IndexError> {
        let writer = self
            .inner
            .index
            .writer_with_num_threads(1, SINGLE_POST_WRITER_MEMORY_BYTES)
            .map_err(|error| {
                from_tantivy(
                    format!(
                        "opening a writer on {} for a new post (is an import running?)",
                        self.inner.location
                    ),
                    error,
                )
            })?;
        Ok(PostWriter {
            writer,
            index: self.clone(),
            pending: Vec::new(),
            batch_posts: 1,
        })
    }

    /// The index's one writer. A second writer, from this or another process, cannot be had
    /// until the first is committed or dropped: asking fails at once with an `Unavailable` error
    /// saying the index is locked.
    pub fn writer(&self) -> Result<PostWriter, IndexError> {
        let threads = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .clamp(1, MAX_WRITER_THREADS);
        let writer = self
            .inner
            .index
            .writer_with_num_threads(threads, WRITER_MEMORY_BYTES)
            .map_err(|error| {
                from_tantivy(
                    format!(
                        "opening a writer on {} (only one writer may hold the index at a time)",
                        self.inner.location
                    ),
                    error,
                )
            })?;
        Ok(PostWriter {
            writer,
            index: self.clone(),
            pending: Vec::new(),
            batch_posts: ADD_BATCH_POSTS,
        })
    }
}

fn builder() -> IndexBuilder {
    let (schema, _) = PostFields::schema();
    // Exports read every stored post, so decompression speed matters more than size: lz4
    // decompresses at several GB/s per core; zstd would save disk but cost export throughput.
    // A selective export (a few percent of posts) reads only the blocks holding a match; with
    // tantivy's default 16 KiB blocks (about 60 posts each) nearly every block holds one, with
    // 4 KiB blocks about a quarter do. Reading everything costs a little more per block.
    let settings = IndexSettings {
        docstore_compression: Compressor::Lz4,
        docstore_blocksize: DOC_STORE_BLOCK_BYTES,
        ..IndexSettings::default()
    };
    Index::builder()
        .schema(schema)
        .settings(settings)
        .tokenizers(tokenizers())
}

impl Inner {
    fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        let searcher = self.reader.searcher();
        let mut analyzer = text_analyzer();
        let disjuncts = query::disjuncts(query, &self.fields, &mut analyzer);
        let unranked = query.terms.is_empty();
        let query = query::build(query, &self.fields, &mut analyzer);
        let searching = |error| from_tantivy("searching", error);
        let (total, hits) = if let Some(disjuncts) = disjuncts {
            // `TotalResults` is exact. Counting beside collecting the top hits would score every
            // match; counted on their own, tantivy counts terms without scoring (a term's count
            // is its document frequency) and the top hits can be pruned.
            let count = |query: &dyn Query| query.count(&searcher).map_err(searching);
            let total = (count(disjuncts.content.as_ref())? + count(disjuncts.tags.as_ref())?)
                .saturating_sub(count(&disjuncts.both())?) as u64;
            let Some((offset, limit)) = window(page, total) else {
                return Ok(empty_page(total));
            };
            let hits = top_of_dis_max(&searcher, query.as_ref(), &disjuncts, offset, limit);
            (total, hits.map_err(searching)?)
        } else if unranked {
            // Without terms every match scores the same and ranks by address: the page is the
            // first matches in index order, found without reading the rest.
            let total = query.count(&searcher).map_err(searching)? as u64;
            let Some((offset, limit)) = window(page, total) else {
                return Ok(empty_page(total));
            };
            let hits = first_matches(&searcher, query.as_ref(), offset, limit);
            (total, hits.map_err(searching)?)
        } else {
            // Intersections and ranges are not pruned anyway: count and rank in one pass.
            let searched = window(page, searcher.num_docs()).map(|(offset, limit)| {
                TopDocs::with_limit(limit)
                    .and_offset(offset)
                    .order_by_score()
            });
            let (total, hits) = searcher
                .search(&query, &(Count, searched))
                .map_err(searching)?;
            let hits = hits.unwrap_or_default().into_iter();
            (total as u64, hits.map(|(_, address)| address).collect())
        };
        let posts = hits
            .into_iter()
            .map(|address| {
                searcher
                    .doc::<StoredPost>(address)
                    .map_err(|error| from_tantivy("reading a post of the page", error))?
                    .into_post()
            })
            .collect::<Result<Vec<Post>, IndexError>>()?;
        Ok(SearchPage {
            total,
            posts,
            warning: None,
        })
    }

    fn prepare_scan(&self, query: &PostQuery) -> Result<PreparedScan, IndexError> {
        self.prepare_scan_on(self.reader.searcher(), query)
    }

    fn prepare_scan_on(
        &self,
        searcher: Searcher,
        query: &PostQuery,
    ) -> Result<PreparedScan, IndexError> {
        let query = query::build(query, &self.fields, &mut text_analyzer());
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .map_err(|error| from_tantivy("preparing a scan", error))?;
        PreparedScan::new(searcher, weight)
    }
}

fn empty_page(total: u64) -> SearchPage {
    SearchPage {
        total,
        posts: Vec::new(),
        warning: None,
    }
}

/// The offset and length of `page` among `total` hits, if it holds any: asking tantivy for a
/// window past the last hit would only make it allocate for it.
fn window(page: PageRequest, total: u64) -> Option<(usize, usize)> {
    let offset = page.offset();
    let limit = u64::from(page.size).min(total.saturating_sub(offset));
    match (usize::try_from(offset), usize::try_from(limit)) {
        (Ok(offset), Ok(limit @ 1..)) => Some((offset, limit)),
        _ => None,
    }
}

/// The matches `offset..offset + limit` of `query` in index order (segment, then doc id).
fn first_matches(
    searcher: &Searcher,
    query: &dyn Query,
    offset: usize,
    limit: usize,
) -> tantivy::Result<Vec<DocAddress>> {
    let wanted = offset.saturating_add(limit);
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut found = Vec::with_capacity(wanted.min(4096));
    for (segment_ord, reader) in (0u32..).zip(searcher.segment_readers()) {
        let alive = reader.alive_bitset();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED && found.len() < wanted {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                found.push(DocAddress::new(segment_ord, doc));
            }
            doc = scorer.advance();
        }
    }
    Ok(found.into_iter().skip(offset).collect())
}

/// The hits `offset..offset + limit` of `dis_max`, ranked as `TopDocs` ranks them (score, then
/// address), found through its [`Disjuncts`].
///
/// A post's `dis_max` score is the larger of its two disjunct scores, so a post among the first
/// `offset + limit` of the `dis_max` is among the first `offset + limit` of the disjunct that
/// gives its score: every post ahead of it there is ahead of it in the `dis_max` too. Each
/// disjunct alone is a single term, whose top hits tantivy finds by block-max WAND without
/// scoring most matches; the candidates are then scored by the `dis_max` itself.
fn top_of_dis_max(
    searcher: &Searcher,
    dis_max: &dyn Query,
    disjuncts: &query::Disjuncts,
    offset: usize,
    limit: usize,
) -> tantivy::Result<Vec<DocAddress>> {
    let wanted = offset.saturating_add(limit);
    let mut candidates = Vec::with_capacity(wanted.saturating_mul(2).min(4096));
    for part in [&disjuncts.content, &disjuncts.tags] {
        let top = TopDocs::with_limit(wanted).order_by_score();
        let hits: Vec<(Score, DocAddress)> = searcher.search(part.as_ref(), &top)?;
        candidates.extend(hits.into_iter().map(|(_, address)| address));
    }
    candidates.sort_unstable();
    candidates.dedup();
    let weight = dis_max.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut scored = Vec::with_capacity(candidates.len());
    for segment in candidates.chunk_by(|a, b| a.segment_ord == b.segment_ord) {
        let reader = searcher.segment_reader(segment[0].segment_ord);
        let mut scorer = weight.scorer(reader, 1.0)?;
        for &address in segment {
            if scorer.doc() < address.doc_id {
                scorer.seek(address.doc_id);
            }
            if scorer.doc() == address.doc_id {
                scored.push((scorer.score(), address));
            }
        }
    }
    scored.sort_unstable_by(|(a, a_address), (b, b_address)| {
        b.total_cmp(a).then(a_address.cmp(b_address))
    });
    Ok(scored
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, address)| address)
        .collect())
}

impl Inner {
    /// The pinned snapshots, without those past their expiry.
    fn snapshots(&self) -> MutexGuard<'_, HashMap<String, Pinned>> {
        let mut snapshots = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        snapshots.retain(|_, pinned| pinned.expires_at > now);
        snapshots
    }

    /// Pins the current searcher for `keep_alive` and counts the matches of `query` in it.
    fn open_snapshot(
        &self,
        query: &PostQuery,
        keep_alive: Duration,
    ) -> Result<Snapshot, IndexError> {
        let searcher = self.reader.searcher();
        let total = self.prepare_scan_on(searcher.clone(), query)?.total();
        static OPENED: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let id = format!(
            "tantivy-{nanos:x}-{}",
            OPENED.fetch_add(1, AtomicOrdering::Relaxed)
        );
        let pinned = Pinned {
            searcher,
            keep_alive,
            expires_at: Instant::now() + keep_alive,
        };
        self.snapshots().insert(id.clone(), pinned);
        Ok(Snapshot { id, total })
    }

    /// The searcher of `snapshot`, its expiry pushed `keep_alive` on.
    fn pinned(&self, snapshot: &str) -> Result<Searcher, IndexError> {
        let mut snapshots = self.snapshots();
        let pinned = snapshots.get_mut(snapshot).ok_or_else(|| {
            IndexError::new(
                IndexErrorKind::Rejected,
                "scanning a slice: the snapshot is unknown or expired",
            )
        })?;
        pinned.expires_at = Instant::now() + pinned.keep_alive;
        Ok(pinned.searcher.clone())
    }
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    async fn search(&self, query: &PostQuery, page: PageRequest) -> Result<SearchPage, IndexError> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        tokio::task::spawn_blocking(move || inner.search(&query, page))
            .await
            .map_err(|error| from_join("searching", error))?
    }

    async fn scan(
        &self,
        query: &PostQuery,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        let prepared = tokio::task::spawn_blocking(move || inner.prepare_scan(&query))
            .await
            .map_err(|error| from_join("preparing a scan", error))??;
        let producers = prepared.producers(batch_size);
        debug!(
            total = prepared.total(),
            batch_size, producers, "scan started"
        );
        Ok(Box::new(scan::start(prepared, batch_size, producers)))
    }

    /// Pins the reader's current searcher: its segments stay readable however many commits and
    /// merges follow, until the snapshot is closed or unused for `keep_alive`.
    async fn open_snapshot(
        &self,
        query: &PostQuery,
        keep_alive: Duration,
    ) -> Result<Option<Snapshot>, IndexError> {
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        let snapshot = tokio::task::spawn_blocking(move || inner.open_snapshot(&query, keep_alive))
            .await
            .map_err(|error| from_join("opening a snapshot", error))??;
        debug!(
            snapshot = snapshot.id,
            total = snapshot.total,
            "snapshot opened"
        );
        Ok(Some(snapshot))
    }

    async fn scan_slice(
        &self,
        snapshot: &str,
        query: &PostQuery,
        slice: Slice,
        batch_size: NonZeroUsize,
    ) -> Result<Box<dyn PostScan>, IndexError> {
        if !slice.is_valid() {
            return Err(IndexError::new(
                IndexErrorKind::Rejected,
                format!("scanning slice {} of {}", slice.index, slice.count),
            ));
        }
        let searcher = self.inner.pinned(snapshot)?;
        let inner = Arc::clone(&self.inner);
        let query = query.clone();
        let prepared = tokio::task::spawn_blocking(move || inner.prepare_scan_on(searcher, &query))
            .await
            .map_err(|error| from_join("preparing a slice", error))??
            .slice(slice);
        let producers = prepared.producers(batch_size);
        debug!(
            total = prepared.total(),
            slice = slice.index,
            of = slice.count,
            producers,
            "slice scan started"
        );
        Ok(Box::new(scan::start(prepared, batch_size, producers)))
    }

    async fn close_snapshot(&self, snapshot: &str) -> Result<(), IndexError> {
        self.inner.snapshots().remove(snapshot);
        Ok(())
    }
}

/// The index's writer: adds posts, then [`commit`](Self::commit)s them.
///
/// Calls block (indexing is CPU work); from async code, run them on the blocking pool. Dropping
/// the writer without committing discards what was added since the last commit.
pub struct PostWriter {
    writer: IndexWriter<TantivyDocument>,
    index: TantivyIndex,
    /// Posts added since the last flush, with their ids, in the order they were added.
    pending: Vec<(String, TantivyDocument)>,
    /// Number of pending posts that triggers a flush.
    batch_posts: usize,
}

impl fmt::Debug for PostWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostWriter")
            .field("index", &self.index.inner.location)
            .finish()
    }
}

impl PostWriter {
    /// Adds `post`, replacing any post with the same id (once committed).
    ///
    /// Fails with `Rejected` if its date is outside the years 1677–2262.
    pub fn add(&mut self, post: &Post) -> Result<(), IndexError> {
        let document = self.index.inner.fields.document(post)?;
        self.pending.push((post.id.clone(), document));
        if self.pending.len() >= self.batch_posts {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the pending posts to tantivy: one delete of all their ids, then the posts.
    ///
    /// One delete per post would cost about a kilobyte each until the commit (tantivy keeps a
    /// scoring weight per queued delete), which made importing 10M posts in one commit take
    /// 12 GB; one delete per batch costs a few bytes per id. Within a batch the last post with
    /// an id wins, as it would with a delete before each add.
    fn flush(&mut self) -> Result<(), IndexError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let fields = &self.index.inner.fields;
        let mut last = HashMap::with_capacity(pending.len());
        for (position, (id, _)) in pending.iter().enumerate() {
            last.insert(id.as_str(), position);
        }
        let keep = pending
            .iter()
            .enumerate()
            .map(|(position, (id, _))| last.get(id.as_str()) == Some(&position))
            .collect::<Vec<bool>>();
        let ids = last.into_keys().map(|id| fields.id_term(id));
        self.writer
            .delete_query(Box::new(TermSetQuery::new(ids)))
            .map_err(|error| from_tantivy("deleting replaced posts", error))?;
        for ((id, document), keep) in pending.into_iter().zip(keep) {
            if keep {
                self.writer
                    .add_document(document)
                    .map_err(|error| from_tantivy(format!("adding post {id}"), error))?;
            }
        }
        Ok(())
    }

    /// Commits what was added so far and makes it visible to new searches and scans, keeping
    /// the writer (and the index lock) for more. Returns the number of visible posts.
    ///
    /// Tantivy keeps every delete until the commit, so a long import commits now and then to
    /// keep its memory bounded.
    pub fn checkpoint(&mut self) -> Result<u64, IndexError> {
        self.flush()?;
        let location = &self.index.inner.location;
        self.writer
            .commit()
            .map_err(|error| from_tantivy(format!("committing to {location}"), error))?;
        self.index.reload()?;
        Ok(self.index.num_posts())
    }

    /// Commits what was added, makes it visible to new searches and scans, waits for background
    /// merges and releases the index lock. Returns the number of visible posts.
    pub fn commit(mut self) -> Result<u64, IndexError> {
        self.checkpoint()?;
        let location = &self.index.inner.location;
        self.writer.wait_merging_threads().map_err(|error| {
            from_tantivy(format!("finishing segment merges in {location}"), error)
        })?;
        // Merges finished after the commit replace segments; searching fewer is faster.
        self.index.reload()?;
        Ok(self.index.num_posts())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::{TimeZone, Utc};
    use sde_core::UserId;

    fn post(id: &str, content: &str) -> Post {
        Post {
            id: id.to_owned(),
            user_id: UserId::Int(1),
            date_created: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
            content: content.to_owned(),
            tags: vec![],
        }
    }

    async fn contents(index: &TantivyIndex) -> Vec<(String, String)> {
        let mut scan = index
            .scan(&PostQuery::default(), NonZeroUsize::MIN)
            .await
            .unwrap();
        let mut found = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            found.extend(batch.drain(..).map(|post| (post.id, post.content)));
        }
        found.sort();
        found
    }

    #[tokio::test]
    async fn the_last_post_with_an_id_wins_within_a_batch_and_across_batches() {
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        writer.batch_posts = 3;
        for (id, content) in [
            ("a", "one"),
            ("b", "two"),
            ("a", "three"),
            ("c", "four"),
            ("b", "five"),
            ("d", "six"),
            ("a", "seven"),
        ] {
            writer.add(&post(id, content)).unwrap();
        }
        assert_eq!(writer.commit().unwrap(), 4);
        let expected = [("a", "seven"), ("b", "five"), ("c", "four"), ("d", "six")];
        let expected = expected.map(|(id, content)| (id.to_owned(), content.to_owned()));
        assert_eq!(contents(&index).await, expected);
    }

    #[tokio::test]
    async fn a_checkpoint_makes_posts_visible_and_the_writer_goes_on() {
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        writer.batch_posts = 2;
        for (id, content) in [("a", "one"), ("b", "two"), ("c", "three")] {
            writer.add(&post(id, content)).unwrap();
        }
        assert_eq!(writer.checkpoint().unwrap(), 3);
        writer.add(&post("a", "four")).unwrap();
        assert_eq!(index.num_posts(), 3, "not visible before the next commit");
        assert_eq!(writer.commit().unwrap(), 3);
        let expected = [("a", "four"), ("b", "two"), ("c", "three")];
        let expected = expected.map(|(id, content)| (id.to_owned(), content.to_owned()));
        assert_eq!(contents(&index).await, expected);
    }

    /// The batches of a scan of `query` run by `producers` producers, as the caller gets them.
    async fn batches_of(
        index: &TantivyIndex,
        query: &PostQuery,
        batch_size: usize,
        producers: usize,
    ) -> Vec<Vec<String>> {
        let prepared = index.inner.prepare_scan(query).unwrap();
        let batch_size = NonZeroUsize::new(batch_size).unwrap();
        let producers = NonZeroUsize::new(producers).unwrap();
        let mut scan: Box<dyn PostScan> = Box::new(scan::start(prepared, batch_size, producers));
        let mut batches = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            batches.push(batch.iter().map(|post| post.id.clone()).collect());
        }
        scan.close().await.unwrap();
        batches
    }

    /// The posts (id, content) of slice `slice` of `snapshot`, read by `producers` producers.
    async fn slice_of(
        index: &TantivyIndex,
        snapshot: &str,
        query: &PostQuery,
        slice: Slice,
        batch_size: usize,
        producers: usize,
    ) -> Vec<(String, String)> {
        let searcher = index.inner.pinned(snapshot).unwrap();
        let prepared = index
            .inner
            .prepare_scan_on(searcher, query)
            .unwrap()
            .slice(slice);
        let total = prepared.total();
        let batch_size = NonZeroUsize::new(batch_size).unwrap();
        let producers = NonZeroUsize::new(producers).unwrap();
        let mut scan: Box<dyn PostScan> = Box::new(scan::start(prepared, batch_size, producers));
        let mut found = Vec::new();
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await.unwrap() {
            found.extend(batch.drain(..).map(|post| (post.id, post.content)));
        }
        scan.close().await.unwrap();
        assert_eq!(found.len() as u64, total, "a slice yields its own total");
        found
    }

    #[tokio::test]
    async fn the_slices_of_a_snapshot_are_the_scan_it_pinned_whatever_is_written_after() {
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        writer
            .writer
            .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for round in 0..4 {
            for i in 0..60 {
                let id = format!("p{}", (round * 45 + i) % 200);
                let content = if i % 3 == 0 { "cats" } else { "dogs" };
                writer.add(&post(&id, content)).unwrap();
            }
            writer.checkpoint().unwrap();
        }
        let cats = PostQuery {
            terms: vec!["cats".to_owned()],
            ..PostQuery::default()
        };
        let keep = Duration::from_secs(60);
        let mut pinned = Vec::new();
        for query in [PostQuery::default(), cats] {
            let expected = {
                let mut all: Vec<(String, String)> = Vec::new();
                let mut scan = index.scan(&query, NonZeroUsize::MIN).await.unwrap();
                let mut batch = Vec::new();
                while scan.next_batch(&mut batch).await.unwrap() {
                    all.extend(batch.drain(..).map(|p| (p.id, p.content)));
                }
                all.sort();
                all
            };
            let snapshot = index.open_snapshot(&query, keep).await.unwrap().unwrap();
            assert_eq!(snapshot.total, expected.len() as u64);
            pinned.push((query, snapshot, expected));
        }
        // Posts arrive, replace others and are merged away after the snapshots were taken.
        for i in 0..80 {
            let content = if i % 2 == 0 { "cats" } else { "dogs" };
            writer.add(&post(&format!("p{}", i * 3), content)).unwrap();
            writer.add(&post(&format!("new{i}"), content)).unwrap();
        }
        writer.commit().unwrap();

        for (query, snapshot, expected) in &pinned {
            let now = {
                let mut scan = index.scan(query, NonZeroUsize::MIN).await.unwrap();
                let mut batch = Vec::new();
                let mut all = Vec::new();
                while scan.next_batch(&mut batch).await.unwrap() {
                    all.extend(batch.drain(..).map(|p| (p.id, p.content)));
                }
                all.sort();
                all
            };
            assert_ne!(&now, expected, "the index did change");
            for count in 1..=5 {
                for (batch_size, producers) in [(1, 1), (7, 2), (500, 3)] {
                    let mut union = Vec::new();
                    for index_of in 0..count {
                        let slice = Slice {
                            index: index_of,
                            count,
                        };
                        let part =
                            slice_of(&index, &snapshot.id, query, slice, batch_size, producers)
                                .await;
                        union.extend(part);
                    }
                    union.sort();
                    assert_eq!(
                        &union, expected,
                        "{count} slices of {query:?} in batches of {batch_size}"
                    );
                }
            }
            // Through the trait as well.
            let mut union = Vec::new();
            for i in 0..3 {
                let slice = Slice { index: i, count: 3 };
                let mut scan = index
                    .scan_slice(&snapshot.id, query, slice, NonZeroUsize::new(5).unwrap())
                    .await
                    .unwrap();
                let mut batch = Vec::new();
                while scan.next_batch(&mut batch).await.unwrap() {
                    union.extend(batch.drain(..).map(|p| (p.id, p.content)));
                }
                scan.close().await.unwrap();
            }
            union.sort();
            assert_eq!(&union, expected);
            index.close_snapshot(&snapshot.id).await.unwrap();
            let closed = index
                .scan_slice(
                    &snapshot.id,
                    query,
                    Slice { index: 0, count: 1 },
                    NonZeroUsize::MIN,
                )
                .await
                .err()
                .unwrap();
            assert_eq!(
                closed.kind,
                IndexErrorKind::Rejected,
                "a closed snapshot is gone"
            );
        }
    }

    #[tokio::test]
    async fn a_snapshot_unused_for_its_keep_alive_expires() {
        let index = TantivyIndex::in_memory().unwrap();
        let snapshot = index
            .open_snapshot(&PostQuery::default(), Duration::from_millis(20))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let error = index
            .scan_slice(
                &snapshot.id,
                &PostQuery::default(),
                Slice { index: 0, count: 1 },
                NonZeroUsize::MIN,
            )
            .await
            .err()
            .unwrap();
        assert_eq!(error.kind, IndexErrorKind::Rejected);
        assert!(
            index.inner.snapshots().is_empty(),
            "the expired searcher is released"
        );
    }

    #[tokio::test]
    async fn any_number_of_producers_yields_the_same_batches_in_the_same_order() {
        let index = TantivyIndex::in_memory().unwrap();
        // Several segments, each with posts replaced (deleted) by a later commit.
        let mut writer = index.writer().unwrap();
        writer
            .writer
            .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for round in 0..4 {
            for i in 0..60 {
                let id = format!("p{}", (round * 45 + i) % 200);
                let content = if i % 3 == 0 { "cats" } else { "dogs" };
                writer.add(&post(&id, content)).unwrap();
            }
            writer.checkpoint().unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.inner.reader.searcher();
        assert!(searcher.segment_readers().len() >= 4);
        assert!(
            searcher
                .segment_readers()
                .iter()
                .any(|s| s.num_deleted_docs() > 0)
        );
        let cats = PostQuery {
            terms: vec!["cats".to_owned()],
            ..PostQuery::default()
        };
        for query in [PostQuery::default(), cats] {
            for batch_size in [1, 3, 7, 50, 500] {
                let expected = batches_of(&index, &query, batch_size, 1).await;
                let total = index.inner.prepare_scan(&query).unwrap().total();
                let posts: Vec<&String> = expected.iter().flatten().collect();
                assert_eq!(posts.len() as u64, total);
                let distinct: std::collections::HashSet<_> = posts.iter().collect();
                assert_eq!(distinct.len(), posts.len(), "no post twice");
                let (last, full) = expected.split_last().unwrap();
                assert!(full.iter().all(|batch| batch.len() == batch_size));
                assert!(!last.is_empty() && last.len() <= batch_size);
                for producers in 2..=scan::MAX_PRODUCERS {
                    assert_eq!(
                        batches_of(&index, &query, batch_size, producers).await,
                        expected,
                        "{query:?} in batches of {batch_size} by {producers} producers"
                    );
                }
            }
        }
    }

    #[test]
    fn a_single_term_page_is_the_page_tantivy_ranks_without_pruning() {
        let index = TantivyIndex::in_memory().unwrap();
        let mut writer = index.writer().unwrap();
        for i in 0..400u64 {
            let mixed = i.wrapping_mul(2_654_435_761);
            let cats = "cats ".repeat((mixed % 4) as usize);
            let filler = "dogs birds ".repeat((mixed >> 8) as usize % 6);
            let mut post = post(&format!("p{i}"), &format!("{cats}{filler}end"));
            if mixed % 5 == 0 {
                post.tags = vec!["#cats".to_owned()];
            }
            writer.add(&post).unwrap();
        }
        writer.commit().unwrap();
        let inner = &index.inner;
        let query = PostQuery {
            terms: vec!["Cats".to_owned()],
            ..PostQuery::default()
        };
        let searcher = inner.reader.searcher();
        let tantivy_query = query::build(&query, &inner.fields, &mut text_analyzer());
        let unpruned = searcher
            .search(
                &tantivy_query,
                &(Count, TopDocs::with_limit(400).order_by_score()),
            )
            .unwrap();
        for number in 0..50 {
            let page = PageRequest { number, size: 7 };
            let found = inner.search(&query, page).unwrap();
            assert_eq!(found.total, unpruned.0 as u64);
            let expected = unpruned
                .1
                .iter()
                .skip(number as usize * 7)
                .take(7)
                .map(|(_, address)| searcher.doc::<StoredPost>(*address).unwrap().into_post())
                .map(|post| post.unwrap().id)
                .collect::<Vec<_>>();
            let ids = found
                .posts
                .into_iter()
                .map(|post| post.id)
                .collect::<Vec<_>>();
            assert_eq!(ids, expected, "page {number}");
        }
    }
}
