//! Assembling and running the local stack: the embedded parts, the state-machine interpreter
//! with the shared handlers bound to its tasks, and the HTTP/WebSocket server.

use crate::digests::{DEFAULT_DIGEST_TIME, LocalDigests, spawn_schedule};
use crate::files::download_route;
use crate::http::{jwks_route, token_route};
use crate::hub::WsHub;
use crate::ledger::LocalDeliveryLedger;
use crate::notifications::{LocalNotificationQueue, NotifyParts, RetryPolicy};
use crate::outbox::OutboxMailer;
use crate::progress::LocalProgressBoard;
use crate::push_registry::MemoryPushRegistry;
use crate::slots::MemoryExportSlots;
use crate::subscriptions::LocalSubscriptions;
use crate::tasks::{TaskDeps, register_tasks};
use crate::workflow::{EndListener, LocalWorkflow};
use crate::ws::ws_route;
use anyhow::Context as _;
use axum::Router;
use axum::routing::{get, post};
use sde_auth::{DevIssuer, IdTokenVerifier, JwksSource, VerifierConfig};
use sde_core::{
    DeliveryLedger, DownloadLinks, ExecutionDescription, LedgerMailer, NotificationQueue,
    ObjectStore, OnceMailer, PostStats, PostStore, SearchIndex, SigningKey, SubscriptionMatcher,
    Subscriptions, UnsubscribeLinks,
};
use sde_edge::TokenAuthenticator;
use sde_edge::rest::{
    CorsOrigin, Downloads, ExportStarter, MyExports, Reporter, StatusReader, Unsubscribes,
    download_request_routes, download_routes, exports_routes, posts_routes,
    report_graphical_routes, report_hybrid_routes, report_status_routes, search_routes,
    subscriptions_routes, unsubscribe_routes,
};
use sde_handlers::download_request::ExportLimits;
use sde_handlers::generate_csv::ExportSettings;
use sde_handlers::reports::ReportSettings;
use sde_localfs::LocalFsStore;
use sde_states::{Engine, EngineOptions, StateMachine, TaskRegistry};
use sde_tantivy::{LocalMatcher, TantivyIndex};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The one state-machine definition, shared with AWS.
pub const DEFINITION: &str = include_str!("../../../statemachine/download-request.asl.json");

/// Audience (app client id) of development tokens.
pub const DEV_AUDIENCE: &str = "sde-local";

/// Issuer (`iss`) of development tokens. Fixed rather than the server's URL, so a user keeps the
/// same `sub` — and so their exports — when the stack moves to another port or host name.
pub const DEV_ISSUER: &str = "urn:sde:local-dev-issuer";

/// Wraps the object store the export tasks write to (tests inject faults with it).
pub type StoreLayer = Arc<dyn Fn(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> + Send + Sync>;

/// Wraps the search index every handler reads (tests inject faults with it).
pub type IndexLayer = Arc<dyn Fn(Arc<dyn SearchIndex>) -> Arc<dyn SearchIndex> + Send + Sync>;

/// How tokens are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    /// The built-in development issuer (`POST /auth/token`).
    Development,
    /// A real identity provider, e.g. a Cognito user pool.
    External {
        issuer: String,
        jwks_url: String,
        audience: String,
    },
}

/// Settings of the local stack.
#[derive(Clone)]
pub struct StackConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Sample posts imported on first start when the index is empty.
    pub seed_posts: u64,
    /// Origin allowed by CORS (`*` for any); `None` allows only the stack's own origin (that of
    /// its base URL), so a page elsewhere cannot call it from a visitor's browser.
    pub cors_origin: Option<String>,
    /// Whether the stack may listen on an address other than loopback. Off by default: the
    /// development issuer signs anyone in as anyone.
    pub allow_remote: bool,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Base of the URLs the stack hands out; defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    pub auth: AuthConfig,
    pub export: ExportSettings,
    pub limits: ExportLimits,
    /// How long export files are kept.
    pub retention: Duration,
    /// Multiplier on every duration of the state machine (tests shrink retries and waits).
    pub time_scale: f64,
    pub store_layer: Option<StoreLayer>,
    pub index_layer: Option<IndexLayer>,
    /// Part size of local uploads (tests use tiny parts to get many of them).
    pub part_size: Option<usize>,
    /// Whether a WebSocket without a token may follow a push export by its ARN (see
    /// SECURITY.md); off unless asked for.
    pub allow_anonymous_push: bool,
    /// Limits on push WebSockets (idle timeout, sockets per user).
    pub sockets: SocketLimits,
    /// When (UTC) the previous day's digests are sent every day; `None`: never by schedule
    /// (`sde digests --date` still sends a day's at once).
    pub digest_time: Option<chrono::NaiveTime>,
}

