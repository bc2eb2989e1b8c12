//! Wall time of a fanned-out export against an index whose batches cost a fixed latency (a
//! stand-in for a remote cluster): the same rows exported by 1, 2, 4 and 8 slices of one
//! snapshot, each slice a `write_export_slice` run into a store that discards its parts, the
//! slices running at once as the `Map` state runs them.
//!
//! `cargo run --release -p sde-core --example fanout_latency -- [rows] [ms per 1000 rows]`
//! (defaults 1 000 000 and 50). Prints the wall time per slice count and the speed-up over one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sde_core::criteria::PageRequest;
use sde_core::export::write_export_slice;
use sde_core::store::{ContentInfo, ObjectStore};
use sde_core::{
    Disposition, ExportOptions, ExportProgress, IndexError, ObjectKey, Post, PostQuery, PostScan,
    SearchIndex, SearchPage, Slice, Snapshot, UserId,
};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/discarding_store.rs"]
mod discarding_store;
use discarding_store::DiscardingStore;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const BATCH: usize = 1_000;

/// An index of `rows` posts whose every batch of [`BATCH`] takes `latency` to arrive.
#[derive(Debug)]
struct SlowIndex {
    rows: u64,
    latency: Duration,
}

struct SlowScan {
    next: u64,
    end: u64,
    latency: Duration,
}

fn post(i: u64) -> Post {
    Post {
        id: format!("post-{i:08}"),
        user_id: UserId::Int(i64::try_from(i % 10_000).unwrap_or(0)),
        date_created: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_500_000_000),
        content: format!("post number {i}, about coffee, rivers and the city at night"),
        tags: vec!["#coffee".into(), "#city".into()],
    }
}

#[async_trait]
impl SearchIndex for SlowIndex {
    async fn search(
        &self,
        _: &PostQuery,
        _: PageRequest,
    ) -> std::result::Result<SearchPage, IndexError> {
        Ok(SearchPage::default())
    }

    async fn scan(
        &self,
        _: &PostQuery,
        _: NonZeroUsize,
    ) -> std::result::Result<Box<dyn PostScan>, IndexError> {
        Ok(Box::new(SlowScan {
            next: 0,
            end: self.rows,
            latency: self.latency,
        }))
    }

    async fn open_snapshot(
        &self,
        _: &PostQuery,
        _: Duration,
    ) -> std::result::Result<Option<Snapshot>, IndexError> {
        Ok(Some(Snapshot {
            id: "bench".into(),
            total: self.rows,
        }))
    }

    async fn scan_slice(
        &self,
        _: &str,
        _: &PostQuery,
        slice: Slice,
        _: NonZeroUsize,
    ) -> std::result::Result<Box<dyn PostScan>, IndexError> {
        let range = slice.range(self.rows);
        Ok(Box::new(SlowScan {
            next: range.start,
            end: range.end,
            latency: self.latency,
        }))
    }
}

#[async_trait]
impl PostScan for SlowScan {
    fn total(&self) -> u64 {
        self.end - self.next
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> std::result::Result<bool, IndexError> {
        batch.clear();
        if self.next >= self.end {
            return Ok(false);
        }
        tokio::time::sleep(self.latency).await;
        let until = (self.next + BATCH as u64).min(self.end);
        batch.extend((self.next..until).map(post));
        self.next = until;
        Ok(true)
    }

    async fn close(self: Box<Self>) -> std::result::Result<(), IndexError> {
        Ok(())
    }
}

/// Exports every row of `index` as `count` slices at once; returns (rows, bytes).
async fn export(index: &Arc<SlowIndex>, count: u32) -> Result<(u64, u64)> {
    let batch = NonZeroUsize::new(BATCH).ok_or("batch")?;
    let mut runs = tokio::task::JoinSet::new();
    for index_of in 0..count {
        let index = Arc::clone(index);
        runs.spawn(async move {
            let options = ExportOptions::default();
            let content = ContentInfo {
                content_type: options.content_type().to_owned(),
                download_name: "bench.csv".into(),
                disposition: Disposition::Attachment,
            };
            let key = ObjectKey::new(format!("bench/{index_of}.part"))?;
            let upload = DiscardingStore.start_upload(&key, &content).await?;
            let slice = Slice {
                index: index_of,
                count,
            };
            let ignore = |_: ExportProgress| {};
            let written = write_export_slice(
                index.as_ref(),
                "bench",
                &PostQuery::default(),
                slice,
                &options,
                batch,
                upload,
                &ignore,
            )
            .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((written.rows, written.object.bytes))
        });
    }
    let (mut rows, mut bytes) = (0, 0);
    while let Some(result) = runs.join_next().await {
        let (r, b) = result??;
        rows += r;
        bytes += b;
    }
    Ok((rows, bytes))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let millis: u64 = args.next().map_or(Ok(50), |a| a.parse())?;
    let index = Arc::new(SlowIndex {
        rows,
        latency: Duration::from_millis(millis),
    });
    println!("{rows} rows, {millis} ms per batch of {BATCH}");
    println!("| slices | wall s | speed-up | rows | MiB |");
    println!("|---:|---:|---:|---:|---:|");
    let mut one = None;
    for count in [1u32, 2, 4, 8] {
        let started = Instant::now();
        let (written, bytes) = export(&index, count).await?;
        let seconds = started.elapsed().as_secs_f64();
        let base = *one.get_or_insert(seconds);
        if written != rows {
            return Err(format!("{count} slices wrote {written} rows of {rows}").into());
        }
        println!(
            "| {count} | {seconds:.2} | {:.2}x | {written} | {:.1} |",
            base / seconds,
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}
