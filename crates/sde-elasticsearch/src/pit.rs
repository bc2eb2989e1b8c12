//! Sliced exports: a point in time (PIT) of the posts index, read in slices with `search_after`.
//!
//! [`open_snapshot`] opens a PIT on the posts index (`keep_alive` from the caller) and counts the
//! query's matches inside it with a `size: 0` search on the PIT; [`EsSliceScan`] reads one slice
//! (`slice: {id, max}`) of it page by page; [`close_snapshot`] deletes it (already gone counts as
//! deleted). Every slice reads the same PIT, so together they yield exactly the counted matches,
//! whatever is indexed meanwhile.
//!
//! # The two APIs
//!
//! | | OpenSearch 2.4+ | Elasticsearch 7.12+, 8.x |
//! |---|---|---|
//! | open | `POST /<index>/_search/point_in_time?keep_alive=` (with `allow_partial_pit_creation=false`) | `POST /<index>/_pit?keep_alive=` |
//! | search | `POST /_search`, body `pit: {id, keep_alive}`, no index in the path | the same |
//! | close | `DELETE /_search/point_in_time`, body `{"pit_id": [id]}` | `DELETE /_pit`, body `{"id": id}` |
//! | order of a slice | `_doc`, see below | `_shard_doc` (unique within a PIT; from 7.12) |
//!
//! Which one is used is [`EsConfig::engine`](crate::EsConfig::engine) (`SDE_ES_ENGINE`, default
//! `opensearch`, what the AWS deployment runs) — configured rather than asked of the cluster,
//! because `GET /` needs a cluster permission the functions' user does not have, and probing both
//! routes would send a wrong-engine request on every export. A cluster that refuses to open a
//! PIT with 400, 405, or a 404 that is not a missing index — an unknown route: an older engine
//! (OpenSearch before 2.4, Elasticsearch before 7.10) or the other engine's API — answers
//! `Ok(None)`: the export keeps the single scroll, and the refusal is logged with the setting to
//! check. So does one that opens a PIT but refuses (400) to count in it sorted the way the slices
//! will page (Elasticsearch 7.10 and 7.11 have PITs but no `_shard_doc`); that PIT is deleted. The engine, the keep-alive and the PIT id travel together in the snapshot id
//! (`<engine>:<keep-alive>:<pit id>`), so the functions that read and close the PIT use the API
//! and keep-alive it was opened with.
//!
//! # Paging a slice on OpenSearch
//!
//! OpenSearch 2.x has no `_shard_doc`, and `_doc` alone is not unique across shards: every shard
//! numbers its documents from 0, so `search_after` a document number would skip the documents
//! of other shards with that same number that did not fit in the page. Sorting by `_id` as a
//! tiebreaker would load the ids of every document onto the heap. Instead each next page asks
//! for everything *from* the last page's document number (`search_after` that number minus one)
//! and drops the hits of that number already handed out (at most one per shard, remembered by
//! id). Within a PIT document numbers do not change, so nothing is missed or repeated. Should
//! the engine append a tiebreaker of its own to the sort values (more than one value per hit),
//! the page continues after those values as they are.
//!
//! # Failures
//!
//! As with the scroll: a page with failed shards or `timed_out` is an error (its rows would be
//! missing), searches set `allow_partial_search_results=false`, and a slice that hands out more
//! posts than its total is `Corrupt`. A PIT the cluster no longer knows (expired, or closed by a
//! failed export's clean-up) is `Rejected`: reading it again cannot succeed.

use crate::config::Engine;
use crate::error::EsError;
use crate::query;
use crate::response::{ErrorDetail, SearchResponse, Shards, status_error};
use crate::transport::{EsMethod, EsRequest, EsResponse, EsTransport};
use async_trait::async_trait;
use sde_core::{
    IndexError, IndexErrorKind, Post, PostQuery, PostScan, Slice, Snapshot, describe_chain,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Where every search of a PIT goes: no index in the path (the PIT names it).
const PIT_SEARCH_PATH: &str = "_search?allow_partial_search_results=false";

/// The parts of a snapshot id made by [`snapshot_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotId {
    /// The API the PIT was opened with.
    pub engine: Engine,
    /// Its keep-alive as the cluster writes durations (`20m`).
    pub keep_alive: String,
    /// The cluster's PIT id.
    pub pit: String,
}

