//! Encoder throughput, rows/s and MB/s of output, for CSV and NDJSON over posts shaped like the
//! generated sample data (about 4 % hostile content, 0–4 tags, numeric and `sub` user ids):
//! `cargo bench -p sde-core --bench encode`.

use chrono::{DateTime, Duration, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sde_core::encode::RowEncoder;
use sde_core::{Column, ExportFormat, ExportOptions, Post, UserId};
use std::hint::black_box;

const ROWS: usize = 10_000;

const WORDS: &[&str] = &[
    "the", "morning", "coffee", "was", "great", "today", "walking", "along", "river", "with",
    "friends", "and", "a", "dog", "sunset", "over", "city", "music", "night", "zeppelin",
];

fn post(i: usize) -> Post {
    let word = |k: usize| WORDS[(i.wrapping_mul(2_654_435_761) >> k) % WORDS.len()];
    let mut content = (0..16).map(|k| word(k + 3)).collect::<Vec<_>>().join(" ");
    content.push('.');
    if i.is_multiple_of(25) {
        content = format!("=\"quoted\", {content}\nsecond line");
    }
    let epoch = DateTime::<Utc>::UNIX_EPOCH + Duration::days(17_897);
    Post {
        id: format!("{i:016x}-{:08x}", i * 7),
        user_id: if i.is_multiple_of(3) {
            UserId::Text(format!("4f1c2d3e-{i:04x}-4a5b-8c9d-0e1f2a3b4c5d"))
        } else {
            UserId::Int((i % 5_000) as i64 + 1)
        },
        date_created: epoch + Duration::milliseconds((i as i64) * 31_536_001),
        content,
        tags: (0..i % 5).map(|k| format!("#{}", word(k * 5))).collect(),
    }
}

fn encoders(c: &mut Criterion) {
    let posts: Vec<Post> = (0..ROWS).map(post).collect();
    let mut group = c.benchmark_group("encode");
    for (name, format, columns) in [
        ("csv", ExportFormat::Csv, Column::DEFAULT.to_vec()),
        ("ndjson", ExportFormat::Ndjson, Column::DEFAULT.to_vec()),
        (
            "csv-all-columns-kolkata",
            ExportFormat::Csv,
            vec![
                Column::Uuid,
                Column::UserID,
                Column::DateCreated,
                Column::Content,
                Column::Tags,
            ],
        ),
    ] {
        let options = ExportOptions {
            format,
            columns,
            time_zone: if name.ends_with("kolkata") {
                chrono_tz::Asia::Kolkata
            } else {
                chrono_tz::UTC
            },
            ..ExportOptions::default()
        };
        let mut encoder = RowEncoder::new(&options);
        let mut out = Vec::with_capacity(4 << 20);
        for post in &posts {
            encoder.write_post(post, &mut out);
        }
        let bytes = out.len() as u64;
        // Rows and bytes are reported as two views of the same run.
        for (unit, throughput) in [
            ("rows", Throughput::Elements(ROWS as u64)),
            ("bytes", Throughput::Bytes(bytes)),
        ] {
            group.throughput(throughput);
            group.bench_function(BenchmarkId::new(name, unit), |b| {
                b.iter(|| {
                    out.clear();
                    for post in &posts {
                        encoder.write_post(black_box(post), &mut out);
                    }
                    black_box(out.len())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encoders);
criterion_main!(benches);
