//! Reports over a large local index, end to end as `POST /report/…` runs them: the plan (the
//! index's summary when the range is open), the aggregations, the drawing, the upload to the
//! local store and the signed link:
//! `cargo bench -p sde-handlers --bench reports` (1,000,000 posts; `SDE_BENCH_POSTS` to change,
//! `SDE_BENCH_DIR` to keep the index between runs — the first run builds it, untimed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sde_core::{DownloadLinks, Owner, Post, SigningKey, UserId};
use sde_handlers::reports::{ReportRequest, ReportSettings, report_graphical, report_hybrid};
use sde_localfs::LocalFsStore;
use sde_tantivy::TantivyIndex;
use serde_json::json;
use std::hint::black_box;
use std::path::PathBuf;

/// Tags in falling popularity: post `i` carries the k-th with a chance of about 1/(k+1).
const TAGS: &[&str] = &[
    "#cats",
    "#coffee",
    "#travel",
    "#food",
    "#sunset",
    "#music",
    "#photography",
    "#dogs",
    "#weekend",
    "#books",
    "#art",
    "#coding",
    "#running",
    "#summer",
    "#garden",
    "#rain",
    "#aurora",
    "#family",
    "#hiking",
    "#football",
    "#winter",
    "#tea",
    "#cycling",
    "#movies",
    "#beach",
];

/// Post `i` of `n`, dated evenly across 2019.
fn post(i: u64, n: u64) -> Post {
    let year_ms: i64 = 365 * 24 * 3600 * 1000;
    let start = DateTime::<Utc>::UNIX_EPOCH + Duration::days(17_897); // 2019-01-01
    let hash = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let tags = TAGS
        .iter()
        .enumerate()
        .filter(|(k, _)| (hash >> (k * 2)).is_multiple_of(*k as u64 + 2))
        .take(4)
        .map(|(_, tag)| (*tag).to_owned())
        .collect();
    Post {
        id: format!("{i:016x}"),
        user_id: UserId::Int((i % 5_000) as i64 + 1),
        date_created: start
            + Duration::milliseconds((i as i128 * year_ms as i128 / n as i128) as i64),
        content: format!("post {i} about the morning coffee and a walk"),
        tags,
    }
}

/// The index of `n` posts in `dir`, built if it is not there yet.
fn index_of(dir: &std::path::Path, n: u64) -> TantivyIndex {
    let index = TantivyIndex::open_or_create(&dir.join("index")).unwrap();
    if index.num_posts() != n {
        assert_eq!(
            index.num_posts(),
            0,
            "{} holds another index",
            dir.display()
        );
        let started = std::time::Instant::now();
        let mut writer = index.writer().unwrap();
        for i in 0..n {
            writer.add(&post(i, n)).unwrap();
        }
        writer.commit().unwrap();
        println!(
            "indexed {n} posts in {:.1} s (untimed)",
            started.elapsed().as_secs_f64()
        );
    }
    index
}

fn reports(c: &mut Criterion) {
    let n: u64 = std::env::var("SDE_BENCH_POSTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000);
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("SDE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let index = index_of(&dir.join(format!("posts-{n}")), n);
    let store = LocalFsStore::open(temporary.path(), "http://127.0.0.1:3000").unwrap();
    let links = DownloadLinks::new(SigningKey::generate(), "http://127.0.0.1:3000");
    let owner = Owner {
        sub: "bench".into(),
        email: "bench@example.com".into(),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cases = [
        (
            "chart, default range (24 h up to the newest post)",
            json!({}),
        ),
        (
            "chart, the whole year (53 weekly bars)",
            json!({"search": [{"dateRange": ["2019-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]}]}),
        ),
        (
            "chart, #coffee over the year",
            json!({"search": [{"value": "#coffee"},
                {"dateRange": ["2019-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]}]}),
        ),
    ];
    let mut group = c.benchmark_group(format!("report over {n} posts"));
    group.sample_size(10);
    for (name, body) in cases {
        let request: ReportRequest = serde_json::from_value(body).unwrap();
        group.bench_function(format!("graphical: {name}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    black_box(
                        report_graphical(
                            &index,
                            &store,
                            &links,
                            ReportSettings::default(),
                            &owner,
                            &request,
                        )
                        .await
                        .unwrap(),
                    )
                })
            })
        });
    }
    let year: ReportRequest = serde_json::from_value(
        json!({"download": true, "search": [{"dateRange": ["2019-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]}]}),
    )
    .unwrap();
    group.bench_function("hybrid: top 20 tags of the whole year, PDF", |b| {
        b.iter(|| {
            runtime.block_on(async {
                black_box(
                    report_hybrid(
                        &index,
                        &store,
                        &links,
                        ReportSettings::default(),
                        &owner,
                        &year,
                    )
                    .await
                    .unwrap(),
                )
            })
        })
    });
    group.finish();
}

criterion_group!(benches, reports);
criterion_main!(benches);
