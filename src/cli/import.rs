//! `sde import`: load generated sample posts, or an Elasticsearch `_bulk` file, into the embedded
//! index (or a real Elasticsearch with `--es-url`), or write them as a `_bulk` file.

use super::DataDirArg;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sde_core::Post;
use sde_dataimport::{bulk, elasticsearch, generate, progress};
use sde_tantivy::TantivyIndex;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Number of posts to generate (ignored with --file).
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Seed of the generator: the same seed gives the same posts.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of distinct authors of generated posts.
    #[arg(long, default_value_t = 5_000)]
    pub users: u32,
    /// Earliest DateCreated of generated posts.
    #[arg(long, value_parser = parse_time, default_value = "2019-01-01T00:00:00Z")]
    pub from: DateTime<Utc>,
    /// DateCreated of generated posts is before this.
    #[arg(long, value_parser = parse_time, default_value = "2020-01-01T00:00:00Z")]
    pub to: DateTime<Utc>,
    /// Read posts from this Elasticsearch `_bulk` NDJSON file instead of generating them.
    #[arg(long, conflicts_with = "bulk_out")]
    pub file: Option<PathBuf>,
    /// Write the posts as an Elasticsearch `_bulk` NDJSON file instead of loading them.
    #[arg(long)]
    pub bulk_out: Option<PathBuf>,
    /// Load into this Elasticsearch or OpenSearch (e.g. https://user:pass@host:9200) instead of
    /// the embedded index.
    #[arg(long)]
    pub es_url: Option<String>,
    /// Index name in Elasticsearch.
    #[arg(long, default_value = "posts")]
    pub es_index: String,
    #[command(flatten)]
    pub data: DataDirArg,
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    sde_core::criteria::parse_timestamp(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 timestamp or a YYYY-MM-DD date"))
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let posts: Box<dyn Iterator<Item = anyhow::Result<Post>> + Send> = match &args.file {
        Some(path) => {
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let path = path.display().to_string();
            Box::new(
                bulk::read_bulk(BufReader::new(file))
                    .map(move |post| post.with_context(|| format!("reading {path}"))),
            )
        }
        None => {
            if args.from >= args.to {
                anyhow::bail!("--from must be before --to");
            }
            let config = generate::GeneratorConfig {
                seed: args.seed,
                users: args.users.max(1),
                from: args.from,
                to: args.to,
                ..generate::GeneratorConfig::default()
            };
            Box::new(
                generate::PostGenerator::new(config)
                    .take(usize::try_from(args.count)?)
                    .map(Ok),
            )
        }
    };
    let total = args.file.is_none().then_some(args.count);

    if let Some(out) = &args.bulk_out {
        let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let bar = progress::bar(total, "posts written");
        let mut failure = None;
        let posts = posts
            .map_while(|post| post.map_err(|e| failure = Some(e)).ok())
            .inspect(|_| bar.inc(1));
        let written = bulk::write_bulk(posts, &args.es_index, BufWriter::new(file))
            .with_context(|| format!("writing {}", out.display()))?;
        bar.finish_and_clear();
        if let Some(error) = failure {
            return Err(error);
        }
        println!("wrote {written} posts to {}", out.display());
        return Ok(());
    }

    if let Some(url) = &args.es_url {
        let bar = progress::bar(total, "posts loaded");
        let mut failure = None;
        let posts = posts.map_while(|post| post.map_err(|e| failure = Some(e)).ok());
        let loaded =
            elasticsearch::load(url, &args.es_index, posts, 1_000, &|n| bar.set_position(n))
                .await
                .context("loading into Elasticsearch")?;
        bar.finish_and_clear();
        if let Some(error) = failure {
            return Err(error);
        }
        println!("loaded {loaded} posts into {}", args.es_index);
        return Ok(());
    }

    let index_dir = args.data.index_dir();
    let loaded =
        tokio::task::spawn_blocking(move || load_embedded(&index_dir, posts, total)).await??;
    println!("imported {} posts; the index holds {}", loaded.0, loaded.1);
    Ok(())
}

/// Posts between commits of an import into the embedded index: tantivy holds what it needs to
/// apply deletes (the ids of replaced posts) until the commit, so one commit at the end of a
/// long import would grow with it.
const CHECKPOINT_POSTS: u64 = 1_000_000;

/// Loads posts into the embedded index in `index_dir`; returns (posts added, posts visible).
///
/// Commits every [`CHECKPOINT_POSTS`], so an interrupted import keeps what it committed.
pub fn load_embedded(
    index_dir: &std::path::Path,
    posts: impl Iterator<Item = anyhow::Result<Post>>,
    total: Option<u64>,
) -> anyhow::Result<(u64, u64)> {
    let index = TantivyIndex::open_or_create(index_dir)
        .with_context(|| format!("opening the index in {}", index_dir.display()))?;
    let mut writer = index.writer()?;
    let bar = progress::bar(total, "posts indexed");
    let mut added = 0u64;
    for post in posts {
        writer.add(&post?)?;
        added += 1;
        bar.inc(1);
        if added.is_multiple_of(CHECKPOINT_POSTS) {
            writer.checkpoint()?;
        }
    }
    let visible = writer.commit()?;
    bar.finish_and_clear();
    Ok((added, visible))
}
