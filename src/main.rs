//! `sde`: the local stack and the command-line tools around the export engine.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: a long-running stack frees what each export allocated,
/// and glibc's arenas kept a growing share of it (resident memory crept with the number of
/// exports while the live heap did not); jemalloc keeps it flat and gives freed pages back when
/// idle. (mimalloc, also measured, stayed flat but at twice the level.) Figures: the README's
/// `housekeeping` benchmark.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
