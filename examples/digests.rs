//! Daily digests at scale, locally: an embedded index of generated posts, SUBSCRIBERS users each
//! holding TERMS daily terms (words drawn from the posts themselves, so they match as real
//! searches would), and one day's digest composed for every user, as `sde digests --date` does
//! before mailing. Prints the time to build the index, the time to compose every digest, how many
//! had something to send, the posts they show, and peak memory.
//!
//! `cargo run --release --example digests [-- POSTS SUBSCRIBERS TERMS DAYS]`
//! (defaults: 1000000 10000 5 365: a million posts over a year, ~2,700 a day).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sde_core::testing::MemorySubscriptions;
use sde_core::{SubscriptionKind, SubscriptionTerm, Subscriptions};
use sde_dataimport::generate::{GeneratorConfig, PostGenerator};
use sde_handlers::digests::{DayMatches, PLAN_PAGE, compose_daily_digest, daily_digest_users};
use sde_tantivy::TantivyIndex;
use std::time::Instant;

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// A small deterministic generator for picking terms.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse())
        .collect::<Result<_, _>>()?;
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (posts, subscribers, terms, days) = (
        arg(0, 1_000_000),
        arg(1, 10_000),
        arg(2, 5),
        arg(3, 365).max(1),
    );
    let from = Utc.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).unwrap();
    let config = GeneratorConfig {
        from,
        to: from + Duration::days(days as i64),
        ..GeneratorConfig::default()
    };

    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let index = TantivyIndex::open_or_create(dir.path())?;
    let mut writer = index.writer()?;
    let mut words: Vec<String> = Vec::new();
    for (i, post) in PostGenerator::new(config).take(posts).enumerate() {
        // Words of every 100th post make the vocabulary terms are drawn from.
        if i % 100 == 0 {
            words.extend(
                post.content
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|word| word.chars().count() >= 4)
                    .map(str::to_lowercase),
            );
        }
        writer.add(&post)?;
    }
    writer.commit()?;
    words.sort();
    words.dedup();
    let built = started.elapsed();

    let book = MemorySubscriptions::default();
    let mut pick = Lcg(7);
    for user in 0..subscribers {
        for _ in 0..terms {
            let term = SubscriptionTerm::parse(&words[pick.below(words.len())])?;
            let _ = book
                .add(&format!("user-{user}"), SubscriptionKind::Daily, &term, 50)
                .await?;
        }
    }

    // The middle day of the range.
    let day: NaiveDate = (from + Duration::days(days as i64 / 2)).date_naive();
    let started = Instant::now();
    let users = daily_digest_users(&book, PLAN_PAGE).await?;
    let matches = DayMatches::new(day);
    let (mut sending, mut shown) = (0usize, 0usize);
    for user in &users {
        let digest = compose_daily_digest(&index, &book, &matches, user).await?;
        if !digest.is_empty() {
            sending += 1;
            shown += digest.shown();
        }
    }
    let composed = started.elapsed();
    println!(
        "posts {posts} over {days} days ({:.0}/day), {} distinct words to draw terms from",
        posts as f64 / days as f64,
        words.len()
    );
    println!("index built in {:.1} s", built.as_secs_f64());
    println!(
        "digests of {day} for {} users × {terms} terms composed in {:.2} s: {sending} to send, {:.1} posts shown on average",
        users.len(),
        composed.as_secs_f64(),
        shown as f64 / sending.max(1) as f64
    );
    println!("peak memory {:.0} MiB", peak_mib());
    Ok(())
}
