//! Command-line parsing and dispatch for the `sde` binary.

mod digests;
mod export;
mod import;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Search data exports: search a large index of posts and export the whole result set.
#[derive(Debug, Parser)]
#[command(name = "sde", version, about)]
pub struct Cli {
    /// Log more (repeat for even more); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do; with none, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local stack: the API, WebSocket and workflow over embedded parts (the default).
    Serve(serve::ServeArgs),
    /// Generate sample posts (or read an Elasticsearch `_bulk` file) and load them.
    Import(import::ImportArgs),
    /// Export every post matching a search to a file.
    Export(export::ExportArgs),
    /// Send one day's daily digests now (the stack sends the day before's at 01:00 UTC).
    Digests(digests::DigestsArgs),
}

/// Where the embedded index, export files and secrets live.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArg {
    /// Data directory of the local stack.
    #[arg(long, env = "SDE_DATA_DIR", default_value = ".sde")]
    pub data_dir: PathBuf,
}

impl DataDirArg {
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(serve::ServeArgs::default()))
    {
        Command::Serve(args) => serve::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Digests(args) => digests::run(args).await,
    }
}

/// Human-readable logs on stderr; `RUST_LOG` overrides the level.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,sde_local=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log file or a CI capture gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
