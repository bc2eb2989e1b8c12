//! Latency of matching one new post against many real-time subscriptions with the local matcher:
//! `cargo run --release -p sde-tantivy --example match_latency -- [subscriptions] [posts]
//! [sample percent]` (defaults 100 000, 10 000 and 100).
//!
//! Posts and terms come from the import generator (`sde-dataimport`), the vocabulary of the
//! sample data. `sample percent` of the terms are drawn from generated posts: a post's tag
//! (Zipf-ranked, `#coffee` common, `#aurora` rare), one of its words of four letters or more, or
//! two such words in a row ("quiet harbour", which matches either word). That vocabulary has a
//! few hundred words, so at 100 % every word is held by hundreds of subscribers and a post
//! matches over a tenth of all subscriptions: the worst case, where the time goes into building
//! the answer. The other terms are distinct topics no generated post mentions (`topic-17`),
//! standing for the many subscriptions a given post is not about. Users hold five terms each.
//! The posts matched are another seed's.
//!
//! Prints how long loading took, resident memory before and after, and p50 / p99 / max
//! microseconds per post with the number of subscriptions each post matched. Each post is
//! matched three times: "first match" is the first time, "best of 3" the fastest, which leaves
//! out the time slices a busy machine gives other processes mid-match (and is helped by warm
//! caches).

use chrono::{TimeZone, Utc};
use sde_core::{Post, SubscriptionTerm};
use sde_dataimport::{GeneratorConfig, PostGenerator};
use sde_tantivy::LocalMatcher;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Terms each subscriber holds (the cap is 50).
const TERMS_PER_USER: usize = 5;

fn generator(seed: u64) -> PostGenerator {
    PostGenerator::new(GeneratorConfig {
        seed,
        from: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        to: Utc
            .with_ymd_and_hms(2026, 2, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        string_user_ids_percent: 100,
        ..GeneratorConfig::default()
    })
}

/// The `n`-th term drawn from `post`: a tag, a word, or two words in a row.
fn term_of(post: &Post, n: usize) -> Option<String> {
    let words: Vec<&str> = post
        .content
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 4)
        .collect();
    match n % 5 {
        0 | 1 => post.tags.get(n % post.tags.len().max(1)).cloned(),
        2 | 3 => words.get(n % words.len().max(1)).map(|w| w.to_lowercase()),
        _ => {
            let at = n % words.len().max(1);
            Some(format!("{} {}", words.get(at)?, words.get(at + 1)?).to_lowercase())
        }
    }
}

/// Resident and peak resident memory of this process, in MiB (Linux).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let subscriptions: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let posts: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let sample_percent: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100);

    let (rss_before, _) = memory();
    let started = Instant::now();
    let matcher = LocalMatcher::new();
    let mut sources = generator(7);
    let mut n = 0;
    let mut held = 0;
    while held < subscriptions {
        let Some(post) = sources.next() else { break };
        n += 1;
        let text = if n % 100 < sample_percent {
            term_of(&post, n)
        } else {
            Some(format!("topic-{n}"))
        };
        let Some(text) = text else { continue };
        let Ok(term) = SubscriptionTerm::parse(&text) else {
            continue;
        };
        let before = matcher.len();
        matcher.subscribe(&format!("user-{:06}", held / TERMS_PER_USER), &term);
        // A term the user already holds is not a second subscription.
        held += matcher.len() - before;
    }
    let loading = started.elapsed();
    let (rss_loaded, _) = memory();
    println!(
        "{} subscriptions of {} users ({sample_percent} % from the sample vocabulary) loaded in \
         {:.2} s; RSS {rss_before:.1} → {rss_loaded:.1} MiB",
        matcher.len(),
        subscriptions.div_ceil(TERMS_PER_USER),
        loading.as_secs_f64(),
    );

    let posts: Vec<Post> = generator(11).take(posts).collect();
    let mut first = Vec::with_capacity(posts.len());
    let mut best = Vec::with_capacity(posts.len());
    let mut matched = Vec::with_capacity(posts.len());
    for post in &posts {
        let mut times = [0.0; 3];
        for time in &mut times {
            let started = Instant::now();
            let found = matcher.matches(post);
            *time = started.elapsed().as_secs_f64() * 1e6;
            if matched.len() < first.len() + 1 {
                matched.push(found.len());
            }
        }
        first.push(times[0]);
        best.push(times.into_iter().fold(f64::INFINITY, f64::min));
    }
    matched.sort_unstable();
    let at = |q: f64| ((matched.len() - 1) as f64 * q).round() as usize;
    for (name, mut micros) in [("first match", first), ("best of 3", best)] {
        micros.sort_by(f64::total_cmp);
        println!(
            "{name:<12} p50 {:>6.0} µs, p99 {:>6.0} µs, max {:>6.0} µs per post",
            micros[at(0.5)],
            micros[at(0.99)],
            micros[at(1.0)],
        );
    }
    let (rss_end, peak) = memory();
    println!(
        "{} posts; subscriptions matched per post: p50 {}, p99 {}, max {}; RSS {rss_end:.1} MiB, \
         peak {peak:.1} MiB",
        matched.len(),
        matched[at(0.5)],
        matched[at(0.99)],
        matched[at(1.0)],
    );
    Ok(())
}
