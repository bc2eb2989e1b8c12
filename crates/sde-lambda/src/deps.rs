//! What each function runs against, built once at cold start from the environment. A missing or
//! malformed setting fails the cold start with the variable's name, before any event is taken.
//!
//! Each builder reads only the settings of the adapters its function uses, which is also what
//! its IAM role allows.

use crate::websocket::AnonymousPush;
use anyhow::Context as _;
use aws_config::SdkConfig;
use sde_auth::{IdTokenVerifier, JwksSource, VerifierConfig};
use sde_aws::{
    ApiGatewayPushChannel, ConfigError, DynamoDbDeliveryLedger, DynamoDbExportSlots,
    DynamoDbSubscriptions, LedgerConfig, PushConfig, QueueConfig, S3Config, S3ProgressBoard,
    S3PushRegistry, S3Store, SesConfig, SesMailer, Settings, SfnConfig, SfnWorkflow, SlotsConfig,
    SqsMailQueue, SqsNotificationQueue, SsmSecret, SubscriptionsConfig,
};
use sde_core::{
    DownloadLinks, FanOutSettings, LedgerMailer, SigningKey, SubscriptionMatcher, UnsubscribeLinks,
};
use sde_edge::rest::{CorsOrigin, Reporter};
use sde_edge::ws::PushParts;
use sde_elasticsearch::percolator::subscriptions_index_name;
use sde_elasticsearch::{EsConfig, EsIndex, PercolatorMatcher, Secret};
use sde_handlers::digests::{DigestDays, DigestDeps};
use sde_handlers::download_request::ExportLimits;
use sde_handlers::generate_csv::ExportSettings;
use sde_handlers::notify::NotifyDeps;
use sde_handlers::reports::ReportSettings;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

fn env(variable: &str) -> Option<String> {
    std::env::var(variable).ok()
}

/// `SDE_CORS_ORIGIN`: the one origin the REST API answers to (`https://app.example.com`), or
/// `*`.
pub fn cors_origin(lookup: impl Fn(&str) -> Option<String>) -> Result<CorsOrigin, ConfigError> {
    const VARIABLE: &str = "SDE_CORS_ORIGIN";
    let origin = Settings(lookup).required(VARIABLE, "https://app.example.com")?;
    CorsOrigin::parse(&origin).map_err(|error| ConfigError::new(VARIABLE, error.to_string()))
}

/// `SDE_PUSH_ALLOW_ANONYMOUS` (optional, `true`/`false`, default `false`): whether a WebSocket
/// without a token may follow a push export by its ARN (SECURITY.md explains the trade-off).
pub fn anonymous_push(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<AnonymousPush, ConfigError> {
    const VARIABLE: &str = "SDE_PUSH_ALLOW_ANONYMOUS";
    match Settings(lookup).optional(VARIABLE).as_deref() {
        None | Some("false") => Ok(AnonymousPush(false)),
        Some("true") => Ok(AnonymousPush(true)),
        Some(other) => Err(ConfigError::new(
            VARIABLE,
            format!("must be true or false, got {other:?}"),
        )),
    }
}

/// `SDE_MAX_RUNNING_EXPORTS` (optional, 1–1000, default 5): exports one user may run at once.
pub fn export_limits(lookup: impl Fn(&str) -> Option<String>) -> Result<ExportLimits, ConfigError> {
    let defaults = ExportLimits::default();
    Ok(ExportLimits {
        max_running_per_owner: Settings(lookup).number(
            "SDE_MAX_RUNNING_EXPORTS",
            defaults.max_running_per_owner,
            1..=1000,
        )?,
        ..defaults
    })
}

/// `SDE_URL_TTL_SECS` (optional, 60 s–7 days, the longest a presigned S3 URL lives; default one
/// day) and `SDE_EXPORT_BATCH_SIZE` (optional, 1–10000 posts per batch, default 2000).
pub fn export_settings(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ExportSettings, ConfigError> {
    let settings = Settings(lookup);
    let defaults = ExportSettings::default();
    let ttl = settings.number(
        "SDE_URL_TTL_SECS",
        defaults.url_ttl.as_secs(),
        60..=7 * 24 * 3600,
    )?;
    let batch = settings.number(
        "SDE_EXPORT_BATCH_SIZE",
        defaults.batch_size.get() as u64,
        1..=10_000,
    )?;
    let batch_size = usize::try_from(batch)
        .ok()
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| ConfigError::new("SDE_EXPORT_BATCH_SIZE", "must be above 0"))?;
    let rows_per_slice = settings.number(
        "SDE_EXPORT_ROWS_PER_SLICE",
        defaults.fan_out.rows_per_slice,
        1_000..=100_000_000,
    )?;
    let max_slices = settings.number(
        "SDE_EXPORT_MAX_SLICES",
        u64::from(defaults.fan_out.max_slices),
        1..=1_000,
    )?;
    Ok(ExportSettings {
        url_ttl: Duration::from_secs(ttl),
        batch_size,
        fan_out: FanOutSettings {
            rows_per_slice,
            max_slices: u32::try_from(max_slices).unwrap_or(u32::MAX),
            ..defaults.fan_out
        },
        ..defaults
    })
}

/// `SDE_COGNITO_ISSUER` (`https://cognito-idp.<region>.amazonaws.com/<pool id>`) and
/// `SDE_COGNITO_CLIENT_ID` (the app client id, the tokens' `aud`). The keys are fetched from
/// `<issuer>/.well-known/jwks.json`, or from `SDE_COGNITO_JWKS_URL` if set (an emulator).
pub fn verifier_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<VerifierConfig, ConfigError> {
    let settings = Settings(lookup);
    let issuer = settings.required(
        "SDE_COGNITO_ISSUER",
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    )?;
    let issuer = issuer.trim_end_matches('/').to_owned();
    if !issuer.starts_with("https://") {
        return Err(ConfigError::new(
            "SDE_COGNITO_ISSUER",
            format!("must be the user pool's https issuer URL, got {issuer:?}"),
        ));
    }
    let audience = settings.required("SDE_COGNITO_CLIENT_ID", "the user pool app client id")?;
    let jwks = match settings.optional("SDE_COGNITO_JWKS_URL") {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            JwksSource::Url(url)
        }
        Some(url) => {
            return Err(ConfigError::new(
                "SDE_COGNITO_JWKS_URL",
                format!("must be an http(s) URL, got {url:?}"),
            ));
        }
        None => JwksSource::for_issuer(&issuer),
    };
    Ok(VerifierConfig {
        issuer,
        audience,
        jwks,
    })
}