/// Limits on the push WebSockets of the local stack. A socket also closes when the token it
/// connected with expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLimits {
    /// A socket that neither sends nor is sent a frame for this long is closed (API Gateway
    /// closes idle WebSockets after 10 minutes).
    pub idle_timeout: Duration,
    /// Sockets one user may have open at once; another is refused with 429.
    pub per_user: usize,
}

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            idle_timeout: Duration::from_secs(10 * 60),
            per_user: 10,
        }
    }
}

impl fmt::Debug for StackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackConfig")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("seed_posts", &self.seed_posts)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl StackConfig {
    /// Defaults for a stack on `addr` over `data_dir`.
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        StackConfig {
            addr,
            data_dir,
            seed_posts: 0,
            cors_origin: None,
            allow_remote: false,
            smtp_url: None,
            mail_from: MAIL_FROM.into(),
            public_url: None,
            auth: AuthConfig::Development,
            export: ExportSettings::default(),
            limits: ExportLimits::default(),
            retention: Duration::from_secs(24 * 3600),
            time_scale: 1.0,
            store_layer: None,
            index_layer: None,
            part_size: None,
            allow_anonymous_push: false,
            sockets: SocketLimits::default(),
            digest_time: Some(DEFAULT_DIGEST_TIME),
        }
    }
}

/// The sender of the local stack's emails.
pub const MAIL_FROM: &str = "sde <no-reply@sde.localhost>";

/// What every route can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub index: Arc<dyn SearchIndex>,
    /// The index's own counts, for the reports.
    pub stats: Arc<dyn PostStats>,
    /// The index written to: new posts, committed before `POST /posts` answers.
    pub posts: Arc<dyn PostStore>,
    /// Where reports are kept (the export store).
    pub report_store: Arc<dyn ObjectStore>,
    pub workflow: Arc<LocalWorkflow>,
    /// Each user's slots for running exports, given back as their executions end.
    pub slots: Arc<MemoryExportSlots>,
    /// Each user's subscriptions, kept in `subscriptions.json` under the data directory.
    pub subscriptions: Arc<dyn Subscriptions>,
    /// Which real-time subscriptions a new post matches; kept in step by the subscription routes.
    pub matcher: Arc<dyn SubscriptionMatcher>,
    /// Where `POST /posts` queues new posts for real-time notices.
    pub notifications: Arc<dyn NotificationQueue>,
    pub progress: Arc<LocalProgressBoard>,
    pub push_registry: Arc<MemoryPushRegistry>,
    pub hub: Arc<WsHub>,
    pub store: Arc<LocalFsStore>,
    pub links: Arc<DownloadLinks>,
    /// Signs and checks the one-click unsubscribe links of subscription emails.
    pub unsubscribe_links: Arc<UnsubscribeLinks>,
    /// The stack's own URL, where its page lists a user's subscriptions.
    pub base_url: String,
    pub authenticator: Arc<TokenAuthenticator>,
    pub issuer: Option<Arc<DevIssuer>>,
    pub outbox: PathBuf,
    pub limits: ExportLimits,
    pub allow_anonymous_push: bool,
    pub sockets: SocketLimits,
    pub shutdown: CancellationToken,
}

/// A running local stack.
#[derive(Debug)]
pub struct RunningStack {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: AppState,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningStack {
    /// Stops accepting requests, closes WebSockets and waits for the server to finish.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        self.server.await??;
        Ok(())
    }

