//! `sde digests --date YYYY-MM-DD`: sends one day's daily digests now, over the local stack's
//! data directory — what the stack's schedule does every day at 01:00 UTC for the day before.
//! The sample posts are dated in the past, so this is how to try digests locally. A digest
//! already sent for that day is not sent again.

use super::DataDirArg;
use chrono::NaiveDate;
use sde_local::LocalDigests;

#[derive(Debug, Clone, clap::Args)]
pub struct DigestsArgs {
    /// The UTC day whose posts to digest.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: NaiveDate,
    /// Address of the local stack, which the emails' links point to.
    #[arg(long, env = "SDE_PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    pub public_url: String,
    /// Also send the emails over SMTP, e.g. smtp://127.0.0.1:1025 (always written to the outbox).
    #[arg(long, env = "SDE_SMTP_URL")]
    pub smtp_url: Option<String>,
    #[command(flatten)]
    pub data: DataDirArg,
}

pub async fn run(args: DigestsArgs) -> anyhow::Result<()> {
    let digests = LocalDigests::open(
        &args.data.data_dir,
        &args.public_url,
        args.smtp_url.as_deref(),
    )?;
    let run = digests.run(args.date).await?;
    println!(
        "digests of {}: {} sent, {} with nothing to send, {} already sent, {} without an address, {} failed (in {})",
        args.date,
        run.sent,
        run.nothing_to_send,
        run.already_sent,
        run.no_address,
        run.failed,
        args.data.data_dir.join("outbox").display()
    );
    if run.failed > 0 {
        anyhow::bail!(
            "{} digests could not be sent; run the same day again to retry them",
            run.failed
        );
    }
    Ok(())
}