/// `search`.
#[derive(Debug)]
pub struct SearchDeps {
    /// The posts index.
    pub index: EsIndex,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `posts`.
#[derive(Debug)]
pub struct PostsDeps {
    /// The posts index, written to as a user that may only index documents into it.
    pub store: EsIndex,
    /// Where new posts are queued for real-time notices.
    pub queue: SqsNotificationQueue,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `subscriptions`.
#[derive(Debug)]
pub struct SubscriptionsDeps {
    /// The subscriptions table.
    pub store: DynamoDbSubscriptions,
    /// The real-time matcher, kept in step with the table.
    pub matcher: Arc<dyn SubscriptionMatcher>,
    /// Checks one-click unsubscribe links.
    pub unsubscribe_links: UnsubscribeLinks,
    /// `SDE_SITE_URL`: the site, for the unsubscribe pages' link to the list of subscriptions.
    pub site_url: String,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `download-request`.
#[derive(Debug)]
pub struct DownloadRequestDeps {
    /// The export state machine.
    pub workflow: SfnWorkflow,
    /// Each user's slots for running exports.
    pub slots: DynamoDbExportSlots,
    /// How many exports one user may run at once.
    pub limits: ExportLimits,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `report-status`.
#[derive(Debug)]
pub struct ReportStatusDeps {
    /// The export state machine.
    pub workflow: SfnWorkflow,
    /// Progress of running exports.
    pub progress: S3ProgressBoard,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `exports`.
#[derive(Debug)]
pub struct ExportsDeps {
    /// The export state machine (list, describe, stop).
    pub workflow: SfnWorkflow,
    /// The exports bucket: whether a file is still there, and deleting it.
    pub store: S3Store,
    /// Progress of running exports.
    pub progress: S3ProgressBoard,
    /// Push records, to leave a cancelled export's client its frame.
    pub registry: S3PushRegistry,
    /// The WebSocket API's management endpoint, to tell a connected client at once.
    pub channel: ApiGatewayPushChannel,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `generate-csv`.
#[derive(Debug)]
pub struct GenerateCsvDeps {
    /// The posts index.
    pub index: EsIndex,
    /// The exports bucket.
    pub store: S3Store,
    /// Where progress is published for `report-status`.
    pub progress: S3ProgressBoard,
    /// Link lifetime and batch size.
    pub settings: ExportSettings,
    /// Signs the lasting links the export hands out.
    pub links: DownloadLinks,
    /// The export state machine, asked whether the export was cancelled.
    pub workflow: SfnWorkflow,
}

/// `plan-export`.
#[derive(Debug)]
pub struct PlanExportDeps {
    /// The posts index, where the snapshot is pinned.
    pub index: EsIndex,
    /// The slice budget.
    pub settings: ExportSettings,
}

/// `compose-export`.
#[derive(Debug)]
pub struct ComposeExportDeps {
    /// The posts index, whose snapshot is released.
    pub index: EsIndex,
    /// The exports bucket the slices and the file live in.
    pub store: S3Store,
    /// Signs the lasting link to the file.
    pub links: DownloadLinks,
    /// Link lifetime.
    pub settings: ExportSettings,
}

/// `report-graphical` and `report-hybrid`.
#[derive(Debug)]
pub struct ReportDeps {
    /// The posts index (read only through its aggregations), the exports bucket (reports under
    /// `reports/`), the link signer, and the links' lifetime (an export's, `SDE_URL_TTL_SECS`).
    pub reporter: Reporter,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `download`.
#[derive(Debug)]
pub struct DownloadDeps {
    /// The exports bucket, presigning for minutes.
    pub store: S3Store,
    /// Checks the lasting links.
    pub links: DownloadLinks,
    /// The origin CORS headers name.
    pub cors_origin: CorsOrigin,
}

/// `push-result` and `push-open-connection`.
#[derive(Debug)]
pub struct PushDeps {
    /// The export state machine (describe, complete the waiting task).
    pub workflow: SfnWorkflow,
    /// Per-execution connection and delivery records.
    pub registry: S3PushRegistry,
    /// The WebSocket API's management endpoint.
    pub channel: ApiGatewayPushChannel,
    /// Whether connections without a token may follow a push export.
    pub anonymous: AnonymousPush,
}

impl PushDeps {
    /// The parts the WebSocket edge answers messages with.
    pub fn parts(&self) -> PushParts<'_> {
        PushParts {
            workflow: &self.workflow,
            registry: &self.registry,
            channel: &self.channel,
        }
    }
}

/// `ws-authorizer`.
#[derive(Debug)]
pub struct AuthorizerDeps {
    /// Checks the user pool's ID tokens.
    pub verifier: IdTokenVerifier,
    /// Whether connections without a token are allowed (as anonymous).
    pub anonymous: AnonymousPush,
}

/// Builds what `search` needs.
pub async fn search_deps() -> anyhow::Result<SearchDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(SearchDeps {
        index: es_index(&sdk).await?,
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `posts` needs: the same settings as `search`, naming the writer user and its
/// password parameter instead of the reader's.
pub async fn posts_deps() -> anyhow::Result<PostsDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(PostsDeps {
        store: es_index(&sdk).await?,
        queue: SqsNotificationQueue::new(&sdk, QueueConfig::from_env()?),
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `subscriptions` needs: the subscriptions table.
pub async fn subscriptions_deps() -> anyhow::Result<SubscriptionsDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let (key, base_url) = link_key(&sdk).await?;
    Ok(SubscriptionsDeps {
        store: DynamoDbSubscriptions::new(&sdk, SubscriptionsConfig::from_env()?),
        matcher: real_time_matcher(&sdk).await?,
        unsubscribe_links: UnsubscribeLinks::new(&key, &base_url),
        site_url: site_url(env)?,
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `download-request` needs.
pub async fn download_request_deps() -> anyhow::Result<DownloadRequestDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(DownloadRequestDeps {
        workflow: SfnWorkflow::new(&sdk, SfnConfig::from_env()?),
        slots: DynamoDbExportSlots::new(&sdk, SlotsConfig::from_env()?),
        limits: export_limits(env)?,
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `report-status` needs.
pub async fn report_status_deps() -> anyhow::Result<ReportStatusDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let s3 = S3Config::from_env()?;
    Ok(ReportStatusDeps {
        workflow: SfnWorkflow::new(&sdk, SfnConfig::from_env()?),
        progress: S3ProgressBoard::new(sde_aws::s3_client(&sdk), &s3),
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `exports` needs.
pub async fn exports_deps() -> anyhow::Result<ExportsDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let s3 = S3Config::from_env()?;
    let client = sde_aws::s3_client(&sdk);
    Ok(ExportsDeps {
        workflow: SfnWorkflow::new(&sdk, SfnConfig::from_env()?),
        progress: S3ProgressBoard::new(client.clone(), &s3),
        registry: S3PushRegistry::new(client.clone(), &s3),
        store: S3Store::new(client, s3),
        channel: ApiGatewayPushChannel::new(&sdk, &PushConfig::from_env()?),
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `generate-csv` needs.
pub async fn generate_csv_deps() -> anyhow::Result<GenerateCsvDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let s3 = S3Config::from_env()?;
    let client = sde_aws::s3_client(&sdk);
    Ok(GenerateCsvDeps {
        index: es_index(&sdk).await?,
        progress: S3ProgressBoard::new(client.clone(), &s3),
        store: S3Store::new(client, s3),
        settings: export_settings(env)?,
        links: download_links(&sdk).await?,
        workflow: SfnWorkflow::new(&sdk, SfnConfig::from_env()?),
    })
}

/// Builds what `plan-export` needs.
pub async fn plan_export_deps() -> anyhow::Result<PlanExportDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(PlanExportDeps {
        index: es_index(&sdk).await?,
        settings: export_settings(env)?,
    })
}

/// Builds what `compose-export` needs.
pub async fn compose_export_deps() -> anyhow::Result<ComposeExportDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(ComposeExportDeps {
        index: es_index(&sdk).await?,
        store: S3Store::new(sde_aws::s3_client(&sdk), S3Config::from_env()?),
        links: download_links(&sdk).await?,
        settings: export_settings(env)?,
    })
}

/// Builds what `report-graphical` and `report-hybrid` need.
pub async fn report_deps() -> anyhow::Result<ReportDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(ReportDeps {
        reporter: Reporter {
            stats: Arc::new(es_index(&sdk).await?),
            store: Arc::new(S3Store::new(
                sde_aws::s3_client(&sdk),
                S3Config::from_env()?,
            )),
            links: Arc::new(download_links(&sdk).await?),
            settings: ReportSettings {
                url_ttl: export_settings(env)?.url_ttl,
            },
        },
        cors_origin: cors_origin(env)?,
    })
}

/// Builds what `download` needs.
pub async fn download_deps() -> anyhow::Result<DownloadDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(DownloadDeps {
        store: S3Store::new(sde_aws::s3_client(&sdk), S3Config::from_env()?),
        links: download_links(&sdk).await?,
        cors_origin: cors_origin(env)?,
    })
}

/// The lasting links: signed with the key in the SSM SecureString named by
/// `SDE_LINK_KEY_PARAMETER` (64 hex digits, read once, here), pointing at the REST API's public
/// URL `SDE_PUBLIC_API_URL` (`https://<api id>.execute-api.<region>.amazonaws.com/<stage>`).
async fn download_links(sdk: &SdkConfig) -> anyhow::Result<DownloadLinks> {
    let (key, base_url) = link_key(sdk).await?;
    Ok(DownloadLinks::new(key, &base_url))
}

/// The link-signing key (`SDE_LINK_KEY_PARAMETER`) and the API URL links point to.
async fn link_key(sdk: &SdkConfig) -> anyhow::Result<(SigningKey, String)> {
    let settings = Settings(env);
    let parameter = settings.required("SDE_LINK_KEY_PARAMETER", "/sde/dev/link-key")?;
    let base_url = public_api_url(env)?;
    let secret = SsmSecret::new(sdk)
        .read(&parameter)
        .await
        .context("SDE_LINK_KEY_PARAMETER: the link-signing key")?;
    let key = SigningKey::from_hex(secret.expose()).ok_or_else(|| {
        ConfigError::new(
            "SDE_LINK_KEY_PARAMETER",
            "the parameter must hold 64 hex digits (a 256-bit key)",
        )
    })?;
    Ok((key, base_url))
}

/// `SDE_PUBLIC_API_URL`: the https URL the REST API is reached at, which links point to.
pub fn public_api_url(lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    const VARIABLE: &str = "SDE_PUBLIC_API_URL";
    let url = Settings(lookup).required(
        VARIABLE,
        "https://abc123.execute-api.eu-west-1.amazonaws.com/dev",
    )?;
    https_url(VARIABLE, &url)
}

/// `SDE_SITE_URL`: the https URL of the site (the frontend), where emails' search links
/// (`?search=`) and the list of a user's subscriptions (`?unsubscribe=true`) are.
pub fn site_url(lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    const VARIABLE: &str = "SDE_SITE_URL";
    let url = Settings(lookup).required(VARIABLE, "https://sde.example.com")?;
    https_url(VARIABLE, &url)
}

/// `url` without a trailing `/`, if it is an https URL without query or fragment.
fn https_url(variable: &'static str, url: &str) -> Result<String, ConfigError> {
    match url.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::new(
            variable,
            format!("must be an https URL without query, got {url:?}"),
        )),
    }
}

/// `notify-real-time`.
#[derive(Debug)]
pub struct NotifyRealTimeDeps {
    pub matcher: Arc<dyn SubscriptionMatcher>,
    /// The subscriptions table: the terms to check matches against, and the addresses.
    pub subscriptions: DynamoDbSubscriptions,
    /// `SDE_MAIL_QUEUE_URL`: SES cannot be reached from the VPC, so `send-mail` sends.
    pub mail: SqsMailQueue,
    /// `SDE_SITE_URL`: the frontend's address, for the search links of the emails.
    pub site: String,
    /// Signs the emails' one-click unsubscribe links.
    pub unsubscribe: UnsubscribeLinks,
}

impl NotifyRealTimeDeps {
    /// The handler's view of the parts.
    pub fn parts(&self) -> NotifyDeps<'_> {
        NotifyDeps {
            matcher: self.matcher.as_ref(),
            subscriptions: &self.subscriptions,
            mail: &self.mail,
            site: &self.site,
            unsubscribe: &self.unsubscribe,
        }
    }
}

/// Builds what `notify-real-time` needs.
pub async fn notify_deps() -> anyhow::Result<NotifyRealTimeDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let (key, base_url) = link_key(&sdk).await?;
    Ok(NotifyRealTimeDeps {
        matcher: real_time_matcher(&sdk).await?,
        subscriptions: DynamoDbSubscriptions::new(&sdk, SubscriptionsConfig::from_env()?),
        mail: mail_queue(&sdk)?,
        site: site_url(env)?,
        unsubscribe: UnsubscribeLinks::new(&key, &base_url),
    })
}

/// The mail queue: tickets to `SDE_MAIL_QUEUE_URL`, messages to `SDE_EXPORTS_BUCKET`'s `mail/`.
fn mail_queue(sdk: &SdkConfig) -> anyhow::Result<SqsMailQueue> {
    Ok(SqsMailQueue::new(
        sdk,
        sde_aws::s3_client(sdk),
        QueueConfig::mail_from_env()?,
        &S3Config::from_env()?,
    ))
}

/// `send-mail`.
#[derive(Debug)]
pub struct SendMailDeps {
    /// Where the tickets' messages wait.
    pub queue: SqsMailQueue,
    /// The delivery ledger (`SDE_DELIVERIES_TABLE`) and SES (`SDE_MAIL_FROM`).
    pub mail: LedgerMailer,
}

/// Builds what `send-mail` needs.
pub async fn send_mail_deps() -> anyhow::Result<SendMailDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(SendMailDeps {
        queue: mail_queue(&sdk)?,
        mail: LedgerMailer::new(
            Arc::new(DynamoDbDeliveryLedger::new(&sdk, LedgerConfig::from_env()?)),
            Arc::new(SesMailer::new(&sdk, SesConfig::from_env()?)),
        ),
    })
}

/// The real-time matcher on AWS: the OpenSearch percolator index `SDE_ES_SUBSCRIPTIONS_INDEX`
/// (default `subscriptions`) on the cluster `SDE_ES_URL`, reached as `SDE_ES_USERNAME`, a user
/// that may only work that index (README, Deploy to AWS, step 2), with the password from the
/// SSM SecureString `SDE_ES_PASSWORD_PARAMETER`.
async fn real_time_matcher(sdk: &SdkConfig) -> anyhow::Result<Arc<dyn SubscriptionMatcher>> {
    let password = es_password(sdk).await?;
    let (config, index) = matcher_config(env, password.as_ref())?;
    let matcher = PercolatorMatcher::new(&config, &index)
        .context("setting up the real-time matcher's OpenSearch client")?;
    Ok(Arc::new(matcher))
}

/// The cluster and the subscriptions index the real-time matcher uses, from `lookup`, with
/// `password` (read from SSM) in place of `SDE_ES_PASSWORD`.
pub fn matcher_config(
    lookup: impl Fn(&str) -> Option<String>,
    password: Option<&Secret>,
) -> anyhow::Result<(EsConfig, String)> {
    let index = subscriptions_index_name(&lookup).context("configuring the real-time matcher")?;
    let config = es_config(&lookup, password).context("configuring the real-time matcher")?;
    Ok((config, index))
}

/// Builds what `release-export-slot` needs: the export slots table.
pub async fn release_export_slot_deps() -> anyhow::Result<DynamoDbExportSlots> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(DynamoDbExportSlots::new(&sdk, SlotsConfig::from_env()?))
}

/// Builds what `email-link` needs.
pub async fn email_link_deps() -> anyhow::Result<SesMailer> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(SesMailer::new(&sdk, SesConfig::from_env()?))
}

/// Builds what `push-result` and `push-open-connection` need.
pub async fn push_deps() -> anyhow::Result<PushDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let s3 = S3Config::from_env()?;
    Ok(PushDeps {
        workflow: SfnWorkflow::new(&sdk, SfnConfig::from_env()?),
        registry: S3PushRegistry::new(sde_aws::s3_client(&sdk), &s3),
        channel: ApiGatewayPushChannel::new(&sdk, &PushConfig::from_env()?),
        anonymous: anonymous_push(env)?,
    })
}

/// Builds the `$connect` authorizer's token verifier. The user pool's keys are fetched on the
/// first token.
pub fn authorizer_deps() -> anyhow::Result<AuthorizerDeps> {
    Ok(AuthorizerDeps {
        verifier: IdTokenVerifier::new(verifier_config(env)?),
        anonymous: anonymous_push(env)?,
    })
}

/// `plan-digests`.
#[derive(Debug)]
pub struct PlanDigestsDeps {
    /// The subscriptions table, paged through its `by-kind` index.
    pub subscriptions: DynamoDbSubscriptions,
    /// `SDE_DIGESTS_QUEUE_URL`: where the digest jobs go.
    pub queue: SqsNotificationQueue,
}

/// Builds what `plan-digests` needs.
pub async fn plan_digests_deps() -> anyhow::Result<PlanDigestsDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    Ok(PlanDigestsDeps {
        subscriptions: DynamoDbSubscriptions::new(&sdk, SubscriptionsConfig::from_env()?),
        queue: SqsNotificationQueue::new(&sdk, QueueConfig::digests_from_env()?),
    })
}

/// `send-digests`.
#[derive(Debug)]
pub struct SendDigestsDeps {
    /// The posts index, read as `search` reads it.
    pub index: EsIndex,
    /// The subscriptions table: each user's daily terms and address.
    pub subscriptions: DynamoDbSubscriptions,
    /// `SDE_MAIL_QUEUE_URL`: SES cannot be reached from the VPC, so `send-mail` sends.
    pub mail: SqsMailQueue,
    /// `SDE_SITE_URL`: the frontend's address, for the search links of the emails.
    pub site: String,
    /// Signs the emails' one-click unsubscribe links.
    pub unsubscribe: UnsubscribeLinks,
    /// The day's matches, kept while the container works that day's jobs.
    pub days: DigestDays,
}

impl SendDigestsDeps {
    /// The handler's view of the parts.
    pub fn parts(&self) -> DigestDeps<'_> {
        DigestDeps {
            index: &self.index,
            subscriptions: &self.subscriptions,
            mail: &self.mail,
            site: &self.site,
            unsubscribe: &self.unsubscribe,
        }
    }
}

/// Builds what `send-digests` needs.
pub async fn send_digests_deps() -> anyhow::Result<SendDigestsDeps> {
    let sdk = sde_aws::load_sdk_config().await;
    let (key, base_url) = link_key(&sdk).await?;
    Ok(SendDigestsDeps {
        index: es_index(&sdk).await?,
        subscriptions: DynamoDbSubscriptions::new(&sdk, SubscriptionsConfig::from_env()?),
        mail: mail_queue(&sdk)?,
        site: site_url(env)?,
        unsubscribe: UnsubscribeLinks::new(&key, &base_url),
        days: DigestDays::default(),
    })
}

/// The posts index. Its password is the SSM SecureString named by `SDE_ES_PASSWORD_PARAMETER`
/// when that is set (read once, here), else `SDE_ES_PASSWORD`.
async fn es_index(sdk: &SdkConfig) -> anyhow::Result<EsIndex> {
    let password = es_password(sdk).await?;
    let config = es_config(env, password.as_ref()).context("configuring the search index")?;
    EsIndex::new(&config).context("setting up the search index client")
}

/// The OpenSearch password in the SSM SecureString named by `SDE_ES_PASSWORD_PARAMETER`, if that
/// is set (each function's is the one of its own OpenSearch user).
async fn es_password(sdk: &SdkConfig) -> anyhow::Result<Option<Secret>> {
    match Settings(env).optional("SDE_ES_PASSWORD_PARAMETER") {
        Some(parameter) => {
            Ok(Some(SsmSecret::new(sdk).read(&parameter).await.context(
                "SDE_ES_PASSWORD_PARAMETER: the OpenSearch password",
            )?))
        }
        None => Ok(None),
    }
}

/// The cluster settings `SDE_ES_*` of `lookup`, with `password` (read from SSM) in place of
/// `SDE_ES_PASSWORD` when there is one.
pub fn es_config(
    lookup: impl Fn(&str) -> Option<String>,
    password: Option<&Secret>,
) -> Result<EsConfig, sde_elasticsearch::ConfigError> {
    EsConfig::from_lookup(|name| match (password, name) {
        (Some(secret), "SDE_ES_PASSWORD") => Some(secret.expose().to_owned()),
        _ => lookup(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    use sde_core::testing::settings_lookup as lookup;

    const CLUSTER: &str = "https://vpc-sde-dev-posts-abc.eu-west-1.es.amazonaws.com";

    #[test]
    fn the_matcher_works_the_subscriptions_index_as_its_own_user_with_the_ssm_password() {
        let password = Secret::new("from-ssm");
        let (config, index) = matcher_config(
            lookup(&[
                ("SDE_ES_URL", CLUSTER),
                ("SDE_ES_INDEX", "posts"),
                ("SDE_ES_USERNAME", "sde-subscriptions"),
                ("SDE_ES_PASSWORD", "not-this-one"),
            ]),
            Some(&password),
        )
        .unwrap();
        assert_eq!(index, "subscriptions");
        assert_eq!(config.url.as_str(), format!("{CLUSTER}/"));
        assert_eq!(config.username.as_deref(), Some("sde-subscriptions"));
        assert_eq!(
            config.password.as_ref().map(Secret::expose),
            Some("from-ssm")
        );

        let (_, named) = matcher_config(
            lookup(&[
                ("SDE_ES_URL", CLUSTER),
                ("SDE_ES_SUBSCRIPTIONS_INDEX", "subscriptions-v2"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(named, "subscriptions-v2");
    }

    #[test]
    fn a_bad_matcher_setting_names_its_variable() {
        let bad_index = matcher_config(
            lookup(&[
                ("SDE_ES_URL", CLUSTER),
                ("SDE_ES_SUBSCRIPTIONS_INDEX", "Subscriptions*"),
            ]),
            None,
        )
        .unwrap_err();
        assert!(
            format!("{bad_index:#}").contains("SDE_ES_SUBSCRIPTIONS_INDEX"),
            "{bad_index:#}"
        );
        let no_url = matcher_config(lookup(&[]), None).unwrap_err();
        assert!(format!("{no_url:#}").contains("SDE_ES_URL"), "{no_url:#}");
        // A user without a password (no SSM parameter, no SDE_ES_PASSWORD) is refused at cold
        // start rather than sent as an anonymous request.
        let no_password = matcher_config(
            lookup(&[
                ("SDE_ES_URL", CLUSTER),
                ("SDE_ES_USERNAME", "sde-subscriptions"),
            ]),
            None,
        )
        .unwrap_err();
        assert!(
            format!("{no_password:#}").contains("SDE_ES_PASSWORD"),
            "{no_password:#}"
        );
    }

    #[test]
    fn the_ssm_password_takes_the_place_of_sde_es_password() {
        let settings = [
            ("SDE_ES_URL", CLUSTER),
            ("SDE_ES_USERNAME", "sde-reader"),
            ("SDE_ES_PASSWORD", "from-the-environment"),
        ];
        let password = Secret::new("from-ssm");
        let from_ssm = es_config(lookup(&settings), Some(&password)).unwrap();
        assert_eq!(
            from_ssm.password.as_ref().map(Secret::expose),
            Some("from-ssm")
        );
        assert_eq!(from_ssm.index, "posts");
        let from_env = es_config(lookup(&settings), None).unwrap();
        assert_eq!(
            from_env.password.as_ref().map(Secret::expose),
            Some("from-the-environment")
        );
    }

    #[test]
    fn the_site_url_must_be_https() {
        let lookup = sde_core::testing::settings_lookup;
        assert_eq!(
            site_url(lookup(&[("SDE_SITE_URL", "https://sde.example.com/")])).unwrap(),
            "https://sde.example.com"
        );
        assert!(site_url(lookup(&[("SDE_SITE_URL", "http://sde.example.com")])).is_err());
        assert!(site_url(lookup(&[])).is_err());
    }

    #[test]
    fn the_cors_origin_is_required_and_must_be_an_origin() {
        assert_eq!(
            cors_origin(lookup(&[("SDE_CORS_ORIGIN", " https://app.example.com ")])).unwrap(),
            CorsOrigin::Exact(HeaderValue::from_static("https://app.example.com"))
        );
        assert_eq!(
            cors_origin(lookup(&[("SDE_CORS_ORIGIN", "*")])).unwrap(),
            CorsOrigin::Any
        );
        assert_eq!(
            cors_origin(lookup(&[])).unwrap_err().variable,
            "SDE_CORS_ORIGIN"
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "https://",
        ] {
            let error = cors_origin(lookup(&[("SDE_CORS_ORIGIN", bad)])).unwrap_err();
            assert!(
                error.to_string().starts_with("SDE_CORS_ORIGIN: "),
                "{error}"
            );
        }
    }

    #[test]
    fn links_point_at_the_apis_https_url() {
        assert_eq!(
            public_api_url(lookup(&[(
                "SDE_PUBLIC_API_URL",
                "https://abc.execute-api.eu-west-1.amazonaws.com/dev/"
            )]))
            .unwrap(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/dev"
        );
        for bad in [
            "http://abc.example.com",
            "https://",
            "https://a.example.com/?x=1",
        ] {
            let error = public_api_url(lookup(&[("SDE_PUBLIC_API_URL", bad)])).unwrap_err();
            assert_eq!(error.variable, "SDE_PUBLIC_API_URL", "{bad}");
        }
        assert!(public_api_url(lookup(&[])).is_err());
    }

    #[test]
    fn anonymous_push_is_off_unless_set_to_true() {
        assert_eq!(anonymous_push(lookup(&[])).unwrap(), AnonymousPush(false));
        assert_eq!(
            anonymous_push(lookup(&[("SDE_PUSH_ALLOW_ANONYMOUS", "true")])).unwrap(),
            AnonymousPush(true)
        );
        let bad = anonymous_push(lookup(&[("SDE_PUSH_ALLOW_ANONYMOUS", "yes")])).unwrap_err();
        assert_eq!(bad.variable, "SDE_PUSH_ALLOW_ANONYMOUS");
    }

    #[test]
    fn export_settings_default_to_a_day_and_the_core_batch_size() {
        assert_eq!(
            export_settings(lookup(&[])).unwrap(),
            ExportSettings::default()
        );
        let set = export_settings(lookup(&[
            ("SDE_URL_TTL_SECS", "3600"),
            ("SDE_EXPORT_BATCH_SIZE", "500"),
        ]))
        .unwrap();
        assert_eq!(set.url_ttl, Duration::from_secs(3600));
        assert_eq!(set.batch_size.get(), 500);
        let too_long = export_settings(lookup(&[("SDE_URL_TTL_SECS", "999999999")])).unwrap_err();
        assert_eq!(too_long.variable, "SDE_URL_TTL_SECS");
        let zero = export_settings(lookup(&[("SDE_EXPORT_BATCH_SIZE", "0")])).unwrap_err();
        assert_eq!(zero.variable, "SDE_EXPORT_BATCH_SIZE");
        let sliced = export_settings(lookup(&[
            ("SDE_EXPORT_ROWS_PER_SLICE", "500000"),
            ("SDE_EXPORT_MAX_SLICES", "16"),
        ]))
        .unwrap();
        assert_eq!(
            (sliced.fan_out.rows_per_slice, sliced.fan_out.max_slices),
            (500_000, 16)
        );
        let tiny = export_settings(lookup(&[("SDE_EXPORT_ROWS_PER_SLICE", "10")])).unwrap_err();
        assert_eq!(tiny.variable, "SDE_EXPORT_ROWS_PER_SLICE");
    }

    #[test]
    fn export_limits_read_the_running_export_cap() {
        assert_eq!(export_limits(lookup(&[])).unwrap(), ExportLimits::default());
        assert_eq!(
            export_limits(lookup(&[("SDE_MAX_RUNNING_EXPORTS", "2")]))
                .unwrap()
                .max_running_per_owner,
            2
        );
        let bad = export_limits(lookup(&[("SDE_MAX_RUNNING_EXPORTS", "lots")])).unwrap_err();
        assert_eq!(bad.variable, "SDE_MAX_RUNNING_EXPORTS");
    }

    #[test]
    fn the_verifier_trusts_the_user_pool_and_its_published_keys() {
        let config = verifier_config(lookup(&[
            (
                "SDE_COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/",
            ),
            ("SDE_COGNITO_CLIENT_ID", "client-1"),
        ]))
        .unwrap();
        assert_eq!(
            config.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(config.audience, "client-1");
        assert!(matches!(
            config.jwks,
            JwksSource::Url(url) if url == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
        ));
        let override_url = verifier_config(lookup(&[
            (
                "SDE_COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/p",
            ),
            ("SDE_COGNITO_CLIENT_ID", "c"),
            (
                "SDE_COGNITO_JWKS_URL",
                "http://127.0.0.1:5000/p/.well-known/jwks.json",
            ),
        ]))
        .unwrap();
        assert!(
            matches!(override_url.jwks, JwksSource::Url(url) if url.starts_with("http://127.0.0.1"))
        );
        let missing = verifier_config(lookup(&[(
            "SDE_COGNITO_ISSUER",
            "https://cognito-idp.eu-west-1.amazonaws.com/p",
        )]))
        .unwrap_err();
        assert_eq!(missing.variable, "SDE_COGNITO_CLIENT_ID");
        let plain = verifier_config(lookup(&[
            (
                "SDE_COGNITO_ISSUER",
                "cognito-idp.eu-west-1.amazonaws.com/p",
            ),
            ("SDE_COGNITO_CLIENT_ID", "c"),
        ]))
        .unwrap_err();
        assert_eq!(plain.variable, "SDE_COGNITO_ISSUER");
    }
}
