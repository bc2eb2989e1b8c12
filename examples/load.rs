//! The full load test, by hand: 100 concurrent exports (direct, email, push) by 20 users against
//! a local stack it starts with 100,000 posts, printing p50/p99 latency and the total time.
//!
//! `cargo run --release --example load [-- EXPORTS USERS]`

#[path = "../tests/common/load.rs"]
mod load;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let exports: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let users: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let mut config = sde_local::StackConfig::new("127.0.0.1:0".parse()?, dir.path().to_path_buf());
    config.seed_posts = 100_000;
    eprintln!("importing {} posts…", config.seed_posts);
    let stack = sde_local::start(config).await?;
    eprintln!(
        "running {exports} exports by {users} users against {}",
        stack.base_url
    );
    let mut report = load::run(&stack.base_url, exports, users).await;
    report.print();
    stack.shutdown().await?;
    anyhow::ensure!(
        report.exact == exports,
        "{} of {exports} files were exact",
        report.exact
    );
    Ok(())
}