impl SnapshotId {
    /// Reads an id made by [`snapshot_id`]; anything else is an unknown snapshot (`Rejected`).
    pub fn parse(id: &str) -> Result<Self, IndexError> {
        let unknown = || {
            IndexError::new(
                IndexErrorKind::Rejected,
                "reading a snapshot id: not one this index made",
            )
        };
        let mut parts = id.splitn(3, ':');
        let (Some(engine), Some(keep_alive), Some(pit)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(unknown());
        };
        let engine = Engine::from_name(engine).ok_or_else(unknown)?;
        let duration_ok = keep_alive
            .strip_suffix(['s', 'm'])
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !duration_ok || pit.is_empty() {
            return Err(unknown());
        }
        Ok(SnapshotId {
            engine,
            keep_alive: keep_alive.to_owned(),
            pit: pit.to_owned(),
        })
    }
}

/// The snapshot id of PIT `pit` opened with `engine`'s API and `keep_alive`:
/// `<engine>:<keep-alive>:<pit id>`.
pub fn snapshot_id(engine: Engine, keep_alive: &str, pit: &str) -> String {
    format!("{}:{keep_alive}:{pit}", engine.name())
}

/// `keep_alive` as the cluster writes durations, in whole seconds rounded up (at least 1 s):
/// `20m` for 20 minutes, `90s` for 90 seconds.
pub fn keep_alive_param(keep_alive: Duration) -> String {
    let secs = keep_alive
        .as_secs()
        .saturating_add(u64::from(keep_alive.subsec_nanos() > 0))
        .max(1);
    if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The request opening a PIT on `index`.
pub fn open_request(engine: Engine, index: &str, keep_alive: &str) -> EsRequest {
    let path = match engine {
        // Without `allow_partial_pit_creation=false` OpenSearch opens a PIT on the shards it
        // can reach and leaves the others out, silently.
        Engine::OpenSearch => format!(
            "{index}/_search/point_in_time?keep_alive={keep_alive}&allow_partial_pit_creation=false"
        ),
        Engine::Elasticsearch => format!("{index}/_pit?keep_alive={keep_alive}"),
    };
    EsRequest {
        method: EsMethod::Post,
        path,
        body: Value::Null,
    }
}

/// The request deleting PIT `pit`.
pub fn close_request(engine: Engine, pit: &str) -> EsRequest {
    let (path, body) = match engine {
        Engine::OpenSearch => ("_search/point_in_time", json!({"pit_id": [pit]})),
        Engine::Elasticsearch => ("_pit", json!({"id": pit})),
    };
    EsRequest {
        method: EsMethod::Delete,
        path: path.to_owned(),
        body,
    }
}

/// The order a slice is read in (see the module's notes on OpenSearch).
pub fn slice_sort(engine: Engine) -> Value {
    match engine {
        Engine::OpenSearch => json!([{"_doc": "asc"}]),
        Engine::Elasticsearch => json!([{"_shard_doc": "asc"}]),
    }
}

/// The answer to opening a PIT: `pit_id` on OpenSearch, `id` on Elasticsearch.
#[derive(Debug, Deserialize)]
struct Opened {
    #[serde(default)]
    pit_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "_shards", default)]
    shards: Option<Shards>,
}

/// Whether a refusal to open a PIT means the cluster has no such API: 400 or 405 (an unknown
/// route, or a request the engine does not understand — it carries no user input), or a 404 that
/// is not a missing index.
fn is_unsupported(status: u16, detail: &ErrorDetail) -> bool {
    match status {
        400 | 405 => true,
        404 => !detail.is("index_not_found_exception"),
        _ => false,
    }
}

