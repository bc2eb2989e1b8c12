//! [`TantivyIndex`]: opening the index, writing posts, and answering searches and scans.

use crate::directory::IndexDirectory;
use crate::error::{from_join, from_tantivy};
use crate::query;
use crate::scan::{self, PreparedScan};
use crate::schema::{PostFields, StoredPost, text_analyzer, tokenizers};
use async_trait::async_trait;
use sde_core::{
    IndexError, IndexErrorKind, PageRequest, Post, PostQuery, PostScan, SearchIndex, SearchPage,
};
use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::EnableScoring;
use tantivy::store::Compressor;
use tantivy::{
    Index, IndexBuilder, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument,
};
use tracing::debug;

/// Memory the writer may use for buffering documents before it flushes a segment, over all its
/// threads; tantivy needs at least 15 MB per thread.
const WRITER_MEMORY_BYTES: usize = 64_000_000;
/// Most indexing threads one writer uses (each gets an equal share of the memory budget).
const MAX_WRITER_THREADS: usize = 4;
/// Decompressed doc-store blocks each segment's reader keeps for page fetches (16 KiB each).
const SEARCH_DOC_STORE_CACHE_BLOCKS: usize = 32;

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
            .map_err(|error| from_tantivy(format!("opening the index in {location}"), error))?;
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
            }),
        })
    }

    /// Number of posts committed and visible to searches.
    pub fn num_posts(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
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
        })
    }
}

fn builder() -> IndexBuilder {
    let (schema, _) = PostFields::schema();
    // Exports read every stored post, so decompression speed matters more than size: lz4
    // decompresses at several GB/s per core; zstd would save disk but cost export throughput.
    let settings = IndexSettings {
        docstore_compression: Compressor::Lz4,
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
        let query = query::build(query, &self.fields, &mut text_analyzer());
        let searching = |error| from_tantivy("searching", error);
        // Asking for a window past the last document would only make tantivy allocate for it.
        let num_docs = searcher.num_docs();
        let offset = page.offset();
        let window = u64::from(page.size).min(num_docs.saturating_sub(offset));
        let (Ok(offset), Ok(limit @ 1..)) = (usize::try_from(offset), usize::try_from(window))
        else {
            let total = searcher.search(&query, &Count).map_err(searching)?;
            return Ok(SearchPage {
                total: total as u64,
                posts: Vec::new(),
                warning: None,
            });
        };
        let top = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by_score();
        let (total, hits) = searcher.search(&query, &(Count, top)).map_err(searching)?;
        let posts = hits
            .into_iter()
            .map(|(_, address)| {
                searcher
                    .doc::<StoredPost>(address)
                    .map_err(|error| from_tantivy("reading a post of the page", error))?
                    .into_post()
            })
            .collect::<Result<Vec<Post>, IndexError>>()?;
        Ok(SearchPage {
            total: total as u64,
            posts,
            warning: None,
        })
    }

    fn prepare_scan(&self, query: &PostQuery) -> Result<PreparedScan, IndexError> {
        let searcher = self.reader.searcher();
        let query = query::build(query, &self.fields, &mut text_analyzer());
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .map_err(|error| from_tantivy("preparing a scan", error))?;
        PreparedScan::new(searcher, weight)
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
        debug!(total = prepared.total(), batch_size, "scan started");
        Ok(Box::new(scan::start(prepared, batch_size)))
    }
}

/// The index's writer: adds posts, then [`commit`](Self::commit)s them.
///
/// Calls block (indexing is CPU work); from async code, run them on the blocking pool. Dropping
/// the writer without committing discards what was added since the last commit.
pub struct PostWriter {
    writer: IndexWriter<TantivyDocument>,
    index: TantivyIndex,
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
        let fields = &self.index.inner.fields;
        let document = fields.document(post)?;
        self.writer.delete_term(fields.id_term(&post.id));
        self.writer
            .add_document(document)
            .map_err(|error| from_tantivy(format!("adding post {}", post.id), error))?;
        Ok(())
    }

    /// Commits what was added, makes it visible to new searches and scans, waits for background
    /// merges and releases the index lock. Returns the number of visible posts.
    pub fn commit(mut self) -> Result<u64, IndexError> {
        let inner = &self.index.inner;
        let location = &inner.location;
        self.writer
            .commit()
            .map_err(|error| from_tantivy(format!("committing to {location}"), error))?;
        let reload = || {
            inner
                .reader
                .reload()
                .map_err(|error| from_tantivy(format!("reloading the reader of {location}"), error))
        };
        reload()?;
        self.writer.wait_merging_threads().map_err(|error| {
            from_tantivy(format!("finishing segment merges in {location}"), error)
        })?;
        // Merges finished after the commit replace segments; searching fewer is faster.
        reload()?;
        Ok(self.index.num_posts())
    }
}
