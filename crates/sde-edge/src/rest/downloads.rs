//! `GET /download/<key>?expires&name&type&sig`: the route every lasting link points to. It needs
//! no sign-in — the link is the credential — and checks the link's signature, its expiry and that
//! the file is still stored, then redirects (302) to a URL the store presigns for a few minutes.
//! A link that has expired, or whose file is gone, is answered 410 with a page saying so; one
//! that does not verify, 403. The presigned URL is never logged.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sde_core::{
    ContentInfo, DownloadLinks, ObjectKey, ObjectStore, UrlRefusal, describe_chain,
    links::DOWNLOAD_ROUTE,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, info};

/// How long the URL a download redirects to stays valid: long enough to start the download.
pub const REDIRECT_TTL: Duration = Duration::from_secs(5 * 60);

/// The time, injectable so tests can stand at any point of a link's life.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What the download route checks links with and redirects into.
#[derive(Clone)]
pub struct Downloads {
    pub store: Arc<dyn ObjectStore>,
    pub links: Arc<DownloadLinks>,
    pub clock: Clock,
}

impl Downloads {
    /// Checks links against the real time.
    pub fn new(store: Arc<dyn ObjectStore>, links: Arc<DownloadLinks>) -> Self {
        Downloads {
            store,
            links,
            clock: Arc::new(Utc::now),
        }
    }
}

impl fmt::Debug for Downloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downloads")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The download route.
pub fn download_routes(downloads: Downloads) -> Router {
    Router::new()
        .route(&format!("{DOWNLOAD_ROUTE}{{*key}}"), get(download))
        .with_state(downloads)
}

async fn download(
    State(downloads): State<Downloads>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let now = (downloads.clock)();
    let grant = match downloads
        .links
        .check(&key, query.as_deref().unwrap_or(""), now)
    {
        Ok(grant) => grant,
        Err(UrlRefusal::Expired) => {
            info!("expired download link");
            return page(
                StatusCode::GONE,
                "This download link has expired",
                "Download links work for a limited time. Run the export again to get a new one.",
            );
        }
        Err(refusal) => {
            info!(%refusal, "download link refused");
            return page(
                StatusCode::FORBIDDEN,
                "This download link is not valid",
                "The link may have been cut short or changed. Use the link exactly as you received it.",
            );
        }
    };
    let Ok(key) = ObjectKey::new(grant.key) else {
        return page(
            StatusCode::FORBIDDEN,
            "This download link is not valid",
            "The link names no file.",
        );
    };
    let content = ContentInfo {
        content_type: grant.content_type,
        download_name: grant.download_name,
        disposition: grant.disposition,
    };
    let store = downloads.store.as_ref();
    let redirect = async {
        if !store.exists(&key).await? {
            return Ok(None);
        }
        store
            .presign_get(&key, &content, REDIRECT_TTL)
            .await
            .map(Some)
    };
    match redirect.await {
        Ok(Some(url)) => {
            let Ok(location) = HeaderValue::from_str(url.expose()) else {
                error!(%key, "the presigned URL is not a header value");
                return unavailable();
            };
            let mut response = StatusCode::FOUND.into_response();
            let headers = response.headers_mut();
            headers.insert(LOCATION, location);
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response
        }
        Ok(None) => page(
            StatusCode::GONE,
            "This file is no longer available",
            "Export files are deleted after a day, or when their owner deletes them. Run the export again.",
        ),
        Err(failure) => {
            error!(%key, error = %describe_chain(&failure), "download failed");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The file cannot be fetched right now",
        "Try the link again in a few minutes.",
    )
}

/// A small page a browser shows when a link cannot be followed, or to say what one did. `text`
/// is HTML: whatever it holds from outside must already be escaped.
pub(super) fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page's own URL may be a signed link: no link on it passes that on.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
