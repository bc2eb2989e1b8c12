//! `sde export`: stream every post matching a search from the embedded index into a file.

use super::DataDirArg;
use super::import::parse_time;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sde_core::export::{DEFAULT_BATCH_SIZE, write_export};
use sde_core::options::parse_columns;
use sde_core::{ExportFormat, ExportOptions, PostQuery};
use sde_dataimport::progress;
use sde_localfs::FileUpload;
use sde_tantivy::TantivyIndex;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A search term; every term must match (Content or Tags). Repeat for more terms; none
    /// exports every post.
    #[arg(long = "query", value_name = "TEXT")]
    pub queries: Vec<String>,
    /// Only posts created at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Only posts created before this time.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// File format: csv or ndjson.
    #[arg(long, default_value = "csv")]
    pub format: ExportFormat,
    /// Columns in order, comma-separated: uuid, UserID, DateCreated, Content, Tags.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// IANA time zone DateCreated is written in.
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Start a CSV with a UTF-8 byte order mark for Excel.
    #[arg(long)]
    pub excel_compatible: bool,
    /// Gzip the file.
    #[arg(long)]
    pub compress: bool,
    /// Output file; defaults to export.<format>[.gz] in the current folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataDirArg,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let options = export_options(&args)?;
    let query = post_query(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("export.{}", options.extension())));
    let index_dir = args.data.index_dir();
    if !index_dir.join("meta.json").exists() {
        anyhow::bail!(
            "no index in {}: run `sde import` first",
            args.data.data_dir.display()
        );
    }
    let index = TantivyIndex::open_or_create(&index_dir)
        .with_context(|| format!("opening the index in {}", index_dir.display()))?;
    let upload = FileUpload::to_path(&out).await?;
    let bar = progress::bar(None, "rows written");
    let on_progress = |p: sde_core::ExportProgress| {
        bar.set_length(p.total_rows);
        bar.set_position(p.rows_written);
    };
    let written = write_export(
        &index,
        &query,
        &options,
        DEFAULT_BATCH_SIZE,
        Box::new(upload),
        &on_progress,
    )
    .await
    .with_context(|| format!("exporting to {}", out.display()))?;
    bar.finish_and_clear();
    println!(
        "wrote {} rows, {} bytes to {}",
        written.rows,
        written.object.bytes,
        out.display()
    );
    Ok(())
}

fn export_options(args: &ExportArgs) -> anyhow::Result<ExportOptions> {
    let columns = if args.columns.is_empty() {
        sde_core::Column::DEFAULT.to_vec()
    } else {
        parse_columns(args.columns.iter().map(String::as_str))?
    };
    let time_zone = args
        .time_zone
        .parse()
        .map_err(|_| sde_core::OptionsError::UnknownTimeZone(args.time_zone.clone()))?;
    if args.excel_compatible && args.format != ExportFormat::Csv {
        return Err(sde_core::OptionsError::BomWithoutCsv.into());
    }
    Ok(ExportOptions {
        format: args.format,
        columns,
        time_zone,
        excel_compatible: args.excel_compatible,
        compress: args.compress,
    })
}

fn post_query(args: &ExportArgs) -> anyhow::Result<PostQuery> {
    // The same validation as a /search body, so the CLI and the API accept the same searches.
    let mut search: Vec<serde_json::Value> = args
        .queries
        .iter()
        .map(|q| serde_json::json!({"value": q}))
        .collect();
    if args.from.is_some() || args.to.is_some() {
        search.push(serde_json::json!({"dateRange": [args.from, args.to]}));
    }
    let request = sde_core::SearchRequest {
        search,
        ..Default::default()
    };
    let criteria = sde_core::SearchCriteria::try_from(&request)?;
    Ok(criteria.query)
}