    /// Runs until `signal` resolves, then shuts down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let token = self.state.shutdown.clone();
        tokio::select! {
            () = signal => {}
            () = token.cancelled() => {}
        }
        self.shutdown().await
    }
}

/// Builds every part and starts serving on `config.addr` (port 0 picks a free port).
pub async fn start(config: StackConfig) -> anyhow::Result<RunningStack> {
    if !config.addr.ip().is_loopback() && !config.allow_remote {
        anyhow::bail!(
            "refusing to listen on {}: only loopback addresses are allowed unless remote access \
             is asked for (--allow-remote), because the development issuer signs anyone in",
            config.addr
        );
    }
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let data_dir = &config.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;

    let index = TantivyIndex::open_or_create(&data_dir.join("index"))
        .with_context(|| format!("opening the index in {}", data_dir.join("index").display()))?;
    seed_if_empty(&index, config.seed_posts).await?;
    let mut store = LocalFsStore::open(data_dir, base_url.clone())?;
    if let Some(part_size) = config.part_size {
        store = store.with_part_size(part_size);
    }
    let store = Arc::new(store);
    let links_key = data_dir.join("secrets").join("link-key");
    let links_key = SigningKey::load_or_create(&links_key)
        .with_context(|| format!("reading the link-signing key {}", links_key.display()))?;
    let unsubscribe_links = Arc::new(UnsubscribeLinks::new(&links_key, &base_url));
    let links = Arc::new(DownloadLinks::new(links_key, &base_url));
    let outbox = data_dir.join("outbox");
    let mailer = Arc::new(OutboxMailer::new(
        outbox.clone(),
        &config.mail_from,
        config.smtp_url.as_deref(),
    )?);
    let subscriptions_file = data_dir.join("subscriptions.json");
    let subscriptions: Arc<dyn Subscriptions> = Arc::new(
        LocalSubscriptions::open(&subscriptions_file)
            .with_context(|| format!("opening {}", subscriptions_file.display()))?,
    );
    // The matcher lives in memory: it is given every real-time subscription at start.
    let matcher: Arc<dyn SubscriptionMatcher> = Arc::new(
        LocalMatcher::load(subscriptions.as_ref())
            .await
            .context("loading the real-time matcher")?,
    );
    let ledger_file = data_dir.join("deliveries.jsonl");
    let ledger: Arc<dyn DeliveryLedger> = Arc::new(
        LocalDeliveryLedger::open(&ledger_file)
            .with_context(|| format!("opening {}", ledger_file.display()))?,
    );
    let mail: Arc<dyn OnceMailer> = Arc::new(LedgerMailer::new(ledger, mailer.clone()));
    let shutdown = CancellationToken::new();
    let notifications: Arc<dyn NotificationQueue> = Arc::new(LocalNotificationQueue::start(
        NotifyParts {
            matcher: matcher.clone(),
            subscriptions: subscriptions.clone(),
            mail: mail.clone(),
            site: base_url.clone(),
            unsubscribe: unsubscribe_links.clone(),
        },
        RetryPolicy::default(),
        data_dir.join("dead-letters.jsonl"),
        shutdown.clone(),
    ));
    let hub = Arc::new(WsHub::default());
    let push_registry = Arc::new(MemoryPushRegistry::default());
    let progress = Arc::new(LocalProgressBoard::new(push_registry.clone(), hub.clone()));

    let machine =
        StateMachine::load(DEFINITION).context("loading statemachine/download-request.asl.json")?;
    let registry = TaskRegistry::new();
    let options = EngineOptions {
        time_scale: config.time_scale,
        ..EngineOptions::default()
    };
    let engine = Engine::new(machine, registry.clone(), options);
    let slots = Arc::new(MemoryExportSlots::default());
    let workflow = Arc::new(
        LocalWorkflow::open(engine, &data_dir.join("executions"))?
            .on_end(release_slots_at_the_end(slots.clone())),
    );
    let export_store: Arc<dyn ObjectStore> = match &config.store_layer {
        Some(layer) => layer(store.clone()),
        None => store.clone(),
    };
    let index = Arc::new(index);
    let stats: Arc<dyn PostStats> = index.clone();
    let posts: Arc<dyn PostStore> = index.clone();
    let index: Arc<dyn SearchIndex> = match &config.index_layer {
        Some(layer) => layer(index),
        None => index,
    };
    register_tasks(
        &registry,
        TaskDeps {
            index: index.clone(),
            store: export_store.clone(),
            links: links.clone(),
            progress: progress.clone(),
            mailer: mailer.clone(),
            push_registry: push_registry.clone(),
            push_channel: hub.clone(),
            workflow: workflow.clone(),
            export: config.export,
        },
    );
    let missing = workflow.engine().missing_handlers();
    anyhow::ensure!(
        missing.is_empty(),
        "the state machine calls functions nobody handles: {missing:?}"
    );

    let (verifier, issuer) = match &config.auth {
        AuthConfig::Development => {
            let issuer = DevIssuer::load_or_create(
                &data_dir.join("secrets"),
                DEV_ISSUER.to_owned(),
                DEV_AUDIENCE.to_owned(),
            )?;
            (issuer.verifier(), Some(Arc::new(issuer)))
        }
        AuthConfig::External {
            issuer,
            jwks_url,
            audience,
        } => (
            IdTokenVerifier::new(VerifierConfig {
                issuer: issuer.clone(),
                audience: audience.clone(),
                jwks: JwksSource::Url(jwks_url.clone()),
            }),
            None,
        ),
    };

    let state = AppState {
        index,
        stats,
        posts,
        report_store: export_store,
        workflow,
        slots,
        subscriptions,
        matcher,
        notifications,
        progress,
        push_registry,
        hub,
        store: store.clone(),
        links,
        unsubscribe_links,
        base_url: base_url.clone(),
        authenticator: Arc::new(TokenAuthenticator::new(Arc::new(verifier))),
        issuer,
        outbox,
        limits: config.limits,
        allow_anonymous_push: config.allow_anonymous_push,
        sockets: config.sockets,
        shutdown,
    };
    spawn_housekeeping(&state, config.retention);
    if let Some(at) = config.digest_time {
        spawn_schedule(
            LocalDigests {
                index: state.index.clone(),
                subscriptions: state.subscriptions.clone(),
                mail,
                site: base_url.clone(),
                unsubscribe: state.unsubscribe_links.clone(),
            },
            at,
            state.shutdown.clone(),
        );
    }

    let origin = match config.cors_origin.as_deref() {
        Some(origin) => CorsOrigin::parse(origin).context("reading the CORS origin")?,
        None => CorsOrigin::of_url(&base_url).context("the CORS origin of the base URL")?,
    };
    let app = router(state.clone(), &origin);
    let shutdown = state.shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    info!(%addr, "local stack listening");
    Ok(RunningStack {
        addr,
        base_url,
        state,
        server,
    })
}

