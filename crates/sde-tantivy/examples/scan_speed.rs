//! Measures how fast a scan reads posts out of the index, and how long a search takes:
//! `cargo run --release -p sde-tantivy --example scan_speed -- [posts]` (default 200 000).
//! Builds the index in a temporary folder; prints rows per second.

use chrono::{Duration, TimeZone, Utc};
use sde_core::{PageRequest, Post, PostQuery, SearchIndex, UserId};
use sde_tantivy::TantivyIndex;
use std::num::NonZeroUsize;
use std::time::Instant;

/// The crate does not depend on anyhow; a boxed error is all this example needs.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const WORDS: &[&str] = &[
    "cats", "dogs", "sunset", "coffee", "rust", "beach", "mountain", "city", "night", "music",
    "friends", "weekend", "garden", "rain", "books", "travel", "food", "art", "river", "snow",
];

fn post(i: u64) -> Post {
    let word = |k: u64| WORDS[((i.wrapping_mul(2_654_435_761) >> k) % WORDS.len() as u64) as usize];
    let content = (0..12).map(|k| word(k * 3)).collect::<Vec<_>>().join(" ");
    Post {
        id: format!("{i:016x}-post"),
        user_id: if i.is_multiple_of(2) {
            UserId::Int(i as i64)
        } else {
            UserId::Text(format!("sub-{i}"))
        },
        date_created: Utc
            .with_ymd_and_hms(2019, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::milliseconds((i * 7_919) as i64),
        content: format!("{content}, a post of about this length with a few more words in it"),
        tags: vec![format!("#{}", word(5)), format!("#{}", word(11))],
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let count: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let index = TantivyIndex::open_or_create(dir.path())?;

    let started = Instant::now();
    let mut writer = index.writer()?;
    for i in 0..count {
        writer.add(&post(i))?;
    }
    let visible = writer.commit()?;
    println!("indexed {visible} posts in {:.2?}", started.elapsed());

    for (name, query) in [
        ("all posts", PostQuery::default()),
        (
            "term 'cats'",
            PostQuery {
                terms: vec!["cats".into()],
                ..PostQuery::default()
            },
        ),
    ] {
        let started = Instant::now();
        let mut scan = index
            .scan(
                &query,
                NonZeroUsize::new(1_000).unwrap_or(NonZeroUsize::MIN),
            )
            .await?;
        let total = scan.total();
        let mut rows = 0u64;
        let mut bytes = 0usize;
        let mut batch = Vec::new();
        while scan.next_batch(&mut batch).await? {
            rows += batch.len() as u64;
            bytes += batch.iter().map(|post| post.content.len()).sum::<usize>();
        }
        scan.close().await?;
        let elapsed = started.elapsed();
        println!(
            "scan {name}: {rows}/{total} rows in {elapsed:.2?} = {:.0} rows/s ({bytes} content bytes)",
            rows as f64 / elapsed.as_secs_f64()
        );
    }

    let query = PostQuery {
        terms: vec!["cats".into(), "#dogs".into()],
        ..PostQuery::default()
    };
    for page in [0, 100] {
        let started = Instant::now();
        let result = index
            .search(
                &query,
                PageRequest {
                    number: page,
                    size: 10,
                },
            )
            .await?;
        println!(
            "search page {page}: total {} in {:.2?}",
            result.total,
            started.elapsed()
        );
    }
    Ok(())
}