/// The error for a non-2xx answer to a search of a PIT: as for any search, except that a PIT the
/// cluster no longer knows is `Rejected` (a scroll's is `Timeout`).
fn pit_status_error(status: u16, body: &[u8], context: &str) -> IndexError {
    let mut error = status_error(status, body, context);
    if status == 404 && ErrorDetail::parse(body).is("search_context_missing_exception") {
        error.kind = IndexErrorKind::Rejected;
    }
    error
}

/// Sends one search of a PIT and returns the checked 2xx answer: no failed shard, not timed out.
async fn search_pit(
    transport: &dyn EsTransport,
    body: Value,
    context: &str,
) -> Result<SearchResponse, IndexError> {
    let response = transport
        .send(EsRequest {
            method: EsMethod::Post,
            path: PIT_SEARCH_PATH.to_owned(),
            body,
        })
        .await?;
    checked(response, context)
}

/// The answer to a search of a PIT if it is a whole one: 2xx, no failed shard, not timed out.
fn checked(response: EsResponse, context: &str) -> Result<SearchResponse, IndexError> {
    if !(200..300).contains(&response.status) {
        return Err(pit_status_error(response.status, &response.body, context));
    }
    let response = SearchResponse::parse(&response.body, context)?;
    if response.timed_out {
        return Err(
            IndexError::new(IndexErrorKind::Timeout, context).with_source(EsError::TimedOut)
        );
    }
    if let Some(failure) = response.shard_failures() {
        return Err(IndexError::new(IndexErrorKind::Unavailable, context).with_source(failure));
    }
    Ok(response)
}

/// Opens a PIT on `index` and counts `query`'s matches in it; `Ok(None)` when the cluster has no
/// point-in-time API (see the module's notes).
pub(crate) async fn open_snapshot(
    transport: &dyn EsTransport,
    engine: Engine,
    index: &str,
    query: &PostQuery,
    keep_alive: Duration,
) -> Result<Option<Snapshot>, IndexError> {
    let context = "opening a point in time for a sliced export";
    let keep_alive = keep_alive_param(keep_alive);
    let response = transport
        .send(open_request(engine, index, &keep_alive))
        .await?;
    if !(200..300).contains(&response.status) {
        let detail = ErrorDetail::parse(&response.body);
        if is_unsupported(response.status, &detail) {
            warn!(index, status = response.status, engine = engine.name(),
                  error_type = %detail.error_type, reason = %detail.reason,
                  "the cluster will not open a point in time, so exports run as one scroll \
                   (point in time needs OpenSearch 2.4+ or Elasticsearch 7.12+; is SDE_ES_ENGINE right?)");
            return Ok(None);
        }
        return Err(status_error(response.status, &response.body, context));
    }
    let opened: Opened = serde_json::from_slice(&response.body).map_err(|source| {
        IndexError::new(IndexErrorKind::Corrupt, context).with_source(EsError::Body {
            source,
            start: crate::response::quote(&response.body),
        })
    })?;
    let Some(pit) = opened.pit_id.or(opened.id) else {
        return Err(
            IndexError::new(IndexErrorKind::Corrupt, context).with_source(EsError::MissingPitId)
        );
    };
    if let Some(shards) = &opened.shards
        && (shards.failed > 0 || shards.successful < shards.total)
    {
        let error = IndexError::new(IndexErrorKind::Unavailable, context).with_source(
            EsError::PartialPit {
                successful: shards.successful,
                total: shards.total,
            },
        );
        close_quietly(transport, engine, &pit).await;
        return Err(error);
    }
    let counting = "counting the matches of a sliced export";
    let count = transport
        .send(EsRequest {
            method: EsMethod::Post,
            path: PIT_SEARCH_PATH.to_owned(),
            body: query::pit_count_body(query, &pit, &keep_alive, &slice_sort(engine)),
        })
        .await;
    if let Ok(response) = &count
        && response.status == 400
    {
        let detail = ErrorDetail::parse(&response.body);
        warn!(index, engine = engine.name(), error_type = %detail.error_type, reason = %detail.reason,
              "the cluster will not page a point in time in slice order, so exports run as one \
               scroll (Elasticsearch needs 7.12+ for _shard_doc)");
        close_quietly(transport, engine, &pit).await;
        return Ok(None);
    }
    let counted = match count {
        Ok(response) => checked(response, counting)
            .and_then(|response| Ok((response.exact_total(counting)?, response.pit_id))),
        Err(error) => Err(error),
    };
    match counted {
        Ok((total, refreshed)) => {
            let pit = refreshed.unwrap_or(pit);
            info!(index, total, engine = engine.name(), keep_alive = %keep_alive, "point in time opened");
            Ok(Some(Snapshot {
                id: snapshot_id(engine, &keep_alive, &pit),
                total,
            }))
        }
        Err(error) => {
            close_quietly(transport, engine, &pit).await;
            Err(error)
        }
    }
}

