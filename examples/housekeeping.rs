//! Memory of a long-running local stack: 10,000 exports (direct, email and push, by 20 users)
//! in batches of 1,000 against a stack it starts, printing after each batch the resident memory
//! and what the stack keeps: executions, push records, progress, files and execution records.
//! With a short file lifetime the stack forgets finished exports as their files expire, so the
//! figures stay flat; with the default 24 hours nothing expires during the run, which shows what
//! forgetting saves.
//!
//! `cargo run --release --example housekeeping [-- EXPORTS RETENTION_SECONDS]` (defaults: 10000, 5)

#[path = "../tests/common/load.rs"]
mod load;

use std::time::Duration;

const BATCH: usize = 1_000;
const USERS: usize = 20;

/// This process's resident and peak resident memory, in MiB, from `/proc/self/status`.
fn memory_mib() -> (f64, f64) {
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

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            if entry.path().is_dir() {
                files_under(&entry.path())
            } else {
                1
            }
        })
        .sum()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let exports: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let retention: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let mut config = sde_local::StackConfig::new("127.0.0.1:0".parse()?, dir.path().to_path_buf());
    config.seed_posts = 20_000;
    config.retention = Duration::from_secs(retention);
    // Each batch starts its exports at once; the per-user limits are not what is measured here.
    config.limits.max_running_per_owner = BATCH as u32;
    config.sockets.per_user = BATCH;
    eprintln!("importing {} posts…", config.seed_posts);
    let stack = sde_local::start(config).await?;
    let state = &stack.state;
    println!(
        "{exports} exports in batches of {BATCH} by {USERS} users, file lifetime {retention} s"
    );
    println!(
        "{:>8} {:>7} {:>9} {:>9} {:>11} {:>7} {:>9} {:>7} {:>8}",
        "exports",
        "secs",
        "RSS MiB",
        "peak MiB",
        "executions",
        "push",
        "progress",
        "files",
        "records"
    );
    let started = std::time::Instant::now();
    let mut done = 0;
    while done < exports {
        let batch = BATCH.min(exports - done);
        let report = load::run(&stack.base_url, batch, USERS).await;
        anyhow::ensure!(
            report.exact == batch,
            "{} of {batch} files were exact",
            report.exact
        );
        done += batch;
        let (rss, peak) = memory_mib();
        println!(
            "{done:>8} {:>7.1} {rss:>9.1} {peak:>9.1} {:>11} {:>7} {:>9} {:>7} {:>8}",
            started.elapsed().as_secs_f64(),
            state.workflow.engine().list_executions().len(),
            state.push_registry.len(),
            state.progress.len(),
            files_under(&dir.path().join("objects")),
            files_under(&dir.path().join("executions")),
        );
    }
    stack.shutdown().await?;
    Ok(())
}
