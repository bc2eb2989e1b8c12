//! Memory of a long-running local stack: 10,000 exports (direct, email and push, by 20 users)
//! in batches of 500 against a stack it starts, printing at 0 exports and every 2,500 the
//! resident memory (split into anonymous memory — the heap — and file pages — the index's
//! memory-mapped segments) and what the stack keeps: executions, push records, progress, open
//! push sockets, files and execution records. With a short file lifetime the stack forgets
//! finished exports as their files expire, so what it keeps stays flat; with the default 24
//! hours nothing expires during the run, which shows what forgetting saves. After the last
//! export it waits two file lifetimes and prints a last row (`idle`): everything forgotten, what
//! is left above the first row is memory the allocator holds rather than what the stack keeps.
//!
//! `cargo run --release --example housekeeping [-- EXPORTS LIFETIME_SECONDS BATCH EVERY]`
//! (defaults: 10000, 20, 500, 2500). It runs on jemalloc, as the `sde` binary does; under
//! `heaptrack` the live heap shows against resident memory.
//! Measured figures: the README's table of benchmarks.

#[path = "../tests/common/load.rs"]
mod load;

/// The allocator of the `sde` binary (`src/main.rs`), so the figures are the stack's as it runs.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::time::Duration;

const USERS: usize = 20;

/// This process's memory, in MiB, from `/proc/self/status`.
#[derive(Debug, Clone, Copy)]
struct Memory {
    /// Resident memory.
    rss: f64,
    /// Of it, anonymous memory: the heap, thread stacks.
    anon: f64,
    /// Of it, file pages: the index's memory-mapped segments.
    file: f64,
    /// Peak resident memory.
    peak: f64,
}

fn memory() -> Memory {
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
    Memory {
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
        peak: field("VmHWM:"),
    }
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

/// Prints one row: memory and what the stack keeps.
fn row(
    label: &str,
    started: std::time::Instant,
    stack: &sde_local::RunningStack,
    data: &std::path::Path,
) {
    let state = &stack.state;
    let memory = memory();
    println!(
        "{label:>8} {:>7.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>10} {:>6} {:>8} {:>7} {:>6} {:>7}",
        started.elapsed().as_secs_f64(),
        memory.rss,
        memory.anon,
        memory.file,
        memory.peak,
        state.workflow.engine().list_executions().len(),
        state.push_registry.len(),
        state.progress.len(),
        state.hub.open_connections(),
        files_under(&data.join("objects")),
        files_under(&data.join("executions")),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: u64| -> anyhow::Result<u64> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let exports = usize::try_from(next(10_000)?)?;
    let retention = next(20)?;
    let batch_size = usize::try_from(next(500)?)?.max(1);
    let every = usize::try_from(next(2_500)?)?.max(1);
    let dir = tempfile::tempdir()?;
    let mut config = sde_local::StackConfig::new("127.0.0.1:0".parse()?, dir.path().to_path_buf());
    config.seed_posts = 20_000;
    config.retention = Duration::from_secs(retention);
    // Each batch starts its exports at once; the per-user limits are not what is measured here.
    config.limits.max_running_per_owner = u32::try_from(batch_size)?;
    config.sockets.per_user = batch_size;
    eprintln!("importing {} posts…", config.seed_posts);
    let stack = sde_local::start(config).await?;
    println!(
        "{exports} exports in batches of {batch_size} by {USERS} users, file lifetime {retention} s"
    );
    println!(
        "{:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6} {:>8} {:>7} {:>6} {:>7}",
        "exports",
        "secs",
        "RSS MiB",
        "anon",
        "file",
        "peak",
        "executions",
        "push",
        "progress",
        "sockets",
        "files",
        "records"
    );
    let started = std::time::Instant::now();
    row("0", started, &stack, dir.path());
    let mut done = 0;
    while done < exports {
        let batch = batch_size.min(exports - done);
        let report = load::run(&stack.base_url, batch, USERS).await;
        anyhow::ensure!(
            report.exact == batch,
            "{} of {batch} files were exact",
            report.exact
        );
        let before = done;
        done += batch;
        if done / every > before / every || done == exports {
            row(&done.to_string(), started, &stack, dir.path());
        }
    }
    // Two lifetimes and a sweep later every export has been forgotten.
    tokio::time::sleep(Duration::from_secs(2 * retention + 2)).await;
    row("idle", started, &stack, dir.path());
    stack.shutdown().await?;
    Ok(())
}