/// Deletes the PIT of snapshot `id`; a 404 (expired or deleted already) counts as deleted.
///
/// OpenSearch answers 200 with `successful: false` for a PIT it could not free (gone already,
/// or a node that did not answer); that is logged, not an error — the keep-alive frees it anyway.
pub(crate) async fn close_snapshot(
    transport: &dyn EsTransport,
    id: &SnapshotId,
) -> Result<(), IndexError> {
    let context = "closing the point in time of a sliced export";
    let response = transport.send(close_request(id.engine, &id.pit)).await?;
    match response.status {
        200..=299 => {
            let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            let unfreed = body["pits"]
                .as_array()
                .is_some_and(|pits| pits.iter().any(|p| p["successful"] == json!(false)));
            if unfreed {
                debug!(
                    "the cluster did not free the point in time (gone already?); its keep-alive will"
                );
            }
            Ok(())
        }
        404 => Ok(()),
        status => Err(status_error(status, &response.body, context)),
    }
}

async fn close_quietly(transport: &dyn EsTransport, engine: Engine, pit: &str) {
    let id = SnapshotId {
        engine,
        keep_alive: String::new(),
        pit: pit.to_owned(),
    };
    if let Err(error) = close_snapshot(transport, &id).await {
        warn!(error = %describe_chain(&error), "closing a point in time failed; its keep-alive will free it");
    }
}

/// Where the next page of a slice starts.
#[derive(Debug, Clone, PartialEq)]
enum Cursor {
    /// The first page.
    Start,
    /// After these sort values, which are unique within the PIT.
    After(Vec<Value>),
    /// From document number `doc` on (`search_after: [doc - 1]`), skipping the hits with that
    /// number already handed out (OpenSearch, see the module's notes).
    From { doc: i64, seen: Vec<String> },
}

/// Where a slice scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The last page was not full: nothing is left.
    Exhausted,
    Finished,
    Failed,
}

/// One slice of a PIT, read page by page with `search_after`. It holds nothing on the cluster
/// (the PIT belongs to the export, closed when it is composed or discarded), so closing it sends
/// nothing.
#[derive(Debug)]
pub struct EsSliceScan {
    transport: Arc<dyn EsTransport>,
    engine: Engine,
    keep_alive: String,
    /// The PIT id to send next (the cluster may refresh it from one answer to the next).
    pit: String,
    query: PostQuery,
    slice: Slice,
    sort: Value,
    batch_size: NonZeroUsize,
    cursor: Cursor,
    total: u64,
    yielded: u64,
    pages: u64,
    /// The posts of the first page, read when the scan opened (to learn the slice's total).
    first: Option<Vec<Post>>,
    state: State,
}

