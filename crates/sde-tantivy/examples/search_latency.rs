//! Latency of each search shape of `scripts/bench-search.lua`, one at a time, on an existing
//! index: `cargo run --release -p sde-tantivy --example search_latency -- <index folder> [runs]`
//! (e.g. `~/sde-bench/posts-1000000/index` after `scripts/bench-export.py --keep ~/sde-bench`).
//! Prints the total and p50 / p99 / max milliseconds of each shape over `runs` (default 200).

use chrono::{TimeZone, Utc};
use sde_core::{DateRange, PageRequest, PostQuery, SearchIndex};
use sde_tantivy::TantivyIndex;
use std::path::PathBuf;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: search_latency <index folder> [runs]")?,
    );
    let runs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(200);
    let index = TantivyIndex::open_or_create(&dir)?;
    let terms = |terms: &[&str]| terms.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let spring = DateRange {
        from: Utc.with_ymd_and_hms(2019, 3, 1, 0, 0, 0).single(),
        to: Utc.with_ymd_and_hms(2019, 6, 1, 0, 0, 0).single(),
    };
    let shapes = [
        ("#aurora", terms(&["#aurora"]), DateRange::default(), 0),
        ("zeppelin", terms(&["zeppelin"]), DateRange::default(), 0),
        ("today", terms(&["today"]), DateRange::default(), 0),
        (
            "today #aurora p3",
            terms(&["today", "#aurora"]),
            DateRange::default(),
            3,
        ),
        ("zeppelin + range", terms(&["zeppelin"]), spring, 0),
        ("today + range", terms(&["today"]), spring, 0),
        ("range only", Vec::new(), spring, 0),
    ];
    println!(
        "{:<18}{:>10}{:>9}{:>9}{:>9}",
        "search", "total", "p50 ms", "p99 ms", "max ms"
    );
    for (name, terms, date_range, page) in shapes {
        let query = PostQuery { terms, date_range };
        let page = PageRequest {
            number: page,
            size: 10,
        };
        let mut total = 0;
        let mut millis = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            total = index.search(&query, page).await?.total;
            millis.push(started.elapsed().as_secs_f64() * 1e3);
        }
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| millis[((millis.len() - 1) as f64 * q).round() as usize];
        println!(
            "{name:<18}{total:>10}{:>9.2}{:>9.2}{:>9.2}",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}