/// The shared REST API of `sde-edge` (callers verified by their ID token) beside the local
/// stack's own routes: sign-in, signed files, the WebSocket and the page.
fn router(state: AppState, origin: &CorsOrigin) -> Router {
    let reporter = Reporter {
        stats: state.stats.clone(),
        store: state.report_store.clone(),
        links: state.links.clone(),
        settings: ReportSettings::default(),
    };
    let api = search_routes(state.index.clone())
        .merge(download_request_routes(ExportStarter {
            workflow: state.workflow.clone(),
            slots: state.slots.clone(),
            limits: state.limits,
        }))
        .merge(report_status_routes(StatusReader {
            workflow: state.workflow.clone(),
            progress: state.progress.clone(),
        }))
        .merge(exports_routes(MyExports {
            workflow: state.workflow.clone(),
            store: state.report_store.clone(),
            progress: state.progress.clone(),
            registry: state.push_registry.clone(),
            channel: state.hub.clone(),
        }))
        .merge(report_graphical_routes(reporter.clone()))
        .merge(report_hybrid_routes(reporter))
        .merge(posts_routes(
            state.posts.clone(),
            state.notifications.clone(),
        ))
        .merge(subscriptions_routes(
            state.subscriptions.clone(),
            state.matcher.clone(),
        ))
        .merge(unsubscribe_routes(Unsubscribes::new(
            state.subscriptions.clone(),
            state.matcher.clone(),
            state.unsubscribe_links.clone(),
            state.base_url.clone(),
        )))
        .merge(download_routes(Downloads::new(
            state.store.clone(),
            state.links.clone(),
        )));
    let local = Router::new()
        .route("/auth/token", post(token_route))
        .route("/.well-known/jwks.json", get(jwks_route))
        .route("/files/{*key}", get(download_route))
        .route("/ws", get(ws_route))
        .route("/", get(crate::page::index_route))
        .route("/app.js", get(crate::page::app_js_route))
        .route("/style.css", get(crate::page::style_css_route))
        .with_state(state.clone());
    sde_edge::rest::api(api.merge(local), state.authenticator.clone(), origin)
}