impl EsSliceScan {
    /// Reads the first page of slice `slice` of snapshot `snapshot`, with the slice's total.
    pub(crate) async fn open(
        transport: Arc<dyn EsTransport>,
        snapshot: SnapshotId,
        query: &PostQuery,
        slice: Slice,
        batch_size: NonZeroUsize,
    ) -> Result<Self, IndexError> {
        if !slice.is_valid() {
            return Err(IndexError::new(
                IndexErrorKind::Rejected,
                format!(
                    "scanning slice {} of {}: no such slice",
                    slice.index, slice.count
                ),
            ));
        }
        let mut scan = EsSliceScan {
            transport,
            engine: snapshot.engine,
            keep_alive: snapshot.keep_alive,
            pit: snapshot.pit,
            query: query.clone(),
            slice,
            sort: slice_sort(snapshot.engine),
            batch_size,
            cursor: Cursor::Start,
            total: 0,
            yielded: 0,
            pages: 0,
            first: None,
            state: State::Reading,
        };
        let context = format!(
            "opening slice {} of {} of the export",
            slice.index, slice.count
        );
        let response = scan.fetch(&context).await?;
        scan.total = response.exact_total(&context)?;
        let first = scan.take_page(response, &context)?;
        scan.first = Some(first);
        debug!(
            slice = slice.index,
            of = slice.count,
            total = scan.total,
            "slice scan opened"
        );
        Ok(scan)
    }

    /// Sends the search for the page at the cursor.
    async fn fetch(&mut self, context: &str) -> Result<SearchResponse, IndexError> {
        self.pages += 1;
        let after: Option<Vec<Value>> = match &self.cursor {
            Cursor::Start => None,
            Cursor::After(values) => Some(values.clone()),
            Cursor::From { doc, .. } => Some(vec![json!(doc.saturating_sub(1))]),
        };
        let body = query::pit_page_body(
            &self.query,
            &self.pit,
            &self.keep_alive,
            self.slice,
            &self.sort,
            self.batch_size.get(),
            after.as_deref(),
        );
        let response = search_pit(self.transport.as_ref(), body, context).await?;
        if let Some(pit) = &response.pit_id {
            self.pit.clone_from(pit);
        }
        Ok(response)
    }

    /// The new posts of a page, moving the cursor past them.
    fn take_page(
        &mut self,
        response: SearchResponse,
        context: &str,
    ) -> Result<Vec<Post>, IndexError> {
        let hits = response.hits.hits;
        let full = hits.len() >= self.batch_size.get();
        if !full {
            self.state = State::Exhausted;
        }
        let Some(last) = hits.last() else {
            return Ok(Vec::new());
        };
        let Some(last_sort) = last.sort.clone() else {
            return Err(
                IndexError::new(IndexErrorKind::Corrupt, context).with_source(
                    EsError::MissingSort {
                        id: last.id.clone(),
                    },
                ),
            );
        };
        let doc_of = |sort: &Option<Vec<Value>>| -> Option<i64> {
            match sort.as_deref() {
                Some([doc]) => doc.as_i64(),
                _ => None,
            }
        };
        // The hits already handed out, from the previous page's last document number.
        let skip: Option<(i64, &[String])> = match &self.cursor {
            Cursor::From { doc, seen } => Some((*doc, seen.as_slice())),
            _ => None,
        };
        let last_doc = match last_sort.as_slice() {
            [doc] => doc.as_i64(),
            _ => None,
        };
        let next = match (self.engine, last_doc) {
            (Engine::OpenSearch, Some(doc)) => {
                let mut seen: Vec<String> = hits
                    .iter()
                    .filter(|hit| doc_of(&hit.sort) == Some(doc))
                    .map(|hit| hit.id.clone())
                    .collect();
                if let Some((previous, already)) = skip
                    && previous == doc
                {
                    for id in already {
                        if !seen.contains(id) {
                            seen.push(id.clone());
                        }
                    }
                }
                Cursor::From { doc, seen }
            }
            _ => Cursor::After(last_sort),
        };
        let mut posts = Vec::with_capacity(hits.len());
        for hit in hits {
            if let Some((doc, seen)) = skip
                && doc_of(&hit.sort) == Some(doc)
                && seen.contains(&hit.id)
            {
                continue;
            }
            posts.push(hit.into_post()?);
        }
        if posts.is_empty() && full {
            return Err(
                IndexError::new(IndexErrorKind::Corrupt, context).with_source(
                    EsError::NoProgress {
                        size: self.batch_size.get(),
                    },
                ),
            );
        }
        self.cursor = next;
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
        Ok(posts)
    }

