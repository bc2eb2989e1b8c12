//! New posts becoming searchable on the local stack under a steady load: POSTS posts at RATE a
//! second (spread over 20 users, each post holding a word no other post has), each followed by
//! `/search` for its word until the search finds it. Prints, per post, the time from sending the
//! post to its 201, and from sending it to the first search that finds it — the figure the
//! product promises to keep under a second — as p50, p99 and max.
//!
//! `cargo run --release --example post_latency [-- POSTS RATE]` (defaults: 600 20, 30 s).

use reqwest::Client;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const USERS: usize = 20;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn token(http: &Client, base: &str, email: &str) -> anyhow::Result<String> {
    let answer: Value = http
        .post(format!("{base}/auth/token"))
        .json(&json!({ "email": email }))
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["idToken"].as_str().unwrap_or_default().to_owned())
}

/// Posts one post holding `word`, then searches for it until found; returns (201 after, found
/// after), in milliseconds.
async fn post_and_find(
    http: &Client,
    base: &str,
    token: &str,
    word: &str,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let response = http
        .post(format!("{base}/posts"))
        .header("Authorization", token)
        .json(&json!({ "Post": format!("latency probe {word}"), "Tags": ["#probe"] }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 201,
        "POST /posts: {}",
        response.status()
    );
    let created = started.elapsed().as_secs_f64() * 1e3;
    loop {
        let page: Value = http
            .post(format!("{base}/search"))
            .header("Authorization", token)
            .json(
                &json!({ "type": "post", "results": 1, "page": 0, "search": [{ "value": word }] }),
            )
            .send()
            .await?
            .json()
            .await?;
        if page["TotalResults"] == 1 {
            return Ok((created, started.elapsed().as_secs_f64() * 1e3));
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10),
            "{word} not found after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let posts: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(600);
    let rate: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20.0);
    let dir = tempfile::tempdir()?;
    let mut config = sde_local::StackConfig::new("127.0.0.1:0".parse()?, dir.path().to_path_buf());
    config.seed_posts = 100_000;
    config.digest_time = None;
    eprintln!("importing {} posts…", config.seed_posts);
    let stack = sde_local::start(config).await?;
    let base = stack.base_url.clone();
    let http = Client::new();
    let mut tokens = Vec::new();
    for user in 0..USERS {
        tokens.push(token(&http, &base, &format!("poster{user}@example.com")).await?);
    }

    let started = Instant::now();
    let mut probes = tokio::task::JoinSet::new();
    for i in 0..posts {
        let due = Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (http, base, token) = (http.clone(), base.clone(), tokens[i % USERS].clone());
        probes.spawn(async move {
            let word = format!("probe{i:06}x{}", uuid_ish(i));
            post_and_find(&http, &base, &token, &word).await
        });
    }
    let (mut created, mut found) = (Vec::new(), Vec::new());
    while let Some(result) = probes.join_next().await {
        let (c, f) = result??;
        created.push(c);
        found.push(f);
    }
    let elapsed = started.elapsed().as_secs_f64();
    created.sort_by(f64::total_cmp);
    found.sort_by(f64::total_cmp);
    println!(
        "{posts} posts at {rate}/s ({:.1}/s achieved) over 100,000 seeded posts",
        posts as f64 / elapsed
    );
    for (what, times) in [("201", &created), ("found by /search", &found)] {
        println!(
            "  {what:>18}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(times, 50.0),
            percentile(times, 99.0),
            percentile(times, 100.0)
        );
    }
    stack.shutdown().await?;
    Ok(())
}

/// Letters that make each probe word unique and free of digits-only tokens.
fn uuid_ish(i: usize) -> String {
    let mut n = i as u64 * 2_654_435_761 + 97;
    (0..6)
        .map(|_| {
            let c = (b'a' + (n % 26) as u8) as char;
            n /= 26;
            c
        })
        .collect()
}
