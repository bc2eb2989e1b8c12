//! `sde serve` (the default command): the whole product on one machine.

use super::DataDirArg;
use anyhow::Context as _;
use sde_local::{AuthConfig, StackConfig};
use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback only, unless --allow-remote.
    #[arg(long, env = "SDE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Allow --addr to be reachable from other machines. With the development issuer, anyone
    /// who reaches it can sign in as any address: use it on a trusted network only.
    #[arg(long, env = "SDE_ALLOW_REMOTE")]
    pub allow_remote: bool,
    /// Sample posts imported on first start, when the index is empty (0: none).
    #[arg(long, default_value_t = 100_000)]
    pub seed_posts: u64,
    /// Origin allowed to call the API from a browser, or * for any (default: only this
    /// server's own origin, where its page is served).
    #[arg(long, env = "SDE_CORS_ORIGIN")]
    pub cors_origin: Option<String>,
    /// Also send email over SMTP, e.g. smtp://127.0.0.1:1025 (always written to the outbox).
    #[arg(long, env = "SDE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Exports one user may have running at once; more are answered with 429.
    #[arg(long, env = "SDE_MAX_RUNNING_EXPORTS", default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_running_exports: u32,
    /// Most rows one slice of an export writes: a larger export fans out over slices of one
    /// snapshot, run at once and joined into one file (README, "Large exports").
    #[arg(long, env = "SDE_EXPORT_ROWS_PER_SLICE", default_value_t = sde_core::FanOutSettings::default().rows_per_slice,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub export_rows_per_slice: u64,
    /// Let a WebSocket without a token follow a push export by its ARN, as the unchanged
    /// original frontend connects (see SECURITY.md for the trade-off). Off by default.
    #[arg(long, env = "SDE_PUSH_ALLOW_ANONYMOUS")]
    pub allow_anonymous_push: bool,
    /// Public base URL of this server when it sits behind a proxy.
    #[arg(long, env = "SDE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Verify tokens from this issuer (e.g. a Cognito user pool) instead of the development
    /// issuer; needs --jwks-url and --audience.
    #[arg(long, env = "SDE_AUTH_ISSUER", requires_all = ["jwks_url", "audience"])]
    pub issuer: Option<String>,
    /// JWKS URL of --issuer.
    #[arg(long, env = "SDE_AUTH_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Expected audience (app client id) of --issuer's tokens.
    #[arg(long, env = "SDE_AUTH_AUDIENCE")]
    pub audience: Option<String>,
    /// When (UTC, HH:MM) the previous day's daily digests are sent every day, or `off`.
    #[arg(long, env = "SDE_DIGEST_TIME", default_value = "01:00", value_parser = parse_digest_time)]
    pub digest_time: DigestTime,
    #[command(flatten)]
    pub data: DataDirArg,
}

/// `--digest-time`: a time of day, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestTime(pub Option<chrono::NaiveTime>);

fn parse_digest_time(text: &str) -> Result<DigestTime, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(DigestTime(None));
    }
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .map(|at| DigestTime(Some(at)))
        .map_err(|_| format!("expected HH:MM (UTC) or off, got {text:?}"))
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            allow_remote: false,
            seed_posts: 100_000,
            cors_origin: std::env::var("SDE_CORS_ORIGIN").ok(),
            smtp_url: std::env::var("SDE_SMTP_URL").ok(),
            public_url: std::env::var("SDE_PUBLIC_URL").ok(),
            max_running_exports: 5,
            export_rows_per_slice: sde_core::FanOutSettings::default().rows_per_slice,
            allow_anonymous_push: false,
            issuer: None,
            jwks_url: None,
            audience: None,
            digest_time: DigestTime(Some(sde_local::DEFAULT_DIGEST_TIME)),
            data: DataDirArg {
                data_dir: std::env::var_os("SDE_DATA_DIR")
                    .map_or_else(|| ".sde".into(), Into::into),
            },
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = StackConfig::new(args.addr, args.data.data_dir.clone());
    config.seed_posts = args.seed_posts;
    config.cors_origin = args.cors_origin;
    config.allow_remote = args.allow_remote;
    config.smtp_url = args.smtp_url;
    config.public_url = args.public_url;
    config.limits.max_running_per_owner = args.max_running_exports;
    config.export.fan_out.rows_per_slice = args.export_rows_per_slice;
    config.allow_anonymous_push = args.allow_anonymous_push;
    config.digest_time = args.digest_time.0;
    if let (Some(issuer), Some(jwks_url), Some(audience)) =
        (args.issuer, args.jwks_url, args.audience)
    {
        config.auth = AuthConfig::External {
            issuer,
            jwks_url,
            audience,
        };
    }
    let development_auth = config.auth == AuthConfig::Development;
    if args.seed_posts > 0 {
        eprintln!(
            "starting; the first start imports {} sample posts, which takes a moment…",
            args.seed_posts
        );
    }
    let stack = sde_local::start(config)
        .await
        .context("starting the local stack")?;
    let url = &stack.base_url;
    println!("sde is running at {url}");
    println!("  REST       POST {url}/search  {url}/download-request  {url}/report-status");
    println!(
        "  WebSocket  {}/ws?token=<ID token>",
        url.replacen("http", "ws", 1)
    );
    if development_auth && !args.addr.ip().is_loopback() {
        eprintln!(
            "WARNING: listening on {} with the development issuer: anyone who can reach this \
             address can sign in as any user.",
            args.addr
        );
    }
    if development_auth {
        println!(
            "  sign in    curl -s -X POST {url}/auth/token -H 'Content-Type: application/json' -d '{{\"email\":\"you@example.com\"}}'"
        );
    }
    println!(
        "  data       {}   (Ctrl-C to stop)",
        args.data.data_dir.display()
    );
    stack
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    println!("stopped");
    Ok(())
}