    /// The next posts; `None` once the slice is read.
    async fn read_page(&mut self) -> Result<Option<Vec<Post>>, IndexError> {
        if let Some(first) = self.first.take()
            && !first.is_empty()
        {
            return Ok(Some(first));
        }
        loop {
            if self.state == State::Exhausted {
                return Ok(None);
            }
            let context = format!(
                "reading page {} of slice {} of {} of the export",
                self.pages + 1,
                self.slice.index,
                self.slice.count
            );
            let response = self.fetch(&context).await?;
            let posts = self.take_page(response, &context)?;
            if !posts.is_empty() {
                return Ok(Some(posts));
            }
        }
    }
}

#[async_trait]
impl PostScan for EsSliceScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> Result<bool, IndexError> {
        batch.clear();
        match self.state {
            State::Reading | State::Exhausted => {}
            State::Finished => return Ok(false),
            State::Failed => {
                return Err(IndexError::new(
                    IndexErrorKind::Rejected,
                    "reading a scan that has already failed",
                ));
            }
        }
        match self.read_page().await {
            Ok(Some(posts)) => {
                *batch = posts;
                Ok(true)
            }
            Ok(None) => {
                self.state = State::Finished;
                info!(
                    slice = self.slice.index,
                    of = self.slice.count,
                    posts = self.yielded,
                    total = self.total,
                    pages = self.pages,
                    "slice scan finished"
                );
                Ok(false)
            }
            Err(error) => {
                self.state = State::Failed;
                warn!(slice = self.slice.index, of = self.slice.count, error = %describe_chain(&error),
                      "slice page failed");
                Err(error)
            }
        }
    }

    async fn close(self: Box<Self>) -> Result<(), IndexError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_carry_engine_keep_alive_and_pit() {
        let id = snapshot_id(Engine::OpenSearch, "20m", "o463QQ:x==");
        assert_eq!(id, "opensearch:20m:o463QQ:x==");
        assert_eq!(
            SnapshotId::parse(&id).unwrap(),
            SnapshotId {
                engine: Engine::OpenSearch,
                keep_alive: "20m".into(),
                pit: "o463QQ:x==".into()
            }
        );
        for bad in [
            "",
            "pit",
            "solr:20m:x",
            "opensearch:20:x",
            "opensearch:m:x",
            "elasticsearch:1m:",
        ] {
            let error = SnapshotId::parse(bad).unwrap_err();
            assert_eq!(error.kind, IndexErrorKind::Rejected, "{bad}");
        }
    }

    #[test]
    fn keep_alives_are_whole_seconds_rounded_up() {
        assert_eq!(keep_alive_param(Duration::from_secs(1200)), "20m");
        assert_eq!(keep_alive_param(Duration::from_secs(90)), "90s");
        assert_eq!(keep_alive_param(Duration::from_millis(20)), "1s");
        assert_eq!(keep_alive_param(Duration::from_millis(59_500)), "1m");
    }

    #[test]
    fn each_engine_has_its_own_routes() {
        let open = open_request(Engine::OpenSearch, "posts", "20m");
        assert_eq!(
            open.path,
            "posts/_search/point_in_time?keep_alive=20m&allow_partial_pit_creation=false"
        );
        assert_eq!(open.body, Value::Null);
        assert_eq!(
            open_request(Engine::Elasticsearch, "posts", "20m").path,
            "posts/_pit?keep_alive=20m"
        );
        let close = close_request(Engine::OpenSearch, "abc");
        assert_eq!(
            (close.method, close.path.as_str(), close.body),
            (
                EsMethod::Delete,
                "_search/point_in_time",
                json!({"pit_id": ["abc"]})
            )
        );
        let close = close_request(Engine::Elasticsearch, "abc");
        assert_eq!(
            (close.method, close.path.as_str(), close.body),
            (EsMethod::Delete, "_pit", json!({"id": "abc"}))
        );
    }
}