/// Gives back an export's slot when its execution ends, through the handler EventBridge's
/// "Execution Status Change" event calls on AWS.
fn release_slots_at_the_end(slots: Arc<MemoryExportSlots>) -> EndListener {
    Arc::new(move |ended: ExecutionDescription| {
        let slots = slots.clone();
        tokio::spawn(async move {
            let released = sde_handlers::release_export_slot(slots.as_ref(), &ended.name).await;
            if let Err(error) = released {
                warn!(export_id = ended.name, error = %error, "giving back an export slot failed");
            }
        });
    })
}

async fn seed_if_empty(index: &TantivyIndex, seed_posts: u64) -> anyhow::Result<()> {
    if seed_posts == 0 || index.num_posts() > 0 {
        return Ok(());
    }
    info!(
        posts = seed_posts,
        "importing sample posts into the empty index"
    );
    let index = index.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let posts = sde_dataimport::generate::PostGenerator::new(
            sde_dataimport::generate::GeneratorConfig::default(),
        );
        let mut writer = index.writer()?;
        for post in posts.take(usize::try_from(seed_posts)?) {
            writer.add(&post)?;
        }
        writer.commit()?;
        Ok(())
    })
    .await??;
    Ok(())
}

/// Every hour (or every `retention`, when shorter) deletes the files older than `retention`
/// and forgets what the stack keeps about the exports they came from — finished executions and
/// their records, push records, progress — so a long-running stack uses the same memory and
/// disk after ten thousand exports as after ten. A running export is never forgotten.
fn spawn_housekeeping(state: &AppState, retention: Duration) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600).min(retention));
        loop {
            tokio::select! {
                _ = every.tick() => {
                    let state = state.clone();
                    let _ = tokio::task::spawn_blocking(move || forget_expired(&state, retention))
                        .await;
                }
                () = state.shutdown.cancelled() => break,
            }
        }
    });
}

/// One round of [`spawn_housekeeping`].
pub fn forget_expired(state: &AppState, retention: Duration) {
    if let Err(error) = state.store.sweep_expired(retention) {
        tracing::warn!(error = %error, "sweeping expired exports failed");
    }
    let Some(cutoff) = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|retention| chrono::Utc::now().checked_sub_signed(retention))
    else {
        return;
    };
    let running: Vec<(String, String)> = state
        .workflow
        .engine()
        .list_executions()
        .into_iter()
        .filter(|execution| !execution.status.is_finished())
        .map(|execution| (execution.execution_arn, execution.name))
        .collect();
    let executions = state.workflow.forget_finished(cutoff);
    let push_records = state
        .push_registry
        .forget_written_before(cutoff, |arn| running.iter().any(|(a, _)| a == arn));
    let progress = state
        .progress
        .forget_written_before(cutoff, |id| running.iter().any(|(_, name)| name == id));
    if executions + push_records + progress > 0 {
        info!(executions, push_records, progress, "forgot expired exports");
    }
}
