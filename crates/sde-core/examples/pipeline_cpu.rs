//! CPU cost of the AWS export path without the network: `run_export` over a synthetic search
//! source that parses Elasticsearch-shaped result pages (as the Elasticsearch adapter does) into
//! a store that discards its 8 MiB parts.
//!
//! `cargo run --release -p sde-core --example pipeline_cpu -- [rows]` (default 2 000 000);
//! prints `cpu s / 1M rows` for CSV, NDJSON and gzipped CSV. CPU time is the process's user +
//! system time from `/proc/self/stat` (the counters `getrusage(RUSAGE_SELF)` reads; the
//! workspace forbids the `unsafe` a direct call would need).

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use sde_core::criteria::PageRequest;
use sde_core::export::{DEFAULT_BATCH_SIZE, ExportPlan, run_export};
use sde_core::post::PostSource;
use sde_core::{
    ExportFormat, ExportOptions, IndexError, ObjectKey, Post, PostQuery, PostScan, SearchIndex,
    SearchPage, UserId,
};
use serde::Deserialize;
use std::num::NonZeroUsize;
use std::time::Instant;

#[path = "common/discarding_store.rs"]
mod discarding_store;
use discarding_store::DiscardingStore;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const WORDS: &[&str] = &[
    "the", "morning", "coffee", "was", "great", "today", "walking", "along", "river", "with",
    "friends", "and", "a", "dog", "sunset", "over", "city", "music", "night", "zeppelin",
];

fn post(i: usize) -> Post {
    let word = |k: usize| WORDS[(i.wrapping_mul(2_654_435_761) >> k) % WORDS.len()];
    let mut content = (0..16).map(|k| word(k + 3)).collect::<Vec<_>>().join(" ");
    if i.is_multiple_of(25) {
        content = format!("=\"quoted\", {content}\nsecond line");
    }
    Post {
        id: format!("{i:016x}-{:08x}", i * 7),
        user_id: if i.is_multiple_of(3) {
            UserId::Text(format!("4f1c2d3e-{i:04x}-4a5b-8c9d-0e1f2a3b4c5d"))
        } else {
            UserId::Int((i % 5_000) as i64 + 1)
        },
        date_created: DateTime::<Utc>::UNIX_EPOCH
            + Duration::days(17_897)
            + Duration::milliseconds((i as i64) * 31_536_001),
        content,
        tags: (0..i % 5).map(|k| format!("#{}", word(k * 5))).collect(),
    }
}

#[derive(Deserialize)]
struct Response {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    _id: String,
    _source: PostSource,
}

/// Serves `rows` matches as Elasticsearch pages of one pre-rendered body, parsed per batch.
#[derive(Debug)]
struct SyntheticIndex {
    rows: u64,
    page: Bytes,
    page_rows: u64,
}

impl SyntheticIndex {
    fn new(rows: u64, batch_size: usize) -> Result<Self> {
        let hits: Vec<serde_json::Value> = (0..batch_size)
            .map(|i| {
                let p = post(i);
                serde_json::json!({"_index": "posts", "_id": p.id, "_score": null, "_source": {
                    "UserID": p.user_id, "DateCreated": p.date_created,
                    "Content": p.content, "Tags": p.tags}, "sort": [i]})
            })
            .collect();
        let body = serde_json::json!({"took": 3, "timed_out": false,
            "hits": {"total": {"value": rows, "relation": "eq"}, "hits": hits}});
        Ok(SyntheticIndex {
            rows,
            page: Bytes::from(serde_json::to_vec(&body)?),
            page_rows: batch_size as u64,
        })
    }
}

struct SyntheticScan {
    left: u64,
    total: u64,
    page: Bytes,
}

#[async_trait]
impl SearchIndex for SyntheticIndex {
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
        debug_assert!(self.page_rows > 0);
        Ok(Box::new(SyntheticScan {
            left: self.rows,
            total: self.rows,
            page: self.page.clone(),
        }))
    }
}

#[async_trait]
impl PostScan for SyntheticScan {
    fn total(&self) -> u64 {
        self.total
    }

    async fn next_batch(&mut self, batch: &mut Vec<Post>) -> std::result::Result<bool, IndexError> {
        if self.left == 0 {
            batch.clear();
            return Ok(false);
        }
        let response: Response = serde_json::from_slice(&self.page).map_err(|error| {
            IndexError::new(sde_core::IndexErrorKind::Corrupt, "parsing a page").with_source(error)
        })?;
        let mut posts: Vec<Post> = response
            .hits
            .hits
            .into_iter()
            .map(|hit| Post::from_source(hit._id, hit._source))
            .collect();
        posts.truncate(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.left -= posts.len() as u64;
        *batch = posts;
        Ok(true)
    }

    async fn close(self: Box<Self>) -> std::result::Result<(), IndexError> {
        Ok(())
    }
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .ok_or("short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // The kernel reports clock ticks of USER_HZ, which is 100 on Linux.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2_000_000);
    let index = SyntheticIndex::new(rows, DEFAULT_BATCH_SIZE.get())?;
    let store = DiscardingStore;
    println!(
        "{:<12}{:>10}{:>10}{:>10}{:>18}",
        "format", "rows", "MB", "wall s", "cpu s / 1M rows"
    );
    for (name, format, compress) in [
        ("csv", ExportFormat::Csv, false),
        ("ndjson", ExportFormat::Ndjson, false),
        ("csv.gz", ExportFormat::Csv, true),
    ] {
        let plan = ExportPlan {
            query: PostQuery::default(),
            options: ExportOptions {
                format,
                compress,
                ..ExportOptions::default()
            },
            key: ObjectKey::new(format!("bench.{name}"))?,
            download_name: format!("bench.{name}"),
            url_ttl: std::time::Duration::from_secs(60),
            batch_size: DEFAULT_BATCH_SIZE,
        };
        let links =
            sde_core::DownloadLinks::new(sde_core::SigningKey::generate(), "https://discarded");
        let cpu_before = cpu_seconds()?;
        let started = Instant::now();
        let report = run_export(&index, &store, &links, &plan, &|_| {}).await?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds()? - cpu_before;
        println!(
            "{name:<12}{:>10}{:>10.1}{wall:>10.2}{:>18.3}",
            report.rows,
            report.bytes as f64 / 1e6,
            cpu / (report.rows as f64 / 1e6)
        );
    }
    Ok(())
}
